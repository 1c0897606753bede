package node

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
)

// fenceItem is one worker copy to stop on a node that came back after this
// node took the worker over.
type fenceItem struct {
	takeover  int // index in controller.takeovers
	from      string
	worker    string
	epoch     uint64
	monitored bool // a monitor is set up; its Down confirms (or not) the stop
	ref       MonitorRef
}

// takeover starts the workers of the dead active node from their replicas
// here, each with epoch+1 and under its own name, and turns this node
// active. It runs on the controller's goroutine, so no event is applied in
// between.
func (c *controller) takeover(ctx actor.Context, dead string, detected time.Time, left bool) {
	log := c.log.With("dead", dead, "left", left)
	if c.handler == nil {
		log.Error("takeover impossible: no replica_handler")
		return
	}
	if c.n.cfg.Workers == nil {
		log.Error("takeover impossible: Config.Workers is nil")
		return
	}
	res, err := ctx.RequestFuture(c.handler, &actors.ReplicasByOwner{Owner: dead}, c.n.cfg.CallTimeout).Result()
	if err != nil {
		log.Error("takeover impossible: replica_handler does not answer", "err", err)
		return
	}
	list, ok := res.(*actors.ReplicaList)
	if !ok || len(list.Replicas) == 0 {
		log.Info("dead node had no replicas here: nothing to take over")
		return
	}
	// Active from now: the workers get this node's backup (another spare,
	// or none until one appears).
	c.role = RoleActive
	c.retarget(ctx)
	var started []int
	for _, r := range list.Replicas {
		b, err := c.behaviour(r.Worker)
		if err != nil {
			log.Error("cannot take a worker over; its replica stays", "worker", r.Worker, "err", err)
			continue
		}
		spec := actors.FromReplica(r, c.n.Name(), b, c.n.cfg.Replication)
		if _, err := c.spawnWorker(ctx, spec, dead); err != nil {
			log.Error("cannot take a worker over; its replica stays", "worker", r.Worker, "err", err)
			continue
		}
		c.takeovers = append(c.takeovers, Takeover{Worker: r.Worker, From: dead, Epoch: spec.Epoch, Seq: r.Seq, Detected: detected})
		started = append(started, len(c.takeovers)-1)
		c.fences[dead] = append(c.fences[dead], &fenceItem{takeover: len(c.takeovers) - 1, from: dead, worker: r.Worker, epoch: spec.Epoch})
	}
	// A worker runs once it has started from its replica: its answer to a
	// status request comes after its Started, which restores the state.
	for _, i := range started {
		t := &c.takeovers[i]
		w := c.workers[t.Worker]
		if w == nil {
			continue // it failed and stopped already
		}
		if _, err := actors.WorkerStatusOf(ctx.ActorSystem(), w.pid, c.n.cfg.CallTimeout); err != nil {
			log.Warn("taken-over worker does not answer", "worker", t.Worker, "err", err)
		}
		t.Running = time.Now()
		// The replica is this node's own worker now.
		ctx.Send(c.handler, &actors.DropReplica{Worker: t.Worker})
	}
	if len(started) > 0 {
		last := c.takeovers[started[len(started)-1]]
		log.Warn("took over a dead node's workers", "workers", len(started), "of", len(list.Replicas),
			"detect_to_running", last.Running.Sub(detected).String())
	}
	if len(c.workers) == 0 {
		// Nothing could be started: stay the spare.
		c.role = RoleSpare
		c.retarget(ctx)
		return
	}
	if err := c.n.setRole(RoleActive); err != nil {
		log.Warn("role change not yet broadcast", "role", RoleActive.String(), "err", err)
	}
}

// onReturn handles a NodeUp: when this node took workers over from that
// node, the node's own copies (a paused or partitioned node resuming) are
// told to stop.
func (c *controller) onReturn(ctx actor.Context, name string) {
	items := c.fences[name]
	if len(items) == 0 {
		return
	}
	c.log.Info("a node we took workers from is back: fencing its copies", "member", name, "workers", len(items))
	now := time.Now()
	for _, f := range items {
		if t := &c.takeovers[f.takeover]; t.Returned.IsZero() {
			t.Returned = now
		}
		f.monitored = false
	}
	c.retryFences(ctx, name)
}

// retryFences sends Fenced to every copy on node name not yet known to be
// stopped and not being watched, and watches it: the Down that follows
// confirms the stop (normal, crashed, noproc) or not (noconnection,
// nodedown), in which case the next event about the node retries.
func (c *controller) retryFences(ctx actor.Context, name string) {
	if _, alive := c.view[name]; !alive {
		return
	}
	var todo []*fenceItem
	for _, f := range c.fences[name] {
		if !f.monitored {
			todo = append(todo, f)
		}
	}
	send := func(f *fenceItem) bool {
		to := ProcessID{Name: f.worker, Node: name}
		fenced := &actors.Fenced{Worker: f.worker, Epoch: f.epoch}
		if err := c.n.Send(to, fenced); err != nil {
			c.log.Warn("cannot send a fence", "to", to.String(), "err", err)
			return false
		}
		return true
	}
	// Every fence first (each Monitor below waits a round trip, and the
	// copies run until they get their Fenced), then the monitors.
	for _, f := range todo {
		send(f)
	}
	for _, f := range todo {
		to := ProcessID{Name: f.worker, Node: name}
		ref, err := c.n.Monitor(c.self, to)
		if err != nil {
			c.log.Warn("cannot watch a fenced copy", "to", to.String(), "err", err)
			continue
		}
		f.monitored, f.ref = true, ref
		c.monitors[ref] = f
		// Again, now that the monitor shows the connection works: a fence
		// sent while the connection to the returning node was still being
		// set up may have been dropped, and then no Down would ever come.
		// A second Fenced is harmless (the worker stops on the first).
		send(f)
	}
}

// onFenceDown records the stop of a fenced copy, or gives the fence up for
// a retry when the copy's node could not be reached.
func (c *controller) onFenceDown(ctx actor.Context, d *Down) {
	f, ok := c.monitors[d.Ref]
	if !ok {
		return
	}
	delete(c.monitors, d.Ref)
	f.monitored = false
	switch d.Reason {
	case ReasonNoConnection, ReasonNodeDown:
		c.log.Info("fence not confirmed, retried at the node's next event", "worker", f.worker, "on", f.from, "reason", d.Reason.String())
		return
	}
	now := time.Now()
	t := &c.takeovers[f.takeover]
	t.Fenced = now
	items := c.fences[f.from]
	for i, g := range items {
		if g == f {
			items = append(items[:i], items[i+1:]...)
			break
		}
	}
	if len(items) == 0 {
		delete(c.fences, f.from)
	} else {
		c.fences[f.from] = items
	}
	c.log.Info("stale copy stopped", "worker", f.worker, "on", f.from, "reason", d.Reason.String(),
		"dual_window", t.DualWindow().String())
}
