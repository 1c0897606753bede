package funnel

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/term"
)

func testConfig(clock Clock, shards int) Config {
	cfg := DefaultConfig()
	cfg.Capacity, cfg.Rate, cfg.Shards, cfg.Clock = 10, 1, shards, clock
	return cfg
}

func newLimiter(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Capacity", func(c *Config) { c.Capacity = 0 }},
		{"Capacity", func(c *Config) { c.Capacity = math.Inf(1) }},
		{"Rate", func(c *Config) { c.Rate = math.NaN() }},
		{"TTL", func(c *Config) { c.TTL = 0 }},
		{"TTL", func(c *Config) { c.Capacity, c.Rate, c.TTL = 100, 1, time.Minute }},
		{"Shards", func(c *Config) { c.Shards = 0 }},
		{"ExpireBudget", func(c *Config) { c.ExpireBudget = 0 }},
		{"SweepBudget", func(c *Config) { c.SweepBudget = -1 }},
		{"Mailbox", func(c *Config) { c.Mailbox = -1 }},
		{"MaxRestarts", func(c *Config) { c.MaxRestarts = -1 }},
		{"RestartWindow", func(c *Config) { c.RestartWindow = 0 }},
		{"Clock", func(c *Config) { c.Clock = nil }},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		_, err := New(cfg)
		require.ErrorIs(t, err, ErrConfig, tc.field)
		require.Contains(t, err.Error(), tc.field)
	}
}

func TestAllowAndRetryAfter(t *testing.T) {
	clock := NewManualClock(time.Hour)
	l := newLimiter(t, testConfig(clock, 1))
	for i := range 10 {
		d, err := l.Allow("1.2.3.4")
		require.NoError(t, err)
		require.True(t, d.Allowed, "request %d", i)
		require.InDelta(t, float64(9-i), d.Remaining, 1e-9)
	}
	d, err := l.Allow("1.2.3.4")
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Equal(t, time.Second, d.RetryAfter)
	require.Equal(t, 10*time.Second, d.ResetAfter)

	clock.Advance(time.Second)
	d, _ = l.Allow("1.2.3.4")
	require.True(t, d.Allowed)
	d, _ = l.Allow("other")
	require.True(t, d.Allowed)
	require.InDelta(t, 9, d.Remaining, 1e-9)

	_, err = l.AllowN("x", 11)
	require.ErrorIs(t, err, ErrCost)
	_, err = l.AllowN("x", -1)
	require.ErrorIs(t, err, ErrCost)
	d, err = l.AllowN("x", 10)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Zero(t, d.Remaining)
}

// Many goroutines on one key with a frozen clock: exactly Capacity grants.
func TestNoOverGrant(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			cfg := testConfig(NewManualClock(0), shards)
			cfg.Capacity, cfg.Rate = 1000, 10
			l := newLimiter(t, cfg)
			var granted atomic.Int64
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					keys := []string{"hot", "hot", "hot", fmt.Sprintf("cold%d", g)}
					out := make([]Decision, len(keys))
					for range 100 {
						if d, err := l.Allow("hot"); err == nil && d.Allowed {
							granted.Add(1)
						}
						if err := l.DecideBatch(keys, out); err != nil {
							t.Error(err)
							return
						}
						for i := range 3 {
							if out[i].Allowed {
								granted.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			require.Equal(t, int64(1000), granted.Load(), "16×400 asks for 1000 of room")
		})
	}
}

// Sharded batches decide exactly as one owner deciding the keys in order.
func TestShardedBatchMatchesSingle(t *testing.T) {
	clock := NewManualClock(0)
	single := newLimiter(t, testConfig(clock, 1))
	sharded := newLimiter(t, testConfig(clock, 8))
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("k%d", (i*7919)%97))
	}
	a, b := make([]Decision, len(keys)), make([]Decision, len(keys))
	for round := range 3 {
		require.NoError(t, single.DecideBatch(keys, a))
		require.NoError(t, sharded.DecideBatch(keys, b))
		require.Equal(t, a, b, "round %d", round)
		clock.Advance(1500 * time.Millisecond)
	}
	require.ErrorIs(t, single.DecideBatch(keys, a[:1]), ErrBatch)
	n, err := sharded.Len()
	require.NoError(t, err)
	require.Equal(t, 97, n)
}

// An owner that panics is restarted over the same table: the request being
// decided fails, every funnel keeps its state, and the limiter goes on.
func TestCrashedOwnerKeepsState(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			cfg := testConfig(NewManualClock(0), shards)
			var bombs atomic.Int64
			cfg.beforeDecide = func(key string) {
				if key == "boom" && bombs.Add(1) <= 2 {
					panic("injected crash")
				}
			}
			l := newLimiter(t, cfg)
			for range 7 {
				d, err := l.Allow("alice")
				require.NoError(t, err)
				require.True(t, d.Allowed)
			}
			_, err := l.Allow("boom")
			require.ErrorIs(t, err, ErrOwnerRestarted)
			err = l.DecideBatch([]string{"alice", "boom"}, make([]Decision, 2))
			require.ErrorIs(t, err, ErrOwnerRestarted)
			require.Equal(t, 2, l.Restarts())

			// alice had 10 and took 7; in the crashed batch she took 1
			// more only if another owner decided her (an owner crashing in
			// a batch before it began deciding decides none of it).
			want := 1.0
			if l.shardOf("alice") == l.shardOf("boom") {
				want = 2
			}
			d, err := l.Allow("alice")
			require.NoError(t, err)
			require.InDelta(t, want, d.Remaining, 1e-9, "alice's funnel survived the crashes")
			d, err = l.Allow("boom")
			require.NoError(t, err)
			require.True(t, d.Allowed)
		})
	}
}

// The funnel state lives in ets tables the owner owns, with the supervisor
// as their heir: a crashed owner's tables pass to the supervisor and on to
// the restarted owner, the crashed owner's handles stop writing, readers'
// views read on, and closing the limiter deletes the tables.
func TestCrashHandsTablesToHeir(t *testing.T) {
	cfg := testConfig(NewManualClock(0), 1)
	var mu sync.Mutex
	var owners [][2]*ets.Owner
	cfg.onTables = func(shard int, funnels, index *ets.Owner) {
		mu.Lock()
		defer mu.Unlock()
		owners = append(owners, [2]*ets.Owner{funnels, index})
	}
	var bombs atomic.Int64
	cfg.beforeDecide = func(key string) {
		if key == "boom" && bombs.Add(1) == 1 {
			panic("injected crash")
		}
	}
	l, err := New(cfg)
	require.NoError(t, err)
	funnels, index := l.Tables()
	require.Len(t, funnels, 1)
	for range 3 {
		_, err := l.Allow("alice")
		require.NoError(t, err)
	}
	_, err = l.Allow("boom")
	require.ErrorIs(t, err, ErrOwnerRestarted)
	d, err := l.Allow("alice")
	require.NoError(t, err)
	require.InDelta(t, 6, d.Remaining, 1e-9, "alice's funnel is in the inherited table")

	mu.Lock()
	require.Len(t, owners, 2, "one owner, restarted once")
	first, second := owners[0], owners[1]
	mu.Unlock()
	require.NotSame(t, first[0], second[0])
	require.ErrorIs(t, first[0].Insert(term.NewTuple(term.NewBinary([]byte("x")))), ets.ErrNotOwner)
	require.ErrorIs(t, first[1].Insert(term.NewTuple(term.Int(1), term.NewBinary([]byte("x")))), ets.ErrNotOwner)

	// Readers see the funnel and its index object through their views.
	obj, ok, err := funnels[0].Lookup(term.NewBinary([]byte("alice")))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, term.Float(6), obj.At(posRoom))
	stamp := obj.At(posStamp)
	idx, ok, err := index[0].Lookup(stamp)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, term.Equal(term.NewBinary([]byte("alice")), idx.At(idxKey)))
	n, _ := index[0].Size()
	require.Equal(t, 1, n, "boom's crash came before its funnel was made")

	require.NoError(t, l.Close())
	_, err = funnels[0].Size()
	require.ErrorIs(t, err, ets.ErrDeleted)
	_, err = index[0].Size()
	require.ErrorIs(t, err, ets.ErrDeleted)
}

func TestRestartIntensity(t *testing.T) {
	cfg := testConfig(NewManualClock(0), 1)
	cfg.MaxRestarts = 2
	cfg.beforeDecide = func(key string) {
		if key == "boom" {
			panic("always")
		}
	}
	l := newLimiter(t, cfg)
	for range 2 {
		_, err := l.Allow("boom")
		require.ErrorIs(t, err, ErrOwnerRestarted)
	}
	_, err := l.Allow("boom")
	require.ErrorIs(t, err, ErrOwnerRestarted)
	_, err = l.Allow("fine")
	require.ErrorIs(t, err, ErrStopped, "the third crash in the window stops the owner")
	require.ErrorContains(t, err, "always")
}

// Idle keys go once their TTL has passed, with no request to trigger it:
// the owner wakes when the idlest key comes due.
func TestIdleKeysExpire(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			clock := NewManualClock(0)
			cfg := testConfig(clock, shards)
			cfg.TTL = time.Minute
			cfg.SweepBudget = 100
			l := newLimiter(t, cfg)
			keys := make([]string, 5000)
			for i := range keys {
				keys[i] = fmt.Sprintf("192.168.%d.%d", i/256, i%256)
			}
			require.NoError(t, l.DecideBatch(keys, make([]Decision, len(keys))))
			clock.Advance(30 * time.Second)
			_, err := l.Allow(keys[0]) // keeps one key alive
			require.NoError(t, err)
			n, _ := l.Len()
			require.Equal(t, len(keys), n)

			clock.Advance(30*time.Second + time.Minute/128)
			require.Eventually(t, func() bool { n, _ := l.Len(); return n == 1 }, 10*time.Second, time.Millisecond)
			clock.Advance(time.Minute)
			require.Eventually(t, func() bool { n, _ := l.Len(); return n == 0 }, 10*time.Second, time.Millisecond)
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	l, err := New(testConfig(NewManualClock(0), 2))
	require.NoError(t, err)
	_, err = l.Allow("a")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	_, err = l.Allow("a")
	require.True(t, errors.Is(err, ErrStopped))
	require.ErrorIs(t, l.DecideBatch([]string{"a", "b", "c"}, make([]Decision, 3)), ErrStopped)
	_, err = l.Len()
	require.ErrorIs(t, err, ErrStopped)
}
