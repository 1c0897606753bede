package client

import (
	"container/list"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enode-dev/enode/term"
)

// Version is where a replica stands in its worker's stream: the worker's
// epoch (1 when started, +1 at each takeover) and the sequence number of
// the state within it. Versions are ordered by epoch, then sequence: a
// state of a later epoch is newer whatever its sequence number.
type Version struct {
	Epoch uint64
	Seq   uint64
}

// Compare returns -1, 0 or +1 as v is older than, the same as, or newer
// than o.
func (v Version) Compare(o Version) int {
	switch {
	case v.Epoch < o.Epoch:
		return -1
	case v.Epoch > o.Epoch:
		return 1
	case v.Seq < o.Seq:
		return -1
	case v.Seq > o.Seq:
		return 1
	}
	return 0
}

// IsZero reports whether v is the zero Version, which stands for "none".
func (v Version) IsZero() bool { return v == Version{} }

// String prints v as "epoch/seq".
func (v Version) String() string {
	return strconv.FormatUint(v.Epoch, 10) + "/" + strconv.FormatUint(v.Seq, 10)
}

// Entry is one worker's replicated state as a reader gets it.
type Entry struct {
	Worker  string
	Owner   string    // the node the worker ran on when it sent this state
	Source  string    // the node whose replica served it
	Version Version   // where State stands in the worker's stream
	State   term.Term // the state; immutable, shared by every reader
	Size    int       // the state's encoded size in bytes when the source said it (0: unknown)
	// Checked is when a source last confirmed Version as its newest (the
	// client's clock); the entry is fresh until Checked + TTL.
	Checked time.Time
	// Stale is set when no source could be read and the entry was served
	// from the cache past its TTL (Config.MaxStale); Age is then how long
	// before the read a source last confirmed Version (now - Checked).
	Stale bool
	Age   time.Duration
}

// Freshness says what a cache lookup found.
type Freshness uint8

// The outcomes of Cache.Lookup.
const (
	Missing Freshness = iota // no entry: read from a source
	Fresh                    // an entry checked less than TTL ago: use it
	Expired                  // an entry older than TTL: revalidate it from its Version
)

// String names the outcome.
func (f Freshness) String() string {
	switch f {
	case Missing:
		return "missing"
	case Fresh:
		return "fresh"
	case Expired:
		return "expired"
	}
	return "freshness(" + strconv.Itoa(int(f)) + ")"
}

// CacheConfig bounds a Cache.
type CacheConfig struct {
	// MaxEntries is how many workers' states the cache keeps; beyond it
	// the least recently used is evicted.
	MaxEntries int
	// MaxBytes, when positive, also bounds the sum of the kept entries'
	// Size (entries whose size is unknown count as 0); the least recently
	// used go first. An entry larger than MaxBytes alone is handed to its
	// readers but not kept.
	MaxBytes int64
	// TTL is how long an entry is served without asking a source again.
	TTL time.Duration
	// MaxVersions is how many evicted workers' newest versions the cache
	// still remembers, so that a worker read again after its eviction is
	// never served an older state than before (ErrStale instead). Beyond
	// it the least recently evicted are forgotten.
	MaxVersions int
}

// DefaultCacheConfig returns the bounds of a cache for a few hundred
// workers with states of a few megabytes.
func DefaultCacheConfig() CacheConfig {
	return CacheConfig{
		MaxEntries:  1024,                   // a cluster's worth of workers
		MaxBytes:    0,                      // no byte bound: MaxEntries alone
		TTL:         100 * time.Millisecond, // a worker steps every few ms; readers see at most 100 ms old states
		MaxVersions: 64 * 1024,              // 16 bytes + the id per worker: a few MB at most
	}
}

// Validate checks the bounds and names the first wrong field.
func (c CacheConfig) Validate() error {
	switch {
	case c.MaxEntries < 1:
		return fmt.Errorf("%w: MaxEntries must be at least 1, not %d", ErrInvalidConfig, c.MaxEntries)
	case c.MaxBytes < 0:
		return fmt.Errorf("%w: MaxBytes must not be negative", ErrInvalidConfig)
	case c.TTL < 0:
		return fmt.Errorf("%w: TTL must not be negative", ErrInvalidConfig)
	case c.MaxVersions < 0:
		return fmt.Errorf("%w: MaxVersions must not be negative", ErrInvalidConfig)
	}
	return nil
}

// Cache keeps workers' replicated states for readers: bounded (LRU by
// entries and optionally bytes), expiring after a TTL, and monotonic: for
// each worker it only ever moves to a newer Version, and it remembers the
// newest Version it handed out after the state itself is evicted. It does
// no I/O and keeps no clock: callers pass the time. Safe for concurrent use.
type Cache struct {
	cfg CacheConfig

	mu       sync.Mutex
	lru      *list.List // of *Entry, most recently used first
	entries  map[string]*list.Element
	bytes    int64
	versions *list.List // of evicted, most recently evicted first
	floors   map[string]*list.Element

	stats counters
}

// evicted is the newest version of a worker whose state was evicted.
type evicted struct {
	worker  string
	version Version
}

// counters are the cache's and its client's statistics.
type counters struct {
	hits, misses, expired, stale, unchanged, evictions atomic.Uint64
	coalesced, fetches, fetchErrors, staleServed       atomic.Uint64
}

// Stats counts what a cache (and the client over it) did.
type Stats struct {
	Hits      uint64 // lookups answered by a fresh entry
	Misses    uint64 // lookups that found no entry
	Expired   uint64 // lookups that found an entry older than TTL (revalidated)
	Coalesced uint64 // reads that joined a fetch of the same worker already under way
	Fetches   uint64 // fetches started from a source
	Errors    uint64 // fetches that failed
	Unchanged uint64 // revalidations the source answered with "not newer": the cached state was kept
	Stale     uint64 // fetches that returned an older version than one already seen: it was refused
	Evictions uint64 // entries evicted by the size bounds
	// StaleServed counts reads answered with an expired entry because no
	// source could be read (Config.MaxStale); they also count as Expired.
	StaleServed uint64
	Entries     int   // entries kept now
	Bytes       int64 // sum of the kept entries' Size
}

// HitRatio is Hits over all lookups (0 when there were none).
func (s Stats) HitRatio() float64 {
	n := s.Hits + s.Misses + s.Expired
	if n == 0 {
		return 0
	}
	return float64(s.Hits) / float64(n)
}

// errUnconfirmed is returned by Store for an "unchanged" answer when the
// entry it confirms is gone (evicted meanwhile): the caller fetches again.
var errUnconfirmed = errors.New("client: nothing cached to confirm")

// NewCache returns an empty cache with the given bounds.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Cache{
		cfg:      cfg,
		lru:      list.New(),
		entries:  make(map[string]*list.Element),
		versions: list.New(),
		floors:   make(map[string]*list.Element),
	}, nil
}

// Lookup returns worker's entry and whether it is Fresh (checked less than
// TTL before now), Expired, or Missing. A found entry becomes the most
// recently used. It counts a hit, an expiry or a miss.
func (c *Cache) Lookup(worker string, now time.Time) (Entry, Freshness) {
	c.mu.Lock()
	el, ok := c.entries[worker]
	if !ok {
		c.mu.Unlock()
		c.stats.misses.Add(1)
		return Entry{}, Missing
	}
	c.lru.MoveToFront(el)
	e := *el.Value.(*Entry)
	c.mu.Unlock()
	if now.Sub(e.Checked) < c.cfg.TTL {
		c.stats.hits.Add(1)
		return e, Fresh
	}
	c.stats.expired.Add(1)
	return e, Expired
}

// serveStale returns worker's cached entry, marked Stale with its Age,
// when a source confirmed it less than maxAge before now; it counts a
// stale read. The entry stays as it was: only a source's answer renews
// Checked. Being the cache's entry, it is the newest version handed out
// for the worker.
func (c *Cache) serveStale(worker string, now time.Time, maxAge time.Duration) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[worker]
	if !ok {
		return Entry{}, false
	}
	e := *el.Value.(*Entry)
	age := now.Sub(e.Checked)
	if age >= maxAge {
		return Entry{}, false
	}
	c.lru.MoveToFront(el)
	c.stats.staleServed.Add(1)
	e.Stale, e.Age = true, age
	return e, true
}

// Store records what a source answered at time now and returns what a
// reader gets:
//
//   - e with a nil State is an "unchanged" answer: the source's newest is
//     e.Version, no newer than the cached one; the cached entry is kept
//     and counts as checked at now.
//   - e older than the newest Version already handed out for the worker
//     is refused (counted as stale): the cached entry is returned,
//     checked at now, or ErrStale when none is cached.
//   - otherwise e (checked at now) replaces the cached entry, unless they
//     are the same Version, in which case the cached state is kept.
func (c *Cache) Store(e Entry, now time.Time) (Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, cached := c.entries[e.Worker]
	var cur *Entry
	floor := Version{}
	if cached {
		cur = el.Value.(*Entry)
		floor = cur.Version
		c.lru.MoveToFront(el)
	} else if fl, ok := c.floors[e.Worker]; ok {
		floor = fl.Value.(*evicted).version
	}
	if e.State == nil {
		if cached && cur.Version.Compare(e.Version) >= 0 {
			c.stats.unchanged.Add(1)
			cur.Checked = now
			return *cur, nil
		}
		return Entry{}, fmt.Errorf("%w: %s at %v", errUnconfirmed, e.Worker, e.Version)
	}
	switch cmp := e.Version.Compare(floor); {
	case cmp < 0:
		c.stats.stale.Add(1)
		if cached {
			cur.Checked = now
			return *cur, nil
		}
		return Entry{}, fmt.Errorf("%w: %s: a source has %v, %v was already served", ErrStale, e.Worker, e.Version, floor)
	case cmp == 0 && cached:
		cur.Checked = now
		return *cur, nil
	}
	e.Checked = now
	if cached {
		c.bytes -= int64(cur.Size)
		*cur = e
	} else {
		if fl, ok := c.floors[e.Worker]; ok {
			c.versions.Remove(fl)
			delete(c.floors, e.Worker)
		}
		c.entries[e.Worker] = c.lru.PushFront(&e)
	}
	c.bytes += int64(e.Size)
	c.evict()
	return e, nil
}

// evict drops least recently used entries until the bounds hold,
// remembering their versions.
func (c *Cache) evict() {
	for c.lru.Len() > c.cfg.MaxEntries || c.cfg.MaxBytes > 0 && c.bytes > c.cfg.MaxBytes && c.lru.Len() > 0 {
		el := c.lru.Back()
		old := c.lru.Remove(el).(*Entry)
		delete(c.entries, old.Worker)
		c.bytes -= int64(old.Size)
		c.stats.evictions.Add(1)
		c.remember(old.Worker, old.Version)
	}
}

// remember keeps worker's newest version after its entry is gone.
func (c *Cache) remember(worker string, v Version) {
	if c.cfg.MaxVersions == 0 {
		return
	}
	c.floors[worker] = c.versions.PushFront(&evicted{worker: worker, version: v})
	for c.versions.Len() > c.cfg.MaxVersions {
		old := c.versions.Remove(c.versions.Back()).(*evicted)
		delete(c.floors, old.worker)
	}
}

// Remove drops worker's entry (its newest version is still remembered)
// and reports whether there was one.
func (c *Cache) Remove(worker string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[worker]
	if !ok {
		return false
	}
	e := c.lru.Remove(el).(*Entry)
	delete(c.entries, worker)
	c.bytes -= int64(e.Size)
	c.remember(e.Worker, e.Version)
	return true
}

// Newest returns the newest version the cache has handed out for worker,
// cached or remembered; false when it knows none.
func (c *Cache) Newest(worker string) (Version, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[worker]; ok {
		return el.Value.(*Entry).Version, true
	}
	if fl, ok := c.floors[worker]; ok {
		return fl.Value.(*evicted).version, true
	}
	return Version{}, false
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n, b := c.lru.Len(), c.bytes
	c.mu.Unlock()
	s := &c.stats
	return Stats{
		Hits: s.hits.Load(), Misses: s.misses.Load(), Expired: s.expired.Load(),
		Coalesced: s.coalesced.Load(), Fetches: s.fetches.Load(), Errors: s.fetchErrors.Load(),
		Unchanged: s.unchanged.Load(), Stale: s.stale.Load(), Evictions: s.evictions.Load(),
		StaleServed: s.staleServed.Load(), Entries: n, Bytes: b,
	}
}
