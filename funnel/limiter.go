package funnel

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enode-dev/enode/ets"
)

// Errors returned by the limiter; test them with errors.Is.
var (
	// ErrConfig is returned by New for a configuration out of range; the
	// message names the field.
	ErrConfig = errors.New("funnel: bad config")
	// ErrCost is returned for a request cost that is negative, not finite,
	// or larger than the capacity (such a request could never fit).
	ErrCost = errors.New("funnel: bad request cost")
	// ErrStopped is returned once the limiter is closed, or when an owner
	// crashed more often than its restart intensity allows.
	ErrStopped = errors.New("funnel: limiter stopped")
	// ErrOwnerRestarted is returned for a request whose owner crashed while
	// deciding it; the owner is restarted with its table intact, and the
	// decisions made before the crash stand. Retrying is safe.
	ErrOwnerRestarted = errors.New("funnel: owner crashed and was restarted")
	// ErrBatch is returned by DecideBatch when out is shorter than keys.
	ErrBatch = errors.New("funnel: output shorter than the batch")
)

// Config configures a Limiter. Start from DefaultConfig.
type Config struct {
	// Capacity is the room of each key's funnel: the largest burst.
	Capacity float64
	// Rate is the room that leaks back per second: the sustained rate.
	Rate float64
	// TTL is how long a key may stay idle before it is forgotten. It must
	// be at least Capacity/Rate, the time a funnel takes to leak empty, so
	// that forgetting a key changes no decision. Keys go once their TTL
	// has passed, when expiry reaches them (keys that arrive faster than a
	// thousand per microsecond a little later).
	TTL time.Duration
	// Shards is the number of owners, each with its own tables; a key
	// always goes to the same one. 1 is the single-owner limiter.
	Shards int
	// ExpireBudget is how many expiry index objects one decision may
	// handle (an idle key removed, or a touched key indexed again).
	ExpireBudget int
	// SweepBudget is how many expiry index objects an owner handles per
	// step when it has no requests; it steps again while more are due.
	SweepBudget int
	// Mailbox is the number of batches that may wait for each owner.
	Mailbox int
	// MaxRestarts and RestartWindow are the owners' restart intensity, as
	// an Erlang supervisor's: more than MaxRestarts crashes of one owner
	// within RestartWindow stop that owner for good.
	MaxRestarts   int
	RestartWindow time.Duration
	// Clock is the time source; tests pass a *ManualClock.
	Clock Clock

	// beforeDecide, when set, is called by the owner before each decision:
	// the test hook that injects crashes.
	beforeDecide func(key string)
	// onTables, when set, is called by each incarnation of an owner with
	// the table handles it took over: the test hook that checks the
	// handover.
	onTables func(shard int, funnels, index *ets.Owner)
}

// DefaultConfig returns a single-owner limiter of 100 requests of burst
// and 10 a second.
func DefaultConfig() Config {
	return Config{
		Capacity:      100,             // burst
		Rate:          10,              // per second
		TTL:           5 * time.Minute, // the original's idle timeout
		Shards:        1,               // single owner
		ExpireBudget:  2,               // more than one insert per access, so expiry keeps up
		SweepBudget:   1024,            // about 50 µs of work per idle step
		Mailbox:       256,             // batches queued per owner
		MaxRestarts:   3,               // Erlang's default intensity
		RestartWindow: 5 * time.Second, // and period
		Clock:         SystemClock(),
	}
}

func (c Config) validate() error {
	bad := func(field string, v any) error { return fmt.Errorf("%w: %s = %v", ErrConfig, field, v) }
	switch {
	case !(c.Capacity > 0) || math.IsInf(c.Capacity, 0):
		return bad("Capacity", c.Capacity)
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return bad("Rate", c.Rate)
	case c.TTL <= 0:
		return bad("TTL", c.TTL)
	case c.TTL.Seconds() < c.Capacity/c.Rate:
		// A key forgotten before its funnel has leaked empty would come
		// back with full room: more grants than the rate allows.
		return fmt.Errorf("%w: TTL = %v is shorter than Capacity/Rate = %.3gs, the time a funnel takes to leak empty", ErrConfig, c.TTL, c.Capacity/c.Rate)
	case c.Shards < 1 || c.Shards > 4096:
		return bad("Shards", c.Shards)
	case c.ExpireBudget < 1:
		return bad("ExpireBudget", c.ExpireBudget)
	case c.SweepBudget < 1:
		return bad("SweepBudget", c.SweepBudget)
	case c.Mailbox < 0:
		return bad("Mailbox", c.Mailbox)
	case c.MaxRestarts < 0:
		return bad("MaxRestarts", c.MaxRestarts)
	case c.RestartWindow <= 0:
		return bad("RestartWindow", c.RestartWindow)
	case c.Clock == nil:
		return bad("Clock", nil)
	}
	return nil
}

// Limiter is a per-key funnel (leaky bucket) rate limiter. Every write to
// a key's funnel is made by the one owner goroutine of the key's shard,
// which owns the shard's ets tables and takes requests in batches from its
// mailbox: a single writer, so a key is never granted more than its room
// however many goroutines ask at once. Owners are supervised, and the
// supervisor is the tables' heir: an owner that panics hands its tables to
// the supervisor as it exits, and the restarted owner takes them over, so
// no funnel state is lost. All methods are safe for concurrent use.
type Limiter struct {
	cfg      Config
	shards   []*shard
	seed     maphash.Seed
	stop     chan struct{}
	stopOnce sync.Once
	owners   group
	batches  sync.Pool
	now      chan struct{} // closed: a wake-up that is already due
}

type shard struct {
	id int
	// funnels and index are the shard's tables while no owner holds
	// them: the heir (the supervisor) puts them here when an owner exits,
	// and the next owner takes them. Touched by the shard's goroutine only.
	funnels, index *ets.Owner
	views          [2]*ets.View // read-only: the funnels and the index
	mbox           chan *batch
	done           chan struct{} // closed when the owner has stopped for good
	err            error         // why, set before done is closed
	restarts       atomic.Int64
	cur            *batch // the batch being decided; owner goroutine only
}

type op uint8

const (
	opDecide op = iota
	opLen
)

// batch is one message to an owner: keys to decide, with their costs, and
// where the decisions go. The owner answers on done.
type batch struct {
	op    op
	keys  []string
	costs []float64 // nil: every cost is 1
	out   []Decision
	idx   []int // positions in the caller's batch (sharded split)
	n     int   // opLen's answer
	err   error
	done  chan struct{}
}

// New starts a limiter with one owner goroutine per shard.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Limiter{cfg: cfg, seed: maphash.MakeSeed(), stop: make(chan struct{}), now: make(chan struct{})}
	close(l.now)
	l.batches.New = func() any { return &batch{done: make(chan struct{}, 1)} }
	for i := range cfg.Shards {
		sh := &shard{
			id:   i,
			mbox: make(chan *batch, cfg.Mailbox),
			done: make(chan struct{}),
		}
		var err error
		if sh.funnels, sh.index, err = newTables(sh.inherit); err != nil {
			return nil, err
		}
		if sh.views[0], err = sh.funnels.View(); err != nil {
			return nil, err
		}
		if sh.views[1], err = sh.index.View(); err != nil {
			return nil, err
		}
		l.shards = append(l.shards, sh)
	}
	for _, sh := range l.shards {
		l.owners.goFunc(func() { l.supervise(sh) })
	}
	return l, nil
}

// inherit is the shard's tables' heir: an owner that exits hands its
// tables back to the shard (Erlang's 'ETS-TRANSFER' to the supervisor),
// for the next owner. It runs on the shard's goroutine, in the exiting
// owner's deferred Exit.
func (sh *shard) inherit(tr ets.Transfer) {
	switch tr.Data {
	case funnelsTable:
		sh.funnels = tr.Table
	case indexTable:
		sh.index = tr.Table
	}
}

func (l *Limiter) supervise(sh *shard) {
	sv := &supervisor{clock: l.cfg.Clock, maxRestarts: l.cfg.MaxRestarts, window: l.cfg.RestartWindow}
	err := sv.run(func() { l.own(sh) }, func(any) {
		sh.restarts.Add(1)
		if b := sh.cur; b != nil {
			sh.cur = nil
			b.err = ErrOwnerRestarted
			b.done <- struct{}{}
		}
	})
	if err == nil {
		err = ErrStopped
	}
	sh.err = err
	// The limiter is done with the tables (stopped, or the owner crashed
	// too often): delete them, which gives their memory back.
	for _, t := range []*ets.Owner{sh.funnels, sh.index} {
		if t != nil {
			_ = t.DeleteTable()
		}
	}
	close(sh.done)
}

// own is one incarnation of a shard's owner: it takes over the shard's
// tables, decides batches and, when it has nothing else to do, expires
// idle keys in bounded steps, waking when the idlest key comes due. When
// it exits, by a clean stop or a crash, its tables pass to their heir.
// An error from the tables (which only a bug could cause) crashes it.
func (l *Limiter) own(sh *shard) {
	tb, err := openTables(l.cfg.Capacity, l.cfg.Rate, l.cfg.TTL, sh.funnels, sh.index)
	if err != nil {
		panic(err)
	}
	sh.funnels, sh.index = nil, nil
	defer tb.exit()
	if l.cfg.onTables != nil {
		l.cfg.onTables(sh.id, tb.funnels, tb.index)
	}
	var due <-chan struct{}
	release := func() {}
	defer func() { release() }()
	for {
		if due == nil {
			at, ok, err := tb.nextDue()
			if err != nil {
				panic(err)
			}
			if ok {
				due, release = l.cfg.Clock.After(time.Duration(max(at-int64(l.cfg.Clock.Now()), 0)))
			}
		}
		select {
		case b := <-sh.mbox:
			l.serve(sh, tb, b)
		case <-due:
			due = nil
			release()
			_, more, err := tb.expire(int64(l.cfg.Clock.Now()), l.cfg.SweepBudget)
			if err != nil {
				panic(err)
			}
			if more {
				due, release = l.now, func() {}
			}
		case <-l.stop:
			return
		}
	}
}

func (l *Limiter) serve(sh *shard, tb *tables, b *batch) {
	sh.cur = b
	var err error
	switch b.op {
	case opLen:
		b.n, err = tb.size()
	case opDecide:
		err = tb.decideBatch(b.keys, b.costs, b.out, int64(l.cfg.Clock.Now()), l.cfg.ExpireBudget, l.cfg.beforeDecide)
	}
	if err != nil {
		panic(err)
	}
	sh.cur = nil
	b.done <- struct{}{}
}

func (l *Limiter) shardOf(key string) int {
	if len(l.shards) == 1 {
		return 0
	}
	hi, _ := bits.Mul64(maphash.String(l.seed, key), uint64(len(l.shards)))
	return int(hi)
}

// send puts b in shard sh's mailbox.
func (l *Limiter) send(sh *shard, b *batch) error {
	select {
	case sh.mbox <- b:
		return nil
	case <-sh.done:
		return sh.err
	case <-l.stop:
		return ErrStopped
	}
}

func (l *Limiter) wait(sh *shard, b *batch) error {
	select {
	case <-b.done:
		return b.err
	case <-sh.done:
		select {
		case <-b.done:
			return b.err
		default:
			return sh.err
		}
	}
}

func (l *Limiter) getBatch() *batch {
	b := l.batches.Get().(*batch)
	b.err = nil
	return b
}

func (l *Limiter) putBatch(b *batch) {
	b.keys, b.costs, b.out, b.idx = b.keys[:0], nil, b.out[:0], b.idx[:0]
	l.batches.Put(b)
}

// Allow decides a request of cost 1 for key.
func (l *Limiter) Allow(key string) (Decision, error) { return l.AllowN(key, 1) }

// AllowN decides a request of the given cost (room it takes) for key.
func (l *Limiter) AllowN(key string, cost float64) (Decision, error) {
	if !(cost >= 0) || cost > l.cfg.Capacity {
		return Decision{}, fmt.Errorf("%w: %v with capacity %v", ErrCost, cost, l.cfg.Capacity)
	}
	sh := l.shards[l.shardOf(key)]
	b := l.getBatch()
	b.op = opDecide
	b.keys = append(b.keys, key)
	if cost != 1 {
		b.costs = []float64{cost}
	}
	b.out = append(b.out, Decision{})
	err := l.send(sh, b)
	if err == nil {
		err = l.wait(sh, b)
	}
	if err != nil {
		// An answer may still come for a batch that was queued when the
		// limiter stopped; leave it to the collector rather than reuse it.
		return Decision{}, err
	}
	d := b.out[0]
	l.putBatch(b)
	return d, nil
}

// DecideBatch decides a request of cost 1 for each key, writing the
// decisions to out[:len(keys)]: one message per owner for the whole batch,
// which is how the limiter reaches millions of decisions a second. Keys
// may repeat; repeated keys are decided in order. On ErrOwnerRestarted
// the crashed owner's keys that were decided before the crash stay
// decided, but no decision of that owner's is reported.
func (l *Limiter) DecideBatch(keys []string, out []Decision) error {
	if len(out) < len(keys) {
		return fmt.Errorf("%w: %d decisions for %d keys", ErrBatch, len(out), len(keys))
	}
	if len(keys) == 0 {
		return nil
	}
	if len(l.shards) == 1 {
		sh := l.shards[0]
		b := l.getBatch()
		b.op, b.keys, b.out = opDecide, keys, out[:len(keys)]
		err := l.send(sh, b)
		if err == nil {
			err = l.wait(sh, b)
		}
		if err == nil {
			b.keys, b.out = nil, nil
			l.putBatch(b)
		}
		return err
	}
	subs := make([]*batch, len(l.shards))
	for i, k := range keys {
		s := l.shardOf(k)
		b := subs[s]
		if b == nil {
			b = l.getBatch()
			b.op = opDecide
			subs[s] = b
		}
		b.keys = append(b.keys, k)
		b.idx = append(b.idx, i)
	}
	var firstErr error
	sent := make([]bool, len(subs))
	for s, b := range subs {
		if b == nil {
			continue
		}
		b.out = slices.Grow(b.out[:0], len(b.keys))[:len(b.keys)]
		if err := l.send(l.shards[s], b); err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		sent[s] = true
	}
	for s, b := range subs {
		if b == nil || !sent[s] {
			continue
		}
		if err := l.wait(l.shards[s], b); err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		for j, i := range b.idx {
			out[i] = b.out[j]
		}
		l.putBatch(b)
	}
	return firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Len returns the number of keys the limiter holds (idle keys included
// until they expire).
func (l *Limiter) Len() (int, error) {
	n := 0
	for _, sh := range l.shards {
		b := l.getBatch()
		b.op = opLen
		err := l.send(sh, b)
		if err == nil {
			err = l.wait(sh, b)
		}
		if err != nil {
			return 0, err
		}
		n += b.n
		b.op = opDecide
		l.putBatch(b)
	}
	return n, nil
}

// Tables returns read-only views of each shard's tables: the funnels, a
// set of {Key, Room, Last, Stamp}, and the expiry index, an ordered_set
// of {Stamp, Key}. Readers may look at them at any time; only the owners
// write.
func (l *Limiter) Tables() (funnels, index []*ets.View) {
	for _, sh := range l.shards {
		funnels = append(funnels, sh.views[0])
		index = append(index, sh.views[1])
	}
	return funnels, index
}

// Restarts returns how many times owners have crashed and been restarted.
func (l *Limiter) Restarts() int {
	n := 0
	for _, sh := range l.shards {
		n += int(sh.restarts.Load())
	}
	return n
}

// Config returns the limiter's configuration.
func (l *Limiter) Config() Config { return l.cfg }

// Close stops the owners and waits for them to exit. Calls after Close
// return ErrStopped. Close is idempotent.
func (l *Limiter) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	l.owners.wait()
	return nil
}
