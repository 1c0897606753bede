// Command replbench measures enode's replication between two real nodes on
// loopback, in one process: an active node A runs workers of the reference
// workload (shared/workload.md), a spare node B runs the replica_handler,
// and every frame crosses protoactor's remote transport (gRPC over TCP) as
// 64 KiB chunks. Each row runs twice in the same run, in delta mode
// (keyframes and deltas, the default) and in full-state mode (Delta off:
// the whole state at every step), and the command prints one table.
//
// # Usage
//
//	go run ./internal/cmd/replbench [-duration 10s] [-rows small:100,reference:8] [-rate 0]
//
// A row is a state size and a number of workers. Each worker steps as fast
// as replication allows (-rate 0, the default): a worker takes its next
// step as soon as fewer than Window (4) of its states are unacknowledged,
// so the worker hands every state to the link as its own frame. With
// -rate R each worker steps R times a second instead; when replication
// cannot keep up, the worker's window fills and states waiting behind it
// are coalesced (see actors' flow control), which the coalesced column
// counts. -window and -inflight set the worker's frame window and the
// link's chunks in flight (actors' defaults: 4 and 16); -steps ends a row
// early once every worker has that many acknowledged steps; -cpuprofile
// writes a CPU profile of the run.
//
// # Columns
//
//   - steps/s: worker states acknowledged by the replica per second, all
//     workers together. A state is acknowledged once B applied it or a
//     newer state of the same worker;
//   - frames/s: frames (keyframes and deltas) B applied per second. It is
//     below steps/s when states did not travel on their own: coalesced by
//     the worker while its window was full (the coalesced column), or
//     superseded in the link by a newer keyframe of the same worker before
//     their first chunk left (in full-state mode every frame is a
//     keyframe, so a queue of them on a busy link shrinks to the newest);
//   - wire MB/s and B/frame: replication bytes that reached B: the frames
//     B applied (envelope, delta or keyframe payload) plus the term
//     wrapping of each chunk ({enode_chunk, ...} in ETF); protoactor's
//     envelope and the gRPC and TCP framing (a few dozen bytes per batch of
//     chunks) are not counted;
//   - vs full: the frame bytes A's workers sent over what sending the
//     whole state with each of those frames would have cost (1.000 in
//     full-state mode);
//   - keyframes, deltas: frames B applied during the measurement;
//   - coalesced: states a worker replaced by a newer one while its window
//     was full (0 in closed loop);
//   - repairs: keyframes the replica asked for, or that ack timeouts
//     forced (0 on a healthy link);
//   - ack lag: from the moment a state is handed to replication (after the
//     step) to the moment the worker has the replica's ack for it, median
//     and 99th percentile over every state of the row;
//   - CPU/step and cores: the process's CPU time (both nodes, the workers'
//     own steps, the garbage collector and this command's pacing) per
//     acknowledged step, and per second of the measurement: well below the
//     machine's core count on an otherwise idle machine, the row was bound
//     by latency and flow control rather than by CPU.
//
// Figures are taken between two snapshots: after every worker's first
// keyframe is acknowledged, and -duration later (or once every worker has
// -steps acknowledged steps, when that comes first).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// ErrRows is returned for a -rows value that cannot be parsed.
var ErrRows = errors.New("replbench: bad -rows")

// ErrStalled is returned when replication stops making progress: a
// worker's first keyframe or its last states are not acknowledged in time.
var ErrStalled = errors.New("replbench: replication stalled")

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "measurement time per row and mode")
	rows := flag.String("rows", "small:100,reference:8", "comma-separated rows, each size:workers (size is small, reference or large)")
	flag.Float64Var(&cfg.rate, "rate", 0, "steps per second per worker; 0 steps as fast as replication allows")
	flag.Uint64Var(&cfg.steps, "steps", 0, "end a row early once every worker has this many acknowledged steps (0: no limit)")
	flag.IntVar(&cfg.window, "window", cfg.window, "frames a worker may have unacknowledged (ReplicationConfig.Window)")
	flag.IntVar(&cfg.inflight, "inflight", cfg.inflight, "chunks the link to B may have unacknowledged (ReplicationConfig.MaxInFlightChunks)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	var err error
	if cfg.rows, err = parseRows(*rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if cfg.duration <= 0 || cfg.rate < 0 || cfg.window < 1 || cfg.inflight < 1 {
		fmt.Fprintln(os.Stderr, "replbench: -duration, -window and -inflight must be positive, -rate not negative")
		os.Exit(2)
	}
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := run(ctx, cfg, os.Stderr)
	if len(results) > 0 {
		printTable(os.Stdout, cfg, results)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// rowSpec is one row of the table: a state size and a number of workers.
type rowSpec struct {
	variant workload.Variant
	workers int
}

// parseRows reads "small:100,reference:8".
func parseRows(s string) ([]rowSpec, error) {
	var out []rowSpec
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, count, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not size:workers", ErrRows, part)
		}
		v, err := workload.ParseVariant(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRows, err)
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 || n > 10_000 {
			return nil, fmt.Errorf("%w: %q: workers must be a number from 1 to 10000", ErrRows, part)
		}
		out = append(out, rowSpec{variant: v, workers: n})
	}
	return out, nil
}

// config is what one run measures.
type config struct {
	rows     []rowSpec
	duration time.Duration // measurement time per row and mode
	rate     float64       // steps per second per worker; 0: closed loop
	steps    uint64        // end a row once every worker has this many acked steps; 0: no limit
	settle   time.Duration // bound on the first keyframes and on the drain at the end
	window   int           // ReplicationConfig.Window
	inflight int           // ReplicationConfig.MaxInFlightChunks
}

func defaultConfig() config {
	rc := actors.DefaultReplicationConfig()
	return config{
		window:   rc.Window,
		inflight: rc.MaxInFlightChunks,
		rows:     []rowSpec{{workload.Small, 100}, {workload.Reference, 8}},
		duration: 10 * time.Second,
		settle:   2 * time.Minute, // 8 reference keyframes on a loaded 2-core machine, with room
	}
}

// result is one row in one mode.
type result struct {
	row        rowSpec
	deltaMode  bool
	elapsed    time.Duration
	steps      uint64 // states acknowledged
	frameBytes uint64 // frame bytes B applied
	wireBytes  uint64 // frameBytes plus the chunks' term wrapping
	keyframes  uint64 // frames B applied
	deltas     uint64
	sentBytes  uint64 // frame bytes A's workers handed to the link
	fullBytes  uint64 // what whole states would have cost for the same frames
	coalesced  uint64
	repairs    uint64
	lagP50     time.Duration
	lagP99     time.Duration
	cpu        time.Duration // process CPU time, both nodes
	cpuOK      bool
}

// run starts the two nodes and measures every row in delta then full-state
// mode. It returns the rows measured so far with the first error.
func run(ctx context.Context, cfg config, logw io.Writer) ([]result, error) {
	a, err := node.Start(node.LocalConfig("a@127.0.0.1"))
	if err != nil {
		return nil, err
	}
	defer a.Shutdown()
	bcfg := node.LocalConfig("b@127.0.0.1")
	bcfg.Role = node.RoleSpare
	bcfg.Seeds = []string{a.GossipAddr()}
	b, err := node.Start(bcfg)
	if err != nil {
		return nil, err
	}
	defer b.Shutdown()
	// B is a spare, so it runs replica_handler already (node's N+1
	// wiring); the workers on A are started by hand and replicate to it.
	handler := b.Whereis("replica_handler")
	if handler == nil {
		return nil, errors.New("replbench: the spare node runs no replica_handler")
	}
	bench := &bench{cfg: cfg, a: a, b: b, handler: handler,
		backup: actor.NewPID(b.RemoteAddr(), "replica_handler"), logw: logw}
	var results []result
	for _, row := range cfg.rows {
		for _, deltaMode := range []bool{true, false} {
			if err := ctx.Err(); err != nil {
				return results, err
			}
			r, err := bench.measure(ctx, row, deltaMode)
			if err != nil {
				return results, fmt.Errorf("%v×%d %s: %w", row.variant, row.workers, modeName(deltaMode), err)
			}
			results = append(results, r)
		}
	}
	return results, nil
}

func modeName(deltaMode bool) string {
	if deltaMode {
		return "delta"
	}
	return "full"
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// bench is the two nodes and the handler the rows run against.
type bench struct {
	cfg     config
	a, b    *node.Node
	handler *actor.PID // on B, as B knows it
	backup  *actor.PID // the handler as A's workers address it: B's remote address
	logw    io.Writer
}

// benchWorker is one worker of a row: its PID, counters and driver.
type benchWorker struct {
	id    string
	pid   *actor.PID
	stats *actors.WorkerStats
	drv   *driver
}

// measure runs one row in one mode.
func (bn *bench) measure(ctx context.Context, row rowSpec, deltaMode bool) (result, error) {
	res := result{row: row, deltaMode: deltaMode}
	rc := actors.DefaultReplicationConfig()
	rc.Delta = deltaMode
	rc.Window, rc.MaxInFlightChunks = bn.cfg.window, bn.cfg.inflight
	fmt.Fprintf(bn.logw, "replbench: %v × %d, %s mode: starting workers\n", row.variant, row.workers, modeName(deltaMode))
	ws := make([]*benchWorker, 0, row.workers)
	defer func() { bn.stopWorkers(ws) }()
	for i := range row.workers {
		w, err := bn.startWorker(fmt.Sprintf("%v-%s-%d", row.variant, modeName(deltaMode), i), row.variant, i, rc)
		if err != nil {
			return res, err
		}
		ws = append(ws, w)
	}
	if bn.cfg.rate > 0 {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			bn.paced(ws, done)
		}()
		defer func() { close(done); wg.Wait() }()
	}
	if err := waitUntil(ctx, bn.cfg.settle, func() bool {
		for _, w := range ws {
			if w.stats.Snapshot().AckedSeq == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return res, fmt.Errorf("%w: first keyframes not acknowledged: %w", ErrStalled, err)
	}

	before := snapshot(ws)
	applied0, err := bn.applied(ws)
	if err != nil {
		return res, err
	}
	chunks0, err := actors.LinkStatus(bn.a.System(), bn.backup, bn.cfg.settle)
	if err != nil {
		return res, err
	}
	for _, w := range ws {
		w.drv.recording.Store(true)
	}
	cpu0, ok0 := processCPU()
	start := time.Now()
	fmt.Fprintf(bn.logw, "replbench: %v × %d, %s mode: measuring for %v\n", row.variant, row.workers, modeName(deltaMode), bn.cfg.duration)
	err = waitUntil(ctx, bn.cfg.duration, func() bool {
		if bn.cfg.steps == 0 {
			return false
		}
		for i, w := range ws {
			if w.stats.Snapshot().AckedSeq-before[i].AckedSeq < bn.cfg.steps {
				return false
			}
		}
		return true
	})
	if err != nil && ctx.Err() != nil {
		return res, ctx.Err()
	}
	after := snapshot(ws)
	res.elapsed = time.Since(start)
	cpu1, ok1 := processCPU()
	res.cpu, res.cpuOK = cpu1-cpu0, ok0 && ok1
	for _, w := range ws {
		w.drv.recording.Store(false)
	}
	applied1, err := bn.applied(ws)
	if err != nil {
		return res, err
	}
	chunks1, err := actors.LinkStatus(bn.a.System(), bn.backup, bn.cfg.settle)
	if err != nil {
		return res, err
	}
	var lags []time.Duration
	for i, w := range ws {
		x, y := before[i], after[i]
		res.steps += y.AckedSeq - x.AckedSeq
		ra, rb := applied0[w.id], applied1[w.id]
		res.frameBytes += rb.Bytes - ra.Bytes
		res.keyframes += rb.Keyframes - ra.Keyframes
		res.deltas += rb.Deltas - ra.Deltas
		res.sentBytes += y.BytesSent - x.BytesSent
		res.fullBytes += y.FullStateBytes - x.FullStateBytes
		res.coalesced += y.Coalesced - x.Coalesced
		res.repairs += (y.NeedKeyframes - x.NeedKeyframes) + (y.AckTimeouts - x.AckTimeouts)
		lags = append(lags, w.drv.lags()...)
	}
	res.wireBytes = res.frameBytes + (chunks1.ChunksSent-chunks0.ChunksSent)*chunkOverhead(ws[0].id)
	res.lagP50, res.lagP99 = percentile(lags, 0.50), percentile(lags, 0.99)

	// Let the last states drain, so that the next row starts on an idle
	// link and its figures are its own.
	for _, w := range ws {
		w.drv.stopped.Store(true)
	}
	if err := waitUntil(ctx, bn.cfg.settle, func() bool {
		for _, w := range ws {
			if st := w.stats.Snapshot(); st.AckLag != 0 || w.drv.queued.Load() != 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return res, fmt.Errorf("%w: the last states were not acknowledged: %w", ErrStalled, err)
	}
	return res, nil
}

func snapshot(ws []*benchWorker) []actors.WorkerStatus {
	out := make([]actors.WorkerStatus, len(ws))
	for i, w := range ws {
		out[i] = w.stats.Snapshot()
	}
	return out
}

// applied returns B's replicas of the row's workers, without their states:
// their counters say what B received and applied.
func (bn *bench) applied(ws []*benchWorker) (map[string]actors.Replica, error) {
	res, err := bn.b.System().Root.RequestFuture(bn.handler, &actors.ListReplicas{}, bn.cfg.settle).Result()
	if err != nil {
		return nil, fmt.Errorf("listing the replicas on B: %w", err)
	}
	list, ok := res.(*actors.ReplicaList)
	if !ok {
		return nil, fmt.Errorf("listing the replicas on B: unexpected answer %T", res)
	}
	out := make(map[string]actors.Replica, len(ws))
	for _, r := range list.Replicas {
		out[r.Worker] = r
	}
	return out, nil
}

// startWorker spawns a worker on A with its driver.
func (bn *bench) startWorker(id string, v workload.Variant, n int, rc actors.ReplicationConfig) (*benchWorker, error) {
	props, stats, err := actors.WorkerProps(actors.WorkerSpec{
		ID: id, Owner: bn.a.Name(), Behaviour: &stepper{variant: v, n: n, steps: workload.NewStepper(v, uint64(n)+1)},
		Backup: bn.backup, Replication: rc, Logger: discard(),
	})
	if err != nil {
		return nil, err
	}
	drv := &driver{stats: stats, window: uint64(rc.Window), closedLoop: bn.cfg.rate == 0}
	props.Configure(actor.WithReceiverMiddleware(drv.middleware))
	pid, err := bn.a.Spawn(id, props)
	if err != nil {
		return nil, err
	}
	return &benchWorker{id: id, pid: pid, stats: stats, drv: drv}, nil
}

// stopWorkers stops the row's workers on A and drops their replicas on B.
func (bn *bench) stopWorkers(ws []*benchWorker) {
	for _, w := range ws {
		w.drv.stopped.Store(true)
		_ = bn.a.System().Root.PoisonFuture(w.pid).Wait()
		_, _ = bn.b.System().Root.RequestFuture(bn.handler, &actors.DropReplica{Worker: w.id}, bn.cfg.settle).Result()
	}
}

// paced sends every worker a step rate times a second until done closes.
func (bn *bench) paced(ws []*benchWorker, done <-chan struct{}) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / bn.cfg.rate))
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			for _, w := range ws {
				if !w.drv.stopped.Load() {
					w.drv.queued.Add(1)
					bn.a.System().Root.Send(w.pid, stepMsg)
				}
			}
		}
	}
}

// chunkOverhead is what wrapping a chunk as a term adds to its bytes: the
// {enode_chunk, Worker, Epoch, Seq, Index, Total, Bytes} record in ETF,
// with numbers of a typical size.
func chunkOverhead(worker string) uint64 {
	const payload = 4096
	c := &actors.Chunk{Worker: worker, Epoch: 1, Seq: 10_000, Index: 0, Total: 1, Bytes: make([]byte, payload)}
	etf, err := term.Encode(c.ToTerm())
	if err != nil {
		return 0
	}
	return uint64(len(etf) - payload)
}

// waitUntil polls cond every 10 ms until it holds (nil), timeout passes
// (an error saying so) or ctx is done (ctx's error).
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not done after %v", timeout)
		case <-tick.C:
		}
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// stepMsg is the message that makes a worker take one workload step.
const stepMsg = "step"

// stepper is the workers' Behaviour: the reference workload's step.
type stepper struct {
	variant workload.Variant
	n       int
	steps   *workload.Stepper
}

func (s *stepper) Init(*actors.WorkerContext) (any, error) {
	return workload.State(s.variant, s.n), nil
}

func (s *stepper) Handle(ctx *actors.WorkerContext, state, msg any) (any, any, error) {
	if msg != stepMsg {
		return state, nil, fmt.Errorf("replbench: unexpected message %T", msg)
	}
	st, ok := state.(*term.Tuple)
	if !ok {
		return state, nil, fmt.Errorf("replbench: state is %T, not a workload state", state)
	}
	return s.steps.Step(st, time.Now().UnixMilli()), nil, nil
}

// driver paces one worker and times its acks. Its middleware runs on the
// worker's goroutine, around the worker's own handling of each message:
// after a step it notes when the new state was handed to replication;
// after an ack it times the states the ack covers and, in closed loop,
// sends the worker its next steps, keeping Window states unacknowledged.
type driver struct {
	stats      *actors.WorkerStats
	window     uint64
	closedLoop bool

	queued    atomic.Int64 // steps sent to the worker and not yet handled
	stopped   atomic.Bool  // send no more steps
	recording atomic.Bool  // keep lag samples

	// Used on the worker's goroutine, and by lags once recording is off.
	mu      sync.Mutex
	pending []handoff // states handed to replication, not yet acked
	samples []time.Duration
}

type handoff struct {
	seq uint64
	at  time.Time
}

func (d *driver) middleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
		next(ctx, env)
		isStep := env.Message == stepMsg
		if isStep {
			d.queued.Add(-1)
		}
		st := d.stats.Snapshot()
		now := time.Now()
		d.mu.Lock()
		if n := len(d.pending); st.Seq > st.AckedSeq && (n == 0 || d.pending[n-1].seq < st.Seq) {
			d.pending = append(d.pending, handoff{seq: st.Seq, at: now})
		}
		acked := 0
		for acked < len(d.pending) && d.pending[acked].seq <= st.AckedSeq {
			if d.recording.Load() {
				d.samples = append(d.samples, now.Sub(d.pending[acked].at))
			}
			acked++
		}
		d.pending = d.pending[acked:]
		d.mu.Unlock()
		if !d.closedLoop || d.stopped.Load() {
			return
		}
		switch env.Message.(type) {
		case *actor.Stopping, *actor.Stopped, *actor.Restarting:
			return
		}
		for uint64(d.queued.Load())+st.Seq-st.AckedSeq < d.window {
			d.queued.Add(1)
			ctx.ActorSystem().Root.Send(ctx.Self(), stepMsg)
		}
	}
}

// lags returns the ack lags recorded so far.
func (d *driver) lags() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.samples)
}

// printTable writes the results as one table.
func printTable(w io.Writer, cfg config, rs []result) {
	pace := "as fast as replication allows (closed loop)"
	if cfg.rate > 0 {
		pace = fmt.Sprintf("%.0f steps/s per worker", cfg.rate)
	}
	fmt.Fprintf(w, "replication A -> B over protoactor remote on loopback, %v per row and mode, workers step %s,\n", cfg.duration, pace)
	fmt.Fprintf(w, "window %d frames per worker, %d chunks in flight on the link, %d cores\n\n", cfg.window, cfg.inflight, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "state\tworkers\tmode\tsteps/s\tframes/s\twire MB/s\tB/frame\tvs full\tkeyframes\tdeltas\tcoalesced\trepairs\tack lag p50\tp99\tCPU/step\tcores\t")
	for _, r := range rs {
		secs := r.elapsed.Seconds()
		frames := r.keyframes + r.deltas
		perFrame := float64(r.wireBytes) / float64(max(frames, 1))
		cpuStep, cores := "n/a", "n/a"
		if r.cpuOK {
			cpuStep = msText(r.cpu / time.Duration(max(r.steps, 1)))
			cores = fmt.Sprintf("%.2f", r.cpu.Seconds()/secs)
		}
		fmt.Fprintf(tw, "%v\t%d\t%s\t%.0f\t%.0f\t%.2f\t%s\t%.3f\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n",
			r.row.variant, r.row.workers, modeName(r.deltaMode),
			float64(r.steps)/secs, float64(frames)/secs, float64(r.wireBytes)/secs/1e6, bytesText(perFrame),
			float64(r.sentBytes)/float64(max(r.fullBytes, 1)),
			r.keyframes, r.deltas, r.coalesced, r.repairs, msText(r.lagP50), msText(r.lagP99), cpuStep, cores)
	}
	tw.Flush()
}

func bytesText(b float64) string {
	switch {
	case b >= 1e6:
		return fmt.Sprintf("%.2f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

func msText(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
