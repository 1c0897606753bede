package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress prints the run: events as lines, and once a second a table of the
// nodes, redrawn in place on a terminal and printed as plain lines otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	drawn int // lines of the table on screen (tty only)
	prev  map[string]nodeSample
}

// nodeSample is a node's cumulative counters at one time, for rates.
type nodeSample struct {
	at    time.Time
	steps uint64
	bytes uint64
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, prev: map[string]nodeSample{}}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clear removes the table from the screen so that a line can go above it.
func (p *progress) clear() {
	if p.tty && p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

// event prints one line.
func (p *progress) event(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// table prints the nodes' progress.
func (p *progress) table(elapsed time.Duration, live []*proc, t *totals) {
	now := time.Now()
	var rows []string
	for _, pr := range live {
		st := pr.latest()
		if st == nil {
			continue
		}
		var steps, sent, full, kf, dl, lag uint64
		for _, w := range st.Workers {
			steps += w.Steps
			sent += w.BytesSent
			full += w.BytesFull
			kf += w.Keyframes
			dl += w.Deltas
			lag = max(lag, w.Lag)
		}
		var stepRate, byteRate float64
		if prev, ok := p.prev[pr.name]; ok && now.After(prev.at) && steps >= prev.steps && sent >= prev.bytes {
			secs := now.Sub(prev.at).Seconds()
			stepRate, byteRate = float64(steps-prev.steps)/secs, float64(sent-prev.bytes)/secs
		}
		p.prev[pr.name] = nodeSample{at: now, steps: steps, bytes: sent}
		backup := st.Backup
		if backup == "" {
			backup = "-"
		}
		pct := "-"
		if full > 0 {
			pct = fmt.Sprintf("%.2f%%", 100*float64(sent)/float64(full))
		}
		if p.tty {
			rows = append(rows, fmt.Sprintf("%-18s %-6s %7d %8.0f %10s %8s %6d %7d %4d %9d  %s",
				shortName(st.Node), st.Role, len(st.Workers), stepRate, bytesOf(byteRate)+"/s", pct, kf, dl, lag,
				len(st.Replicas), shortName(backup)))
		} else {
			rows = append(rows, fmt.Sprintf("t=%4.1fs %s %s workers=%d steps/s=%.0f repl=%s/s sent/full=%s keyframes=%d deltas=%d lag=%d replicas=%d backup=%s",
				elapsed.Seconds(), shortName(st.Node), st.Role, len(st.Workers), stepRate, bytesOf(byteRate), pct, kf, dl, lag,
				len(st.Replicas), shortName(backup)))
		}
	}
	if !p.tty {
		for _, r := range rows {
			fmt.Fprintln(p.w, r)
		}
		return
	}
	p.clear()
	var sum summary
	t.fill(&sum, elapsed)
	head := fmt.Sprintf("t=%4.1fs  %d steps  sent %s of %s full-state (%.2f%%)", elapsed.Seconds(), sum.Steps,
		bytesOf(float64(sum.BytesSent)), bytesOf(float64(sum.BytesFull)), sum.SentPct)
	cols := fmt.Sprintf("%-18s %-6s %7s %8s %10s %8s %6s %7s %4s %9s  %s",
		"node", "role", "workers", "steps/s", "repl", "sent", "kf", "deltas", "lag", "replicas", "backup")
	lines := append([]string{head, cols}, rows...)
	fmt.Fprintln(p.w, strings.Join(lines, "\n"))
	p.drawn = len(lines)
}

// summary prints the verdict.
func (p *progress) summary(s *summary) {
	p.clear()
	fmt.Fprintf(p.w, "\nsummary: %d active + %d spare nodes, %d workers (%s state), keyframes %s, %.1f s\n",
		s.Nodes, s.Spares, s.Workers, s.State, s.Keyframe, float64(s.DurationMs)/1000)
	fmt.Fprintf(p.w, "  steps          %d (%.0f/s)\n", s.Steps, s.StepsPerS)
	fmt.Fprintf(p.w, "  replication    %s sent, %s if every step sent the full state: %.2f%%; %d keyframes, %d deltas\n",
		bytesOf(float64(s.BytesSent)), bytesOf(float64(s.BytesFull)), s.SentPct, s.Keyframes, s.Deltas)
	if s.Killed != nil {
		if s.FailoverMs != nil {
			fmt.Fprintf(p.w, "  failover       %s killed; detected after %d ms; its %d workers ran on %s after %d ms\n",
				*s.Killed, *s.DetectMs, len(s.WorkersTakenOver), s.TakenOverBy, *s.FailoverMs)
		} else {
			fmt.Fprintf(p.w, "  failover       %s killed; its workers were not taken over\n", *s.Killed)
		}
	}
	fmt.Fprintf(p.w, "  each worker runs exactly once: duplicates %d, missing %d\n", s.DuplicateWorkers, s.MissingWorkers)
	fmt.Fprintf(p.w, "  state = replica (hash and version): %d mismatches\n", s.ReplicaMismatches)
	fmt.Fprintf(p.w, "  acknowledged steps lost: %d\n", s.AckedLost)
	if s.Verified {
		fmt.Fprintln(p.w, "VERIFIED")
		return
	}
	fmt.Fprintln(p.w, "NOT VERIFIED:")
	for _, f := range s.Failures {
		fmt.Fprintln(p.w, "  -", f)
	}
}

// shortName is a node name without "@127.0.0.1".
func shortName(n string) string { return strings.TrimSuffix(n, "@127.0.0.1") }

// bytesOf prints a byte count with a binary unit.
func bytesOf(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
