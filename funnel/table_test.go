package funnel

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sec = int64(time.Second)

func TestDecideSequence(t *testing.T) {
	s := newStore(3, 1, time.Minute) // 3 of burst, 1 a second
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
		d := s.decide("k", st.cost, st.at)
		require.Equal(t, st.allowed, d.Allowed, "step %d", i)
		require.InDelta(t, st.remaining, d.Remaining, 1e-9, "step %d", i)
		require.InDelta(t, float64(st.retry), float64(d.RetryAfter), 2, "step %d", i)
		require.InDelta(t, float64(st.reset), float64(d.ResetAfter), 2, "step %d", i)
	}
}

// checkInvariants walks the expiry list and compares it with the index.
func checkInvariants(t *testing.T, s *store) {
	t.Helper()
	seen := 0
	var prev uint32
	lastMoved := int64(-1 << 62)
	for ref := s.head; ref != 0; ref = s.at(ref).next {
		e := s.at(ref)
		key := s.keyOf(ref, e)
		switch got, _ := s.find(key, maphash.String(s.seed, key)); {
		case e.prev != prev:
			t.Fatalf("entry %d: prev %d, want %d", ref, e.prev, prev)
		case e.moved < lastMoved:
			t.Fatalf("entry %d: list not sorted by move time", ref)
		case e.last-e.moved > s.grain:
			t.Fatalf("entry %d: touched %d ns after its move, grain %d", ref, e.last-e.moved, s.grain)
		case got != ref:
			t.Fatalf("entry %d (%s): index has %d", ref, key, got)
		}
		lastMoved = e.moved
		prev = ref
		seen++
	}
	require.Equal(t, prev, s.tail)
	require.Equal(t, s.n, seen)
	used := 0
	for _, sl := range s.slots {
		if sl != 0 {
			used++
		}
	}
	require.Equal(t, s.n, used)
}

// A store that expires keys decides exactly as a model that never forgets,
// as long as TTL >= Capacity/Rate (a forgotten funnel is a full one).
func TestStoreAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const capacity, rate = 5.0, 2.0
	ttl := 4 * time.Second
	s := newStore(capacity, rate, ttl)
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
		case 0: // stored outside the entry
			key = "2001:0db8:85a3:0000:0000:8a2e:0370:" + key
		case 1: // 23 bytes or so: the inline limit
			key = fmt.Sprintf("%021d", r.IntN(300)) + key[:2]
		}
		cost := float64(r.IntN(3))
		d := s.decide(key, cost, now)
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

		removed, _ := s.expire(now, 2)
		require.LessOrEqual(t, removed, 2)
		if step%5000 == 0 {
			checkInvariants(t, s)
			// No key idle for less than the TTL is gone.
			for k, f := range model {
				if now-f.last < int64(ttl) {
					ref, _ := s.find(k, maphash.String(s.seed, k))
					require.NotZero(t, ref, "%s idle %v was expired", k, time.Duration(now-f.last))
				}
			}
		}
	}
	// Once the traffic stops, every key is gone within TTL plus a grain.
	now += int64(ttl) + s.grain
	for {
		if _, more := s.expire(now, 7); !more {
			break
		}
	}
	require.Equal(t, 0, s.n)
	checkInvariants(t, s)
}

func TestExpireBoundedAndReclaimed(t *testing.T) {
	s := newStore(10, 1, time.Minute)
	const keys = 100000
	for i := range keys {
		s.decide(fmt.Sprintf("10.0.%d.%d", i/256, i%256), 1, int64(i))
	}
	chunksFull := len(s.chunks)
	checkInvariants(t, s)
	removed, more := s.expire(int64(keys)+int64(time.Minute), 1000)
	require.Equal(t, 1000, removed)
	require.True(t, more)
	steps := 1
	for more {
		removed, more = s.expire(int64(keys)+int64(time.Minute), 1000)
		require.LessOrEqual(t, removed, 1000)
		steps++
	}
	require.Equal(t, keys/1000, steps)
	require.Equal(t, 0, s.n)
	require.Empty(t, s.chunks, "chunks of %d given back", chunksFull)
	require.Empty(t, s.slots)

	// Half expire: the rest is compacted, still in order, still found.
	for i := range 4096 {
		s.decide(fmt.Sprintf("a%d", i), 1, int64(2*time.Minute)+int64(i)*int64(time.Millisecond))
	}
	for s.n > 1000 {
		s.expire(int64(2*time.Minute)+int64(time.Minute)+int64(3095)*int64(time.Millisecond), 100)
	}
	require.Equal(t, 1000, s.n)
	checkInvariants(t, s)
	require.LessOrEqual(t, len(s.chunks), 1)
	d := s.decide("a4095", 0, int64(3*time.Minute)+int64(3096)*int64(time.Millisecond))
	require.InDelta(t, 10, d.Remaining, 1e-9)
}
