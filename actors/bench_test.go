package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/internal/workload"
)

// BenchmarkReplication measures replication in one process (no wire):
// workers step the reference workload as fast as they can and replicate to
// one replica_handler, in delta mode and in full-state mode. Each b.N is
// one step of every worker; the run ends when every worker's last state is
// acknowledged. Metrics: steps/s handled, frames/s and MB/s sent, and the
// bytes a full-state send of the same frames would have cost.
//
//	go test ./actors -run XXX -bench Replication -benchtime 200x
func BenchmarkReplication(b *testing.B) {
	for _, c := range []struct {
		v       workload.Variant
		workers int
	}{{workload.Small, 100}, {workload.Reference, 8}} {
		for _, deltaMode := range []bool{true, false} {
			mode := "delta"
			if !deltaMode {
				mode = "full"
			}
			b.Run(fmt.Sprintf("%s-x%d/%s", c.v, c.workers, mode), func(b *testing.B) {
				benchReplication(b, c.v, c.workers, deltaMode)
			})
		}
	}
}

func benchReplication(b *testing.B, v workload.Variant, n int, deltaMode bool) {
	sys := newSystem(b)
	h := spawnHandler(b, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Delta = deltaMode
	pids := make([]*actor.PID, n)
	stats := make([]*WorkerStats, n)
	for i := range n {
		pids[i], stats[i] = startWorker(b, sys, spec(fmt.Sprintf("w%d", i), newStepper(v), h, rc))
	}
	settled := func() bool {
		for _, s := range stats {
			if x := s.Snapshot(); x.Frames == 0 || x.AckLag != 0 {
				return false
			}
		}
		return true
	}
	waitFor(b, "the first keyframes", settled)
	var before []WorkerStatus
	for _, s := range stats {
		before = append(before, s.Snapshot())
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, pid := range pids {
			sys.Root.Send(pid, "step")
		}
	}
	waitFor(b, "every step acknowledged", func() bool {
		for i, s := range stats {
			if x := s.Snapshot(); x.Steps-before[i].Steps != uint64(b.N) || x.AckLag != 0 {
				return false
			}
		}
		return true
	})
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	var frames, keys, sent, full, needs uint64
	for i, s := range stats {
		x := s.Snapshot()
		frames += x.Frames - before[i].Frames
		keys += x.Keyframes - before[i].Keyframes
		needs += x.NeedKeyframes - before[i].NeedKeyframes + x.AckTimeouts - before[i].AckTimeouts
		sent += x.BytesSent - before[i].BytesSent
		full += x.FullStateBytes - before[i].FullStateBytes
	}
	b.ReportMetric(float64(b.N*n)/elapsed, "steps/s")
	b.ReportMetric(float64(frames)/elapsed, "frames/s")
	b.ReportMetric(float64(sent)/elapsed/1e6, "MB/s")
	b.ReportMetric(float64(sent)/float64(max(frames, 1)), "B/frame")
	b.ReportMetric(float64(keys)/float64(max(frames, 1)), "keyframes/frame")
	b.ReportMetric(float64(needs), "repairs")
	b.ReportMetric(float64(full)/float64(max(sent, 1)), "full/sent")
}
