// Command sidebyside runs one of the Erlang anchor scripts in shared/anchors
// and enode's counterpart of the same work in this process, and prints the
// two sets of figures in one table, so that a claim such as "enode encodes
// the reference state twice as fast as OTP" is measured on the same machine
// at the same moment.
//
// # Usage
//
//	go run ./internal/cmd/sidebyside [-anchors DIR] [-reps N] codec
//
// codec runs shared/anchors/erl_codec_bench.escript (term_to_binary and
// binary_to_term of the reference workload state, best of 20 runs) and times
// term.AppendEncode into a reused buffer and term.Decode on the same state,
// also best of N runs, then prints encode, decode and their terms-only
// variants (the state without its 1 MiB blob) as OTP µs, enode µs and the
// ratio OTP/enode (above 1: enode is faster).
//
// The anchors are found in ../shared/anchors beside the repository root (the
// repository is cloned with shared/ next to it), or in -anchors DIR. Erlang's
// escript must be installed (apt-get install -y erlang-base); without it the
// command says so and exits with status 1.
//
// Each subcommand is one entry of commands(): a later one (say ets, beside
// ets_bench.escript) adds an entry with its own anchor script, parser and Go
// measurement, and reuses the escript runner and the table printer.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// ErrNoEscript is returned when Erlang's escript is not on the PATH.
var ErrNoEscript = errors.New("escript not found: install Erlang/OTP (apt-get install -y erlang-base) to run the anchors")

// ErrAnchorOutput is returned when an anchor script's output lacks a figure
// or has one that is not a number.
var ErrAnchorOutput = errors.New("unexpected anchor output")

// env is what a subcommand gets: where the anchors are, how many runs to
// take the best of, where to print, and how to run an anchor script.
type env struct {
	anchors string
	reps    int
	out     io.Writer
	// escript runs an anchor script (a file name in anchors) with args and
	// returns its standard output.
	escript func(ctx context.Context, script string, args ...string) (string, error)
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e env) error
}

func commands() map[string]command {
	return map[string]command{
		"codec": {
			summary: "term_to_binary/binary_to_term (erl_codec_bench.escript) vs term.AppendEncode/term.Decode on the reference state",
			run:     runCodec,
		},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(stderr)
	anchors := fs.String("anchors", "", "directory of the Erlang anchor scripts (default: ../shared/anchors beside the repository root)")
	reps := fs.Int("reps", 20, "runs per figure; the best one is reported, as the anchors do")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for the whole comparison")
	cmds := commands()
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sidebyside [flags] COMMAND\n\ncommands:\n")
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-8s %s\n", n, cmds[n].summary)
		}
		fmt.Fprintf(stderr, "\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cmd, ok := cmds[fs.Arg(0)]
	if !ok {
		fmt.Fprintf(stderr, "sidebyside: unknown command %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *reps < 1 {
		fmt.Fprintln(stderr, "sidebyside: -reps must be at least 1")
		return 2
	}
	dir := *anchors
	if dir == "" {
		var err error
		if dir, err = findAnchors(); err != nil {
			fmt.Fprintln(stderr, "sidebyside:", err)
			return 1
		}
	}
	escript, err := exec.LookPath("escript")
	if err != nil {
		fmt.Fprintf(stderr, "sidebyside: !!! %v\n", ErrNoEscript)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	e := env{anchors: dir, reps: *reps, out: stdout, escript: func(ctx context.Context, script string, args ...string) (string, error) {
		return runScript(ctx, escript, filepath.Join(dir, script), args...)
	}}
	if err := cmd.run(ctx, e); err != nil {
		fmt.Fprintln(stderr, "sidebyside:", err)
		return 1
	}
	return 0
}

// findAnchors looks for shared/anchors beside the repository root, the
// nearest directory at or above the working directory holding go.mod.
func findAnchors() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return anchorsFrom(wd)
}

func anchorsFrom(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			a := filepath.Join(filepath.Dir(d), "shared", "anchors")
			if st, err := os.Stat(a); err != nil || !st.IsDir() {
				return "", fmt.Errorf("no anchors at %s (the repository's ../shared/anchors); give -anchors DIR", a)
			}
			return a, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod at or above %s: run from inside the repository or give -anchors DIR", dir)
		}
	}
}

// runScript runs an escript and returns its standard output; on failure the
// error carries its standard error.
func runScript(ctx context.Context, escript, script string, args ...string) (string, error) {
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("anchor script: %w", err)
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, escript, append([]string{script}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", filepath.Base(script), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// codecFigures are the figures of erl_codec_bench.escript, or enode's
// counterparts.
type codecFigures struct {
	Release                              string // OTP release; empty for enode
	StateBytes, TermsOnlyBytes           int
	EncodeUs, DecodeUs                   float64
	TermsOnlyEncodeUs, TermsOnlyDecodeUs float64
}

// parseCodecAnchor reads erl_codec_bench.escript's output:
//
//	otp_release 25
//	state_bytes 3945987
//	encode_us 9012.3  (437.8 MB/s)
//	decode_us 31000.0  (127.3 MB/s)
//	terms_only_bytes 2897391 encode_us 7000.1 (413.9 MB/s) decode_us 28000.0 (103.5 MB/s)
func parseCodecAnchor(out string) (codecFigures, error) {
	var f codecFigures
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		var err error
		switch fields[0] {
		case "otp_release":
			f.Release = fields[1]
		case "state_bytes":
			f.StateBytes, err = strconv.Atoi(fields[1])
		case "encode_us":
			f.EncodeUs, err = parseUs(fields[1])
		case "decode_us":
			f.DecodeUs, err = parseUs(fields[1])
		case "terms_only_bytes":
			f.TermsOnlyBytes, err = strconv.Atoi(fields[1])
			if err == nil {
				f.TermsOnlyEncodeUs, f.TermsOnlyDecodeUs, err = parseTermsOnly(fields[2:])
			}
		default:
			continue
		}
		if err != nil {
			return codecFigures{}, fmt.Errorf("%w: line %q: %v", ErrAnchorOutput, sc.Text(), err)
		}
		seen[fields[0]] = true
	}
	for _, k := range []string{"otp_release", "state_bytes", "encode_us", "decode_us", "terms_only_bytes"} {
		if !seen[k] {
			return codecFigures{}, fmt.Errorf("%w: no %s line", ErrAnchorOutput, k)
		}
	}
	return f, nil
}

// parseTermsOnly reads "encode_us X (..) decode_us Y (..)".
func parseTermsOnly(fields []string) (enc, dec float64, err error) {
	var gotEnc, gotDec bool
	for i := 0; i+1 < len(fields); i++ {
		switch fields[i] {
		case "encode_us":
			enc, err = parseUs(fields[i+1])
			gotEnc = true
		case "decode_us":
			dec, err = parseUs(fields[i+1])
			gotDec = true
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if !gotEnc || !gotDec {
		return 0, 0, errors.New("want encode_us and decode_us")
	}
	return enc, dec, nil
}

func parseUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("time %v is not a positive number", v)
	}
	return v, nil
}

// bestUs runs fn reps times and returns the fastest run in microseconds, as
// the anchors' time_us does.
func bestUs(reps int, fn func()) float64 {
	best := time.Duration(1<<63 - 1)
	for range reps {
		start := time.Now()
		fn()
		if d := time.Since(start); d < best {
			best = d
		}
	}
	return float64(best.Nanoseconds()) / 1e3
}

// allocsPerRun returns the mean number of heap allocations of fn over runs
// calls, after one warm-up call (as testing.AllocsPerRun counts them).
func allocsPerRun(runs int, fn func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	fn()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs)
}

// measureCodec times enode on state and on state without its blob, and
// counts the allocations of one encode into a reused buffer.
func measureCodec(state *term.Tuple, reps int) (codecFigures, float64, error) {
	termsOnly := state.Set(workload.FieldBlob, term.NewBinary(nil))
	var f codecFigures
	var allocs float64
	for _, s := range []struct {
		t        term.Term
		bytes    *int
		enc, dec *float64
	}{
		{state, &f.StateBytes, &f.EncodeUs, &f.DecodeUs},
		{termsOnly, &f.TermsOnlyBytes, &f.TermsOnlyEncodeUs, &f.TermsOnlyDecodeUs},
	} {
		b, err := term.Encode(s.t)
		if err != nil {
			return f, 0, err
		}
		*s.bytes = len(b)
		buf := make([]byte, 0, len(b))
		var encErr, decErr error
		*s.enc = bestUs(reps, func() { buf, encErr = term.AppendEncode(buf[:0], s.t) })
		*s.dec = bestUs(reps, func() { _, decErr = term.Decode(b) })
		if err := errors.Join(encErr, decErr); err != nil {
			return f, 0, err
		}
		if s.t == term.Term(state) {
			allocs = allocsPerRun(5, func() { buf, encErr = term.AppendEncode(buf[:0], s.t) })
		}
	}
	return f, allocs, nil
}

func runCodec(ctx context.Context, e env) error {
	out, err := e.escript(ctx, "erl_codec_bench.escript")
	if err != nil {
		return err
	}
	otp, err := parseCodecAnchor(out)
	if err != nil {
		return err
	}
	state := workload.State(workload.Reference, 42)
	ours, allocs, err := measureCodec(state, e.reps)
	if err != nil {
		return fmt.Errorf("enode codec: %w", err)
	}
	return printCodec(e.out, otp, ours, allocs, e.reps)
}

// printCodec writes the side-by-side table.
func printCodec(w io.Writer, otp, ours codecFigures, allocs float64, reps int) error {
	fmt.Fprintf(w, "codec: reference workload state, OTP %s (best of 20) vs enode (best of %d)\n\n", otp.Release, reps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-18s\tOTP µs\tenode µs\tOTP/enode\t\n", "") // names padded: left-aligned in a right-aligned table
	for _, row := range []struct {
		name      string
		otp, ours float64
	}{
		{"encode", otp.EncodeUs, ours.EncodeUs},
		{"decode", otp.DecodeUs, ours.DecodeUs},
		{"terms-only encode", otp.TermsOnlyEncodeUs, ours.TermsOnlyEncodeUs},
		{"terms-only decode", otp.TermsOnlyDecodeUs, ours.TermsOnlyDecodeUs},
	} {
		fmt.Fprintf(tw, "%-18s\t%.1f\t%.1f\t%.2f\t\n", row.name, row.otp, row.ours, row.otp/row.ours)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nstate bytes: OTP %d, enode %d; terms only: OTP %d, enode %d\n",
		otp.StateBytes, ours.StateBytes, otp.TermsOnlyBytes, ours.TermsOnlyBytes)
	_, err := fmt.Fprintf(w, "allocs per encode into a reused buffer: %.0f\n", allocs)
	if err != nil {
		return err
	}
	if otp.StateBytes != ours.StateBytes || otp.TermsOnlyBytes != ours.TermsOnlyBytes {
		return fmt.Errorf("state sizes differ between OTP and enode: not the same state, the figures do not compare")
	}
	return nil
}
