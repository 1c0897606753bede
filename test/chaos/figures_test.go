package chaos

import (
	"fmt"
	"maps"
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
	failovers   int // failures whose workers were taken over (one per fault, plus the unplanned)
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
	// peakGoroutines is each node's highest goroutine count (from its
	// status).
	peakGoroutines map[string]int
	elapsed        time.Duration
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
	f.peakRSS, f.peakThreads, f.peakGoroutines = maps.Clone(c.peakRSS), maps.Clone(c.peakThr), maps.Clone(c.peakGor)
	for _, ft := range c.faults {
		f.byKind[ft.kind]++
	}
	outcomes, unplanned := matchFailovers(c.faults, tos, c.downs)
	f.unplanned = unplanned
	for _, o := range outcomes {
		if o.takeovers > 0 {
			f.failovers++
			f.failover = append(f.failover, o.failover)
		}
		if o.detected {
			f.detect = append(f.detect, o.detect)
		}
	}
	f.failovers += unplanned
	return f
}

// matchWindow is how long after a fault a takeover or a down event may
// still be its consequence. Failure detection takes well under a second on
// the local profile; anything later is another failure.
const matchWindow = 30 * time.Second

// faultOutcome is what a fault led to.
type faultOutcome struct {
	takeovers int           // takeovers of the faulted node's workers it caused
	detected  bool          // detect is known
	detect    time.Duration // fault to failure detection
	failover  time.Duration // fault to the last of its workers running again (with takeovers only)
}

// matchFailovers says what each fault led to (outcomes[i] is faults[i]'s)
// and how many failovers no fault explains (false failure detections).
//
// A takeover belongs to a fault by identity, not by time order alone: it
// belongs to the latest fault of the node it was taken from (its From)
// injected at or before its Detected time, provided that is within
// matchWindow; otherwise it is unplanned. The fault's detection time is its
// earliest takeover's Detected, its failover time its latest takeover's
// Running, both from the injection. A fault without takeovers (a spare, a
// short pause that was not detected, an active node with no spare to fail
// over to) takes its detection from the observer's down events of that
// node: the first one after the injection and before the node's next
// fault. Unplanned takeovers count one failover per node and burst (those
// detected within a second of the burst's first).
func matchFailovers(faults []fault, tos []takeoverRecord, downs map[string][]time.Time) ([]faultOutcome, int) {
	out := make([]faultOutcome, len(faults))
	// byNode lists each node's faults by injection time.
	byNode := map[string][]int{}
	for i, f := range faults {
		byNode[f.node] = append(byNode[f.node], i)
	}
	for _, is := range byNode {
		sort.SliceStable(is, func(a, b int) bool { return faults[is[a]].at.Before(faults[is[b]].at) })
	}
	first := map[int]int64{} // fault -> earliest Detected
	last := map[int]int64{}  // fault -> latest Running
	unplanned := map[string][]int64{}
	for _, t := range tos {
		owner := -1
		for _, i := range byNode[t.From] {
			if faults[i].at.UnixNano() > t.DetectedNs {
				break
			}
			owner = i
		}
		if owner < 0 || t.DetectedNs-faults[owner].at.UnixNano() > int64(matchWindow) {
			unplanned[t.From] = append(unplanned[t.From], t.DetectedNs)
			continue
		}
		if d, ok := first[owner]; !ok || t.DetectedNs < d {
			first[owner] = t.DetectedNs
		}
		last[owner] = max(last[owner], t.RunningNs)
		out[owner].takeovers++
	}
	for i, f := range faults {
		at := f.at.UnixNano()
		if d, ok := first[i]; ok {
			out[i].detected, out[i].detect = true, time.Duration(d-at)
			out[i].failover = time.Duration(last[i] - at)
			continue
		}
		next := f.at.Add(matchWindow)
		is := byNode[f.node]
		if k := slices.Index(is, i); k+1 < len(is) && faults[is[k+1]].at.Before(next) {
			next = faults[is[k+1]].at
		}
		for _, d := range downs[f.node] {
			if !d.Before(f.at) && d.Before(next) {
				out[i].detected, out[i].detect = true, d.Sub(f.at)
				break
			}
		}
	}
	n := 0
	for _, ds := range unplanned {
		slices.Sort(ds)
		for j := range ds {
			if j == 0 || ds[j]-ds[j-1] > int64(time.Second) {
				n++
			}
		}
	}
	return out, n
}

// quantiles prints the median (the mean of the middle two of an even
// count) and the maximum.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %v, max %v (n=%d)", median(s).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}

// median of sorted durations.
func median(s []time.Duration) time.Duration {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
		fmt.Fprintf(tw, "peak memory %s\t%d MiB RSS, %d threads, %d goroutines\n", n, f.peakRSS[n]>>20, f.peakThreads[n], f.peakGoroutines[n])
	}
	_ = tw.Flush()
	return b.String()
}
