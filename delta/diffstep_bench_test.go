package delta

import (
	"runtime"
	"testing"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// BenchmarkSendAfterStep is the sender's diff + encode (a Differ's
// AppendDiff) of one workload step per op, timed right after the step
// built the new state and the Encoder's checksum hashed it, as deltabench
// and the actors' sender see it: the old copies of the changed terms were
// just read by the step, the new ones just built. Only AppendDiff is timed.
func BenchmarkSendAfterStep(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		cur := workload.State(v, 42)
		term.Hash(cur)
		st := workload.NewStepper(v, 1)
		d := NewDiffer(DiffOptions{})
		var buf []byte
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var m coldMeter
		k := 0
		for b.Loop() {
			b.StopTimer()
			k++
			if k%1000 == 0 {
				cur = workload.State(v, 42) // bounded growth of the list
				term.Hash(cur)
			}
			next := st.Step(cur, workload.InitialTimestampMs+int64(k)*1000)
			term.Hash(next)
			b.StartTimer()
			m.time(func() {
				var err error
				if buf, err = d.AppendDiff(buf[:0], cur, next); err != nil {
					b.Fatal(err)
				}
			})
			cur = next
		}
		m.report(b)
	})
}
