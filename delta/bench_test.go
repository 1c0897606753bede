package delta

import (
	"testing"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// benchStates returns a workload state and the state one step later,
// hashed (as the stream's checksums leave them).
func benchStates(v workload.Variant) (*term.Tuple, *term.Tuple) {
	s0 := workload.State(v, 42)
	st := workload.NewStepper(v, 1)
	s0 = st.Step(s0, workload.InitialTimestampMs+1000)
	s1 := st.Step(s0, workload.InitialTimestampMs+2000)
	term.Hash(s0)
	term.Hash(s1)
	return s0, s1
}

func benchVariants(b *testing.B, f func(b *testing.B, v workload.Variant)) {
	for _, v := range []workload.Variant{workload.Small, workload.Reference} {
		b.Run(v.String(), func(b *testing.B) { f(b, v) })
	}
}

func BenchmarkDiff(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		b.ReportAllocs()
		for b.Loop() {
			Diff(s0, s1)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		spec := Diff(s0, s1)
		buf, _ := Encode(spec)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendEncode(buf[:0], spec)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		buf, _ := Encode(Diff(s0, s1))
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkApply(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		spec := Diff(s0, s1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Apply(s0, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMerge folds ten consecutive deltas, as an outbox does.
func BenchmarkMerge(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		st := workload.NewStepper(v, 1)
		s := workload.State(v, 42)
		var specs []Spec
		for k := range 10 {
			n := st.Step(s, int64(k))
			specs = append(specs, Diff(s, n))
			s = n
		}
		b.ReportAllocs()
		for b.Loop() {
			var m Spec = Keep{}
			for _, sp := range specs {
				m = Merge(m, sp)
			}
		}
	})
}

// BenchmarkFullEncode is the keyframe payload of the same state, for
// comparison with Diff + Encode.
func BenchmarkFullEncode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		_, s1 := benchStates(v)
		buf, _ := encodeState(s1)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeState(s1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
