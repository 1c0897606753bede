//go:build unix

package term_test

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// cpuClock reports the CPU time (user and system, all threads, so the
// garbage collector's work is counted) the benchmark has used: on a shared
// machine wall time per op swings with the load, CPU time much less. It is
// reported as cpu-ns/op next to ns/op.
type cpuClock struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuClock { return &cpuClock{b, processCPU()} }

func (c *cpuClock) report() {
	c.b.ReportMetric(float64(processCPU()-c.start)/float64(c.b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The reference workload state (shared/workload.md): about 4 MB as ETF.
// OTP 25 on the development machine encodes it in about 3.5 ms and decodes
// it in about 19 ms (shared/anchors/erl_codec_bench.escript).

func BenchmarkEncodeReference(b *testing.B) {
	s := workload.State(workload.Reference, 42)
	enc, err := term.Encode(s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	cpu := startCPU(b)
	defer cpu.report()
	for b.Loop() {
		if _, err := term.Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncodeReference(b *testing.B) {
	s := workload.State(workload.Reference, 42)
	buf, err := term.AppendEncode(nil, s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	cpu := startCPU(b)
	defer cpu.report()
	for b.Loop() {
		if buf, err = term.AppendEncode(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodedSizeReference(b *testing.B) {
	s := workload.State(workload.Reference, 42)
	n, err := term.EncodedSize(s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := startCPU(b)
	defer cpu.report()
	for b.Loop() {
		if _, err := term.EncodedSize(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReference(b *testing.B) {
	enc, err := term.Encode(workload.State(workload.Reference, 42))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	cpu := startCPU(b)
	defer cpu.report()
	for b.Loop() {
		if _, err := term.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// Small terms: one session record of the workload, and the small variant of
// the state (about 40 KB).

func BenchmarkAppendEncodeSession(b *testing.B) {
	s := workload.Session(12345)
	buf, err := term.AppendEncode(nil, s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = term.AppendEncode(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSession(b *testing.B) {
	s := workload.Session(12345)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := term.Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSession(b *testing.B) {
	enc, err := term.Encode(workload.Session(12345))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := term.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncodeSmall(b *testing.B) {
	s := workload.State(workload.Small, 1)
	buf, err := term.AppendEncode(nil, s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = term.AppendEncode(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSmall(b *testing.B) {
	enc, err := term.Encode(workload.State(workload.Small, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := term.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCompressedSmall(b *testing.B) {
	enc, err := term.EncodeCompressed(workload.State(workload.Small, 1), 6)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := term.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeUnsortedMap decodes a map of 10,000 binary keys written in
// a shuffled order, as OTP writes maps of more than 32 keys (hash order):
// the decoder sorts them.
func BenchmarkDecodeUnsortedMap(b *testing.B) {
	pairs := make([]term.Pair, 10_000)
	for i := range pairs {
		pairs[i] = term.Pair{Key: term.BinaryString("ctr-" + itoa(i+1)), Value: term.Int(i + 1)}
	}
	r := rand.New(rand.NewPCG(9, 9))
	r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	enc := encodeMapInOrder(b, pairs)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := term.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
