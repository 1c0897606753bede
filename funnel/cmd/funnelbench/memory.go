package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/enode-dev/enode/funnel"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memoryFigures fills a single-owner funnel with every key at time 0 on a
// manual clock, measures the heap it holds, moves the clock past the TTL
// (plus the expiry grain), and times how long the owner takes to forget
// every key with no request coming in.
func memoryFigures(rep *report, keys []string) error {
	clock := funnel.NewManualClock(0)
	cfg := benchConfig()
	cfg.Clock = clock
	before := heapInUse()
	lim, err := funnel.New(cfg)
	if err != nil {
		return err
	}
	defer lim.Close()
	out := make([]funnel.Decision, 4096)
	for i := 0; i < len(keys); i += len(out) {
		if err := lim.DecideBatch(keys[i:min(i+len(out), len(keys))], out); err != nil {
			return err
		}
	}
	full := heapInUse()
	held, err := lim.Len()
	if err != nil {
		return err
	}
	perKey := float64(full-before) / float64(held)
	rep.printf("%-44s %8.1f B  (target <= 128 B; key bytes, entry, index, expiry links)\n",
		fmt.Sprintf("memory per idle key at %d keys", held), perKey)

	clock.Advance(cfg.TTL + cfg.TTL/128)
	start := time.Now()
	for {
		n, err := lim.Len()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("expiry: %d keys still there a minute after their TTL", n)
		}
		time.Sleep(time.Millisecond)
	}
	gone := time.Since(start)
	after := heapInUse()
	rep.printf("%-44s %8.3f s  (TTL %v; swept %d per step, no full sweep)\n",
		"all idle keys gone, after the TTL", gone.Seconds(), cfg.TTL, cfg.SweepBudget)
	left := int64(after) - int64(before)
	rep.printf("%-44s %8.1f MB (of %.1f MB at %d keys)\n", "heap left after expiry",
		float64(left)/(1<<20), float64(full-before)/(1<<20), held)
	return nil
}
