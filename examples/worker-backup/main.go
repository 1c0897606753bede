// Command worker-backup runs a local N+1 cluster in one command: active nodes
// whose workers hold the reference workload's state (about 4 MB each) and step
// it every 100 ms, replicating every step to a spare as keyframes and deltas;
// it kills one active node with SIGKILL, watches the spare take its workers
// over, brings the killed node back as the new spare, and verifies that every
// worker runs exactly once, that every worker's state equals its replica's,
// and that no acknowledged step was lost.
//
//	go run ./examples/worker-backup                      # 3 active + 1 spare, kill at 10 s, 20 s
//	go run ./examples/worker-backup --keyframe every:10  # compare the keyframe policies
//	go run ./examples/worker-backup --delta=false        # full state every step
//	go run ./examples/worker-backup --json               # last stdout line: the summary as JSON
//
// Each node is a separate OS process (this binary, re-executed) on 127.0.0.1,
// joined through memberlist with the local failure-detection profile. The
// nodes report to this process on their stdout and take commands on their
// stdin; they die with it (process group, parent-death signal, end of stdin).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/enode-dev/enode/internal/demo"
	"github.com/enode-dev/enode/internal/workload"
)

// options are the demo's flags.
type options struct {
	nodes    int
	spares   int
	workers  int
	state    string
	step     time.Duration
	duration time.Duration
	killAt   time.Duration
	keyframe string
	delta    bool
	seed     uint64
	json     bool
	verbose  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("worker-backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.nodes, "nodes", 3, "active nodes")
	fs.IntVar(&o.spares, "spares", 1, "spare nodes")
	fs.IntVar(&o.workers, "workers", 8, "workers per active node")
	fs.StringVar(&o.state, "state", "reference", "worker state size: small (40 KB), reference (4 MB) or large (40 MB)")
	fs.DurationVar(&o.step, "step", 100*time.Millisecond, "time between two steps of each worker")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long the cluster runs before it is verified")
	fs.DurationVar(&o.killAt, "kill-at", 10*time.Second, "when to SIGKILL one active node (0: no kill)")
	fs.StringVar(&o.keyframe, "keyframe", "adaptive", "keyframe policy: adaptive or every:N")
	fs.BoolVar(&o.delta, "delta", true, "send keyframes and deltas (false: the full state every step, for comparison)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the workload and of the choice of the node to kill")
	fs.BoolVar(&o.json, "json", false, "print the summary as one JSON object on the last line of stdout")
	fs.BoolVar(&o.verbose, "v", false, "show the nodes' warnings")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case o.nodes < 1:
		return o, fmt.Errorf("--nodes must be at least 1, got %d", o.nodes)
	case o.spares < 1:
		return o, fmt.Errorf("--spares must be at least 1, got %d", o.spares)
	case o.workers < 1:
		return o, fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	case o.step <= 0:
		return o, fmt.Errorf("--step must be positive, got %v", o.step)
	case o.duration <= 0:
		return o, fmt.Errorf("--duration must be positive, got %v", o.duration)
	case o.killAt < 0 || (o.killAt > 0 && o.killAt >= o.duration):
		return o, fmt.Errorf("--kill-at must be 0 or between 0 and --duration (%v), got %v", o.duration, o.killAt)
	}
	if _, err := workload.ParseVariant(o.state); err != nil {
		return o, fmt.Errorf("--state: %w", err)
	}
	if _, err := demo.ParseKeyframe(o.keyframe); err != nil {
		return o, fmt.Errorf("--keyframe: %w", err)
	}
	return o, nil
}

func main() {
	if isChild() {
		os.Exit(runChild(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker-backup:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, o, os.Stdout, os.Stderr))
}

// run runs the demo and returns the exit code.
func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "worker-backup: cannot find my own binary:", err)
		return 1
	}
	c := &cluster{opts: o, exe: exe, stderr: stderr}
	defer c.shutdown()
	d := &demoRun{o: o, c: c, out: newProgress(stdout, isTerminal(stdout) && !o.json), stats: newTotals()}
	sum, err := d.run(ctx)
	if err != nil {
		d.out.event("FAILED: %v", err)
		if sum == nil {
			return 1
		}
	}
	d.out.summary(sum)
	if o.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintln(stdout, string(b))
	}
	if !sum.Verified {
		return 1
	}
	return 0
}

// demoRun is one run of the demo.
type demoRun struct {
	o     options
	c     *cluster
	out   *progress
	stats *totals
}

// run starts the cluster, kills a node, brings it back, verifies.
func (d *demoRun) run(ctx context.Context) (*summary, error) {
	o, c := d.o, d.c
	sum := &summary{Nodes: o.nodes, Spares: o.spares, Workers: o.nodes * o.workers, State: o.state,
		Keyframe: o.keyframe, Delta: o.delta}
	if !o.delta {
		sum.Keyframe = "none (full state)"
	}
	d.out.event("starting %d active and %d spare nodes on 127.0.0.1, %d workers each, %s state, a step every %v",
		o.nodes, o.spares, o.workers, o.state, o.step)
	var seeds []string
	for i := 1; i <= o.spares; i++ {
		p, err := c.start(fmt.Sprintf("spare%d@127.0.0.1", i), "spare", 0, seeds)
		if err != nil {
			return nil, err
		}
		seeds = []string{p.gossip}
	}
	actives := make([]*proc, 0, o.nodes)
	for i := 1; i <= o.nodes; i++ {
		p, err := c.start(fmt.Sprintf("active%d@127.0.0.1", i), "active", o.workers, seeds)
		if err != nil {
			return nil, err
		}
		actives = append(actives, p)
	}
	d.out.event("cluster up: %s (seed %s)", strings.Join(names(c.live()), ", "), seeds[0])

	start := time.Now()
	var victim *proc
	var kill *killRecord
	if o.killAt > 0 {
		victim = actives[rand.New(rand.NewPCG(o.seed, 0x6b696c6c)).IntN(len(actives))]
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, errors.New("interrupted; the nodes were stopped")
		case <-tick.C:
			d.stats.observe(c.all())
			d.out.table(time.Since(start), c.live(), d.stats)
		case <-poll.C:
		}
		if p := c.exitedUnexpectedly(); p != nil {
			return nil, fmt.Errorf("%s: %w: %v", p.name, errNodeExited, p.waitErr)
		}
		elapsed := time.Since(start)
		if err := d.unexpectedTakeover(kill); err != nil {
			return nil, err
		}
		if victim != nil && kill == nil && elapsed >= o.killAt {
			d.stats.observe(c.all())
			kill = &killRecord{node: victim.name, acked: ackedVersions(victim.latest()), at: time.Now()}
			if err := c.kill(victim); err != nil {
				return nil, fmt.Errorf("kill %s: %w", victim.name, err)
			}
			d.out.event("t=%4.1fs  SIGKILL %s (its %d workers: newest acknowledged versions known here %s)",
				elapsed.Seconds(), victim.name, len(kill.acked), versionRange(kill.acked))
		}
		if kill != nil && !kill.done {
			if d.checkFailover(kill) {
				d.out.event("t=%4.1fs  %s declared down after %d ms; %d workers running again on %s after %d ms (epoch %d, from replicas at versions %s)",
					time.Since(start).Seconds(), kill.node, kill.detect.Milliseconds(), len(kill.taken), kill.to,
					kill.failover.Milliseconds(), kill.epoch, versionRange(kill.restored))
				rp, err := c.start(kill.node, "spare", 0, c.gossipAddrs())
				if err != nil {
					return nil, fmt.Errorf("restart %s as the new spare: %w", kill.node, err)
				}
				d.out.event("t=%4.1fs  %s restarted as the new spare (N+1 rotation); workers send it keyframes", time.Since(start).Seconds(), rp.name)
			} else if time.Since(kill.at) > 30*time.Second {
				return nil, fmt.Errorf("the workers of %s were not taken over within 30 s of the kill", kill.node)
			}
		}
		if elapsed >= o.duration {
			break
		}
	}
	d.stats.observe(c.all())
	d.out.event("t=%4.1fs  stopping the steps and waiting for every replica to acknowledge the newest state", time.Since(start).Seconds())
	settled, err := c.settle(60 * time.Second)
	d.stats.fill(sum, time.Since(start))
	if err != nil {
		sum.Failures = append(sum.Failures, "settle: "+err.Error())
		return sum, nil
	}
	verify(sum, settled, o, kill)
	return sum, nil
}

// unexpectedTakeover reports a takeover of a node the demo did not kill:
// failure detection declared a live node dead (a false positive, typically
// a node starved of CPU for longer than the local profile's few hundred
// milliseconds). The run cannot be verified after that: the spare is used up.
func (d *demoRun) unexpectedTakeover(k *killRecord) error {
	for _, p := range d.c.live() {
		st := p.latest()
		if st == nil {
			continue
		}
		for _, t := range st.Takeovers {
			if k == nil || t.From != k.node {
				return fmt.Errorf("%s took over %s from %s, which was not killed: failure detection gave a false positive "+
					"(nodes starved of CPU for longer than the local profile tolerates; try a smaller --state or fewer --workers)",
					st.Node, t.Worker, t.From)
			}
		}
	}
	return nil
}

// checkFailover looks for the takeover of kill's workers in the nodes'
// statuses; it reports true (once) when all of them run again.
func (d *demoRun) checkFailover(k *killRecord) bool {
	for _, p := range d.c.live() {
		st := p.latest()
		if st == nil {
			continue
		}
		running := map[string]demo.WorkerStatus{}
		for _, w := range st.Workers {
			running[w.ID] = w
		}
		taken := map[string]demo.TakeoverStatus{}
		var detected, ran int64
		for _, t := range st.Takeovers {
			if t.From != k.node || t.RunningNs < k.at.UnixNano() {
				continue
			}
			if _, ok := running[t.Worker]; !ok {
				continue
			}
			taken[t.Worker] = t
			if detected == 0 || t.DetectedNs < detected {
				detected = t.DetectedNs
			}
			ran = max(ran, t.RunningNs)
		}
		if len(taken) == 0 || len(taken) < len(k.acked) {
			continue
		}
		k.done, k.to = true, st.Node
		k.detect = time.Duration(detected - k.at.UnixNano())
		k.failover = time.Duration(ran - k.at.UnixNano())
		k.taken = taken
		k.restored = map[string]int64{}
		for id, t := range taken {
			k.restored[id] = running[id].Restored
			k.epoch = t.Epoch
		}
		return true
	}
	return false
}

// killRecord is what the demo knows of the node it killed.
type killRecord struct {
	node     string
	at       time.Time
	acked    map[string]int64 // worker -> newest acknowledged Version seen before the kill
	done     bool
	to       string
	detect   time.Duration
	failover time.Duration
	epoch    uint64
	taken    map[string]demo.TakeoverStatus
	restored map[string]int64 // worker -> Version its new copy started from
}

// ackedVersions returns the acknowledged Version of each worker of a status:
// a fresh worker's acknowledged Seq is its acknowledged Version.
func ackedVersions(st *demo.Status) map[string]int64 {
	out := map[string]int64{}
	if st == nil {
		return out
	}
	for _, w := range st.Workers {
		if w.Epoch <= 1 {
			out[w.ID] = int64(w.Acked)
		} else {
			out[w.ID] = w.Restored // a worker taken over before: at least what it started from
		}
	}
	return out
}

func versionRange(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	lo, hi := int64(-1), int64(0)
	for _, v := range m {
		if lo < 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}

func names(ps []*proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}
