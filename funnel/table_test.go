package funnel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/term"
)

const sec = int64(time.Second)

// testTables makes an owner's tables, as a limiter's shard does, without
// the owner goroutine.
func testTables(tb testing.TB, capacity, perSecond float64, ttl time.Duration) *tables {
	tb.Helper()
	funnels, index, err := newTables(nil)
	require.NoError(tb, err)
	t, err := openTables(capacity, perSecond, ttl, funnels, index)
	require.NoError(tb, err)
	return t
}

// funnel reads key's funnel from the tables.
func (tb *tables) funnel(key string) (room float64, last, stamp int64, ok bool) {
	var ns ets.Numbers
	found, err := tb.funnels.LookupNumbers(key, &ns)
	if err != nil || !found {
		return 0, 0, 0, false
	}
	room, _ = ns.Float(posRoom)
	last, _ = ns.Int(posLast)
	stamp, _ = ns.Int(posStamp)
	return room, last, stamp, true
}

func (tb *tables) len(t *testing.T) int {
	n, err := tb.size()
	require.NoError(t, err)
	return n
}

func mustDecide(t *testing.T, tb *tables, key string, cost float64, now int64) Decision {
	t.Helper()
	d, err := tb.decide(key, cost, now)
	require.NoError(t, err)
	return d
}

func mustExpire(t *testing.T, tb *tables, now int64, budget int) (int, bool) {
	t.Helper()
	removed, more, err := tb.expire(now, budget)
	require.NoError(t, err)
	return removed, more
}

func TestDecideSequence(t *testing.T) {
	s := testTables(t, 3, 1, time.Minute) // 3 of burst, 1 a second
	type step struct {
		at        int64
		cost      float64
		allowed   bool
		remaining float64
		retry     time.Duration
		reset     time.Duration
	}
	steps := []step{
		{0, 1, true, 2, 0, time.Second},
		{0, 1, true, 1, 0, 2 * time.Second},
		{0, 1, true, 0, 0, 3 * time.Second},
		{0, 1, false, 0, time.Second, 3 * time.Second},
		{sec / 2, 1, false, 0.5, time.Second / 2, 2500 * time.Millisecond},
		{sec, 1, true, 0, 0, 3 * time.Second},
		{10 * sec, 2, true, 1, 0, 2 * time.Second},
		{10 * sec, 2, false, 1, time.Second, 2 * time.Second},
		{10 * sec, 0, true, 1, 0, 2 * time.Second},
		{5 * sec, 1, true, 0, 0, 3 * time.Second}, // the clock never goes back: this is at 10s
	}
	for i, st := range steps {
		d := mustDecide(t, s, "k", st.cost, st.at)
		require.Equal(t, st.allowed, d.Allowed, "step %d", i)
		require.InDelta(t, st.remaining, d.Remaining, 1e-9, "step %d", i)
		require.InDelta(t, float64(st.retry), float64(d.RetryAfter), 2, "step %d", i)
		require.InDelta(t, float64(st.reset), float64(d.ResetAfter), 2, "step %d", i)
	}
}

// checkInvariants walks the expiry index in order and checks it against
// the funnels: one index object per funnel, at the funnel's stamp, which
// is not after the funnel's last update.
func checkInvariants(t *testing.T, s *tables) {
	t.Helper()
	seen := 0
	for obj := range s.index.All() {
		stamp := int64(obj.At(0).(term.Int))
		key := string(obj.At(idxKey).(*term.Binary).Bytes())
		_, last, fs, ok := s.funnel(key)
		require.True(t, ok, "index object %v names no funnel", obj)
		require.Equal(t, stamp, fs, "funnel %s", key)
		require.LessOrEqual(t, stampTime(stamp), last, "funnel %s", key)
		seen++
	}
	require.Equal(t, s.len(t), seen)
}

// Tables that expire keys decide exactly as a model that never forgets,
// as long as TTL >= Capacity/Rate (a forgotten funnel is a full one).
func TestTablesAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const capacity, rate = 5.0, 2.0
	ttl := 4 * time.Second
	s := testTables(t, capacity, rate, ttl)
	type fun struct {
		room float64
		last int64
	}
	model := map[string]*fun{}
	now := int64(0)
	for step := range 50000 {
		now += r.Int64N(sec / 20)
		key := fmt.Sprintf("k%d", r.IntN(300))
		switch r.IntN(8) {
		case 0: // kept whole, not as a compact record
			key = "2001:0db8:85a3:0000:0000:8a2e:0370:" + key
		case 1: // 20 bytes or so: the compact limit
			key = fmt.Sprintf("%018d", r.IntN(300)) + key[:2]
		}
		cost := float64(r.IntN(3))
		d := mustDecide(t, s, key, cost, now)
		f, ok := model[key]
		if !ok {
			f = &fun{room: capacity, last: now}
			model[key] = f
		}
		f.room = min(capacity, f.room+float64(now-f.last)*rate/1e9)
		f.last = now
		allowed := cost <= f.room
		if allowed {
			f.room -= cost
		}
		require.Equal(t, allowed, d.Allowed, "step %d key %s", step, key)
		require.InDelta(t, f.room, d.Remaining, 1e-6)

		removed, _ := mustExpire(t, s, now, 2)
		require.LessOrEqual(t, removed, 2)
		if step%5000 == 0 {
			checkInvariants(t, s)
			// No key idle for less than the TTL is gone.
			for k, f := range model {
				if now-f.last < int64(ttl) {
					_, _, _, ok := s.funnel(k)
					require.True(t, ok, "%s idle %v was expired", k, time.Duration(now-f.last))
				}
			}
		}
	}
	// Once the traffic stops, every key is gone within TTL plus a grain.
	now += int64(ttl) + int64(time.Microsecond)
	for {
		if _, more := mustExpire(t, s, now, 7); !more {
			break
		}
	}
	require.Equal(t, 0, s.len(t))
	checkInvariants(t, s)
}

func TestExpireBoundedAndReclaimed(t *testing.T) {
	s := testTables(t, 10, 1, time.Minute)
	const keys = 100000
	for i := range keys {
		mustDecide(t, s, fmt.Sprintf("10.0.%d.%d", i/256, i%256), 1, int64(i))
	}
	full, err := s.funnels.Info()
	require.NoError(t, err)
	checkInvariants(t, s)
	removed, more := mustExpire(t, s, int64(keys)+int64(time.Minute), 1000)
	require.Equal(t, 1000, removed)
	require.True(t, more)
	steps := 1
	for more {
		removed, more = mustExpire(t, s, int64(keys)+int64(time.Minute), 1000)
		require.LessOrEqual(t, removed, 1000)
		steps++
	}
	require.Equal(t, keys/1000, steps)
	require.Equal(t, 0, s.len(t))
	n, _ := s.index.Size()
	require.Zero(t, n)
	empty, _ := s.funnels.Info()
	require.Less(t, empty.Memory, full.Memory/20, "memory given back")

	// Some expire: the rest are still in order and found.
	base := int64(2 * time.Minute)
	for i := range 4096 {
		mustDecide(t, s, fmt.Sprintf("a%d", i), 1, base+int64(i)*int64(time.Millisecond))
	}
	for s.len(t) > 1000 {
		mustExpire(t, s, base+int64(time.Minute)+3095*int64(time.Millisecond), 100)
	}
	require.Equal(t, 1000, s.len(t))
	checkInvariants(t, s)
	d := mustDecide(t, s, "a4095", 0, base+int64(time.Minute)+3096*int64(time.Millisecond))
	require.InDelta(t, 10, d.Remaining, 1e-9)
}

// Expiry indexes a key touched since it was indexed again at its last
// update; an owner that crashes midway through that leaves an index
// object no funnel names, which expiry drops when it reaches it.
func TestExpiryReindexesAndDropsStale(t *testing.T) {
	s := testTables(t, 10, 1, time.Minute)
	mustDecide(t, s, "k", 1, 0)
	require.NoError(t, s.index.Insert(term.NewTuple(term.Int(s.nextStamp(0)), term.NewBinary([]byte("k")))))
	require.NoError(t, s.index.Insert(term.NewTuple(term.Int(s.nextStamp(0)), term.NewBinary([]byte("gone")))))
	mustDecide(t, s, "k", 1, 30*sec)
	removed, more := mustExpire(t, s, 60*sec+1000, 10)
	require.Equal(t, 3, removed, "k indexed again, both stale objects dropped")
	require.False(t, more)
	_, _, stamp, ok := s.funnel("k")
	require.True(t, ok)
	require.Equal(t, 30*sec, stampTime(stamp))
	checkInvariants(t, s)
	due, ok, err := s.nextDue()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 90*sec, due)
	removed, _ = mustExpire(t, s, 90*sec, 10)
	require.Equal(t, 1, removed)
	require.Zero(t, s.len(t))
}

// A restarted owner's tables take up where the last left: stamps go on
// growing past the index's last one.
func TestOpenTablesResumesStamps(t *testing.T) {
	s := testTables(t, 10, 1, time.Minute)
	for i := range 10 {
		mustDecide(t, s, fmt.Sprint(i), 1, 5)
	}
	again, err := openTables(10, 1, time.Minute, s.funnels, s.index)
	require.NoError(t, err)
	require.Equal(t, s.stamp, again.stamp)
	mustDecide(t, again, "new", 1, 0)
	checkInvariants(t, again)
	require.Equal(t, 11, again.len(t))

	bad, err := ets.New(ets.Options{Kind: ets.OrderedSet})
	require.NoError(t, err)
	require.NoError(t, bad.Insert(term.NewTuple(term.Atom("x"))))
	_, err = openTables(10, 1, time.Minute, s.funnels, bad)
	require.ErrorContains(t, err, "not a stamp")
}
