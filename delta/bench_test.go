package delta

import (
	"runtime"
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

// loop runs f in b.Loop and reports, besides wall time, the CPU time of
// the benchmark's thread per op (cpu-ns/op): on a shared machine wall time
// also counts waiting for a core.
func loop(b *testing.B, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPU()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if t1, ok1 := threadCPU(); ok && ok1 && n > 0 {
		b.ReportMetric(float64(t1-t0)/float64(n), "cpu-ns/op")
	}
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
		loop(b, func() {
			Diff(s0, s1)
		})
	})
}

// BenchmarkAppendDiff is the sender's diff + encode (Encoder.Encode): the
// wire form of Diff written straight into a reused buffer by the
// Encoder's Differ.
func BenchmarkAppendDiff(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		d := NewDiffer(DiffOptions{})
		buf, _ := d.AppendDiff(nil, s0, s1)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		loop(b, func() {
			buf, _ = d.AppendDiff(buf[:0], s0, s1)
		})
	})
}

func BenchmarkEncode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		spec := Diff(s0, s1)
		buf, _ := Encode(spec)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		loop(b, func() {
			buf, _ = AppendEncode(buf[:0], spec)
		})
	})
}

func BenchmarkDecode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		buf, _ := Encode(Diff(s0, s1))
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		loop(b, func() {
			if _, err := Decode(buf); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkApply(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		s0, s1 := benchStates(v)
		spec := Diff(s0, s1)
		b.ReportAllocs()
		loop(b, func() {
			if _, err := Apply(s0, spec); err != nil {
				b.Fatal(err)
			}
		})
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
		loop(b, func() {
			var m Spec = Keep{}
			for _, sp := range specs {
				m = Merge(m, sp)
			}
		})
	})
}

// BenchmarkFullEncode and BenchmarkFullDecode are the keyframe payload of
// the same state, for comparison with Diff + Encode and Decode + Apply.
func BenchmarkFullEncode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		_, s1 := benchStates(v)
		buf, _ := encodeState(s1)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		loop(b, func() {
			if _, err := encodeState(s1); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkFullDecode(b *testing.B) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		_, s1 := benchStates(v)
		buf, err := encodeState(s1)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		loop(b, func() {
			if _, err := decodeState(buf); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkReceive is the receiver's real path, one workload step per op:
// apply the delta bytes (an Applier kept across steps, as Decoder.Apply
// uses) to a replica
// that was decoded from the keyframe (so it shares nothing with the
// sender's states), and checksum the result. The sender's deltas of 100
// steps are prepared first; after the last one the replica starts again
// from the keyframe (outside the timer, hashed as a keyframe's checksum
// leaves it).
func BenchmarkReceive(b *testing.B) {
	var a Applier
	benchReceive(b, a.Apply, false)
}

// BenchmarkReceiveCold is BenchmarkReceive with the caches flushed before
// each step (by reading 64 MiB outside the timer), as in a real receiver
// and in deltabench, where other work runs between two deltas: what it
// costs is mostly the cache misses on the replica.
func BenchmarkReceiveCold(b *testing.B) {
	var a Applier
	benchReceive(b, a.Apply, true)
}

// BenchmarkReceiveTwoStep is BenchmarkReceive with Decode, then Apply: what
// the fused path saves.
func BenchmarkReceiveTwoStep(b *testing.B) {
	benchReceive(b, func(t term.Term, p []byte) (term.Term, error) {
		spec, err := Decode(p)
		if err != nil {
			return nil, err
		}
		return Apply(t, spec)
	}, false)
}

func benchReceive(b *testing.B, receive func(term.Term, []byte) (term.Term, error), cold bool) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		const steps = 100
		cur := workload.State(v, 42)
		key, err := encodeState(cur)
		if err != nil {
			b.Fatal(err)
		}
		st := workload.NewStepper(v, 1)
		payloads := make([][]byte, steps)
		sums := make([]uint64, steps)
		for k := range payloads {
			next := st.Step(cur, workload.InitialTimestampMs+int64(k+1)*1000)
			if payloads[k], err = Encode(Diff(cur, next)); err != nil {
				b.Fatal(err)
			}
			sums[k] = term.Hash(next)
			cur = next
		}
		fresh := func() term.Term {
			r, err := decodeState(key)
			if err != nil {
				b.Fatal(err)
			}
			term.Hash(r)
			return r
		}
		replica := fresh()
		k := 0
		b.ReportAllocs()
		// The CPU time is summed over the timed parts only: a fresh
		// replica (a full decode) every 100 steps is not the receiver's
		// cost per delta.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var cpu int64
		cpuOK := true
		n := 0
		var flush []uint64
		var sink uint64
		if cold {
			flush = make([]uint64, 8<<20)
		}
		for b.Loop() {
			if k == steps {
				b.StopTimer()
				replica, k = fresh(), 0
				b.StartTimer()
			}
			if cold {
				b.StopTimer()
				for i := 0; i < len(flush); i += 8 {
					flush[i]++
					sink += flush[i]
				}
				b.StartTimer()
			}
			t0, ok0 := threadCPU()
			next, err := receive(replica, payloads[k])
			if err != nil {
				b.Fatal(err)
			}
			if term.Hash(next) != sums[k] {
				b.Fatalf("step %d: checksum mismatch", k)
			}
			t1, ok1 := threadCPU()
			cpu += t1 - t0
			cpuOK = cpuOK && ok0 && ok1
			replica = next
			k++
			n++
		}
		if cpuOK && n > 0 {
			b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
		}
		if sink == 1 {
			b.Log(sink) // keeps the flush loop
		}
	})
}

// BenchmarkSendCold is the sender's diff + encode (a Differ's AppendDiff,
// as Encoder.Encode runs it) of one workload step per op, with the caches
// flushed before each (by reading 64 MiB outside the timer), as in
// deltabench, where the worker's step and other work run between two
// sends. BenchmarkSendColdSpecPath is the same with Diff, then Encode.
func BenchmarkSendCold(b *testing.B) {
	var buf []byte
	d := NewDiffer(DiffOptions{})
	benchSendCold(b, func(x, y term.Term) ([]byte, error) {
		var err error
		buf, err = d.AppendDiff(buf[:0], x, y)
		return buf, err
	})
}

func BenchmarkSendColdSpecPath(b *testing.B) {
	benchSendCold(b, func(x, y term.Term) ([]byte, error) { return Encode(Diff(x, y)) })
}

func benchSendCold(b *testing.B, send func(x, y term.Term) ([]byte, error)) {
	benchVariants(b, func(b *testing.B, v workload.Variant) {
		const steps = 100
		states := []*term.Tuple{workload.State(v, 42)}
		st := workload.NewStepper(v, 1)
		for k := range steps {
			states = append(states, st.Step(states[k], workload.InitialTimestampMs+int64(k+1)*1000))
			term.Hash(states[k+1]) // as the Encoder's checksum leaves it
		}
		b.ReportAllocs()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var m coldMeter
		for b.Loop() {
			b.StopTimer()
			m.flushCaches()
			k := m.ops % steps
			b.StartTimer()
			m.time(func() {
				if _, err := send(states[k], states[k+1]); err != nil {
					b.Fatal(err)
				}
			})
		}
		m.report(b)
	})
}

// coldMeter sums the thread CPU time of the timed parts of a benchmark
// whose caches are flushed (by reading 64 MiB) before each op.
type coldMeter struct {
	flush  []uint64
	sink   uint64
	cpu    int64
	failed bool
	ops    int
}

func (m *coldMeter) flushCaches() {
	if m.flush == nil {
		m.flush = make([]uint64, 8<<20)
	}
	for i := 0; i < len(m.flush); i += 8 {
		m.flush[i]++
		m.sink += m.flush[i]
	}
}

func (m *coldMeter) time(f func()) {
	t0, ok0 := threadCPU()
	f()
	t1, ok1 := threadCPU()
	m.cpu += t1 - t0
	m.failed = m.failed || !ok0 || !ok1
	m.ops++
}

func (m *coldMeter) report(b *testing.B) {
	if !m.failed && m.ops > 0 {
		b.ReportMetric(float64(m.cpu)/float64(m.ops), "cpu-ns/op")
	}
	if m.sink == 1 {
		b.Log(m.sink) // keeps the flush loop
	}
}
