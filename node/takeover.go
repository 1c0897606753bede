package node

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
)

// fenceItem is one worker copy to stop on a node that came back after this
// node took the worker over.
type fenceItem struct {
	takeover  *Takeover // its record (kept here also once Takeovers has let it go)
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
	// The replicas are read straight from the handler's table, not through
	// its mailbox, and sealed in the same step: a frame of the dead node
	// that the handler applies after this (one queued in its mailbox, or
	// one from a copy that was only paused) is refused, never acknowledged.
	replicas, err := c.replicas.Seal(dead)
	if err != nil {
		log.Error("takeover impossible: cannot read the replica table", "err", err)
		return
	}
	if len(replicas) == 0 {
		log.Info("dead node had no replicas here: nothing to take over")
		return
	}
	// Another node may hold a newer replica: an earlier backup that
	// acknowledged states this one does not hold yet. Every live node
	// seals its replica too, and the newest one wins.
	replicas = c.newestReplicas(dead, replicas)
	// Active from now: the workers get this node's backup (another spare,
	// or none until one appears).
	c.role = RoleActive
	c.retarget(ctx)
	var started []*Takeover
	for _, r := range replicas {
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
		log.Info("worker taken over", "worker", r.Worker, "from_epoch", r.Epoch, "from_seq", r.Seq, "epoch", spec.Epoch)
		t := c.recordTakeover(Takeover{Worker: r.Worker, From: dead, Epoch: spec.Epoch, Seq: r.Seq, Detected: detected})
		started = append(started, t)
		c.fences[dead] = append(c.fences[dead], &fenceItem{takeover: t, from: dead, worker: r.Worker, epoch: spec.Epoch})
	}
	// A worker runs once it has started from its replica: its answer to a
	// status request comes after its Started, which restores the state.
	for _, t := range started {
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
		last := started[len(started)-1]
		log.Warn("took over a dead node's workers", "workers", len(started), "of", len(replicas),
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
		if t := f.takeover; t.Returned.IsZero() {
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
	t := f.takeover
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

// maxTakeoverRecords is how many takeover records a node keeps for
// Takeovers: the most recent ones. TakeoverCount counts them all.
const maxTakeoverRecords = 1024

// recordTakeover appends a takeover record, letting the oldest go past
// maxTakeoverRecords, and returns it for updates (a fence still pending
// keeps its record).
func (c *controller) recordTakeover(t Takeover) *Takeover {
	rec := &t
	if len(c.takeovers) == maxTakeoverRecords {
		c.takeovers[0] = nil
		c.takeovers = c.takeovers[1:]
	}
	c.takeovers = append(c.takeovers, rec)
	c.takeoverCount++
	return rec
}

// takeoverRecords returns copies of the kept records, oldest first.
func (c *controller) takeoverRecords() []Takeover {
	out := make([]Takeover, len(c.takeovers))
	for i, t := range c.takeovers {
		out[i] = *t
	}
	return out
}
