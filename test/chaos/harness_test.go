package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enode-dev/enode/internal/demo"
	"github.com/enode-dev/enode/node"
)

// nodeModeEnv makes the worker-backup binary run as one node of a cluster.
const nodeModeEnv = "ENODE_WORKER_BACKUP_NODE"

// observerName is the name of the checker's node in the test process.
const observerName = "chaos-observer@127.0.0.1"

// pollEvery is how often the observer asks each node for its status.
const pollEvery = 100 * time.Millisecond

// clusterConfig describes a cluster: its initial nodes and their workers.
type clusterConfig struct {
	actives, spares int
	workers         int           // per initial active node
	state           string        // small, reference or large
	step            time.Duration // time between two steps of a worker
	keyframe        string        // adaptive or every:N
	seed            uint64
	rssLimit        uint64        // invariant 4: no node's resident memory above this
	settleTimeout   time.Duration // bound on convergence after a fault and on the final replica check
	// hook selects a fault hook of the node binary built with -tags
	// chaoshooks (actors.ChaosHookEnv: ignore-fenced, ack-unstored); empty
	// runs the binary users run.
	hook string
}

// shortConfig is the short profile's cluster: 2 active nodes and 1 spare,
// 3 workers each with the small state.
func shortConfig(seed uint64) clusterConfig {
	return clusterConfig{actives: 2, spares: 1, workers: 3, state: "small", step: 100 * time.Millisecond,
		keyframe: "adaptive", seed: seed, rssLimit: 512 << 20, settleTimeout: 30 * time.Second}
}

// nodeProc is one node process (one incarnation of a node name).
type nodeProc struct {
	name    string
	role    string // the role it was started with
	inc     int
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time

	ready   chan struct{}
	settled chan settleAnswer
	exited  chan struct{}

	mu      sync.Mutex
	gossip  string
	killed  bool // SIGKILLed by the harness
	stopped bool // SIGSTOPped by the harness
	waitErr error
	stderr  []string // the last lines of its stderr
}

type settleAnswer struct {
	st  *demo.Status
	err string
}

func (p *nodeProc) isKilled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed
}

func (p *nodeProc) isStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

func (p *nodeProc) stderrTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// fault is one fault the harness injected.
type fault struct {
	kind string // kill-active, kill-spare, stop-active, stop-spare, restart
	node string
	at   time.Time
	// role is the node's role when the fault hit it.
	role string
	// cont is when a stopped node was resumed (zero otherwise).
	cont time.Time
}

// cluster is a set of node processes, the observer node that polls them and
// the checker that records what they report.
type cluster struct {
	t   testing.TB
	cfg clusterConfig
	chk *checker
	obs *node.Node

	mu       sync.Mutex
	procs    map[string]*nodeProc // node name -> newest incarnation
	all      []*nodeProc
	expected []string // the workers that must run
	faults   []fault
	downs    map[string][]time.Time // node name -> when the observer saw it declared down
	peakRSS  map[string]uint64
	peakThr  map[string]int
	peakGor  map[string]int

	stop chan struct{}
	wg   sync.WaitGroup
}

// startCluster starts cfg's spares, then its active nodes, then the observer,
// and waits until every worker replicates to a spare. Everything it starts
// is stopped in t.Cleanup.
func startCluster(t testing.TB, cfg clusterConfig) *cluster {
	t.Helper()
	if !signalsSupported {
		t.Skip("the chaos suite needs Linux (process groups, SIGSTOP, /proc)")
	}
	if nodeBinary == "" {
		t.Skip("no node binary (-short)")
	}
	c := &cluster{t: t, cfg: cfg, chk: newChecker(), procs: map[string]*nodeProc{}, downs: map[string][]time.Time{},
		peakRSS: map[string]uint64{}, peakThr: map[string]int{}, peakGor: map[string]int{}, stop: make(chan struct{})}
	t.Cleanup(c.shutdown)
	for i := 1; i <= cfg.spares; i++ {
		if _, err := c.start(fmt.Sprintf("spare%d@127.0.0.1", i), "spare", 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= cfg.actives; i++ {
		name := fmt.Sprintf("active%d@127.0.0.1", i)
		if _, err := c.start(name, "active", cfg.workers); err != nil {
			t.Fatal(err)
		}
		for j := 1; j <= cfg.workers; j++ {
			c.expected = append(c.expected, demo.WorkerID(name, j))
		}
	}
	sort.Strings(c.expected)
	ocfg := node.LocalConfig(observerName)
	ocfg.Role = node.RoleActive // runs no workers, so it is never a backup and nothing is taken from it
	ocfg.Seeds = c.gossipAddrs()
	ocfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	obs, err := node.Start(ocfg)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	c.obs = obs
	watch := obs.MonitorNodes()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for ev := range watch.Events() {
			if ev.Kind == node.NodeDown && !ev.Left {
				c.mu.Lock()
				c.downs[ev.Member.Name] = append(c.downs[ev.Member.Name], time.Now())
				c.mu.Unlock()
			}
		}
	}()
	c.mu.Lock()
	for _, p := range c.all {
		c.poll(p)
	}
	c.mu.Unlock()
	if _, err := c.awaitConverged("start"); err != nil {
		t.Fatal(err)
	}
	return c
}

// start starts one node process and waits for its ready line.
func (c *cluster) start(name, role string, workers int) (*nodeProc, error) {
	args := []string{
		"-name", name, "-role", role, "-workers", strconv.Itoa(workers), "-state", c.cfg.state,
		"-step", c.cfg.step.String(), "-keyframe", c.cfg.keyframe, "-seed", strconv.FormatUint(c.cfg.seed, 10),
		"-v=" + strconv.FormatBool(*flagVerbose),
	}
	if join := c.gossipAddrs(); len(join) > 0 {
		args = append(args, "-join", strings.Join(join, ","))
	}
	bin, env := nodeBinary, append(os.Environ(), nodeModeEnv+"=1")
	if c.cfg.hook != "" {
		var err error
		if bin, err = hookedBinary(); err != nil {
			return nil, err
		}
		env = append(env, chaosHookEnv+"="+c.cfg.hook)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	p := &nodeProc{name: name, role: role, inc: len(c.all) + 1, cmd: cmd, stdin: stdin, started: time.Now(),
		ready: make(chan struct{}), settled: make(chan settleAnswer, 1), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.all = append(c.all, p)
	c.procs[name] = p
	c.mu.Unlock()

	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { defer pipes.Done(); c.readStdout(p, stdout) }()
	go func() { defer pipes.Done(); c.readStderr(p, stderr) }()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		pipes.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		killed := p.killed
		p.mu.Unlock()
		close(p.exited)
		select {
		case <-c.stop:
			return // the harness is shutting the cluster down
		default:
		}
		if !killed {
			c.chk.Fail(kindCrash, time.Now(), "%s (process %d) exited without being killed: %v\n%s", name, p.inc, err, p.stderrTail())
		}
	}()
	deadline := time.NewTimer(c.cfg.settleTimeout)
	defer deadline.Stop()
	select {
	case <-p.ready:
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", name, p.waitErr, p.stderrTail())
	case <-deadline.C:
		return nil, fmt.Errorf("%s not ready after %v", name, c.cfg.settleTimeout)
	}
	if c.obs != nil {
		c.mu.Lock()
		c.poll(p)
		c.mu.Unlock()
	}
	return p, nil
}

// readStdout reads a node's JSON lines: ready, status (ignored: the observer
// polls), settled and error answers.
func (c *cluster) readStdout(p *nodeProc, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	var once sync.Once
	for sc.Scan() {
		var l struct {
			Type   string       `json:"type"`
			Gossip string       `json:"gossip"`
			Status *demo.Status `json:"status"`
			Error  string       `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue
		}
		switch l.Type {
		case "ready":
			p.mu.Lock()
			p.gossip = l.Gossip
			p.mu.Unlock()
			once.Do(func() { close(p.ready) })
		case "settled", "error":
			select {
			case p.settled <- settleAnswer{st: l.Status, err: l.Error}:
			default:
			}
		}
	}
}

// readStderr keeps the last lines of a node's stderr for failure reports.
func (c *cluster) readStderr(p *nodeProc, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.stderr = append(p.stderr, line)
		if len(p.stderr) > 40 {
			p.stderr = p.stderr[len(p.stderr)-40:]
		}
		p.mu.Unlock()
		if *flagVerbose {
			c.t.Logf("[%s#%d] %s", p.name, p.inc, line)
		}
	}
}

// poll starts the observer's poller of p: one status query at a time,
// every pollEvery, while p runs and is not stopped. c.mu is held.
func (c *cluster) poll(p *nodeProc) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-p.exited:
				return
			case <-tick.C:
			}
			if p.isStopped() || p.isKilled() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := demo.QueryStatus(ctx, c.obs, p.name)
			cancel()
			if err != nil {
				continue // a node being killed, stopped or starting; the next poll tells
			}
			c.recordProcess(p, st.Process)
			c.chk.Observe(snapshot{node: p.name, inc: p.inc, at: time.Now(), st: st}, c.liveIncs())
		}
	}()
}

// recordProcess keeps the peaks of what a node's status says its process
// costs and checks invariant 4's memory bound.
func (c *cluster) recordProcess(p *nodeProc, ps demo.ProcessStatus) {
	c.mu.Lock()
	c.peakRSS[p.name] = max(c.peakRSS[p.name], ps.RSSBytes)
	c.peakThr[p.name] = max(c.peakThr[p.name], ps.Threads)
	c.peakGor[p.name] = max(c.peakGor[p.name], ps.Goroutines)
	c.mu.Unlock()
	if ps.RSSBytes > c.cfg.rssLimit {
		c.chk.Fail(kindMemory, time.Now(), "%s (process %d) resident memory %d MiB above the bound of %d MiB",
			p.name, p.inc, ps.RSSBytes>>20, c.cfg.rssLimit>>20)
	}
}

// liveIncs returns the node processes that may hold live copies: running,
// neither killed nor stopped.
func (c *cluster) liveIncs() map[int]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]bool{}
	for _, p := range c.procs {
		select {
		case <-p.exited:
			continue
		default:
		}
		if !p.isKilled() && !p.isStopped() {
			out[p.inc] = true
		}
	}
	return out
}

// gossipAddrs returns the gossip addresses of the running nodes (and the
// observer's), to join.
func (c *cluster) gossipAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.procs {
		if p.isKilled() {
			continue
		}
		p.mu.Lock()
		if p.gossip != "" {
			out = append(out, p.gossip)
		}
		p.mu.Unlock()
	}
	sort.Strings(out)
	if c.obs != nil {
		out = append(out, c.obs.GossipAddr())
	}
	return out
}

// proc returns the newest incarnation of a node.
func (c *cluster) proc(name string) *nodeProc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[name]
}

// byRole returns the names of the running nodes (not killed) whose newest
// reported role is role, sorted.
func (c *cluster) byRole(role string) []string {
	latest := c.chk.Latest()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for name, p := range c.procs {
		s, ok := latest[name]
		if p.isKilled() || !ok || s.inc != p.inc {
			continue
		}
		if s.st.Role == role {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (c *cluster) record(f fault) {
	c.mu.Lock()
	c.faults = append(c.faults, f)
	c.mu.Unlock()
	if *flagVerbose {
		c.t.Logf("fault: %s %s (%s)", f.kind, f.node, f.role)
	}
}

// kill SIGKILLs a node and waits for its process to end.
func (c *cluster) kill(name, kind string) error {
	p := c.proc(name)
	if p == nil {
		return fmt.Errorf("no node %s", name)
	}
	role := c.roleOf(name)
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	c.record(fault{kind: kind, node: name, at: time.Now(), role: role})
	if err := signalGroup(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not end within 10 s of SIGKILL", name)
	}
}

// pause SIGSTOPs a node.
func (c *cluster) pause(name, kind string) error {
	p := c.proc(name)
	if p == nil {
		return fmt.Errorf("no node %s", name)
	}
	role := c.roleOf(name)
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	c.record(fault{kind: kind, node: name, at: time.Now(), role: role})
	return signalGroup(p.cmd.Process.Pid, syscall.SIGSTOP)
}

// resume SIGCONTs a stopped node.
func (c *cluster) resume(name string) error {
	p := c.proc(name)
	if p == nil {
		return fmt.Errorf("no node %s", name)
	}
	if err := signalGroup(p.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		return err
	}
	now := time.Now()
	p.mu.Lock()
	p.stopped = false
	p.mu.Unlock()
	c.mu.Lock()
	for i := len(c.faults) - 1; i >= 0; i-- {
		if c.faults[i].node == name && c.faults[i].cont.IsZero() && strings.HasPrefix(c.faults[i].kind, "stop") {
			c.faults[i].cont = now
			break
		}
	}
	c.mu.Unlock()
	return nil
}

// restart starts a killed node again, as a spare (N+1 rotation).
func (c *cluster) restart(name string) error {
	_, err := c.start(name, "spare", 0)
	return err
}

// roleOf returns a node's newest reported role.
func (c *cluster) roleOf(name string) string {
	if s, ok := c.chk.Latest()[name]; ok {
		return s.st.Role
	}
	return "unknown"
}

// awaitTakeover waits until every worker that ran on from (as last seen
// before the fault) runs on another node in a higher epoch.
func (c *cluster) awaitTakeover(from string, workers []string, since time.Time) error {
	return c.waitFor(c.cfg.settleTimeout, "takeover of "+from, func() string {
		latest := c.chk.Latest()
		for _, w := range workers {
			ok := false
			for name, s := range latest {
				if name == from || !s.at.After(since) {
					continue
				}
				for _, ws := range s.st.Workers {
					if ws.ID == w && ws.TakenFrom == from {
						ok = true
					}
				}
			}
			if !ok {
				return w + " not yet running elsewhere"
			}
		}
		return ""
	})
}

// workersOn returns the workers a node's newest status lists.
func (c *cluster) workersOn(name string) []string {
	s, ok := c.chk.Latest()[name]
	if !ok {
		return nil
	}
	var out []string
	for _, w := range s.st.Workers {
		out = append(out, w.ID)
	}
	return out
}

// waitFor polls cond (which returns "" when satisfied, or what is still
// missing) until it holds or timeout passes.
func (c *cluster) waitFor(timeout time.Duration, what string, cond func() string) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := cond()
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done after %v: %s", what, timeout, missing)
		}
		<-tick.C
	}
}

// converged says what keeps the cluster from being converged, or "": every
// running node answers and is not stopped, all see the same members, every
// expected worker runs exactly once, and when a spare is up every worker has
// a backup and replicates (its acknowledged seq is close to its seq).
func (c *cluster) converged(since time.Time) string {
	latest := c.chk.Latest()
	c.mu.Lock()
	var running []*nodeProc
	for _, p := range c.procs {
		if !p.isKilled() {
			running = append(running, p)
		}
	}
	c.mu.Unlock()
	want := []string{observerName}
	for _, p := range running {
		want = append(want, p.name)
	}
	sort.Strings(want)
	copies := map[string][]string{}
	spareUp := false
	for _, p := range running {
		if p.isStopped() {
			return p.name + " is stopped"
		}
		s, ok := latest[p.name]
		if !ok || s.inc != p.inc || !s.at.After(since) {
			return p.name + " has not answered yet"
		}
		var members []string
		for _, m := range s.st.Members {
			members = append(members, m.Name)
		}
		sort.Strings(members)
		if !slices.Equal(members, want) {
			return fmt.Sprintf("%s sees members %v, want %v", p.name, members, want)
		}
		if s.st.Role == "spare" {
			spareUp = true
		}
		for _, w := range s.st.Workers {
			copies[w.ID] = append(copies[w.ID], p.name)
		}
	}
	for _, w := range c.expected {
		if n := len(copies[w]); n != 1 {
			return fmt.Sprintf("%s runs on %v", w, copies[w])
		}
	}
	// N+1: every node runs (the harness restarts what it kills before it
	// waits), so one of them must be the spare again: a node whose workers
	// were all fenced turns spare, a restarted one starts as one. A fault
	// injected before that would find no backup for anyone.
	if !spareUp {
		return "no node is the spare yet"
	}
	for _, p := range running {
		s := latest[p.name]
		for _, w := range s.st.Workers {
			if s.st.Backup == "" {
				return p.name + " has no backup"
			}
			if w.Lag > 5 {
				return fmt.Sprintf("%s on %s: acknowledged seq %d of %d", w.ID, p.name, w.Acked, w.Seq)
			}
		}
		// Protected again: the backup itself reports a replica of each
		// worker at the worker's epoch. A worker's acknowledged seq alone
		// does not say so, since it survives a change of backup; a fault
		// injected before the new backup holds the replicas would be a
		// double fault, which N+1 does not cover.
		if len(s.st.Workers) == 0 {
			continue
		}
		b, ok := latest[s.st.Backup]
		if !ok || !b.at.After(since) {
			return fmt.Sprintf("backup %s of %s has not answered yet", s.st.Backup, p.name)
		}
		held := map[string]uint64{}
		for _, rep := range b.st.Replicas {
			if rep.Owner == p.name {
				held[rep.Worker] = rep.Epoch
			}
		}
		for _, w := range s.st.Workers {
			if e, ok := held[w.ID]; !ok || e != w.Epoch {
				return fmt.Sprintf("%s on %s: no replica at epoch %d on its backup %s", w.ID, p.name, w.Epoch, s.st.Backup)
			}
		}
	}
	return ""
}

// awaitConverged waits until the cluster has converged after a fault and
// returns how long that took; a cluster that does not converge within the
// settle timeout is a violation.
func (c *cluster) awaitConverged(after string) (time.Duration, error) {
	start := time.Now()
	err := c.waitFor(c.cfg.settleTimeout, "convergence after "+after, func() string { return c.converged(start) })
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, c.dump())
		c.chk.Fail(kindConverge, time.Now(), "%v", err)
		return 0, err
	}
	took := time.Since(start)
	c.chk.CheckLoad(c.liveIncs(), time.Now())
	return took, nil
}

// settle stops the load on every running node and waits until every
// worker equals its replica on its owner's backup (invariant 3: within the
// settle timeout). It returns the time that took and the acknowledged
// updates lost over the run.
//
// One round asks every running node to settle, nodes with workers first:
// a node's Settle returns once its workers' newest states are
// acknowledged, so the replicas the others report afterwards are final.
// But an acknowledgement need not come from the current backup: a worker's
// acknowledged sequence number survives a change of backup (actors'
// replicator keeps it when it retargets), so right after one (a double
// fault brings two spares back one after the other, and the rendezvous
// choice of some owner moves to the second) Settle can return while the
// keyframe to the new backup is still on its way, and the replica is not
// there yet. Rounds repeat, without stepping, until the replicas agree or
// the timeout passes; only the last round's statuses are checked.
func (c *cluster) settle() (time.Duration, int, error) {
	c.mu.Lock()
	var running []*nodeProc
	for _, p := range c.procs {
		if !p.isKilled() {
			running = append(running, p)
		}
	}
	c.mu.Unlock()
	// Nodes with workers settle first (their replicas are then final),
	// then the others report the replicas they keep.
	latest := c.chk.Latest()
	sort.SliceStable(running, func(i, j int) bool {
		return len(latest[running[i].name].st.Workers) > 0 && len(latest[running[j].name].st.Workers) == 0
	})
	start := time.Now()
	deadline := time.NewTimer(c.cfg.settleTimeout)
	defer deadline.Stop()
	retry := time.NewTicker(50 * time.Millisecond)
	defer retry.Stop()
	var settled []demo.Status
	var errs []error
	for round := 1; ; round++ {
		settled, errs = settled[:0], nil
		for _, p := range running {
			if _, err := io.WriteString(p.stdin, "settle\n"); err != nil {
				errs = append(errs, fmt.Errorf("%s: settle: %w", p.name, err))
				continue
			}
			select {
			case a := <-p.settled:
				if a.st == nil {
					errs = append(errs, fmt.Errorf("%s: %s", p.name, a.err))
					continue
				}
				settled = append(settled, *a.st)
			case <-p.exited:
				errs = append(errs, fmt.Errorf("%s exited while settling", p.name))
			case <-deadline.C:
				errs = append(errs, fmt.Errorf("%s: not settled after %v", p.name, c.cfg.settleTimeout))
			}
		}
		problems := replicaProblems(c.expected, settled)
		if len(errs) > 0 || len(problems) == 0 || time.Since(start) > c.cfg.settleTimeout {
			break
		}
		c.t.Logf("settle round %d: %d replicas differ, settling again: %v", round, len(problems), problems)
		<-retry.C
	}
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		c.chk.Fail(kindConverge, time.Now(), "replicas did not converge: %v", err)
	}
	lost := c.chk.VerifySettled(c.expected, settled, time.Now())
	return took, lost, nil
}

// shutdown kills every node process and the observer; nothing outlives the
// test.
func (c *cluster) shutdown() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.mu.Lock()
	all := slices.Clone(c.all)
	c.mu.Unlock()
	for _, p := range all {
		_ = p.stdin.Close()
		_ = signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, p := range all {
		<-p.exited
	}
	if c.obs != nil {
		_ = c.obs.Shutdown()
	}
	c.wg.Wait()
}

// dump prints the newest status of every node, for failure reports.
func (c *cluster) dump() string {
	latest := c.chk.Latest()
	names := make([]string, 0, len(latest))
	for n := range latest {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		s := latest[n]
		fmt.Fprintf(&b, "%s (process %d, %v ago): role %s, backup %q, %d members\n", n, s.inc,
			time.Since(s.at).Round(time.Millisecond), s.st.Role, s.st.Backup, len(s.st.Members))
		for _, w := range s.st.Workers {
			fmt.Fprintf(&b, "  worker %s epoch %d seq %d acked %d version %d restored %d keyframes %d need %d timeouts %d\n",
				w.ID, w.Epoch, w.Seq, w.Acked, w.Version, w.Restored, w.Keyframes, w.NeedKeyframes, w.AckTimeouts)
		}
		for _, r := range s.st.Replicas {
			fmt.Fprintf(&b, "  replica %s of %s epoch %d seq %d age %dms\n", r.Worker, r.Owner, r.Epoch, r.Seq, r.AgeMs)
		}
	}
	return b.String()
}
