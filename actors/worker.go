package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

// Errors of workers.
var (
	// ErrNotTerm is the failure of a worker whose state is neither a
	// term.Term nor a value its WorkerSpec.Marshal (term.Marshal by default)
	// accepts.
	ErrNotTerm = errors.New("actors: state is not a term")
	// ErrHandle wraps the error a Behaviour returned from Init or Handle;
	// the worker fails with it and its supervisor decides what follows.
	ErrHandle = errors.New("actors: worker failed")
)

// Behaviour is the user's code of a worker, like an Erlang gen_server's
// callback module: Init makes the first state, Handle makes each next state
// from a message, and the runtime replicates states to the backup. A state
// is a term.Term, or any Go value that WorkerSpec.Marshal turns into one.
//
// Handle returns the new state, a reply (sent to the message's sender when
// it is not nil and the message has a sender) and an error. An error, or a
// panic, makes the worker fail: its supervisor restarts it (calling Init
// again, as Erlang would) or stops it. Both are called on the worker's own
// goroutine, one message at a time.
type Behaviour interface {
	Init(ctx *WorkerContext) (state any, err error)
	Handle(ctx *WorkerContext, state any, msg any) (newState any, reply any, err error)
}

// Restorer is an optional callback of a Behaviour: on takeover the worker
// starts from its replica's state (a term) through Restore instead of Init.
// Without it the replica's term is the state.
type Restorer interface {
	Restore(ctx *WorkerContext, replica term.Term) (state any, err error)
}

// Terminator is an optional callback of a Behaviour, called when the worker
// stops (reason nil) or is fenced (reason wraps ErrFenced).
type Terminator interface {
	Terminate(ctx *WorkerContext, state any, reason error)
}

// ErrFenced is the reason a fenced worker stops with: a copy of it with a
// higher epoch runs elsewhere.
var ErrFenced = errors.New("actors: worker fenced by a higher epoch")

// WorkerSpec says how to start a worker: fresh (Epoch 0 or 1, Replica nil)
// or from a replica on takeover (see FromReplica).
type WorkerSpec struct {
	// ID is the worker's id, also its registered name. Required.
	ID string
	// Owner is the name of the node the worker runs on; replicas record it
	// so that a takeover finds the workers of a dead node.
	Owner string
	// Behaviour is the user's code. Required.
	Behaviour Behaviour
	// Epoch is the worker's epoch: 1 (or 0, meaning 1) for a fresh worker,
	// the replica's epoch + 1 on takeover.
	Epoch uint64
	// Seq is the state sequence the worker continues from: 0 for a fresh
	// worker (its first replicated state is 1), the replica's Seq on
	// takeover.
	Seq uint64
	// Replica, when not nil, is the state to start from instead of Init.
	Replica term.Term
	// Backup is the replica_handler to replicate to; nil until node knows
	// one (it sends SetBackup then).
	Backup *actor.PID
	// Replication configures the replication path.
	Replication ReplicationConfig
	// Marshal turns a state that is not a term.Term into one. Default
	// term.Marshal.
	Marshal func(any) (term.Term, error)
	// Logger for the worker. Default: the actor system's logger.
	Logger *slog.Logger
}

// FromReplica returns the spec of a worker taking over from r: the same id,
// r's state, epoch r.Epoch+1 and the state sequence continuing from r.Seq
// (the replica's state is r.Seq; the worker replicates it again, in its new
// epoch, as r.Seq+1).
func FromReplica(r Replica, owner string, b Behaviour, rc ReplicationConfig) WorkerSpec {
	return WorkerSpec{ID: r.Worker, Owner: owner, Behaviour: b, Epoch: r.Epoch + 1, Seq: r.Seq, Replica: r.State, Replication: rc}
}

// StatsRequest asks a worker for its WorkerStatus (a request; the answer is
// a *WorkerStatus).
type StatsRequest struct{}

// Drain asks a worker to wind down before it is stopped (a local request;
// the node sends it on a graceful shutdown). From then on the worker
// handles no further user message: those that arrive, and those held behind
// a Sync reply, are dropped, as they would be by its stop. It answers with
// a *Drained once its newest state is acknowledged by its backup, at once
// when it has no backup; until then it keeps replicating (retries,
// keyframe requests, Backoff, a backup change). A worker may be asked more
// than once; each asker gets its answer.
type Drain struct{}

// Drained answers Drain: the worker's newest state sequence and the newest
// one its replica holds (AckedSeq >= Seq, or no backup).
type Drained struct{ Seq, AckedSeq uint64 }

// WorkerContext is what a Behaviour's callbacks see of their worker.
type WorkerContext struct {
	ctx       actor.Context
	w         *worker
	sender    *actor.PID
	replicate bool
}

// ID returns the worker's id.
func (c *WorkerContext) ID() string { return c.w.spec.ID }

// Epoch returns the worker's epoch.
func (c *WorkerContext) Epoch() uint64 { return c.w.spec.Epoch }

// Seq returns the sequence number of the worker's newest replicated state.
func (c *WorkerContext) Seq() uint64 { return c.w.seq }

// Self returns the worker's PID.
func (c *WorkerContext) Self() *actor.PID { return c.ctx.Self() }

// Sender returns the sender of the message being handled (nil for none).
func (c *WorkerContext) Sender() *actor.PID { return c.sender }

// Send sends msg to pid.
func (c *WorkerContext) Send(pid *actor.PID, msg any) { c.ctx.Send(pid, msg) }

// Actor returns the underlying protoactor context, for what this one does
// not cover (spawning, watching, futures).
func (c *WorkerContext) Actor() actor.Context { return c.ctx }

// Logger returns the worker's logger.
func (c *WorkerContext) Logger() *slog.Logger { return c.w.logs }

// Replicate asks for the state returned by the current callback to be
// replicated (with Mode OnRequest; with EveryStep every state is).
func (c *WorkerContext) Replicate() { c.replicate = true }

// core is what a worker keeps across restarts: its stream (sequence
// numbers, encoder, window) and counters. Only the worker goroutine uses it.
type core struct {
	spec    WorkerSpec
	stats   *WorkerStats
	rep     *replicator
	seq     uint64
	started bool // the first incarnation has started (restarts call Init)
	fenced  bool
	backup  *actor.PID
	// draining is set by Drain: no user message is handled any more;
	// drainers wait for the newest state's ack.
	draining bool
	drainers []*actor.PID
}

// worker is one incarnation of a worker actor.
type worker struct {
	*core
	logs    *slog.Logger
	state   any
	ok      bool // state is set
	waiting *syncWait
	queue   []queued
}

// syncWait is a reply held until the replica acknowledges a state.
type syncWait struct {
	seq    uint64
	reply  any
	sender *actor.PID
}

type queued struct {
	msg    any
	sender *actor.PID
}

type handleFailure struct{ err error }

func (f handleFailure) Error() string { return f.err.Error() }
func (f handleFailure) Unwrap() error { return f.err }

// WorkerProps returns the Props of a worker (with its sender middleware) and
// its counters. Spawn it once, under spec.ID, under a supervisor.
func WorkerProps(spec WorkerSpec) (*actor.Props, *WorkerStats, error) {
	if spec.ID == "" {
		return nil, nil, fmt.Errorf("%w: ID is empty", ErrConfig)
	}
	if spec.Behaviour == nil {
		return nil, nil, fmt.Errorf("%w: Behaviour is nil", ErrConfig)
	}
	if spec.Epoch == 0 {
		spec.Epoch = 1
	}
	if err := spec.Replication.Validate(); err != nil {
		return nil, nil, err
	}
	rc := spec.Replication
	c := &core{spec: spec, stats: &WorkerStats{}, seq: spec.Seq, backup: spec.Backup}
	c.stats.seq.Store(spec.Seq)
	c.stats.acked.Store(spec.Seq)
	enc, err := delta.NewEncoder(delta.EncoderConfig{Worker: spec.ID, Epoch: spec.Epoch, Policy: rc.Policy, Diff: rc.Diff})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.rep = &replicator{
		cfg: &rc, enc: enc, stats: c.stats, worker: spec.ID, owner: spec.Owner, epoch: spec.Epoch,
		sentStep: spec.Seq, ackedStep: spec.Seq,
	}
	// The encoder numbers frames by the worker's state sequence, which
	// continues from the replica's on takeover.
	c.rep.enc.Rebase(nil, spec.Seq)
	props := actor.PropsFromProducer(func() actor.Actor { return &worker{core: c} },
		actor.WithSenderMiddleware(c.rep.senderMiddleware))
	return props, c.stats, nil
}

// Receive runs the protocol and the user's behaviour.
func (w *worker) Receive(ctx actor.Context) {
	if len(w.drainers) > 0 {
		defer w.answerDrain(ctx) // whatever this message was, it may have brought the ack
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.start(ctx)
		return
	case *actor.Stopping:
		w.rep.stop()
		if t, ok := w.spec.Behaviour.(Terminator); ok && w.ok {
			var reason error
			if w.fenced {
				reason = ErrFenced
			}
			t.Terminate(&WorkerContext{ctx: ctx, w: w}, w.state, reason)
		}
		return
	case *actor.Stopped, *actor.Restarting, *actor.PoisonPill, *actor.ReceiveTimeout:
		return
	case *replicatorTick:
		w.rep.onTick(ctx)
		return
	case *replicatorResume:
		w.rep.onResume(ctx)
		return
	case *linkLost:
		w.rep.onLinkLost(ctx, m)
		return
	case *actor.DeadLetterResponse:
		// A message the worker sent itself found nobody (resync messages
		// go through the link, which watches them).
		return
	case *StatsRequest:
		s := w.stats.Snapshot()
		ctx.Respond(&s)
		return
	case *Drain:
		w.draining = true
		w.stats.draining.Store(true)
		if ctx.Sender() != nil {
			w.drainers = append(w.drainers, ctx.Sender())
		}
		w.answerDrain(ctx)
		return
	}
	pm, err := protocolMessage(ctx.Message())
	if err != nil {
		w.logs.Warn("worker: dropped a malformed protocol message", slog.String("worker", w.spec.ID), slog.Any("err", err))
		return
	}
	if pm != nil {
		w.protocol(ctx, pm)
		return
	}
	if w.fenced {
		return
	}
	if w.draining {
		w.logs.Debug("worker: dropped a message while draining", slog.String("worker", w.spec.ID))
		return
	}
	if w.waiting != nil {
		w.queue = append(w.queue, queued{msg: ctx.Message(), sender: ctx.Sender()})
		return
	}
	w.step(ctx, ctx.Message(), ctx.Sender())
}

func (w *worker) start(ctx actor.Context) {
	w.logs = w.spec.Logger
	if w.logs == nil {
		w.logs = ctx.Logger()
	}
	w.rep.self, w.rep.actorSystem, w.rep.logs = ctx.Self(), ctx.ActorSystem(), w.logs
	wc := &WorkerContext{ctx: ctx, w: w}
	var (
		st  any
		err error
	)
	fromReplica := !w.started && w.spec.Replica != nil
	if fromReplica {
		if r, ok := w.spec.Behaviour.(Restorer); ok {
			st, err = r.Restore(wc, w.spec.Replica)
		} else {
			st = w.spec.Replica
		}
	} else {
		st, err = w.spec.Behaviour.Init(wc)
	}
	w.started = true
	if err != nil {
		panic(handleFailure{fmt.Errorf("%w: %s init: %w", ErrHandle, w.spec.ID, err)})
	}
	w.state, w.ok = st, true
	// A worker starting from a replica announces its new epoch at once; a
	// fresh one replicates its first state unless it replicates on request.
	if w.spec.Replication.Mode == EveryStep || wc.replicate || fromReplica {
		w.replicate(ctx)
	}
}

func (w *worker) protocol(ctx actor.Context, pm Message) {
	switch m := pm.(type) {
	case *Ack:
		w.rep.onAck(ctx, m)
		w.release(ctx)
	case *NeedKeyframe:
		w.rep.onNeedKeyframe(ctx, m)
	case *Backoff:
		w.rep.onBackoff(m)
	case *Fenced:
		if m.Epoch > w.spec.Epoch && !w.fenced && !hookIgnoreFenced() {
			w.fenced = true
			w.logs.Warn("worker fenced: a copy with a higher epoch runs elsewhere", slog.String("worker", w.spec.ID),
				slog.Uint64("epoch", w.spec.Epoch), slog.Uint64("higher", m.Epoch))
			ctx.Stop(ctx.Self())
		}
	case *ResyncStatus:
		w.rep.onResyncStatus(ctx, m)
		w.release(ctx) // a covered resync acknowledges the state the replica holds
	case *Resync:
		w.rep.onResync(ctx, m)
	case *SetBackup:
		w.backup = m.PID
		w.rep.hint = m.Holds
		if w.ok && w.rep.latest != nil {
			ctx.Send(w.backup, &ReplicaState{State: w.rep.latest, Seq: w.rep.latestStep})
		} else if w.ok {
			w.replicate(ctx)
		}
	}
}

// step handles one user message.
func (w *worker) step(ctx actor.Context, msg any, sender *actor.PID) {
	wc := &WorkerContext{ctx: ctx, w: w, sender: sender}
	st, reply, err := w.spec.Behaviour.Handle(wc, w.state, msg)
	if err != nil {
		panic(handleFailure{fmt.Errorf("%w: %s: %w", ErrHandle, w.spec.ID, err)})
	}
	unchanged := sameState(w.state, st)
	w.state = st
	w.stats.steps.Add(1)
	if (w.spec.Replication.Mode == EveryStep && !unchanged) || wc.replicate {
		w.replicate(ctx)
	}
	// In sync mode a reply waits until the state it reflects is
	// acknowledged, even when this step did not change it.
	if w.spec.Replication.Sync && w.rep.ackedStep < w.seq {
		w.waiting = &syncWait{seq: w.seq, reply: reply, sender: sender}
		return
	}
	if reply != nil && sender != nil {
		ctx.Send(sender, reply)
	}
}

// sameState reports whether a handler returned the very state it was given
// (a term that is the same object): there is nothing to replicate then.
// Go values that are not terms are always replicated.
func sameState(old, new any) bool {
	a, ok1 := old.(term.Term)
	b, ok2 := new.(term.Term)
	return ok1 && ok2 && a != nil && b != nil && term.Same(a, b)
}

// replicate hands the current state to the sender middleware.
func (w *worker) replicate(ctx actor.Context) {
	t, err := w.toTerm(w.state)
	if err != nil {
		panic(handleFailure{fmt.Errorf("%w: %s: %w", ErrHandle, w.spec.ID, err)})
	}
	w.seq++
	ctx.Send(w.backup, &ReplicaState{State: t, Seq: w.seq})
}

func (w *worker) toTerm(st any) (term.Term, error) {
	if t, ok := st.(term.Term); ok && t != nil {
		return t, nil
	}
	marshal := w.spec.Marshal
	if marshal == nil {
		marshal = term.Marshal
	}
	t, err := marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotTerm, err)
	}
	if t == nil {
		return nil, fmt.Errorf("%w: Marshal returned nil for %T", ErrNotTerm, st)
	}
	return t, nil
}

// release sends a held reply once its state is acknowledged, then handles
// the messages that waited behind it.
func (w *worker) release(ctx actor.Context) {
	for w.waiting != nil && w.rep.ackedStep >= w.waiting.seq && !w.fenced {
		if w.waiting.reply != nil && w.waiting.sender != nil {
			ctx.Send(w.waiting.sender, w.waiting.reply)
		}
		w.waiting = nil
		for len(w.queue) > 0 && w.waiting == nil && !w.fenced && !w.draining {
			q := w.queue[0]
			w.queue = w.queue[1:]
			w.step(ctx, q.msg, q.sender)
		}
	}
}

// answerDrain answers the Drain requests once the worker's newest state is
// acknowledged (or there is no backup to acknowledge it).
func (w *worker) answerDrain(ctx actor.Context) {
	if len(w.drainers) == 0 || (w.backup != nil && w.rep.ackedStep < w.seq) {
		return
	}
	for _, p := range w.drainers {
		ctx.Send(p, &Drained{Seq: w.seq, AckedSeq: w.rep.ackedStep})
	}
	w.drainers = nil
}

// WorkerStatusOf asks the worker at pid for its status, waiting at most
// timeout.
func WorkerStatusOf(system *actor.ActorSystem, pid *actor.PID, timeout time.Duration) (WorkerStatus, error) {
	res, err := system.Root.RequestFuture(pid, &StatsRequest{}, timeout).Result()
	if err != nil {
		return WorkerStatus{}, fmt.Errorf("actors: status of %v: %w", pid, err)
	}
	s, ok := res.(*WorkerStatus)
	if !ok {
		return WorkerStatus{}, fmt.Errorf("actors: status of %v: unexpected answer %T", pid, res)
	}
	return *s, nil
}
