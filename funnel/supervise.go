package funnel

import (
	"fmt"
	"sync"
	"time"
)

// supervisor restarts an owner loop that panics, one_for_one with an
// Erlang-style intensity: more than maxRestarts restarts within window and
// it gives up. It is the seam where the owner moves onto enode's actors
// package (a protoactor supervisor) later: the loop keeps no state of its
// own, only the ets tables it is handed, which pass back to their heir
// when it exits, so whoever restarts it loses nothing.
type supervisor struct {
	clock       Clock
	maxRestarts int
	window      time.Duration
	restarts    []time.Duration // restart times within the window
}

// run calls loop until it returns normally (a clean stop) or panics too
// often; it returns the last panic as an error in the second case. onCrash
// is told of each panic before the restart.
func (sv *supervisor) run(loop func(), onCrash func(reason any)) error {
	for {
		reason, crashed := sv.once(loop)
		if !crashed {
			return nil
		}
		onCrash(reason)
		now := sv.clock.Now()
		kept := sv.restarts[:0]
		for _, t := range sv.restarts {
			if now-t < sv.window {
				kept = append(kept, t)
			}
		}
		sv.restarts = append(kept, now)
		if len(sv.restarts) > sv.maxRestarts {
			return fmt.Errorf("%w: %d restarts within %v, last: %v", ErrStopped, len(sv.restarts)-1, sv.window, reason)
		}
	}
}

func (sv *supervisor) once(loop func()) (reason any, crashed bool) {
	defer func() {
		if r := recover(); r != nil {
			reason, crashed = r, true
		}
	}()
	loop()
	return nil, false
}

// group tracks the owner goroutines of a limiter so Close can wait for them.
type group struct{ wg sync.WaitGroup }

func (g *group) goFunc(f func()) { g.wg.Go(f) }
func (g *group) wait()           { g.wg.Wait() }
