package funnel

import (
	"sync"
	"time"
)

// Clock is the limiter's monotonic time source. Now is the time elapsed
// since an arbitrary fixed origin; it never goes backwards. After returns a
// channel that is closed once the clock has advanced by d, and a function
// that releases the wait early. Implementations are safe for concurrent
// use.
type Clock interface {
	Now() time.Duration
	After(d time.Duration) (done <-chan struct{}, stop func())
}

// SystemClock returns the machine's monotonic clock.
func SystemClock() Clock { return systemClock{origin: time.Now()} }

type systemClock struct{ origin time.Time }

func (c systemClock) Now() time.Duration { return time.Since(c.origin) }

func (c systemClock) After(d time.Duration) (<-chan struct{}, func()) {
	done := make(chan struct{})
	t := time.AfterFunc(d, func() { close(done) })
	return done, func() { t.Stop() }
}

// ManualClock is a Clock that moves only when told to: for tests of
// leaking, retry-after and expiry without sleeping.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Duration
	waiters []manualWaiter
}

type manualWaiter struct {
	at   time.Duration
	done chan struct{}
}

var _ Clock = (*ManualClock)(nil)

// NewManualClock returns a manual clock standing at start.
func NewManualClock(start time.Duration) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel closed once Advance has moved the clock by d (at
// once when d <= 0).
func (c *ManualClock) After(d time.Duration) (<-chan struct{}, func()) {
	done := make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		close(done)
		return done, func() {}
	}
	c.waiters = append(c.waiters, manualWaiter{at: c.now + d, done: done})
	return done, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, w := range c.waiters {
			if w.done == done {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				return
			}
		}
	}
}

// Advance moves the clock forward by d (never backwards) and wakes the
// waits that have come due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now += d
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at <= c.now {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}
