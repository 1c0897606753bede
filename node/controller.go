package node

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// The controller's messages (local only).
type (
	controllerReady struct{}
	startWorker     struct{ id string }
	stopWorker      struct{ id string }
	listWorkers     struct{}
	getBackup       struct{}
	listTakeovers   struct{}
	countTakeovers  struct{}
	// replicaQuery forwards a query to the replica handler.
	replicaQuery struct{ q any }
)

type startWorkerResult struct {
	pid *actor.PID
	err error
}

// workerEntry is one worker of this node.
type workerEntry struct {
	id       string
	pid      *actor.PID
	epoch    uint64
	from     string // taken over from; "" when started here
	stats    *actors.WorkerStats
	strategy actor.SupervisorStrategy
	// fenced is set by the worker's fence middleware, on the worker's
	// goroutine, before the worker stops; the controller reads it when the
	// worker has terminated. (A message would not do: protoactor handles
	// the Terminated system message before user messages sent earlier.)
	fenced *atomic.Bool
}

// controller is the actor that owns the node's N+1 state: its view of the
// members and their roles, its own role, its backup, its workers (its
// children, supervised one by one), the replica_handler on a spare, the
// takeover records and the fences still to deliver. It is fed by the
// node's membership events; every decision is made on its goroutine.
type controller struct {
	n    *Node
	log  *slog.Logger
	self *actor.PID

	role      Role
	view      map[string]Member // live peers, without this node
	backup    string            // this node's backup ("" for none)
	backupPID *actor.PID        // the backup's replica_handler

	handler  *actor.PID           // the ReplicaHandler, registered as replica_handler (nil until this node is a spare)
	replicas *actors.ReplicaTable // the handler's store: an ets table the controller owns, read through its view

	workers map[string]*workerEntry // by id
	byPID   map[string]string       // worker process id -> worker id
	fenced  bool                    // a worker of this node was fenced since it became active

	takeovers     []*Takeover             // the most recent maxTakeoverRecords, oldest first
	takeoverCount uint64                  // every takeover since the node started
	fences        map[string][]*fenceItem // unconfirmed fences by former owner
	monitors      map[MonitorRef]*fenceItem
	stopping      bool
	lost          map[string]lostMember // failed members to rejoin, by name

	infra actor.SupervisorStrategy // for the replica handler
}

func newController(n *Node) *controller {
	return &controller{
		n: n, log: n.log.With("actor", replicationName),
		view:    map[string]Member{},
		workers: map[string]*workerEntry{}, byPID: map[string]string{},
		fences: map[string][]*fenceItem{}, monitors: map[MonitorRef]*fenceItem{}, lost: map[string]lostMember{},
		infra: actor.NewOneForOneStrategy(10, 10*time.Second, actor.DefaultDecider),
	}
}

var _ actor.SupervisorStrategy = (*controller)(nil)

// Receive handles events, requests and the children's lifecycle.
func (c *controller) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping:
		c.stopping = true
	case *actor.Stopped:
		// The handler, a child, has stopped by now: its table goes with it.
		if c.replicas != nil {
			c.n.repl.view.Store(nil)
			c.n.repl.table.Store(nil)
			_ = c.replicas.Close()
		}
	case controllerReady:
		var err error
		if c.role == RoleSpare {
			err = c.ensureHandler(ctx)
		}
		ctx.Respond(errOrNil(err))
	case NodeEvent:
		c.onEvent(ctx, m)
	case *startWorker:
		pid, err := c.startFresh(ctx, m.id)
		ctx.Respond(&startWorkerResult{pid: pid, err: err})
	case *stopWorker:
		w, ok := c.workers[m.id]
		if ok {
			ctx.Stop(w.pid)
		}
		ctx.Respond(ok)
	case listWorkers:
		ctx.Respond(c.listWorkers())
	case getBackup:
		ctx.Respond(c.backup)
	case listTakeovers:
		ctx.Respond(c.takeoverRecords())
	case countTakeovers:
		ctx.Respond(c.takeoverCount)
	case *replicaQuery:
		c.forwardQuery(ctx, m.q)
	case *Down:
		c.onFenceDown(ctx, m)
	case rejoinTargets:
		ctx.Respond(c.rejoinTargets(time.Now()))
	case *actor.Terminated:
		c.onTerminated(ctx, m.Who)
	case digestTimeout:
		c.onDigestTimeout(ctx, m)
	default:
		c.onReply(ctx, m)
	}
}

// errOrNil returns err as an any that is nil when err is nil.
func errOrNil(err error) any {
	if err == nil {
		return nil
	}
	return err
}

func (c *controller) start(ctx actor.Context) {
	c.self = ctx.Self()
	c.role = c.n.Role()
	// Subscribed before this snapshot: later changes arrive as events.
	for _, m := range c.n.Members() {
		if m.Name != c.n.Name() {
			c.view[m.Name] = m
		}
	}
}

// HandleFailure supervises the controller's children: each worker by its
// own one_for_one strategy (a worker that fails too often is stopped, not
// escalated), the replica handler by a plain restart (it keeps its store).
func (c *controller) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, message any) {
	if id, ok := c.byPID[child.Id]; ok {
		w := c.workers[id]
		c.log.Warn("worker failed", "worker", id, "reason", fmt.Sprint(reason))
		w.strategy.HandleFailure(system, singleChild{Supervisor: sup, child: child}, child, rs, reason, message)
		return
	}
	c.infra.HandleFailure(system, sup, child, rs, reason, message)
}

// singleChild narrows a supervisor to one child, so that a worker's
// strategy restarts or stops that worker only; when the strategy gives up
// the worker stays stopped instead of failing the controller.
type singleChild struct {
	actor.Supervisor
	child *actor.PID
}

func (s singleChild) Children() []*actor.PID              { return []*actor.PID{s.child} }
func (s singleChild) EscalateFailure(reason, message any) { s.Supervisor.StopChildren(s.child) }

// onEvent applies one membership event: the view, takeover on the death
// of an active node this node backs up, fences for a node coming back, and
// the backup choice.
func (c *controller) onEvent(ctx actor.Context, ev NodeEvent) {
	name := ev.Member.Name
	switch ev.Kind {
	case NodeUp, NodeUpdate:
		c.view[name] = ev.Member
		if ev.Kind == NodeUp {
			delete(c.lost, name)
			c.onReturn(ctx, name)
			c.claimWorkers(name)
		} else {
			c.retryFences(ctx, name)
		}
	case NodeDown:
		detected := time.Now()
		prev, known := c.view[name]
		takeover := known && prev.Role == RoleActive && c.isBackupOf(name)
		delete(c.view, name)
		if known && !ev.Left {
			c.lost[name] = lostMember{gossip: prev.GossipAddr, since: detected}
		} else {
			delete(c.lost, name)
		}
		if takeover {
			c.takeover(ctx, name, detected, ev.Left)
		}
	}
	c.retarget(ctx)
}

// isBackupOf reports whether this node, a spare, is the backup of the
// active node dead as every node computes it: rendezvous hashing over the
// live spares, this node included.
func (c *controller) isBackupOf(dead string) bool {
	if c.role != RoleSpare {
		return false
	}
	b, ok := actors.RendezvousBackup(dead, append(c.spares(), c.n.Name()))
	return ok && b == c.n.Name()
}

// spares returns the live spares of the view (this node excluded).
func (c *controller) spares() []string {
	var out []string
	for name, m := range c.view {
		if m.Role == RoleSpare {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// retarget recomputes this node's backup and tells every worker when it
// changed; the worker's next replication is a keyframe to the new one.
func (c *controller) retarget(ctx actor.Context) {
	want := ""
	if c.role == RoleActive {
		want, _ = actors.RendezvousBackup(c.n.Name(), c.spares())
	}
	var pid *actor.PID
	if want != "" {
		pid = actor.NewPID(c.view[want].RemoteAddr, replicaHandlerName)
	}
	if want == c.backup && samePID(pid, c.backupPID) {
		return
	}
	c.log.Info("backup changed", "from", c.backup, "to", want)
	c.backup, c.backupPID = want, pid
	c.announceBackup(ctx, pid)
}

func samePID(a, b *actor.PID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Address == b.Address && a.Id == b.Id
}

// ensureHandler starts the replica handler and registers it as
// replica_handler, unless it runs already.
func (c *controller) ensureHandler(ctx actor.Context) error {
	if c.handler != nil {
		return nil
	}
	if c.replicas == nil {
		t, err := actors.NewReplicaTable(c.n.tables, "")
		if err != nil {
			return err
		}
		c.replicas = t
		c.n.repl.view.Store(t.View())
		c.n.repl.table.Store(t)
	}
	rc := actors.DefaultReceiverConfig()
	rc.Logger = c.log
	rc.Store = c.replicas
	if c.n.cfg.replicaStore != nil {
		rc.Store = c.n.cfg.replicaStore(c.replicas)
	}
	props, err := actors.ReplicaHandlerProps(rc)
	if err != nil {
		return err
	}
	props.Configure(actor.WithReceiverMiddleware(c.n.CrashReporting))
	handler, err := ctx.SpawnNamed(props, replicaHandlerName)
	if err != nil {
		return err
	}
	if err := c.n.Register(replicaHandlerName, handler); err != nil {
		ctx.Stop(handler)
		return err
	}
	c.handler = handler
	return nil
}

// forwardQuery asks the replica handler and responds with its answer (or
// with an error).
func (c *controller) forwardQuery(ctx actor.Context, q any) {
	if c.handler == nil {
		switch q.(type) {
		case *actors.GetReplica:
			ctx.Respond(&actors.ReplicaResult{})
		default:
			ctx.Respond(&actors.ReplicaList{Now: time.Now()})
		}
		return
	}
	res, err := ctx.RequestFuture(c.handler, q, c.n.cfg.CallTimeout).Result()
	if err != nil {
		ctx.Respond(fmt.Errorf("%w: replica handler: %w", ErrTimeout, err))
		return
	}
	ctx.Respond(res)
}

// startFresh starts a worker with epoch 1 (StartWorker).
func (c *controller) startFresh(ctx actor.Context, id string) (*actor.PID, error) {
	if c.role != RoleActive {
		return nil, fmt.Errorf("%w: %s is a spare", ErrNotActive, c.n.Name())
	}
	b, err := c.behaviour(id)
	if err != nil {
		return nil, err
	}
	return c.spawnWorker(ctx, actors.WorkerSpec{ID: id, Behaviour: b}, "")
}

func (c *controller) behaviour(id string) (actors.Behaviour, error) {
	if _, ok := c.workers[id]; ok {
		return nil, fmt.Errorf("%w: %q", ErrWorkerExists, id)
	}
	b, err := c.n.cfg.Workers(id)
	if err == nil && b == nil {
		err = errors.New("nil behaviour")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrWorkerFactory, id, err)
	}
	return b, nil
}

// spawnWorker spawns a worker as the controller's child, registers it under
// its id and records it.
func (c *controller) spawnWorker(ctx actor.Context, spec actors.WorkerSpec, from string) (*actor.PID, error) {
	spec.Owner = c.n.Name()
	spec.Backup = c.backupPID
	spec.Replication = c.n.cfg.Replication
	spec.Logger = c.log.With("worker", spec.ID)
	if spec.Epoch == 0 {
		spec.Epoch = 1
	}
	props, stats, err := actors.WorkerProps(spec)
	if err != nil {
		return nil, err
	}
	fenced := new(atomic.Bool)
	// Crashes reported as such to monitors; fences noted for the
	// controller. (Terms from other nodes arrive decoded for every actor.)
	props.Configure(actor.WithReceiverMiddleware(c.n.CrashReporting, fenceMiddleware(fenced, spec.ID, spec.Epoch)))
	strategy, err := actors.NewStrategy(actors.OneForOne, 0, 0, nil)
	if err != nil {
		return nil, err
	}
	pid, err := ctx.SpawnNamed(props, spec.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrNameTaken, spec.ID, err)
	}
	if err := c.n.Register(spec.ID, pid); err != nil {
		ctx.Stop(pid)
		return nil, err
	}
	c.workers[spec.ID] = &workerEntry{id: spec.ID, pid: pid, epoch: spec.Epoch, from: from, stats: stats, strategy: strategy, fenced: fenced}
	c.byPID[pid.Id] = spec.ID
	c.log.Info("worker started", "worker", spec.ID, "epoch", spec.Epoch, "seq", spec.Seq, "taken_from", from, "backup", c.backup)
	return pid, nil
}

// fenceMiddleware records that a worker received a Fenced of a higher
// epoch than its own (the worker stops itself on it), so that a node whose
// workers were all fenced turns spare.
func fenceMiddleware(fenced *atomic.Bool, id string, epoch uint64) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			var f *actors.Fenced
			switch m := env.Message.(type) {
			case *actors.Fenced:
				f = m
			case *term.Tuple:
				if pm, err := actors.FromTerm(m); err == nil {
					f, _ = pm.(*actors.Fenced)
				}
			}
			if f != nil && f.Worker == id && f.Epoch > epoch {
				fenced.Store(true)
			}
			next(ctx, env)
		}
	}
}

// onTerminated forgets a worker that stopped (fenced, stopped, or given up
// by its strategy) and turns the node spare when its last worker was fenced.
func (c *controller) onTerminated(ctx actor.Context, who *actor.PID) {
	id, ok := c.byPID[who.Id]
	if !ok {
		return
	}
	w := c.workers[id]
	delete(c.byPID, who.Id)
	delete(c.workers, id)
	if w.fenced.Load() {
		c.fenced = true
		c.log.Warn("worker fenced: it runs elsewhere with a higher epoch", "worker", id, "epoch", w.epoch)
	} else {
		c.log.Info("worker stopped", "worker", id)
	}
	if c.stopping || len(c.workers) > 0 || !c.fenced || c.role != RoleActive {
		return
	}
	// Every worker of this node runs elsewhere now: serve as the spare
	// (N+1 rotation).
	c.fenced = false
	if err := c.ensureHandler(ctx); err != nil {
		c.log.Error("cannot turn spare: no replica_handler", "err", err)
		return
	}
	// Replicas kept from an earlier time as a spare are stale: the workers
	// have replicated elsewhere since. Taking a worker over from one would
	// roll it back past acknowledged states, so they go; the active nodes
	// send this node keyframes as soon as it is their backup.
	c.dropReplicas(ctx)
	c.role = RoleSpare
	if err := c.n.setRole(RoleSpare); err != nil {
		c.log.Warn("role change not yet broadcast", "role", RoleSpare.String(), "err", err)
	}
	c.log.Info("all workers fenced: now a spare")
	c.retarget(ctx)
}

// claimWorkers tells a node that has (re)appeared which workers run here,
// at which epoch: each claim is a Fenced for that worker's name on that node,
// which a copy there with a lower epoch obeys by stopping, and which no
// process or a copy with this epoch or higher ignores. Together with the
// fences of recorded takeovers, this stops a stale copy even when the node
// that took it over is gone too (several faults in a row, a healed partition
// where each side saw the other die).
func (c *controller) claimWorkers(name string) {
	for id, w := range c.workers {
		if err := c.n.Send(ProcessID{Name: id, Node: name}, &actors.Fenced{Worker: id, Epoch: w.epoch}); err != nil {
			c.log.Debug("cannot send a claim", "to", name, "worker", id, "err", err)
		}
	}
}

// dropReplicas empties the replica table through the handler (the table's
// only writer).
func (c *controller) dropReplicas(ctx actor.Context) {
	if c.replicas == nil || c.handler == nil {
		return
	}
	rs, err := c.replicas.View().List(false)
	if err != nil {
		c.log.Warn("cannot list stale replicas", "err", err)
		return
	}
	for _, r := range rs {
		ctx.Send(c.handler, &actors.DropReplica{Worker: r.Worker})
	}
	if len(rs) > 0 {
		c.log.Info("dropped stale replicas on turning spare", "replicas", len(rs))
	}
}

func (c *controller) listWorkers() []WorkerInfo {
	out := make([]WorkerInfo, 0, len(c.workers))
	for _, id := range slices.Sorted(maps.Keys(c.workers)) {
		w := c.workers[id]
		out = append(out, WorkerInfo{ID: id, PID: w.pid, Epoch: w.epoch, TakenFrom: w.from, Status: w.stats.Snapshot()})
	}
	return out
}
