package node

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/ets"
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
