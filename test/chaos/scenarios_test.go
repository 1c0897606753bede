package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedFor returns the run's seed: -chaos.seed, or one from the clock.
func seedFor() uint64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	return uint64(time.Now().UnixNano())
}

// run is one scenario under way: its cluster and its convergence figures.
type run struct {
	t           *testing.T
	c           *cluster
	started     time.Time
	maxConverge time.Duration
}

func newRun(t *testing.T, cfg clusterConfig) *run {
	if testing.Short() {
		t.Skip("the chaos suite runs real node processes; skipped with -short")
	}
	r := &run{t: t, started: time.Now()}
	r.c = startCluster(t, cfg)
	r.warm()
	return r
}

// must fails the scenario on a harness error (after logging the figures).
func (r *run) must(err error) {
	r.t.Helper()
	if err != nil {
		r.report(0, 0)
		r.t.Fatal(err)
	}
}

// warm waits until every worker has had a few steps acknowledged.
func (r *run) warm() {
	r.t.Helper()
	r.must(r.c.waitFor(r.c.cfg.settleTimeout, "warm-up", func() string {
		acked := map[string]uint64{}
		for _, s := range r.c.chk.Latest() {
			for _, w := range s.st.Workers {
				acked[w.ID] = max(acked[w.ID], w.Acked)
			}
		}
		for _, w := range r.c.expected {
			if acked[w] < 5 {
				return fmt.Sprintf("%s acknowledged seq %d", w, acked[w])
			}
		}
		return ""
	}))
}

// converge waits until the cluster has converged after a fault, then checks
// the invariants found so far.
func (r *run) converge(after string) {
	r.t.Helper()
	d, err := r.c.awaitConverged(after)
	r.must(err)
	r.maxConverge = max(r.maxConverge, d)
	if dups := r.c.chk.Duplicates(); len(dups) > 0 {
		r.c.chk.Fail(kindDup, time.Now(), "after %s the cluster converged with two copies: %v", after, dups)
	}
}

// finish stops the load, checks the replicas and every invariant, and logs
// the figures.
func (r *run) finish() []violation {
	r.t.Helper()
	took, lost, err := r.c.settle()
	r.must(err)
	r.report(took, lost)
	return r.c.chk.Violations()
}

func (r *run) report(took time.Duration, lost int) {
	f := r.c.collect(r.t.Name(), r.started, took, r.maxConverge, lost)
	r.t.Logf("figures:\n%s", f)
}

// requireClean fails the test for every violation.
func requireClean(t *testing.T, vs []violation) {
	t.Helper()
	for _, v := range vs {
		t.Errorf("invariant broken: %s", v)
	}
}

// killAndReplace kills a node, waits for its workers to be taken over (when
// it had any), restarts it as a spare and waits for convergence.
func (r *run) killAndReplace(name string) {
	r.t.Helper()
	workers := r.c.workersOn(name)
	kind := "kill-spare"
	if len(workers) > 0 {
		kind = "kill-active"
	}
	at := time.Now()
	r.must(r.c.kill(name, kind))
	if len(workers) > 0 {
		r.must(r.c.awaitTakeover(name, workers, at))
	}
	r.must(r.c.restart(name))
	r.converge(kind + " " + name)
}

// TestKillActiveRestart: SIGKILL an active node; its workers are taken over
// by the spare; the node restarts and rejoins as the new spare.
func TestKillActiveRestart(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	r.killAndReplace("active1@127.0.0.1")
	requireClean(t, r.finish())
}

// TestKillSpare: SIGKILL the spare; workers keep stepping without a backup
// (they must not block) and resume replicating, with a keyframe, once the
// spare is back.
func TestKillSpare(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	before := r.steps()
	at := time.Now()
	r.must(r.c.kill("spare1@127.0.0.1", "kill-spare"))
	r.must(r.c.waitFor(r.c.cfg.settleTimeout, "workers stepping without a spare", func() string {
		now := r.stepsSince(at)
		for _, w := range r.c.expected {
			if now[w] < before[w]+5 {
				return fmt.Sprintf("%s at step %d (was %d)", w, now[w], before[w])
			}
		}
		return ""
	}))
	r.must(r.c.restart("spare1@127.0.0.1"))
	r.converge("kill-spare")
	requireClean(t, r.finish())
}

// steps returns each worker's step count in the newest statuses.
func (r *run) steps() map[string]uint64 { return r.stepsSince(time.Time{}) }

func (r *run) stepsSince(since time.Time) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range r.c.chk.Latest() {
		if !s.at.After(since) {
			continue
		}
		for _, w := range s.st.Workers {
			out[w.ID] = max(out[w.ID], w.Steps)
		}
	}
	return out
}

// TestPauseActive: SIGSTOP an active node for longer than failure detection,
// so that its workers are taken over, then SIGCONT it: fencing must stop its
// stale copies and it turns spare.
func TestPauseActive(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	r.pauseActive("active1@127.0.0.1")
	requireClean(t, r.finish())
}

func (r *run) pauseActive(name string) {
	r.t.Helper()
	workers := r.c.workersOn(name)
	at := time.Now()
	r.must(r.c.pause(name, "stop-active"))
	if len(workers) > 0 {
		r.must(r.c.awaitTakeover(name, workers, at))
	} else {
		r.must(r.awaitDown(name, at))
	}
	r.must(r.c.resume(name))
	r.converge("stop-active " + name)
}

// awaitDown waits until the observer saw name declared down after at.
func (r *run) awaitDown(name string, at time.Time) error {
	return r.c.waitFor(r.c.cfg.settleTimeout, name+" declared down", func() string {
		r.c.mu.Lock()
		defer r.c.mu.Unlock()
		for _, d := range r.c.downs[name] {
			if d.After(at) {
				return ""
			}
		}
		return "not yet"
	})
}

// TestPauseSpare: SIGSTOP the spare until it is declared down, then SIGCONT.
func TestPauseSpare(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	r.pauseSpare("spare1@127.0.0.1")
	requireClean(t, r.finish())
}

func (r *run) pauseSpare(name string) {
	r.t.Helper()
	at := time.Now()
	r.must(r.c.pause(name, "stop-spare"))
	r.must(r.awaitDown(name, at))
	r.must(r.c.resume(name))
	r.converge("stop-spare " + name)
}

// TestKillDuringLargeKeyframe: with the reference state (a 4 MB keyframe)
// and a keyframe every other frame, SIGKILL the active node while frames
// are unacknowledged, then SIGKILL the restarted spare while the new owner
// sends it its first keyframes.
func TestKillDuringLargeKeyframe(t *testing.T) {
	cfg := shortConfig(seedFor())
	cfg.actives, cfg.workers, cfg.state, cfg.keyframe = 1, 2, "reference", "every:2"
	cfg.step, cfg.rssLimit = 300*time.Millisecond, 2<<30
	cfg.settleTimeout = 60 * time.Second
	r := newRun(t, cfg)
	victim := "active1@127.0.0.1"
	r.must(r.awaitInFlight(victim))
	r.killAndReplace(victim)
	// The new owner sends keyframes to the restarted spare (victim): kill
	// it while they are in flight.
	owner := r.c.byRole("active")
	if len(owner) != 1 {
		r.must(fmt.Errorf("want one active node, have %v", owner))
	}
	r.must(r.awaitInFlight(owner[0]))
	r.killAndReplace(victim)
	requireClean(t, r.finish())
}

// awaitInFlight waits until a status of name shows a worker with frames
// sent but not yet acknowledged.
func (r *run) awaitInFlight(name string) error {
	since := time.Now()
	return r.c.waitFor(r.c.cfg.settleTimeout, "frames in flight on "+name, func() string {
		s, ok := r.c.chk.Latest()[name]
		if !ok || !s.at.After(since) {
			return "no status yet"
		}
		for _, w := range s.st.Workers {
			if w.Lag > 0 {
				return ""
			}
		}
		return "every frame acknowledged"
	})
}

// TestRollingRestart: SIGKILL and restart every node, one at a time, each
// time waiting for the cluster to converge.
func TestRollingRestart(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	for _, name := range []string{"spare1@127.0.0.1", "active1@127.0.0.1", "active2@127.0.0.1"} {
		r.killAndReplace(name)
	}
	requireClean(t, r.finish())
}

// TestSoak injects faults at random from the seed: kills and pauses of
// active and spare nodes, and short pauses below failure detection. The
// short profile runs about 40 s; -chaos.duration and -chaos.faults make the
// long one.
func TestSoak(t *testing.T) {
	seed := seedFor()
	if *flagDuration == 0 && *flagSeed == 0 {
		// The short profile replays one fixed schedule, so that go test
		// ./... is a repeatable regression check; the long profile
		// (-chaos.duration) explores new seeds. The long profile still
		// finds takeovers one acknowledged version behind (about 3 in 1000
		// faults): see the chaos suite's closing note.
		seed = 1
	}
	duration, limit := 40*time.Second, *flagFaults
	if *flagDuration > 0 {
		duration = *flagDuration
	}
	r := newRun(t, shortConfig(seed))
	rng := rand.New(rand.NewPCG(seed, 0x63686173))
	end := r.started.Add(duration)
	for n := 0; time.Now().Before(end) && (limit == 0 || n < limit); n++ {
		actives, spares := r.c.byRole("active"), r.c.byRole("spare")
		if len(actives) == 0 || len(spares) == 0 {
			r.must(fmt.Errorf("after %d faults: actives %v, spares %v", n, actives, spares))
		}
		pick := func(ns []string) string { return ns[rng.IntN(len(ns))] }
		switch k := rng.IntN(10); {
		case k < 3:
			r.killAndReplace(pick(actives))
		case k < 5:
			r.killAndReplace(pick(spares))
		case k < 7:
			r.pauseActive(pick(actives))
		case k < 8:
			r.pauseSpare(pick(spares))
		default:
			r.shortPause(pick(slices.Concat(actives, spares)), time.Duration(20+rng.IntN(150))*time.Millisecond)
		}
		if n%50 == 49 {
			t.Logf("%d faults after %v", n+1, time.Since(r.started).Round(time.Second))
		}
	}
	requireClean(t, r.finish())
}

// shortPause stops a node for d, shorter than failure detection usually
// needs (a long GC pause, a descheduled VM); it may or may not be declared
// down, and either way the cluster must converge.
func (r *run) shortPause(name string, d time.Duration) {
	r.t.Helper()
	kind := "pause-short"
	r.must(r.c.pause(name, kind))
	<-time.After(d) // the fault's length, not a wait for a condition
	r.must(r.c.resume(name))
	r.converge(kind + " " + name)
}

// TestCheckerCatchesDoubleFault breaks acknowledgement for real: it kills
// an active node and its spare at once, a double fault N+1 does not cover,
// so the workers' acknowledged states are gone. The checker must report the
// lost acknowledged updates and the missing workers; the test fails if it
// does not.
func TestCheckerCatchesDoubleFault(t *testing.T) {
	r := newRun(t, shortConfig(seedFor()))
	r.must(r.c.kill("spare1@127.0.0.1", "kill-spare"))
	r.must(r.c.kill("active1@127.0.0.1", "kill-active"))
	r.must(r.c.restart("spare1@127.0.0.1"))
	r.must(r.c.restart("active1@127.0.0.1"))
	// The cluster cannot converge (active1's workers run nowhere); wait only
	// until active2 replicates to a spare again, then settle.
	r.must(r.c.waitFor(r.c.cfg.settleTimeout, "active2 replicating", func() string {
		latest := r.c.chk.Latest()
		s, ok := latest["active2@127.0.0.1"]
		if !ok || s.st.Backup == "" {
			return "no backup"
		}
		// Its backup must hold every worker's replica: the backup may have
		// changed (spare1, then active1 as it rejoined) just before.
		b, ok := latest[s.st.Backup]
		if !ok {
			return "backup " + s.st.Backup + " not heard from"
		}
		held := map[string]bool{}
		for _, rep := range b.st.Replicas {
			held[rep.Worker] = true
		}
		for _, w := range s.st.Workers {
			if w.Lag > 5 {
				return w.ID + " lags"
			}
			if !held[w.ID] {
				return w.ID + " has no replica on " + s.st.Backup
			}
		}
		return ""
	}))
	kinds := map[string]int{}
	for _, v := range r.finish() {
		kinds[v.kind]++
		t.Logf("expected violation: %s", v)
	}
	if kinds[kindLostAck] < r.c.cfg.workers || kinds[kindMissing] < r.c.cfg.workers {
		t.Fatalf("the checker missed the lost workers: violations by kind %v, want >= %d lost-ack and missing", kinds, r.c.cfg.workers)
	}
	// Nothing beyond the double fault: active2's workers run once and equal
	// their replicas (settling waits for a backup that changed just before;
	// see cluster.settle).
	if kinds[kindCrash] > 0 || kinds[kindDup] > 0 || kinds[kindMismatch] > 0 || kinds[kindGrowth] > 0 {
		t.Fatalf("violations beyond the double fault: %v", kinds)
	}
	for _, v := range r.c.chk.Violations() {
		if (v.kind == kindLostAck || v.kind == kindMissing) && !strings.HasPrefix(v.worker, "active1-") {
			t.Fatalf("a worker of a node that was not faulted: %s", v)
		}
	}
}

// TestCheckerCatchesBrokenFencing breaks fencing on purpose: every node
// runs the binary built with -tags chaoshooks and its ignore-fenced hook,
// so a worker ignores Fenced. An active node is paused past failure
// detection and its workers are taken over; when it resumes, its stale
// copies keep running. The checker must report invariant 2 (two live
// copies for longer than maxDualWindow) for each of them.
func TestCheckerCatchesBrokenFencing(t *testing.T) {
	r, victim, workers := newHookedRun(t, "ignore-fenced")
	at := time.Now()
	r.must(r.c.pause(victim, "stop-active"))
	r.must(r.c.awaitTakeover(victim, workers, at))
	r.must(r.c.resume(victim))
	resumed := time.Now()
	r.must(r.awaitReported(kindDup, workers, r.c.cfg.settleTimeout+maxDualWindow))
	t.Logf("stale copies reported %v after the victim resumed", time.Since(resumed).Round(time.Millisecond))
	r.report(0, 0)
	r.requireExplained(kindLostAck, kindCrash)
}

// TestCheckerCatchesBrokenAck breaks acknowledgement on purpose: every
// node runs the binary built with -tags chaoshooks and its ack-unstored
// hook, so a replica_handler stores the first state of each worker epoch
// and acknowledges the later ones without storing them. An active node is
// killed; its workers are taken over from those first states. The checker
// must report invariant 1 (lost acknowledged updates) for each of them.
func TestCheckerCatchesBrokenAck(t *testing.T) {
	r, victim, workers := newHookedRun(t, "ack-unstored")
	at := time.Now()
	r.must(r.c.kill(victim, "kill-active"))
	r.must(r.c.awaitTakeover(victim, workers, at))
	r.must(r.awaitReported(kindLostAck, workers, r.c.cfg.settleTimeout))
	r.report(0, len(workers))
	r.requireExplained(kindDup, kindCrash)
}

// awaitReported waits until the checker has reported a violation of kind
// for every one of workers.
func (r *run) awaitReported(kind string, workers []string, timeout time.Duration) error {
	return r.c.waitFor(timeout, "the checker reporting "+kind+" for "+strings.Join(workers, ", "), func() string {
		reported := map[string]bool{}
		for _, v := range r.c.chk.Violations() {
			if v.kind == kind {
				reported[v.worker] = true
			}
		}
		for _, w := range workers {
			if !reported[w] {
				return w + " not reported"
			}
		}
		return ""
	})
}

// newHookedRun starts the short profile's cluster on the node binary built
// with -tags chaoshooks, with hook on in every node, and returns the run,
// the active node to fault and its workers.
func newHookedRun(t *testing.T, hook string) (*run, string, []string) {
	cfg := shortConfig(seedFor())
	cfg.hook = hook
	r := newRun(t, cfg)
	victim := "active1@127.0.0.1"
	return r, victim, r.c.workersOn(victim)
}

// requireExplained logs every violation found (expected ones: a hook broke
// the runtime) and fails the test for those of the kinds the hook does not
// explain.
func (r *run) requireExplained(unexplained ...string) {
	r.t.Helper()
	for _, v := range r.c.chk.Violations() {
		r.t.Logf("expected violation: %s", v)
		if slices.Contains(unexplained, v.kind) {
			r.t.Errorf("a violation the hook does not explain: %s", v)
		}
	}
}
