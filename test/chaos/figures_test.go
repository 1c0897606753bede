package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// figures are the numbers a scenario reports.
type figures struct {
	scenario    string
	seed        uint64
	faults      int
	byKind      map[string]int
	failovers   int // takeovers of a node's workers (one per node failure)
	unplanned   int // failovers of a node the harness did not fault (false positives of failure detection)
	detect      []time.Duration
	failover    []time.Duration
	ackedLost   int
	longestDual time.Duration
	dualWorker  string
	dualWindows int
	converge    time.Duration // the final settle: load stopped to every replica equal to its worker
	maxConverge time.Duration // the longest convergence after a fault
	peakRSS     map[string]uint64
	peakThreads map[string]int
	elapsed     time.Duration
}

// collect computes the figures from the faults, the takeovers and the
// observer's membership events.
func (c *cluster) collect(scenario string, started time.Time, converge, maxConverge time.Duration, lost int) figures {
	f := figures{scenario: scenario, seed: c.cfg.seed, byKind: map[string]int{}, ackedLost: lost,
		converge: converge, maxConverge: maxConverge, elapsed: time.Since(started)}
	f.longestDual, f.dualWorker, f.dualWindows = c.chk.LongestDual(time.Now())
	tos := c.chk.Takeovers()
	c.mu.Lock()
	defer c.mu.Unlock()
	f.faults = len(c.faults)
	f.peakRSS, f.peakThreads = map[string]uint64{}, map[string]int{}
	for k, v := range c.peakRSS {
		f.peakRSS[k] = v
	}
	for k, v := range c.peakThr {
		f.peakThreads[k] = v
	}
	// One failover per (from node, detection): the takeovers of its workers.
	type event struct {
		from string
		det  int64
	}
	failovers := map[event][]takeoverRecord{}
	for _, t := range tos {
		e := event{t.From, t.DetectedNs / int64(time.Second)}
		failovers[e] = append(failovers[e], t)
	}
	f.failovers = len(failovers)
	claimed := map[event]bool{}
	for _, ft := range c.faults {
		f.byKind[ft.kind]++
		at := ft.at.UnixNano()
		// The first failover of this node detected after the fault.
		var det, run int64
		var first event
		for e, ts := range failovers {
			if e.from != ft.node || claimed[e] {
				continue
			}
			d := ts[0].DetectedNs
			for _, t := range ts {
				d = min(d, t.DetectedNs)
			}
			if d >= at && d <= at+int64(time.Minute) && (det == 0 || d < det) {
				det, first = d, e
			}
		}
		if det != 0 {
			claimed[first] = true
			for _, t := range failovers[first] {
				run = max(run, t.RunningNs)
			}
		}
		if det != 0 {
			f.detect = append(f.detect, time.Duration(det-at))
			f.failover = append(f.failover, time.Duration(run-at))
			continue
		}
		// No takeover (a spare, or an active node with no spare to go to):
		// detection as the observer saw it.
		for _, d := range c.downs[ft.node] {
			if d.After(ft.at) && d.Sub(ft.at) < time.Minute {
				f.detect = append(f.detect, d.Sub(ft.at))
				break
			}
		}
	}
	for e := range failovers {
		if !claimed[e] {
			f.unplanned++
		}
	}
	return f
}

func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %v, max %v (n=%d)", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}

// String prints the figures as the table each scenario logs.
func (f figures) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\n", f.scenario)
	fmt.Fprintf(tw, "seed\t%d\t(replay: -chaos.seed=%d)\n", f.seed, f.seed)
	fmt.Fprintf(tw, "run time\t%v\n", f.elapsed.Round(time.Millisecond))
	var kinds []string
	for k, n := range f.byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(tw, "faults injected\t%d\t%s\n", f.faults, strings.Join(kinds, ", "))
	fmt.Fprintf(tw, "failovers\t%d\t(of nodes not faulted: %d)\n", f.failovers, f.unplanned)
	fmt.Fprintf(tw, "detection (fault to declared down)\t%s\n", quantiles(f.detect))
	fmt.Fprintf(tw, "failover (fault to workers running again)\t%s\n", quantiles(f.failover))
	fmt.Fprintf(tw, "acknowledged updates lost\t%d\n", f.ackedLost)
	dual := "none"
	if f.dualWindows > 0 {
		dual = fmt.Sprintf("%v (%s; %d windows; observed at %v polling)", f.longestDual.Round(time.Millisecond), f.dualWorker, f.dualWindows, pollEvery)
	}
	fmt.Fprintf(tw, "longest duplicate window\t%s\n", dual)
	fmt.Fprintf(tw, "longest convergence after a fault\t%v\n", f.maxConverge.Round(time.Millisecond))
	fmt.Fprintf(tw, "replica convergence after load stops\t%v\n", f.converge.Round(time.Millisecond))
	var names []string
	for n := range f.peakRSS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(tw, "peak memory %s\t%d MiB RSS, %d threads\n", n, f.peakRSS[n]>>20, f.peakThreads[n])
	}
	_ = tw.Flush()
	return b.String()
}
