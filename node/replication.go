package node

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/resync"
	"github.com/enode-dev/enode/term"
)

// WorkerFactory builds the behaviour of the worker with the given id. The
// node calls it from StartWorker and, on a spare, when it takes over a dead
// node's workers, so every node of a cluster must be able to build every
// worker the cluster runs. It is called from the node's replication
// controller, one call at a time; it must not block for long. An error
// makes StartWorker fail (wrapped in ErrWorkerFactory) and, on takeover,
// leaves that worker's replica in place.
type WorkerFactory func(id string) (actors.Behaviour, error)

// Errors of the replication and takeover layer.
var (
	// ErrNoWorkers is returned by StartWorker on a node whose
	// Config.Workers is nil.
	ErrNoWorkers = errors.New("node: no worker factory configured")

	// ErrNotActive is returned by StartWorker on a spare node: a spare
	// keeps replicas and takes over; it runs workers only after a
	// takeover has made it active.
	ErrNotActive = errors.New("node: not an active node")

	// ErrWorkerExists is returned by StartWorker when a worker with that
	// id already runs on this node.
	ErrWorkerExists = errors.New("node: worker already running")

	// ErrWorkerFactory wraps the error Config.Workers returned.
	ErrWorkerFactory = errors.New("node: worker factory failed")
)

// WorkerInfo is what the node knows of one of its workers.
type WorkerInfo struct {
	ID        string
	PID       *actor.PID
	Epoch     uint64              // 1 for a worker started here, +1 at each takeover
	TakenFrom string              // the node it was taken over from; empty when started here
	Status    actors.WorkerStatus // its counters: Seq, AckedSeq, frames and bytes sent
}

// Takeover records one worker this node took over from a dead node, and
// the fencing of the dead node's copy once that node came back.
type Takeover struct {
	Worker   string
	From     string    // the node the worker ran on
	Epoch    uint64    // the epoch it runs with here
	Seq      uint64    // the replica's sequence number it started from (at least its last acknowledged one)
	Detected time.Time // when this node learned that From was down
	Running  time.Time // when the worker had started from its replica here
	Returned time.Time // when From was seen again (a NodeUp); zero until then
	Fenced   time.Time // when From's copy was known to be stopped; zero until then
}

// FailoverTime is the time from the detection of the owner's failure to the
// worker running here.
func (t Takeover) FailoverTime() time.Duration { return t.Running.Sub(t.Detected) }

// DualWindow is how long two copies of the worker could have run: from the
// moment the old owner was seen again to the moment its copy was known to
// be stopped. It is zero while either is unknown.
func (t Takeover) DualWindow() time.Duration {
	if t.Returned.IsZero() || t.Fenced.IsZero() {
		return 0
	}
	return t.Fenced.Sub(t.Returned)
}

// replicationName is the id of the node's replication controller actor:
// the workers and the replica_handler are its children.
const replicationName = "enode.replication"

// replicaHandlerName is the registered name of the replica handler on
// spare nodes, as in {replica_handler, Node} ! State.
const replicaHandlerName = "replica_handler"

// replication holds the controller's handles for the node's lifecycle.
type replication struct {
	pid      *actor.PID
	watch    *NodeWatch
	done     chan struct{} // closed when the event forwarder has exited
	quit     chan struct{} // closed to stop the rejoin loop
	rejoined chan struct{} // closed when the rejoin loop has exited
	running  bool          // the forwarder and the rejoin loop were started
	stopOnce sync.Once
	// view reads the replica_handler's table (nil while this node has
	// none); set by the controller, read by Replicas and Replica.
	view atomic.Pointer[actors.ReplicaView]
	// table is the same table, for the replica service's seals.
	table atomic.Pointer[actors.ReplicaTable]
	// digest is the DigestQuery out to a new backup (controller only).
	digest    *pendingDigest
	digestSeq uint64
	// lastDigest is the last digest comparison (set by the controller,
	// read by LastDigestExchange).
	lastDigest atomic.Pointer[DigestExchange]
}

// DigestExchange is what this node found when it compared its workers with
// its new backup's replicas (resync.DiffWorkers over worker id -> digest of
// epoch, sequence and state hash): which workers differ and resync, and
// what the comparison cost. The other workers go on with a delta from the
// state the backup holds, without a resync of their own.
type DigestExchange struct {
	Backup     string
	Workers    int      // workers of this node when the backup answered
	Differing  []string // ids whose replica differs (or is missing): they resync
	InSync     int      // workers told where their replica stands
	RoundTrips int      // of the Merkle comparison of the two digests
	Bytes      int      // the backup's digest on the wire plus the comparison's messages
}

// digestWait bounds how long the workers' SetBackup waits for the new
// backup's digest (one round trip, normally a millisecond on a LAN);
// without an answer they resync one by one. Short, because meanwhile the
// workers still send to the old backup.
const digestWait = 200 * time.Millisecond

// pendingDigest is a DigestQuery out to the new backup.
type pendingDigest struct {
	id     uint64
	pid    *actor.PID
	backup string
	timer  *time.Timer
}

// digestTimeout is the pendingDigest's timer.
type digestTimeout struct{ id uint64 }

// LastDigestExchange returns the last comparison of this node's workers
// with its backup's replicas; false before the first.
func (n *Node) LastDigestExchange() (DigestExchange, bool) {
	if n.repl == nil {
		return DigestExchange{}, false
	}
	d := n.repl.lastDigest.Load()
	if d == nil {
		return DigestExchange{}, false
	}
	return *d, true
}

// announceBackup tells the workers their new backup. When there is one (a
// spare joined, came back after a partition, or took the old one's place)
// it first asks it for the digest of the replicas it holds of this node's
// workers; onDigest then tells each worker whose replica is in sync where
// it stands, so that only the differing workers resync.
func (c *controller) announceBackup(ctx actor.Context, pid *actor.PID) {
	r := c.n.repl
	if r.digest != nil {
		r.digest.timer.Stop()
		r.digest = nil
	}
	if pid == nil || len(c.workers) == 0 {
		c.setBackups(ctx, pid, nil)
		return
	}
	r.digestSeq++
	d := &pendingDigest{id: r.digestSeq, pid: pid, backup: c.backup}
	r.digest = d
	ctx.Request(pid, &actors.DigestQuery{Owner: c.n.Name()})
	system, self, id := ctx.ActorSystem(), ctx.Self(), d.id
	d.timer = time.AfterFunc(digestWait, func() { system.Root.Send(self, digestTimeout{id: id}) })
}

// setBackups sends every worker SetBackup, with where its replica stands
// for those in holds.
func (c *controller) setBackups(ctx actor.Context, pid *actor.PID, holds map[string]*actors.Position) {
	for id, w := range c.workers {
		ctx.Send(w.pid, &actors.SetBackup{PID: pid, Holds: holds[id]})
	}
}

func (c *controller) onDigestTimeout(ctx actor.Context, t digestTimeout) {
	r := c.n.repl
	if r.digest == nil || r.digest.id != t.id {
		return
	}
	c.log.Info("backup did not send its digest in time: workers resync one by one", "backup", r.digest.backup)
	pid := r.digest.pid
	r.digest = nil
	c.setBackups(ctx, pid, nil)
}

// onReply takes the answers to the controller's requests that come in term
// form from other nodes: the backup's Digest, or a dead letter for it.
func (c *controller) onReply(ctx actor.Context, m any) {
	r := c.n.repl
	if r.digest == nil {
		return
	}
	if _, ok := m.(*actor.DeadLetterResponse); ok {
		r.digest.timer.Stop()
		pid := r.digest.pid
		r.digest = nil
		c.setBackups(ctx, pid, nil)
		return
	}
	var d *actors.Digest
	switch v := m.(type) {
	case *actors.Digest:
		d = v
	case *term.Tuple:
		pm, err := actors.FromTerm(v)
		if err != nil {
			return
		}
		d, _ = pm.(*actors.Digest)
	}
	if d == nil || d.Owner != c.n.Name() {
		return
	}
	r.digest.timer.Stop()
	p := r.digest
	r.digest = nil
	c.onDigest(ctx, p, d)
}

// onDigest compares this node's workers with the backup's replicas and
// sends the workers their SetBackup.
func (c *controller) onDigest(ctx actor.Context, p *pendingDigest, d *actors.Digest) {
	own := resync.WorkerDigest{}
	holds := map[string]*actors.Position{}
	for id, w := range c.workers {
		s := w.stats.Snapshot()
		if s.AckedSeq == 0 || s.AckedHash == 0 {
			continue // nothing acknowledged yet: it resyncs
		}
		pos := actors.Position{Epoch: w.epoch, Seq: s.AckedSeq, Hash: s.AckedHash}
		own[id], holds[id] = pos.Digest(), &pos
	}
	differ, res, err := resync.DiffWorkers(own, resync.WorkerDigest(d.Workers), resync.DefaultConfig())
	if err != nil {
		c.log.Warn("digest comparison failed: workers resync one by one", "backup", p.backup, "err", err)
		c.setBackups(ctx, p.pid, nil)
		return
	}
	for _, id := range differ {
		delete(holds, id)
	}
	size, _ := term.EncodedSize(d.ToTerm())
	ex := &DigestExchange{Backup: p.backup, Workers: len(c.workers), InSync: len(holds), RoundTrips: res.RoundTrips,
		Bytes: size + res.BytesToSrc + res.BytesToCopy}
	for _, id := range differ {
		if _, ok := c.workers[id]; ok {
			ex.Differing = append(ex.Differing, id)
		}
	}
	slices.Sort(ex.Differing)
	c.n.repl.lastDigest.Store(ex)
	c.log.Info("compared worker digests with the backup", "backup", p.backup, "workers", ex.Workers,
		"in_sync", ex.InSync, "differing", len(ex.Differing))
	c.setBackups(ctx, p.pid, holds)
}

// validateReplication checks the replication part of the configuration.
func (c *Config) validateReplication() error {
	if err := c.Replication.Validate(); err != nil {
		return fmt.Errorf("%w: Replication: %w", ErrInvalidConfig, err)
	}
	// A chunk travels as one term message: its bytes plus a small record.
	// Only a node that runs workers sends chunks.
	if c.Workers != nil && c.Replication.ChunkSize+envelopeOverhead > c.MaxMessageSize {
		return fmt.Errorf("%w: Replication.ChunkSize: %d bytes does not fit MaxMessageSize %d with %d bytes of framing",
			ErrInvalidConfig, c.Replication.ChunkSize, c.MaxMessageSize, envelopeOverhead)
	}
	return nil
}

// startReplication spawns the replication controller (and, on a spare,
// the replica_handler) and subscribes it to membership events. It runs in
// Start before the node joins the cluster, so that the replica_handler
// exists before anyone can choose this node as a backup; runReplication
// starts feeding it events once the membership is up.
func (n *Node) startReplication() error {
	w := n.MonitorNodes()
	c := newController(n)
	pid, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return c }), replicationName)
	if err != nil {
		w.Cancel()
		return fmt.Errorf("replication controller: %w", err)
	}
	n.repl = &replication{pid: pid, watch: w, done: make(chan struct{}), quit: make(chan struct{}), rejoined: make(chan struct{})}
	res, err := n.system.Root.RequestFuture(pid, controllerReady{}, n.cfg.CallTimeout).Result()
	if err == nil {
		if e, ok := res.(error); ok {
			err = e
		}
	}
	if err != nil {
		n.stopReplication()
		return fmt.Errorf("replication controller: %w", err)
	}
	return nil
}

// runReplication starts the goroutine that hands membership events to the
// controller (it ends when the subscription is cancelled by stopReplication
// or closed by the node's shutdown) and the rejoin loop (see rejoin.go).
func (n *Node) runReplication() {
	r := n.repl
	r.running = true
	go n.runRejoin(r.quit, r.rejoined)
	go func() {
		defer close(r.done)
		for ev := range r.watch.Events() {
			n.system.Root.Send(r.pid, ev)
		}
	}()
}

// stopReplication stops the event forwarder and the controller, which
// stops the workers and the replica_handler. Idempotent.
func (n *Node) stopReplication() {
	r := n.repl
	if r == nil {
		return
	}
	r.stopOnce.Do(func() {
		r.watch.Cancel()
		close(r.quit)
		if r.running {
			<-r.done
			<-r.rejoined
		}
		_ = n.system.Root.StopFuture(r.pid).Wait()
		if r.digest != nil { // the controller has stopped: its state is ours
			r.digest.timer.Stop()
		}
	})
}

// setRole changes the role the node publishes; peers see a NodeUpdate and
// recompute their backups. The local change is immediate; the error says
// only that the broadcast did not go out within LeaveTimeout (gossip
// spreads it later anyway).
func (n *Node) setRole(r Role) error {
	n.metaMu.Lock()
	if n.cfg.Role == r {
		n.metaMu.Unlock()
		return nil
	}
	b, err := encodeMeta(memberMeta{Name: n.cfg.Name, Role: r, Remote: n.remoteAddr, User: n.userMeta})
	if err != nil {
		n.metaMu.Unlock()
		return err
	}
	n.cfg.Role, n.metaBytes = r, b
	n.metaMu.Unlock()
	return n.ml.UpdateNode(n.cfg.LeaveTimeout)
}

// ask sends a request to the replication controller and waits for the
// answer, at most Config.CallTimeout.
func (n *Node) ask(msg any) (any, error) {
	if n.stopped() || n.repl == nil {
		return nil, ErrStopped
	}
	res, err := n.system.Root.RequestFuture(n.repl.pid, msg, n.cfg.CallTimeout).Result()
	if err != nil {
		if n.stopped() {
			return nil, ErrStopped
		}
		return nil, fmt.Errorf("%w: replication controller: %w", ErrTimeout, err)
	}
	return res, nil
}

// StartWorker starts the worker id on this node: it builds its behaviour
// with Config.Workers, runs it under a one_for_one supervisor (3 restarts in
// 5 s), registers it under id (so that {id, Node} reaches it) and has it
// replicate its state to this node's backup. It fails with ErrNotActive on
// a spare, ErrNoWorkers without a factory, ErrWorkerExists when id runs
// here already, ErrWorkerFactory, or ErrBadName / ErrNameTaken for the name.
func (n *Node) StartWorker(id string) (*actor.PID, error) {
	if err := checkName(id); err != nil {
		return nil, err
	}
	if n.cfg.Workers == nil {
		return nil, ErrNoWorkers
	}
	res, err := n.ask(&startWorker{id: id})
	if err != nil {
		return nil, err
	}
	r := res.(*startWorkerResult)
	return r.pid, r.err
}

// StopWorker stops the worker id on this node (normally: it is not
// restarted and not taken over) and reports whether it ran here. Its
// replica stays on the backup until the backup's owner drops it.
func (n *Node) StopWorker(id string) (bool, error) {
	res, err := n.ask(&stopWorker{id: id})
	if err != nil {
		return false, err
	}
	return res.(bool), nil
}

// Workers lists the workers running on this node, sorted by id.
func (n *Node) Workers() ([]WorkerInfo, error) {
	res, err := n.ask(listWorkers{})
	if err != nil {
		return nil, err
	}
	return res.([]WorkerInfo), nil
}

// Backup returns the node this node's workers replicate to, as this node
// computes it from its member list (rendezvous hashing over the live spares);
// false when there is none (no live spare, or this node is a spare).
func (n *Node) Backup() (string, bool, error) {
	res, err := n.ask(getBackup{})
	if err != nil {
		return "", false, err
	}
	b := res.(string)
	return b, b != "", nil
}

// Takeovers returns the records of the workers this node took over, in the
// order it took them over: the most recent 1024 (older records are let go,
// so that a long-lived node's memory stays bounded; TakeoverCount counts
// them all).
func (n *Node) Takeovers() ([]Takeover, error) {
	res, err := n.ask(listTakeovers{})
	if err != nil {
		return nil, err
	}
	return res.([]Takeover), nil
}

// TakeoverCount returns how many workers this node has taken over since it
// started, including those whose records Takeovers no longer keeps.
func (n *Node) TakeoverCount() (uint64, error) {
	res, err := n.ask(countTakeovers{})
	if err != nil {
		return 0, err
	}
	return res.(uint64), nil
}

// Replicas lists the replicas this node keeps (without their states),
// sorted by worker id; empty on a node that never was a spare. It reads the
// replica_handler's ets table through its read-only view, not through the
// handler's mailbox.
func (n *Node) Replicas() ([]actors.Replica, error) {
	v := n.replicaView()
	if v == nil {
		return nil, nil
	}
	return v.List(false)
}

// Replica returns the replica of one worker kept on this node, with its
// state; false when there is none. Like Replicas, it reads the table.
func (n *Node) Replica(worker string) (actors.Replica, bool, error) {
	v := n.replicaView()
	if v == nil {
		return actors.Replica{}, false, nil
	}
	return v.Get(worker)
}

func (n *Node) replicaView() *actors.ReplicaView {
	if n.repl == nil {
		return nil
	}
	return n.repl.view.Load()
}

// Tables returns the node's registry of named ets tables (the replica
// table of a spare is in it, as actors.DefaultReplicaTable).
func (n *Node) Tables() *ets.Registry { return n.tables }
