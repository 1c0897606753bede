package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/client"
	"github.com/enode-dev/enode/term"
)

// clock is a fake clock moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// source is a fake Fetcher: per worker a scripted version (and a state
// {W, Epoch, Seq} built from it); it counts calls, records the versions
// callers said they had, answers "unchanged" when it has nothing newer,
// and can hold every fetch until released.
type source struct {
	mu       sync.Mutex
	versions map[string]client.Version
	errs     map[string]error
	haves    []client.Version
	calls    atomic.Int64
	entered  chan string   // a fetch started (buffered; nil: not reported)
	gate     chan struct{} // fetches wait for it to be closed (nil: no wait)
	canceled atomic.Int64  // fetches that ended by their context
	size     int
	full     bool // always answer with the state, never "unchanged"
}

func newSource() *source {
	return &source{versions: map[string]client.Version{}, errs: map[string]error{}}
}

func (s *source) set(worker string, epoch, seq uint64) {
	s.mu.Lock()
	s.versions[worker] = client.Version{Epoch: epoch, Seq: seq}
	s.mu.Unlock()
}

// hold makes fetches wait until the returned function is called.
func (s *source) hold() (release func()) {
	s.gate = make(chan struct{})
	s.entered = make(chan string, 100)
	return sync.OnceFunc(func() { close(s.gate) })
}

func stateOf(worker string, v client.Version) term.Term {
	return term.NewTuple(term.BinaryString(worker), term.Int(v.Epoch), term.Int(v.Seq))
}

func (s *source) Fetch(ctx context.Context, worker string, have client.Version) (client.Entry, error) {
	s.calls.Add(1)
	if s.entered != nil {
		s.entered <- worker
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			s.canceled.Add(1)
			return client.Entry{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.haves = append(s.haves, have)
	if err := s.errs[worker]; err != nil {
		return client.Entry{}, err
	}
	v, ok := s.versions[worker]
	if !ok {
		return client.Entry{}, fmt.Errorf("%w: %s", client.ErrUnknownWorker, worker)
	}
	e := client.Entry{Worker: worker, Owner: "a@h", Source: "spare@h", Version: v, Size: s.size}
	if s.full || have.IsZero() || v.Compare(have) > 0 {
		e.State = stateOf(worker, v)
	}
	return e, nil
}

const ttl = time.Second

func newClient(t *testing.T, src client.Fetcher, clk *clock, edit func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.Cache.TTL = ttl
	cfg.Now = clk.Now
	if edit != nil {
		edit(&cfg)
	}
	c, err := client.New(src, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func get(t *testing.T, c *client.Client, worker string) client.Entry {
	t.Helper()
	e, err := c.Get(context.Background(), worker)
	require.NoError(t, err)
	return e
}

// waitFor polls cond until it holds; it fails the test after 10 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestHitAndMiss(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 5)
	c := newClient(t, src, clk, nil)

	e := get(t, c, "w1")
	require.Equal(t, client.Version{Epoch: 1, Seq: 5}, e.Version)
	require.True(t, term.Equal(stateOf("w1", e.Version), e.State))
	require.Equal(t, "w1", e.Worker)
	require.Equal(t, "a@h", e.Owner)
	require.Equal(t, clk.Now(), e.Checked)

	clk.Advance(ttl - time.Nanosecond)
	for range 3 {
		require.Equal(t, e, get(t, c, "w1"))
	}
	require.Equal(t, int64(1), src.calls.Load(), "hits do not fetch")
	st := c.Stats()
	require.Equal(t, uint64(3), st.Hits)
	require.Equal(t, uint64(1), st.Misses)
	require.Equal(t, uint64(1), st.Fetches)
	require.Equal(t, 1, st.Entries)
	require.InDelta(t, 0.75, st.HitRatio(), 1e-9)

	_, err := c.Get(context.Background(), "nobody")
	require.ErrorIs(t, err, client.ErrUnknownWorker)
	require.Equal(t, uint64(1), c.Stats().Errors)
	_, err = c.Get(context.Background(), "nobody")
	require.ErrorIs(t, err, client.ErrUnknownWorker, "errors are not cached")
	require.Equal(t, int64(3), src.calls.Load())
}

func TestTTLRevalidation(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 5)
	c := newClient(t, src, clk, nil)
	first := get(t, c, "w1")

	// Expired, the source has nothing newer: the cached state is kept,
	// asked for with the version the client holds.
	clk.Advance(ttl)
	e := get(t, c, "w1")
	require.Same(t, first.State.(*term.Tuple), e.State.(*term.Tuple), "unchanged keeps the cached state")
	require.Equal(t, clk.Now(), e.Checked, "and counts as checked now")
	require.Equal(t, client.Version{Epoch: 1, Seq: 5}, src.haves[1])
	require.Equal(t, client.Version{}, src.haves[0])
	st := c.Stats()
	require.Equal(t, uint64(1), st.Expired)
	require.Equal(t, uint64(1), st.Unchanged)

	// Fresh again: no fetch. Then the source moves on; the client sees it
	// only once the TTL has passed.
	src.set("w1", 1, 9)
	require.Equal(t, uint64(5), get(t, c, "w1").Version.Seq)
	clk.Advance(ttl / 2)
	require.Equal(t, uint64(5), get(t, c, "w1").Version.Seq)
	clk.Advance(ttl / 2)
	e = get(t, c, "w1")
	require.Equal(t, client.Version{Epoch: 1, Seq: 9}, e.Version)
	require.True(t, term.Equal(stateOf("w1", e.Version), e.State))
	require.Equal(t, int64(3), src.calls.Load())
}

func TestLRUEviction(t *testing.T) {
	src, clk := newSource(), newClock()
	for _, w := range []string{"a", "b", "c"} {
		src.set(w, 1, 1)
	}
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.Cache.MaxEntries = 2 })
	get(t, c, "a")
	get(t, c, "b")
	get(t, c, "a") // a is now the most recently used
	get(t, c, "c") // evicts b
	st := c.Stats()
	require.Equal(t, 2, st.Entries)
	require.Equal(t, uint64(1), st.Evictions)
	calls := src.calls.Load()
	get(t, c, "a")
	get(t, c, "c")
	require.Equal(t, calls, src.calls.Load(), "a and c stayed")
	get(t, c, "b")
	require.Equal(t, calls+1, src.calls.Load(), "b was evicted")
	v, ok := c.Cache().Newest("a")
	require.True(t, ok, "a was evicted by b but its version is remembered")
	require.Equal(t, client.Version{Epoch: 1, Seq: 1}, v)
}

func TestLRUByBytes(t *testing.T) {
	src, clk := newSource(), newClock()
	src.size = 400
	for _, w := range []string{"a", "b", "c"} {
		src.set(w, 1, 1)
	}
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.Cache.MaxBytes = 1000 })
	get(t, c, "a")
	get(t, c, "b")
	get(t, c, "c")
	st := c.Stats()
	require.Equal(t, 2, st.Entries)
	require.Equal(t, int64(800), st.Bytes)
	_, fr := c.Cache().Lookup("a", clk.Now())
	require.Equal(t, client.Missing, fr)

	// An entry larger than the whole budget is served, not kept.
	src.size = 2000
	src.set("big", 1, 1)
	e := get(t, c, "big")
	require.NotNil(t, e.State)
	_, fr = c.Cache().Lookup("big", clk.Now())
	require.Equal(t, client.Missing, fr)
	require.LessOrEqual(t, c.Stats().Bytes, int64(1000))
}

func TestMonotonic(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 2, 7)
	src.full = true
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.Cache.MaxEntries = 1 })
	get(t, c, "w1")

	// A lagging source (an old backup) answers an older version after the
	// TTL: the reader keeps getting the newer one it has seen.
	for _, old := range []client.Version{{Epoch: 2, Seq: 6}, {Epoch: 1, Seq: 100}} {
		src.set("w1", old.Epoch, old.Seq)
		clk.Advance(ttl)
		require.Equal(t, client.Version{Epoch: 2, Seq: 7}, get(t, c, "w1").Version)
	}
	require.Equal(t, uint64(2), c.Stats().Stale)

	// Evicted, the version is remembered: an older one is refused.
	src.set("w2", 1, 1)
	get(t, c, "w2")
	_, err := c.Get(context.Background(), "w1")
	require.ErrorIs(t, err, client.ErrStale)

	// A later epoch is newer whatever its sequence number.
	src.set("w1", 3, 1)
	require.Equal(t, client.Version{Epoch: 3, Seq: 1}, get(t, c, "w1").Version)
}

func TestCoalescing(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 3)
	release := src.hold()
	c := newClient(t, src, clk, nil)

	const readers = 8
	results := make(chan client.Entry, readers)
	errs := make(chan error, readers)
	for range readers {
		go func() {
			e, err := c.Get(context.Background(), "w1")
			results <- e
			errs <- err
		}()
	}
	require.Equal(t, "w1", <-src.entered)
	waitFor(t, func() bool { return c.Stats().Coalesced == readers-1 }, "every reader joined the fetch")
	release()
	var first client.Entry
	for i := range readers {
		require.NoError(t, <-errs)
		e := <-results
		if i == 0 {
			first = e
		}
		require.Same(t, first.State.(*term.Tuple), e.State.(*term.Tuple))
	}
	require.Equal(t, int64(1), src.calls.Load())
	st := c.Stats()
	require.Equal(t, uint64(1), st.Fetches)
	require.Equal(t, uint64(readers), st.Misses)
}

func TestAsyncWait(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 3)
	release := src.hold()
	c := newClient(t, src, clk, nil)

	f := c.GetAsync("w1")
	<-src.entered
	require.False(t, f.Wait(0))
	require.False(t, f.Wait(time.Millisecond), "the fetch is held")
	_, err := f.Result()
	require.ErrorIs(t, err, client.ErrPending)
	select {
	case <-f.Done():
		t.Fatal("done before the fetch")
	default:
	}
	g := c.GetAsync("w1") // joins
	release()
	require.True(t, f.Wait(10*time.Second))
	<-g.Done()
	e, err := f.Result()
	require.NoError(t, err)
	require.Equal(t, client.Version{Epoch: 1, Seq: 3}, e.Version)
	e2, err := g.Result()
	require.NoError(t, err)
	require.Equal(t, e, e2)

	// A hit is a future that is done already.
	h := c.GetAsync("w1")
	require.True(t, h.Wait(0))
	e3, err := h.Result()
	require.NoError(t, err)
	require.Equal(t, e, e3)
	require.Equal(t, int64(1), src.calls.Load())
}

func TestCancel(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 3)
	release := src.hold()
	defer release()
	c := newClient(t, src, clk, nil)

	// The only reader gives up: the fetch is stopped.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Get(ctx, "w1"); errc <- err }()
	<-src.entered
	cancel()
	err := <-errc
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, client.ErrTimeout)
	waitFor(t, func() bool { return src.canceled.Load() == 1 }, "the fetch saw its context end")

	// Of two readers, one gives up: the fetch goes on for the other.
	f := c.GetAsync("w1")
	<-src.entered
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { _, err := c.Get(ctx2, "w1"); errc <- err }()
	waitFor(t, func() bool { return c.Stats().Coalesced == 1 }, "the second reader joined")
	cancel2()
	require.ErrorIs(t, <-errc, context.Canceled)
	release()
	require.True(t, f.Wait(10*time.Second))
	e, err := f.Result()
	require.NoError(t, err)
	require.Equal(t, uint64(3), e.Version.Seq)
	require.Equal(t, int64(1), src.canceled.Load())

	// A cancelled future.
	clk.Advance(ttl)
	src.gate = make(chan struct{})
	g := c.GetAsync("w1")
	<-src.entered
	g.Cancel()
	g.Cancel()
	_, err = g.Result()
	require.ErrorIs(t, err, client.ErrCanceled)
	<-g.Done()
	_, err = g.Result()
	require.ErrorIs(t, err, client.ErrCanceled)

	// A context already done.
	_, err = c.Get(ctx, "w1")
	require.ErrorIs(t, err, context.Canceled)
}

func TestTimeouts(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 3)
	release := src.hold()
	defer release()
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.FetchTimeout = time.Millisecond })

	// FetchTimeout ends a fetch nobody gives up on.
	_, err := c.Get(context.Background(), "w1")
	require.ErrorIs(t, err, client.ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A caller's deadline.
	c2 := newClient(t, src, clk, nil)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Millisecond))
	defer cancel()
	_, err = c2.Get(ctx, "w1")
	require.ErrorIs(t, err, client.ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClose(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 3)
	release := src.hold()
	defer release()
	cfg := client.DefaultConfig()
	cfg.Now = clk.Now
	c, err := client.New(src, cfg)
	require.NoError(t, err)
	f := c.GetAsync("w1")
	<-src.entered
	require.NoError(t, c.Close())
	require.True(t, f.Wait(0), "Close waited for the fetch to end")
	_, err = f.Result()
	require.ErrorIs(t, err, client.ErrClosed)
	_, err = c.Get(context.Background(), "w1")
	require.ErrorIs(t, err, client.ErrClosed)
	require.NoError(t, c.Close())
}

// badSource answers with the wrong worker, or no state.
type badSource struct{ e client.Entry }

func (b badSource) Fetch(context.Context, string, client.Version) (client.Entry, error) {
	return b.e, nil
}

func TestBadFetcherAnswers(t *testing.T) {
	for name, e := range map[string]client.Entry{
		"other worker": {Worker: "w2", Version: client.Version{Epoch: 1, Seq: 1}, State: term.Atom("x")},
		"no state":     {Worker: "w1", Version: client.Version{Epoch: 1, Seq: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, badSource{e}, newClock(), nil)
			_, err := c.Get(context.Background(), "w1")
			require.ErrorIs(t, err, client.ErrBadReply)
		})
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*client.Config)
	}{
		{"MaxEntries", func(c *client.Config) { c.Cache.MaxEntries = 0 }},
		{"MaxBytes", func(c *client.Config) { c.Cache.MaxBytes = -1 }},
		{"TTL", func(c *client.Config) { c.Cache.TTL = -1 }},
		{"MaxVersions", func(c *client.Config) { c.Cache.MaxVersions = -1 }},
		{"FetchTimeout", func(c *client.Config) { c.FetchTimeout = 0 }},
		{"Now", func(c *client.Config) { c.Now = nil }},
		{"MaxStale", func(c *client.Config) { c.MaxStale = -1 }},
	} {
		cfg := client.DefaultConfig()
		tc.edit(&cfg)
		_, err := client.New(newSource(), cfg)
		require.ErrorIs(t, err, client.ErrInvalidConfig, tc.field)
		require.ErrorContains(t, err, tc.field)
	}
	_, err := client.New(nil, client.DefaultConfig())
	require.ErrorIs(t, err, client.ErrInvalidConfig)
	require.NoError(t, client.DefaultConfig().Validate())
}

func TestVersionOrder(t *testing.T) {
	vs := []client.Version{{}, {Epoch: 0, Seq: 9}, {Epoch: 1, Seq: 0}, {Epoch: 1, Seq: 1}, {Epoch: 2, Seq: 0}}
	for i, a := range vs {
		for j, b := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			require.Equal(t, want, a.Compare(b), "%v vs %v", a, b)
		}
	}
	require.Equal(t, "2/7", client.Version{Epoch: 2, Seq: 7}.String())
	require.True(t, client.Version{}.IsZero())
}

// TestRandomReadsAreMonotonic drives a small cache with random reads, clock
// moves, sources that move on and lagging sources, and checks against a
// reference: every read returns a state at least as new as any returned
// before for that worker, and matching its version; a fresh hit never
// fetches.
func TestRandomReadsAreMonotonic(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		src, clk := newSource(), newClock()
		src.full = seed%2 == 0
		c := newClient(t, src, clk, func(cfg *client.Config) {
			cfg.Cache.MaxEntries = 1 + rng.IntN(4)
			cfg.Cache.MaxVersions = 64
		})
		workers := []string{"a", "b", "c", "d", "e", "f"}
		newest := map[string]client.Version{} // the source's newest
		seen := map[string]client.Version{}   // the newest a reader got
		for _, w := range workers {
			newest[w] = client.Version{Epoch: 1, Seq: 1}
			src.set(w, 1, 1)
		}
		for step := range 400 {
			w := workers[rng.IntN(len(workers))]
			switch r := rng.IntN(10); {
			case r < 2:
				clk.Advance(time.Duration(rng.IntN(int(2 * ttl))))
			case r < 4: // the worker steps (or, rarely, is taken over)
				v := newest[w]
				if rng.IntN(10) == 0 {
					v = client.Version{Epoch: v.Epoch + 1, Seq: 1}
				} else {
					v.Seq += uint64(1 + rng.IntN(3))
				}
				newest[w] = v
				src.set(w, v.Epoch, v.Seq)
			case r < 5: // a lagging source answers an older version for a while
				v := newest[w]
				if v.Seq > 1 {
					src.set(w, v.Epoch, v.Seq-1)
				}
			case r < 6: // the source catches up
				v := newest[w]
				src.set(w, v.Epoch, v.Seq)
			default:
				_, fr := c.Cache().Lookup(w, clk.Now()) // peek (counts, moves LRU)
				calls := src.calls.Load()
				e, err := c.Get(context.Background(), w)
				if errors.Is(err, client.ErrStale) {
					_, known := seen[w]
					require.True(t, known, "seed %d step %d: stale without a version seen", seed, step)
					continue
				}
				require.NoError(t, err, "seed %d step %d", seed, step)
				require.GreaterOrEqual(t, e.Version.Compare(seen[w]), 0, "seed %d step %d: %s went back from %v to %v", seed, step, w, seen[w], e.Version)
				require.True(t, term.Equal(stateOf(w, e.Version), e.State), "seed %d step %d: state matches version", seed, step)
				require.LessOrEqual(t, e.Version.Compare(newest[w]), 0)
				if fr == client.Fresh {
					require.Equal(t, calls, src.calls.Load(), "seed %d step %d: a fresh entry fetched", seed, step)
				}
				seen[w] = e.Version
			}
		}
		st := c.Stats()
		require.LessOrEqual(t, st.Entries, 4)
		require.Equal(t, st.Fetches, uint64(src.calls.Load()))
	}
}

// TestConcurrentReadersAreMonotonic runs readers of a few workers in
// parallel with a writer that steps the workers and moves the clock: every
// reader sees each worker's versions only go forward, and states match
// their versions.
func TestConcurrentReadersAreMonotonic(t *testing.T) {
	src, clk := newSource(), newClock()
	workers := []string{"a", "b", "c"}
	for _, w := range workers {
		src.set(w, 1, 1)
	}
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.Cache.MaxEntries = 2 })
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		seqs := map[string]uint64{"a": 1, "b": 1, "c": 1}
		for {
			select {
			case <-stop:
				return
			default:
			}
			w := workers[rng.IntN(len(workers))]
			seqs[w]++
			src.set(w, 1, seqs[w])
			clk.Advance(ttl / 4)
			runtime.Gosched()
		}
	})
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			seen := map[string]client.Version{}
			for range 500 {
				w := workers[rng.IntN(len(workers))]
				var e client.Entry
				var err error
				if rng.IntN(2) == 0 {
					e, err = c.Get(context.Background(), w)
				} else {
					f := c.GetAsync(w)
					<-f.Done()
					e, err = f.Result()
				}
				if errors.Is(err, client.ErrStale) {
					continue
				}
				if err != nil || e.Version.Compare(seen[w]) < 0 || !term.Equal(stateOf(w, e.Version), e.State) {
					t.Errorf("reader %d: %s: %v after %v (err %v)", r, w, e.Version, seen[w], err)
					return
				}
				seen[w] = e.Version
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
	st := c.Stats()
	require.Equal(t, uint64(4*500), st.Hits+st.Misses+st.Expired)
	require.GreaterOrEqual(t, st.Misses+st.Expired, st.Fetches, "every fetch came from a miss or an expiry")
}

func TestServeStaleWhenSourcesAreDown(t *testing.T) {
	const maxStale = 10 * time.Second
	src, clk := newSource(), newClock()
	src.set("w1", 1, 1)
	src.set("w2", 1, 1)
	c := newClient(t, src, clk, func(cfg *client.Config) { cfg.MaxStale = maxStale })
	plain := newClient(t, src, clk, nil)
	get(t, c, "w1")
	get(t, plain, "w1")
	src.set("w1", 1, 2)
	clk.Advance(ttl)
	seen := get(t, c, "w1")
	require.Equal(t, client.Version{Epoch: 1, Seq: 2}, seen.Version)
	require.False(t, seen.Stale)
	require.Zero(t, seen.Age)
	get(t, plain, "w1")

	down := []error{
		fmt.Errorf("%w: spare@h: connection refused", client.ErrUnavailable),
		fmt.Errorf("%w: reading w1", client.ErrNoSpare),
		fmt.Errorf("%w: after 5s", client.ErrTimeout),
	}
	for i, cause := range down {
		src.mu.Lock()
		src.errs["w1"] = cause
		src.mu.Unlock()
		clk.Advance(ttl)
		age := time.Duration(i+1) * ttl
		e := get(t, c, "w1")
		require.True(t, e.Stale, "%v", cause)
		require.Equal(t, age, e.Age)
		require.Equal(t, seen.Version, e.Version, "the newest version seen, not older")
		require.True(t, term.Equal(seen.State, e.State))
		require.Equal(t, seen.Checked, e.Checked, "only a source renews Checked")
		// The asynchronous path shares it.
		f := c.GetAsync("w1")
		require.True(t, f.Wait(10*time.Second))
		fe, err := f.Result()
		require.NoError(t, err)
		require.True(t, fe.Stale)
		// Without MaxStale the read fails with the cause.
		_, err = plain.Get(context.Background(), "w1")
		require.ErrorIs(t, err, cause)
	}
	st := c.Stats()
	require.Equal(t, uint64(2*len(down)), st.StaleServed)
	require.Equal(t, uint64(2*len(down)), st.Errors, "the fetches still failed")
	require.Zero(t, plain.Stats().StaleServed)

	// A source that answers is not down: its error is the reader's.
	for _, cause := range []error{client.ErrUnknownWorker, client.ErrBadReply} {
		src.mu.Lock()
		src.errs["w1"] = cause
		src.mu.Unlock()
		_, err := c.Get(context.Background(), "w1")
		require.ErrorIs(t, err, cause)
	}
	// Past TTL + MaxStale, and for a worker never read, there is nothing
	// to serve.
	src.mu.Lock()
	src.errs["w1"], src.errs["w2"] = down[0], down[0]
	src.mu.Unlock()
	clk.Advance(ttl + maxStale - time.Duration(len(down))*ttl - time.Nanosecond)
	require.True(t, get(t, c, "w1").Stale, "just within TTL + MaxStale")
	clk.Advance(time.Nanosecond)
	_, err := c.Get(context.Background(), "w1")
	require.ErrorIs(t, err, client.ErrUnavailable)
	_, err = c.Get(context.Background(), "w2")
	require.ErrorIs(t, err, client.ErrUnavailable)
	require.Equal(t, uint64(2*len(down)+1), c.Stats().StaleServed)

	// The source comes back with a newer state: a normal, fresh read.
	src.mu.Lock()
	delete(src.errs, "w1")
	src.mu.Unlock()
	src.set("w1", 1, 3)
	e := get(t, c, "w1")
	require.False(t, e.Stale)
	require.Equal(t, client.Version{Epoch: 1, Seq: 3}, e.Version)
}

func TestServeStaleAfterEvictionFails(t *testing.T) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 1)
	src.set("w2", 1, 1)
	c := newClient(t, src, clk, func(cfg *client.Config) {
		cfg.MaxStale = time.Minute
		cfg.Cache.MaxEntries = 1
	})
	get(t, c, "w1")
	get(t, c, "w2") // evicts w1
	src.mu.Lock()
	src.errs["w1"] = client.ErrNoSpare
	src.mu.Unlock()
	clk.Advance(ttl)
	_, err := c.Get(context.Background(), "w1")
	require.ErrorIs(t, err, client.ErrNoSpare)
	require.Zero(t, c.Stats().StaleServed)
}
