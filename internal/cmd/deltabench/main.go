// Command deltabench measures enode's delta replication on the reference
// workload (shared/workload.md) and prints one table with every figure the
// delta issue asks for, per state size: keyframe bytes, mean delta bytes,
// bytes per send under Every(10) and under the adaptive policy, and the CPU
// per step of the sender (diff + encode, written in one pass by a
// delta.Differ, as delta.Encoder does) and the receiver (decode + apply,
// in one pass with a delta.Applier, as delta.Decoder does) next to a
// full encode and a full decode of the same state.
//
//	go run ./internal/cmd/deltabench -steps 100 -sizes small,reference,large
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func main() {
	steps := flag.Int("steps", 100, "workload steps per size")
	sizes := flag.String("sizes", "small,reference,large", "comma-separated state sizes: small, reference, large")
	seed := flag.Uint64("seed", 1, "seed of the workload steps")
	steady := flag.Int("steady", 100_000, "sends simulated for the steady-state amortized figures")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var rows []row
	for _, name := range strings.Split(*sizes, ",") {
		v, err := workload.ParseVariant(strings.TrimSpace(name))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		r, err := measure(v, *steps, *seed, *steady)
		if err != nil {
			fmt.Fprintf(os.Stderr, "deltabench: %v: %v\n", v, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		rows = append(rows, r)
	}
	print(os.Stdout, rows, *steps)
}

// row is the figures of one state size.
type row struct {
	size           workload.Variant
	keyframeBytes  int
	meanDelta      float64
	maxDelta       int
	every10Run     float64 // bytes per send over the run, first keyframe included
	adaptiveRun    float64
	every10Steady  float64 // bytes per send in the long run
	adaptiveSteady float64
	adaptiveKeyInt float64       // mean sends between keyframes in the long run
	sender         time.Duration // diff + encode in one pass (delta.AppendDiff)
	diff, encode   time.Duration // delta.Diff, then delta.Encode of the spec
	receive        time.Duration // decode and apply (delta.Applier)
	decode         time.Duration // delta.Decode alone
	senderHash     time.Duration // checksum of the new state on the sender
	hash           time.Duration // checksum of the new replica on the receiver
	keyframeHash   time.Duration // checksum of the decoded keyframe on the receiver
	fullEncode     time.Duration
	fullDecode     time.Duration
	correct        bool
}

func measure(v workload.Variant, steps int, seed uint64, steady int) (row, error) {
	r := row{size: v}
	clock := newCPUClock()
	st := workload.NewStepper(v, seed)
	cur := workload.State(v, 42)
	key, err := fullEncode(cur)
	if err != nil {
		return r, err
	}
	r.keyframeBytes = len(key)
	replica, err := fullDecode(key)
	if err != nil {
		return r, err
	}
	// The replica starts as a delta.Decoder's does: the keyframe decoded,
	// then checked against the frame's checksum, which hashes the whole
	// decoded state (nothing in it carries a hash yet) and caches the
	// hashes, so that each delta's checksum then costs about the change.
	// Timed once, on its own line: it belongs to the keyframe, not to the
	// steps (as the sender's first checksum belongs to its keyframe, taken
	// by the encoders' first Encode below).
	start := clock.now()
	term.Hash(replica)
	r.keyframeHash = clock.now() - start
	// Full encode and decode, timed on the initial state (best of 3, so
	// that a GC cycle does not decide the figure).
	r.fullEncode = best(clock, 3, func() error { _, err := fullEncode(cur); return err })
	r.fullDecode = best(clock, 3, func() error { _, err := fullDecode(key); return err })

	// Every(10) and adaptive streams, run on the same states.
	every, err := delta.NewEncoder(delta.EncoderConfig{Worker: "w", Policy: delta.Every(10)})
	if err != nil {
		return r, err
	}
	adaptive, err := delta.NewEncoder(delta.EncoderConfig{Worker: "w", Policy: delta.DefaultPolicy()})
	if err != nil {
		return r, err
	}
	var everyBytes, adaptiveBytes int
	for _, e := range []*delta.Encoder{every, adaptive} {
		f, err := e.Encode(cur)
		if err != nil {
			return r, err
		}
		if e == every {
			everyBytes += len(f.Payload)
		} else {
			adaptiveBytes += len(f.Payload)
		}
	}

	var deltaSizes []int
	var scratch []byte
	differ := delta.NewDiffer(delta.DiffOptions{})
	total := 0
	var applier delta.Applier
	for k := 1; k <= steps; k++ {
		prev := cur
		// The new state is measured right after the worker built it, as
		// the replication middleware would see it; garbage collection runs
		// when it runs, and its assists count as the step's CPU.
		cur = st.Step(prev, workload.InitialTimestampMs+int64(k)*1000)

		// Sender, in the Encoder's order: checksum of the new state, then
		// diff and encode in one pass (a Differ's AppendDiff into a reused
		// buffer, copied out at its size). The spec path (Diff, then Encode of the
		// spec; what EncodeSpec runs) is timed after it, on caches the
		// sender's pass has warmed, and must give the same bytes.
		t0 := clock.now()
		sum := term.Hash(cur)
		t1 := clock.now()
		scratch, err = differ.AppendDiff(scratch[:0], prev, cur)
		if err != nil {
			return r, err
		}
		payload := append(make([]byte, 0, len(scratch)), scratch...)
		t2 := clock.now()
		spec := delta.Diff(prev, cur)
		t2b := clock.now()
		specPayload, err := delta.Encode(spec)
		t3 := clock.now()
		if err != nil {
			return r, err
		}
		if !bytes.Equal(specPayload, payload) {
			return r, fmt.Errorf("step %d: AppendDiff and Encode(Diff) differ", k)
		}
		// Receiver, in the Decoder's order: decode and apply in one pass
		// (with the Applier kept across steps, as a Decoder keeps one),
		// checksum. Decode alone is timed after them, on the payload only,
		// to show what reading the bytes costs.
		next, err := applier.Apply(replica, payload)
		t4 := clock.now()
		if err != nil {
			return r, err
		}
		h := term.Hash(next)
		t5 := clock.now()
		if h != sum {
			return r, fmt.Errorf("step %d: replica diverged", k)
		}
		if _, err := delta.Decode(payload); err != nil {
			return r, err
		}
		t6 := clock.now()
		replica = next
		r.senderHash += t1 - t0
		r.sender += t2 - t1
		r.diff += t2b - t2
		r.encode += t3 - t2b
		r.receive += t4 - t3
		r.hash += t5 - t4
		r.decode += t6 - t5
		deltaSizes = append(deltaSizes, len(payload))
		total += len(payload)
		r.maxDelta = max(r.maxDelta, len(payload))

		for _, e := range []*delta.Encoder{every, adaptive} {
			f, err := e.Encode(cur)
			if err != nil {
				return r, err
			}
			if e == every {
				everyBytes += len(f.Payload)
			} else {
				adaptiveBytes += len(f.Payload)
			}
		}
	}
	n := time.Duration(max(steps, 1))
	r.sender, r.diff, r.encode, r.decode, r.receive = r.sender/n, r.diff/n, r.encode/n, r.decode/n, r.receive/n
	r.hash, r.senderHash = r.hash/n, r.senderHash/n
	r.meanDelta = float64(total) / float64(max(steps, 1))
	r.every10Run = float64(everyBytes) / float64(steps+1)
	r.adaptiveRun = float64(adaptiveBytes) / float64(steps+1)
	r.every10Steady, _ = simulate(delta.Every(10), r.keyframeBytes, deltaSizes, steady)
	r.adaptiveSteady, r.adaptiveKeyInt = simulate(delta.DefaultPolicy(), r.keyframeBytes, deltaSizes, steady)
	r.correct = term.Equal(replica, cur)
	return r, nil
}

// simulate runs a keyframe policy for sends sends whose delta sizes cycle
// through the measured ones and whose keyframes are keyframeBytes, and
// returns the bytes per send after the first keyframe (which every policy
// pays once) and the mean interval between keyframes.
func simulate(p delta.KeyframePolicy, keyframeBytes int, deltas []int, sends int) (float64, float64) {
	if len(deltas) == 0 || sends == 0 {
		return 0, 0
	}
	h := delta.History{KeyframeBytes: keyframeBytes}
	total, keyframes := 0, 0
	for k := range sends {
		d := deltas[k%len(deltas)]
		h.NextDeltaBytes = d
		if p.Keyframe(h) {
			total += keyframeBytes
			keyframes++
			h = delta.History{KeyframeBytes: keyframeBytes}
			continue
		}
		total += d
		h.Deltas++
		h.DeltaBytes += d
	}
	interval := float64(sends)
	if keyframes > 0 {
		interval = float64(sends) / float64(keyframes)
	}
	return float64(total) / float64(sends), interval
}

func best(clock cpuClock, n int, f func() error) time.Duration {
	var b time.Duration
	for k := range n {
		runtime.GC()
		t := clock.now()
		if err := f(); err != nil {
			return 0
		}
		if d := clock.now() - t; k == 0 || d < b {
			b = d
		}
	}
	return b
}

// fullEncode and fullDecode are a keyframe's payload: the whole state in
// the External Term Format.
func fullEncode(s term.Term) ([]byte, error) { return term.Encode(s) }

func fullDecode(b []byte) (term.Term, error) { return term.Decode(b) }

func print(w io.Writer, rows []row, steps int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(name string, f func(r row) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t", f(r))
		}
		fmt.Fprintln(tw)
	}
	pct := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100*a/b)
	}
	fmt.Fprintf(w, "CPU figures are %s per step, mean of %d steps; full encode/decode best of 3.\n", clockName, steps)
	line(fmt.Sprintf("figure (%d steps)", steps), func(r row) string { return r.size.String() })
	line("keyframe bytes", func(r row) string { return fmt.Sprint(r.keyframeBytes) })
	line("mean delta bytes", func(r row) string { return fmt.Sprintf("%.0f", r.meanDelta) })
	line("  max delta bytes", func(r row) string { return fmt.Sprint(r.maxDelta) })
	line("  mean delta / keyframe (≤ 1%)", func(r row) string { return pct(r.meanDelta, float64(r.keyframeBytes)) })
	line("bytes/send Every(10), run", func(r row) string { return fmt.Sprintf("%.0f", r.every10Run) })
	line("bytes/send adaptive, run", func(r row) string { return fmt.Sprintf("%.0f", r.adaptiveRun) })
	line("bytes/send Every(10), steady", func(r row) string { return fmt.Sprintf("%.0f", r.every10Steady) })
	line("bytes/send adaptive, steady", func(r row) string { return fmt.Sprintf("%.0f", r.adaptiveSteady) })
	line("  adaptive steady / mean delta (≤ 2)", func(r row) string { return fmt.Sprintf("%.2f", r.adaptiveSteady/r.meanDelta) })
	line("  adaptive keyframe interval", func(r row) string { return fmt.Sprintf("%.0f", r.adaptiveKeyInt) })
	line("sender: checksum µs/step", func(r row) string { return us(r.senderHash) })
	line("sender: diff+encode (AppendDiff) µs/step", func(r row) string { return us(r.sender) })
	line("  spec path: Diff µs/step", func(r row) string { return us(r.diff) })
	line("  spec path: Encode µs/step", func(r row) string { return us(r.encode) })
	line("full encode µs", func(r row) string { return us(r.fullEncode) })
	line("  diff+encode / full encode (≤ 5%)", func(r row) string {
		return pct(float64(r.sender), float64(r.fullEncode))
	})
	line("  checksum+diff+encode / full encode", func(r row) string {
		return pct(float64(r.senderHash+r.sender), float64(r.fullEncode))
	})
	line("  spec path Diff+Encode / full encode", func(r row) string {
		return pct(float64(r.diff+r.encode), float64(r.fullEncode))
	})
	line("receiver: decode+apply µs/step", func(r row) string { return us(r.receive) })
	line("  (delta.Decode alone µs/step)", func(r row) string { return us(r.decode) })
	line("full decode µs", func(r row) string { return us(r.fullDecode) })
	line("  decode+apply / full decode (≤ 5%)", func(r row) string {
		return pct(float64(r.receive), float64(r.fullDecode))
	})
	line("receiver: checksum µs/step", func(r row) string { return us(r.hash) })
	line("  decode+apply+checksum / full decode", func(r row) string {
		return pct(float64(r.receive+r.hash), float64(r.fullDecode))
	})
	line("receiver: keyframe checksum µs (once)", func(r row) string { return us(r.keyframeHash) })
	base := -1
	for k, r := range rows {
		if r.size == workload.Reference {
			base = k
		}
	}
	if base >= 0 {
		line("diff+encode time / reference's (large ≤ 2)", func(r row) string {
			return fmt.Sprintf("%.2f", float64(r.sender)/float64(rows[base].sender))
		})
		line("  spec path Diff time / reference's", func(r row) string {
			return fmt.Sprintf("%.2f", float64(r.diff)/float64(rows[base].diff))
		})
	}
	line("replica equals worker", func(r row) string { return fmt.Sprint(r.correct) })
	tw.Flush()
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Nanoseconds())/1e3) }
