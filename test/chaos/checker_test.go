package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/enode-dev/enode/internal/demo"
)

// freshness is how old a node's newest status may be for the checker to
// count the workers it lists as live copies.
const freshness = time.Second

// maxDualWindow bounds invariant 2 while faults are under way: two live
// copies of a worker for longer than this is a violation even before the
// cluster converges. A fenced copy stops within one round trip of its node
// coming back (the longest window the long profile saw is about 100 ms, the
// observer's polling resolution); a stale copy that keeps running (fencing
// broken) keeps the window open until the end.
const maxDualWindow = 5 * time.Second

// Invariant 4's goroutine bound. A node's goroutine count depends on what
// it runs: its workers, the replicas it keeps, the members it is connected
// to and its role. The checker compares a node process with itself in the
// same situation: the first time it is seen converged with a given load
// (role, workers, replicas, members) sets its baseline for that load, and
// every later converged observation of that process with the same load
// must stay within goroutineSlack of it. A leak of goroutines per fault,
// per takeover or per reconnection grows past the slack after a few dozen
// faults; in-flight calls and timers do not. No count may exceed
// goroutineCap in any case.
const (
	goroutineCap = 5000
)

// goroutineSlack is how far above its baseline a node's goroutine count may
// be: 64 plus a quarter of the baseline.
func goroutineSlack(base int) int { return 64 + base/4 }

// snapshot is one status answer of one node process.
type snapshot struct {
	node string // node name
	inc  int    // the node process (incarnation) that answered; unique in a run
	at   time.Time
	st   demo.Status
}

// incKey identifies one incarnation of a worker: one copy of it, on one node
// process, in one epoch.
type incKey struct {
	worker string
	inc    int
	epoch  uint64
}

// incarnation is what the checker knows of one copy of a worker.
type incarnation struct {
	incKey
	node      string
	firstSeen time.Time
	// startSeq and restored say where the copy started: the replica's
	// sequence number and state Version for a takeover, 0 and 0 for a
	// worker started fresh (its Seq is its Version then).
	startSeq    uint64
	restored    int64
	startKnown  bool // startSeq is known (a takeover record was seen)
	maxAcked    uint64
	maxAckedAt  time.Time
	lastVersion int64
}

// ackedVersion is the state Version of the copy's newest acknowledged state.
// A fresh worker replicates Init's state as Seq 1 and each step as the next;
// a restored one replicates the replica's state (Version restored) as
// startSeq+1 and each step as the next. ok is false when it cannot be known.
func (in *incarnation) ackedVersion() (v int64, ok bool) {
	switch {
	case in.maxAcked == 0:
		return 0, false
	case in.restored == 0 && in.epoch == 1 && in.startSeq == 0:
		return int64(in.maxAcked), true
	case !in.startKnown:
		return 0, false
	case in.maxAcked <= in.startSeq+1:
		return in.restored, true
	default:
		return in.restored + int64(in.maxAcked-in.startSeq-1), true
	}
}

// violation is one broken invariant.
type violation struct {
	kind   string // one of the kind constants
	worker string // the worker it is about; empty for a node-level one
	at     time.Time
	detail string
}

func (v violation) String() string { return v.kind + ": " + v.detail }

// Violation kinds.
const (
	kindLostAck  = "lost-ack"
	kindDup      = "duplicate"
	kindMissing  = "missing"
	kindMismatch = "replica-mismatch"
	kindCrash    = "crash"
	kindMemory   = "memory"
	kindConverge = "no-convergence"
	kindGrowth   = "goroutines"
)

// takeoverKey identifies one takeover: a worker started in a new epoch on a
// node.
type takeoverKey struct {
	worker string
	epoch  uint64
	node   string
}

// checker records what the nodes report as it happens and checks the
// invariants against it. It has no clock of its own and does no I/O: the
// harness feeds it snapshots and the set of node processes that may hold
// live copies (not killed, not stopped). It is safe for concurrent use.
type checker struct {
	mu         sync.Mutex
	incs       map[incKey]*incarnation
	takeovers  map[takeoverKey]demo.TakeoverStatus
	latest     map[string]snapshot // node name -> newest snapshot
	dualSince  map[string]time.Time
	dualNodes  map[string][]string
	longest    time.Duration // longest window with two live copies of a worker
	longestW   string
	dualCount  int
	violations []violation
	reported   map[string]bool // violations already reported, by kind+detail key
	// baselines are the goroutine counts of each node process under each
	// load it was seen converged with (invariant 4).
	baselines map[loadKey]int
}

// loadKey is a node process under one load: what its goroutine count
// depends on.
type loadKey struct {
	inc                        int
	role                       string
	workers, replicas, members int
}

func newChecker() *checker {
	return &checker{
		incs: map[incKey]*incarnation{}, takeovers: map[takeoverKey]demo.TakeoverStatus{},
		latest: map[string]snapshot{}, dualSince: map[string]time.Time{}, dualNodes: map[string][]string{},
		reported: map[string]bool{}, baselines: map[loadKey]int{},
	}
}

// fail records a violation once per key.
func (c *checker) fail(key, kind string, at time.Time, format string, args ...any) {
	if c.reported[kind+"|"+key] {
		return
	}
	c.reported[kind+"|"+key] = true
	worker, _, _ := strings.Cut(key, "/")
	c.violations = append(c.violations, violation{kind: kind, worker: worker, at: at, detail: fmt.Sprintf(format, args...)})
}

// Fail records a violation found by the harness (a crash, a memory bound,
// a cluster that does not converge).
func (c *checker) Fail(kind string, at time.Time, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if c.reported[kind+"|"+msg] {
		return
	}
	c.reported[kind+"|"+msg] = true
	c.violations = append(c.violations, violation{kind: kind, at: at, detail: msg})
}

// Violations returns the violations found so far, oldest first.
func (c *checker) Violations() []violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// Observe records one snapshot. live says which node processes may hold
// live copies now (by incarnation): the others are killed or stopped.
func (c *checker) Observe(s snapshot, live map[int]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.latest[s.node]; ok && old.inc == s.inc && old.at.After(s.at) {
		return // an answer overtaken by a newer one
	}
	c.latest[s.node] = s
	for _, t := range s.st.Takeovers {
		k := takeoverKey{t.Worker, t.Epoch, s.node}
		if _, ok := c.takeovers[k]; !ok {
			c.takeovers[k] = t
		}
	}
	for _, w := range s.st.Workers {
		k := incKey{worker: w.ID, inc: s.inc, epoch: w.Epoch}
		in, ok := c.incs[k]
		if !ok {
			in = &incarnation{incKey: k, node: s.node, firstSeen: s.at, restored: w.Restored}
			if w.Epoch == 1 && w.Restored == 0 {
				in.startKnown = true
			}
			c.incs[k] = in
		}
		if !in.startKnown {
			if t, ok := c.takeovers[takeoverKey{w.ID, w.Epoch, s.node}]; ok {
				in.startSeq, in.startKnown = t.Seq, true
			}
		}
		if w.Restored != 0 {
			in.restored = w.Restored
		}
		if w.Acked > in.maxAcked {
			in.maxAcked, in.maxAckedAt = w.Acked, s.at
		}
		in.lastVersion = w.Version
		c.checkWorker(w.ID, s.at)
	}
	c.checkCopies(s.at, live)
}

// startVersion is the state Version the copy started from: 1 for a fresh
// worker (Init's state), the replica's Version for a restored one; ok is
// false while a restored copy has not reported it yet.
func (in *incarnation) startVersion() (int64, bool) {
	switch {
	case in.restored != 0:
		return in.restored, true
	case in.epoch == 1:
		return 1, true
	}
	return 0, false
}

// checkWorker checks invariant 1 over every pair of copies of a worker: a
// copy that succeeds another (a higher epoch: a takeover; or a copy that
// appeared after the other's acknowledgement: a restart) must start from a
// state Version at or after everything the other had acknowledged. An
// older-epoch copy acknowledging beyond its successor's start, even after
// the successor started, is a forked acknowledgement: the higher epoch wins
// and that state is lost.
//
// Sequence numbers are not compared across copies: a takeover's Seq is the
// replica's frame sequence number, which does not count the same thing as
// a worker's step sequence (see the report on issue 6), so the comparison
// is by the Version inside the state.
func (c *checker) checkWorker(worker string, at time.Time) {
	var copies []*incarnation
	for _, in := range c.incs {
		if in.worker == worker {
			copies = append(copies, in)
		}
	}
	for _, next := range copies {
		start, ok := next.startVersion()
		if !ok {
			continue
		}
		for _, prev := range copies {
			if prev == next {
				continue
			}
			succeeds := prev.epoch < next.epoch || (prev.epoch == next.epoch && prev.maxAckedAt.Before(next.firstSeen))
			if !succeeds {
				continue
			}
			if v, ok := prev.ackedVersion(); ok && v > start {
				c.fail(fmt.Sprintf("%s/%d/%d/%d", worker, next.inc, next.epoch, prev.inc), kindLostAck, at,
					"%s started on %s (epoch %d) from version %d, but its copy on %s (epoch %d) had version %d acknowledged",
					worker, next.node, next.epoch, start, prev.node, prev.epoch, v)
			}
		}
	}
}

// checkCopies tracks windows in which a worker has two live copies: two
// node processes that are neither killed nor stopped and whose fresh status
// lists it.
func (c *checker) checkCopies(now time.Time, live map[int]bool) {
	copies := map[string][]string{}
	for _, s := range c.latest {
		if !live[s.inc] || now.Sub(s.at) > freshness {
			continue
		}
		for _, w := range s.st.Workers {
			copies[w.ID] = append(copies[w.ID], s.node)
		}
	}
	for w, nodes := range copies {
		if len(nodes) > 1 {
			if _, ok := c.dualSince[w]; !ok {
				c.dualSince[w] = now
				c.dualCount++
			}
			sort.Strings(nodes)
			c.dualNodes[w] = nodes
		}
	}
	for w, since := range c.dualSince {
		if len(copies[w]) > 1 {
			if d := now.Sub(since); d > maxDualWindow {
				c.fail(fmt.Sprintf("%s/window/%d", w, since.UnixNano()), kindDup, now,
					"%s has run on %v for %v (bound %v): a stale copy was not fenced", w, c.dualNodes[w], d.Round(time.Millisecond), maxDualWindow)
			}
			continue
		}
		if d := now.Sub(since); d > c.longest {
			c.longest, c.longestW = d, w
		}
		delete(c.dualSince, w)
		delete(c.dualNodes, w)
	}
}

// CheckLoad checks invariant 4's goroutine bound on the newest snapshot of
// every node process in live, taken when the cluster has converged (see
// goroutineSlack).
func (c *checker) CheckLoad(live map[int]bool, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.latest {
		if !live[s.inc] {
			continue
		}
		g := s.st.Process.Goroutines
		if g > goroutineCap {
			c.fail(fmt.Sprintf("%s/%d/cap", s.node, s.inc), kindGrowth, at, "%s (process %d) runs %d goroutines, above the cap of %d",
				s.node, s.inc, g, goroutineCap)
		}
		k := loadKey{inc: s.inc, role: s.st.Role, workers: len(s.st.Workers), replicas: len(s.st.Replicas), members: len(s.st.Members)}
		base, ok := c.baselines[k]
		if !ok {
			c.baselines[k] = g
			continue
		}
		if g > base+goroutineSlack(base) {
			c.fail(fmt.Sprintf("%s/%d/%v", s.node, s.inc, k), kindGrowth, at,
				"%s (process %d) runs %d goroutines with %d workers, %d replicas and %d members; it ran %d under the same load before (slack %d)",
				s.node, s.inc, g, k.workers, k.replicas, k.members, base, goroutineSlack(base))
		}
	}
}

// Duplicates returns the workers with two live copies right now, each with
// the nodes that run it.
func (c *checker) Duplicates() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]string, len(c.dualNodes))
	for w, n := range c.dualNodes {
		out[w] = slices.Clone(n)
	}
	return out
}

// LongestDual returns the longest window seen with two live copies of one
// worker (counting a window still open at now), the worker, and how many
// windows there were.
func (c *checker) LongestDual(now time.Time) (time.Duration, string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, w := c.longest, c.longestW
	for id, since := range c.dualSince {
		if now.Sub(since) > d {
			d, w = now.Sub(since), id
		}
	}
	return d, w, c.dualCount
}

// Latest returns the newest snapshot of every node.
func (c *checker) Latest() map[string]snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]snapshot, len(c.latest))
	for k, v := range c.latest {
		out[k] = v
	}
	return out
}

// Takeovers returns every takeover seen, by the node that did it.
func (c *checker) Takeovers() []takeoverRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]takeoverRecord, 0, len(c.takeovers))
	for k, t := range c.takeovers {
		out = append(out, takeoverRecord{By: k.node, TakeoverStatus: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunningNs < out[j].RunningNs })
	return out
}

// takeoverRecord is a takeover and the node that did it.
type takeoverRecord struct {
	By string
	demo.TakeoverStatus
}

// maxAckedVersion returns the newest acknowledged state Version of worker
// over all its copies, and whether any is known.
func (c *checker) maxAckedVersion(worker string) (int64, string, bool) {
	var best int64
	var where string
	found := false
	for _, in := range c.incs {
		if in.worker != worker {
			continue
		}
		if v, ok := in.ackedVersion(); ok && v > best {
			best, where, found = v, fmt.Sprintf("%s epoch %d", in.node, in.epoch), true
		}
	}
	return best, where, found
}

// VerifySettled checks the settled statuses of every live node at the end
// of a scenario: each expected worker runs exactly once, at or after its
// newest acknowledged Version, and equals its replica on its owner's backup
// by hash and Version. It returns how many acknowledged updates were lost
// (workers with an acknowledged state that did not survive, found now or
// while running).
func (c *checker) VerifySettled(expected []string, settled []demo.Status, at time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	type owned struct {
		node string
		w    demo.WorkerStatus
	}
	owners := map[string][]owned{}
	for _, st := range settled {
		for _, w := range st.Workers {
			owners[w.ID] = append(owners[w.ID], owned{st.Node, w})
		}
	}
	for _, id := range expected {
		os := owners[id]
		acked, where, hasAck := c.maxAckedVersion(id)
		switch {
		case len(os) == 0:
			c.fail(id, kindMissing, at, "%s runs nowhere", id)
			if hasAck {
				c.fail(id+"/final", kindLostAck, at, "%s: version %d was acknowledged (%s) and no copy survived", id, acked, where)
			}
			continue
		case len(os) > 1:
			var names []string
			for _, o := range os {
				names = append(names, fmt.Sprintf("%s (epoch %d)", o.node, o.w.Epoch))
			}
			c.fail(id+"/final", kindDup, at, "%s runs %d times after convergence: %s", id, len(os), strings.Join(names, ", "))
			continue
		}
		owner, w := os[0].node, os[0].w
		if hasAck && w.Version < acked {
			c.fail(id+"/final", kindLostAck, at, "%s on %s is at version %d, but version %d was acknowledged (%s)", id, owner, w.Version, acked, where)
		}
	}
	problems := replicaProblems(expected, settled)
	for _, id := range slices.Sorted(maps.Keys(problems)) {
		c.fail(id, kindMismatch, at, "%s", problems[id])
	}
	for id := range owners {
		if !slices.Contains(expected, id) {
			c.fail(id, kindDup, at, "unexpected worker %s", id)
		}
	}
	lost := map[string]bool{}
	for _, v := range c.violations {
		if v.kind == kindLostAck {
			lost[v.worker] = true
		}
	}
	return len(lost)
}

// replicaProblems checks invariant 3 on settled statuses: every expected
// worker that runs exactly once has a backup, and its replica there has
// the worker's epoch, Version and hash. It returns what is wrong, by
// worker; it records nothing (the harness settles again while it finds
// problems, within its bound, then VerifySettled records them).
func replicaProblems(expected []string, settled []demo.Status) map[string]string {
	byNode := map[string]demo.Status{}
	type owned struct {
		node string
		w    demo.WorkerStatus
	}
	owners := map[string][]owned{}
	for _, st := range settled {
		byNode[st.Node] = st
		for _, w := range st.Workers {
			owners[w.ID] = append(owners[w.ID], owned{st.Node, w})
		}
	}
	out := map[string]string{}
	for _, id := range expected {
		if len(owners[id]) != 1 {
			continue // missing or duplicated: VerifySettled says so
		}
		owner, w := owners[id][0].node, owners[id][0].w
		backup := byNode[owner].Backup
		if backup == "" {
			out[id] = fmt.Sprintf("%s on %s has no backup after settling", id, owner)
			continue
		}
		var rep *demo.ReplicaStatus
		for i, r := range byNode[backup].Replicas {
			if r.Worker == id && r.Owner == owner {
				rep = &byNode[backup].Replicas[i]
				break
			}
		}
		switch {
		case rep == nil:
			out[id] = fmt.Sprintf("%s on %s: no replica on its backup %s", id, owner, backup)
		case rep.Hash != w.Hash || rep.Version != w.Version || rep.Epoch != w.Epoch:
			out[id] = fmt.Sprintf("%s on %s: epoch %d version %d hash %016x; replica on %s: epoch %d version %d hash %016x",
				id, owner, w.Epoch, w.Version, w.Hash, backup, rep.Epoch, rep.Version, rep.Hash)
		}
	}
	return out
}
