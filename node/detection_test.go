package node_test

import (
	"testing"
	"time"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
)

// detectionTime starts a 3-node local cluster, kills one node the way
// kill does (Halt: no leave) or cuts it off (Isolate), and returns how long
// the first node took to report it down.
func detectionTime(tb testing.TB, isolate bool) time.Duration {
	c := nodetest.Start(tb, 3, nodetest.WithConfig(func(cfg *node.Config) { cfg.Failure = node.LocalFailureDetection() }))
	w := c.Nodes[0].MonitorNodes()
	defer w.Cancel()
	victim := c.Nodes[2]
	start := time.Now()
	if isolate {
		c.Isolate(victim)
	} else if err := victim.Halt(); err != nil {
		tb.Fatal(err)
	}
	timer := time.NewTimer(nodetest.DefaultTimeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-w.Events():
			if ev.Kind == node.NodeDown && ev.Member.Name == victim.Name() {
				d := time.Since(start)
				c.Heal()
				return d
			}
		case <-timer.C:
			tb.Fatalf("%s not declared down", victim.Name())
		}
	}
}

// TestFailureDetectionTime measures (and logs; it asserts nothing about
// time) how fast LocalFailureDetection declares a hard-stopped node dead.
// BenchmarkFailureDetection reports the same as a metric.
func TestFailureDetectionTime(t *testing.T) {
	t.Logf("local profile, 3 nodes: halted node declared down after %v", detectionTime(t, false).Round(time.Millisecond))
	t.Logf("local profile, 3 nodes: isolated node declared down after %v", detectionTime(t, true).Round(time.Millisecond))
}

// BenchmarkFailureDetection reports the time from a hard stop to NodeDown
// with LocalFailureDetection, as ms/detection (ns/op includes starting the
// cluster).
func BenchmarkFailureDetection(b *testing.B) {
	for _, tc := range []struct {
		name    string
		isolate bool
	}{{"halt", false}, {"isolate", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += detectionTime(b, tc.isolate)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/detection")
		})
	}
}
