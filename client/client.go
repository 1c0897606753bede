package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Fetcher reads a worker's replica from a source (a spare node's replica
// table, or a stand-in in tests). Fetch may block, must return soon after
// ctx is done, and must be safe for concurrent use.
//
// have is the newest Version the caller holds (zero: none). When the
// source's replica is not newer than have, Fetch may answer "unchanged":
// an Entry with a nil State and the source's Version, which saves shipping
// a state the caller already has. Otherwise it returns the replica with its
// state. It returns an error wrapping ErrUnknownWorker when no source keeps
// the worker, and ErrTimeout, ErrNoSpare, ErrUnavailable or ErrBadReply as
// the case may be.
type Fetcher interface {
	Fetch(ctx context.Context, worker string, have Version) (Entry, error)
}

// Config configures a Client.
type Config struct {
	// Cache bounds the client's cache.
	Cache CacheConfig
	// FetchTimeout bounds one fetch from the sources, whoever waits for
	// it (a Get's context can only shorten its own wait).
	FetchTimeout time.Duration
	// Now is the clock of the TTL. Tests inject a fake one.
	Now func() time.Time
	// MaxStale, when positive, lets a read that finds every source down
	// (the fetch failed with ErrNoSpare, ErrUnavailable or ErrTimeout) be
	// answered from the cache with an entry that expired less than
	// MaxStale ago: Entry.Stale is set and Entry.Age says how long ago a
	// source last confirmed it. The entry is the newest the client has
	// handed out for the worker, so a reader still never goes back in
	// time. Zero: such reads fail with the fetch's error.
	MaxStale time.Duration
}

// DefaultConfig returns DefaultCacheConfig, a 5 s fetch timeout and the
// wall clock.
func DefaultConfig() Config {
	return Config{
		Cache:        DefaultCacheConfig(),
		FetchTimeout: 5 * time.Second, // node.Config.CallTimeout's default
		Now:          time.Now,
	}
}

// Validate checks the configuration and names the first wrong field.
func (c Config) Validate() error {
	if err := c.Cache.Validate(); err != nil {
		return fmt.Errorf("Cache: %w", err)
	}
	if c.FetchTimeout <= 0 {
		return fmt.Errorf("%w: FetchTimeout must be positive", ErrInvalidConfig)
	}
	if c.Now == nil {
		return fmt.Errorf("%w: Now must be set", ErrInvalidConfig)
	}
	if c.MaxStale < 0 {
		return fmt.Errorf("%w: MaxStale must not be negative", ErrInvalidConfig)
	}
	return nil
}

// Client reads workers' replicated states through a Cache: synchronously
// with Get, or asynchronously with GetAsync and a Future. Both go through
// the same path: a fresh cached entry answers at once; otherwise one fetch
// per worker runs at a time, and every reader of that worker that comes
// meanwhile waits for it (the reads coalesce). An expired entry is
// revalidated from its Version, so a source whose replica has not moved
// answers "unchanged" without sending the state again. Safe for concurrent
// use; Close stops the fetches under way.
type Client struct {
	cfg   Config
	cache *Cache
	fetch Fetcher

	base context.Context // cancelled by Close: the parent of every fetch
	stop context.CancelFunc
	wg   sync.WaitGroup // the fetch goroutines

	mu       sync.Mutex
	inflight map[string]*flight
	closed   bool
}

// flight is one fetch of one worker and the readers waiting for it.
type flight struct {
	done    chan struct{} // closed when entry and err are set
	entry   Entry
	err     error
	waiters int                // readers that still want the result
	cancel  context.CancelFunc // cancels the fetch
	dropped bool               // every reader gave up: no one may join
}

// New returns a client reading through fetch with a new cache.
func New(fetch Fetcher, cfg Config) (*Client, error) {
	if fetch == nil {
		return nil, fmt.Errorf("%w: nil Fetcher", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cache, err := NewCache(cfg.Cache)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	return &Client{cfg: cfg, cache: cache, fetch: fetch, base: base, stop: stop, inflight: make(map[string]*flight)}, nil
}

// Cache returns the client's cache (for its statistics, or to Remove an
// entry).
func (c *Client) Cache() *Cache { return c.cache }

// Stats returns the cache's and the client's counters.
func (c *Client) Stats() Stats { return c.cache.Stats() }

// Get returns worker's replicated state: from the cache when its entry is
// fresh, otherwise from a fetch (its own or one already under way). The
// state is never older than one this client returned before for the same
// worker. When ctx ends first, Get returns its error (wrapped, and with
// ErrTimeout for a deadline); the fetch goes on for other readers, or
// stops when no one else waits.
func (c *Client) Get(ctx context.Context, worker string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, ctxError(worker, err)
	}
	e, fr := c.cache.Lookup(worker, c.cfg.Now())
	if fr == Fresh {
		return e, nil
	}
	f := c.start(worker, e, fr)
	select {
	case <-f.fl.done:
		return f.Result()
	case <-ctx.Done():
		f.Cancel()
		select {
		case <-f.fl.done: // it completed meanwhile: use a good answer
			if f.fl.err == nil {
				return f.fl.entry, nil
			}
		default:
		}
		return Entry{}, ctxError(worker, ctx.Err())
	}
}

func ctxError(worker string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, worker, err)
	}
	return fmt.Errorf("client: %s: %w", worker, err)
}

// GetAsync starts reading worker's replicated state and returns a Future
// for it at once: already complete when the cache had a fresh entry. The
// read is bounded by Config.FetchTimeout; Future.Cancel gives it up.
func (c *Client) GetAsync(worker string) *Future {
	e, fr := c.cache.Lookup(worker, c.cfg.Now())
	if fr == Fresh {
		return completed(e, nil)
	}
	return c.start(worker, e, fr)
}

// start joins the fetch of worker under way, or starts one: from the
// expired entry e's version, or from nothing when fr is Missing.
func (c *Client) start(worker string, e Entry, fr Freshness) *Future {
	have := Version{}
	if fr == Expired {
		have = e.Version
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return completed(Entry{}, fmt.Errorf("%w: %s", ErrClosed, worker))
	}
	if fl := c.inflight[worker]; fl != nil && !fl.dropped {
		fl.waiters++
		c.cache.stats.coalesced.Add(1)
		return &Future{c: c, fl: fl}
	}
	ctx, cancel := context.WithTimeout(c.base, c.cfg.FetchTimeout)
	fl := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	c.inflight[worker] = fl
	c.cache.stats.fetches.Add(1)
	c.wg.Add(1)
	go c.run(ctx, worker, have, fl)
	return &Future{c: c, fl: fl}
}

// run does one flight's fetch, stores its answer and wakes its readers.
func (c *Client) run(ctx context.Context, worker string, have Version, fl *flight) {
	defer c.wg.Done()
	e, err := c.fetchAndStore(ctx, worker, have)
	if errors.Is(err, errUnconfirmed) {
		// The entry the source confirmed was evicted meanwhile: ask for
		// the state itself.
		e, err = c.fetchAndStore(ctx, worker, Version{})
	}
	fl.cancel()
	if err != nil {
		c.cache.stats.fetchErrors.Add(1)
		if ctx.Err() != nil && c.base.Err() != nil {
			err = fmt.Errorf("%w: %s: %w", ErrClosed, worker, err)
		} else if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
			err = fmt.Errorf("%w: %s after %v: %w", ErrTimeout, worker, c.cfg.FetchTimeout, err)
		}
		if s, ok := c.stale(worker, err); ok {
			e, err = s, nil
		}
	}
	c.mu.Lock()
	if c.inflight[worker] == fl {
		delete(c.inflight, worker)
	}
	fl.entry, fl.err = e, err
	close(fl.done)
	c.mu.Unlock()
}

func (c *Client) fetchAndStore(ctx context.Context, worker string, have Version) (Entry, error) {
	e, err := c.fetch.Fetch(ctx, worker, have)
	if err != nil {
		return Entry{}, err
	}
	if e.Worker == "" {
		e.Worker = worker
	}
	if e.Worker != worker {
		return Entry{}, fmt.Errorf("%w: asked for %s, got %s", ErrBadReply, worker, e.Worker)
	}
	if e.State == nil && have.IsZero() {
		return Entry{}, fmt.Errorf("%w: %s: no state in the answer", ErrBadReply, worker)
	}
	return c.cache.Store(e, c.cfg.Now())
}

// stale returns the entry to serve instead of err when every source is
// down and Config.MaxStale allows it.
func (c *Client) stale(worker string, err error) (Entry, bool) {
	if c.cfg.MaxStale <= 0 || c.base.Err() != nil ||
		!(errors.Is(err, ErrNoSpare) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout)) {
		return Entry{}, false
	}
	return c.cache.serveStale(worker, c.cfg.Now(), c.cfg.Cache.TTL+c.cfg.MaxStale)
}

// release drops one reader's interest in fl; the last one to go cancels
// the fetch.
func (c *Client) release(fl *flight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fl.waiters--
	if fl.waiters == 0 {
		select {
		case <-fl.done:
		default:
			fl.dropped = true
			fl.cancel()
		}
	}
}

// Close cancels the fetches under way, waits for them to end, and makes
// every later read fail with ErrClosed. Cached entries stay readable
// through Cache. Calling it again does nothing.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	return nil
}

// Future is the answer of GetAsync: a read that completes later.
type Future struct {
	c        *Client // nil for a future completed at creation
	fl       *flight
	canceled atomic.Bool
}

// completed returns a future that is already done.
func completed(e Entry, err error) *Future {
	fl := &flight{done: make(chan struct{}), entry: e, err: err}
	close(fl.done)
	return &Future{fl: fl}
}

// Done is closed when the read has completed (Result then returns it).
func (f *Future) Done() <-chan struct{} { return f.fl.done }

// Wait waits at most timeout for the read to complete and reports whether
// it has. A timeout of zero or less only looks.
func (f *Future) Wait(timeout time.Duration) bool {
	select {
	case <-f.fl.done:
		return true
	default:
	}
	if timeout <= 0 {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-f.fl.done:
		return true
	case <-t.C:
		return false
	}
}

// Result returns the read's entry or error once it has completed;
// ErrPending before, and ErrCanceled when Cancel came first.
func (f *Future) Result() (Entry, error) {
	select {
	case <-f.fl.done:
		if f.canceled.Load() && f.fl.err != nil {
			return Entry{}, fmt.Errorf("%w: %w", ErrCanceled, f.fl.err)
		}
		return f.fl.entry, f.fl.err
	default:
	}
	if f.canceled.Load() {
		return Entry{}, ErrCanceled
	}
	return Entry{}, ErrPending
}

// Cancel gives the read up: when no other reader waits for the same fetch,
// the fetch is stopped. Result then returns the answer if it had come
// already, or ErrCanceled. Calling it again does nothing.
func (f *Future) Cancel() {
	if f.canceled.Swap(true) || f.c == nil {
		return
	}
	f.c.release(f.fl)
}
