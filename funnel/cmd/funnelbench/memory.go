package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/funnel"
	"github.com/enode-dev/enode/term"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memoryFigures fills a single-owner funnel with every key at time 0 on a
// manual clock, measures the heap it holds, moves the clock past the TTL,
// and times how long the owner takes to forget every key with no request
// coming in. Then it measures the funnel's two ets tables alone, filled
// with the same objects, to say where the bytes go.
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

	clock.Advance(cfg.TTL + time.Second)
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
	if err := lim.Close(); err != nil {
		return err
	}
	return tableMemory(rep, keys)
}

// tableMemory measures, each alone, the heap per key of the funnel's two
// tables holding the objects the limiter keeps for keys: a Compact set of
// {Key, Room, Last, Stamp} and an ordered_set of {Stamp, Key}.
func tableMemory(rep *report, keys []string) error {
	measure := func(opts ets.Options, obj func(i int, key string) *term.Tuple) (float64, error) {
		before := heapInUse()
		t, err := ets.New(opts)
		if err != nil {
			return 0, err
		}
		for i, k := range keys {
			if err := t.Insert(obj(i, k)); err != nil {
				return 0, err
			}
		}
		per := float64(heapInUse()-before) / float64(len(keys))
		return per, t.DeleteTable()
	}
	set, err := measure(ets.Options{Kind: ets.Set, Compact: true}, func(i int, k string) *term.Tuple {
		return term.NewTuple(term.NewBinary([]byte(k)), term.Float(99), term.Int(int64(i)), term.Int(int64(i)))
	})
	if err != nil {
		return err
	}
	index, err := measure(ets.Options{Kind: ets.OrderedSet, Compact: true}, func(i int, k string) *term.Tuple {
		return term.NewTuple(term.Int(int64(i)), term.NewBinary([]byte(k)))
	})
	if err != nil {
		return err
	}
	rep.printf("%-44s %8.1f B  (Compact set of {Key, Room, Last, Stamp}, alone)\n", "  of which the funnels table", set)
	rep.printf("%-44s %8.1f B  (Compact ordered_set of {Stamp, Key}, alone)\n", "  of which the expiry index", index)
	return nil
}
