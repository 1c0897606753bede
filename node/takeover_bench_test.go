package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
)

// BenchmarkFailover measures, with the local failure-detection profile,
// the time from a hard kill (Halt) of an active node running 8 workers to
// all of them running on the spare: kill-ms is that time (median and 90th
// percentile over the iterations), detect-ms the part after the spare
// learned of the death (the rest is failure detection).
//
//	go test ./node -run '^$' -bench Failover -benchtime 20x
func BenchmarkFailover(b *testing.B) {
	const workers = 8
	var kill, detect []time.Duration
	for range b.N {
		b.StopTimer()
		c := nodetest.Start(b, 2, nodetest.WithConfig(withWorkers))
		active, spare := c.Nodes[0], c.Nodes[1]
		waitBackup(b, active, spare.Name())
		for i := range workers {
			id := fmt.Sprintf("w%d", i)
			if _, err := active.StartWorker(id); err != nil {
				b.Fatal(err)
			}
			incr(b, active, id, 10)
			waitAcked(b, active, id, 11)
		}
		b.StartTimer()
		killed := time.Now()
		if err := active.Halt(); err != nil {
			b.Fatal(err)
		}
		var tos []node.Takeover
		nodetest.WaitFor(b, nodetest.DefaultTimeout, func() bool {
			var err error
			tos, err = spare.Takeovers()
			return err == nil && len(tos) == workers && !tos[workers-1].Running.IsZero()
		}, "%d workers taken over", workers)
		b.StopTimer()
		last := tos[0]
		for _, to := range tos {
			if to.Running.After(last.Running) {
				last = to
			}
		}
		kill = append(kill, last.Running.Sub(killed))
		detect = append(detect, last.Running.Sub(last.Detected))
		for _, n := range c.Nodes {
			_ = n.Shutdown()
		}
	}
	report := func(d []time.Duration, unit string) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2])/1e6, unit+"-median")
		b.ReportMetric(float64(d[len(d)*9/10])/1e6, unit+"-p90")
	}
	report(kill, "kill-ms")
	report(detect, "detect-ms")
}

// BenchmarkDualWindow measures how long two copies of a worker run once a
// partitioned active node comes back: from the taker's NodeUp of the
// returning node to its stale copies confirmed stopped (Takeover.DualWindow),
// for 4 workers; window-ms is the largest window of an iteration (median
// and 90th percentile over the iterations).
//
//	go test ./node -run '^$' -bench DualWindow -benchtime 10x
func BenchmarkDualWindow(b *testing.B) {
	const workers = 4
	var windows []time.Duration
	for range b.N {
		b.StopTimer()
		c := nodetest.Start(b, 2, nodetest.WithConfig(withWorkers))
		active, spare := c.Nodes[0], c.Nodes[1]
		waitBackup(b, active, spare.Name())
		for i := range workers {
			id := fmt.Sprintf("w%d", i)
			if _, err := active.StartWorker(id); err != nil {
				b.Fatal(err)
			}
			waitAcked(b, active, id, 1)
		}
		c.Isolate(active)
		nodetest.WaitFor(b, nodetest.DefaultTimeout, func() bool {
			tos, err := spare.Takeovers()
			return err == nil && len(tos) == workers && !tos[workers-1].Running.IsZero()
		}, "takeover")
		b.StartTimer()
		c.Heal()
		var tos []node.Takeover
		nodetest.WaitFor(b, nodetest.DefaultTimeout, func() bool {
			var err error
			tos, err = spare.Takeovers()
			if err != nil {
				return false
			}
			for _, to := range tos {
				if to.Fenced.IsZero() {
					return false
				}
			}
			return true
		}, "stale copies fenced")
		b.StopTimer()
		var w time.Duration
		for _, to := range tos {
			w = max(w, to.DualWindow())
		}
		windows = append(windows, w)
		for _, n := range c.Nodes {
			_ = n.Shutdown()
		}
	}
	slices.Sort(windows)
	b.ReportMetric(float64(windows[len(windows)/2])/1e6, "window-ms-median")
	b.ReportMetric(float64(windows[len(windows)*9/10])/1e6, "window-ms-p90")
}
