package actors

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/resync"
	"github.com/enode-dev/enode/term"
)

// ReplicateMode says when a worker replicates its state.
type ReplicateMode uint8

// The replicate modes.
const (
	// EveryStep replicates after every handled message (and after Init).
	EveryStep ReplicateMode = iota
	// OnRequest replicates only after steps whose handler called
	// WorkerContext.Replicate.
	OnRequest
)

// ReplicationConfig configures the worker side of replication: the sender
// middleware, the keyframe policy, chunking and flow control. Start from
// DefaultReplicationConfig: the zero value has Delta false.
type ReplicationConfig struct {
	// Delta sends keyframes and deltas when true; when false every
	// replication is a keyframe (the whole state, no diffing), for
	// comparison.
	Delta bool
	// Policy decides between keyframe and delta. Default
	// delta.DefaultPolicy() (adaptive).
	Policy delta.KeyframePolicy
	// Diff tunes delta.Diff. The zero value means delta's defaults.
	Diff delta.DiffOptions
	// Mode says when to replicate. Default EveryStep.
	Mode ReplicateMode
	// Sync makes the worker wait for the replica's Ack of a step's state
	// before it replies and takes the next message (while no backup is
	// known, replies wait until one is set). Default false.
	Sync bool
	// ChunkSize is the most frame bytes per Chunk. Default 64 KiB.
	ChunkSize int
	// Window is the most frames a worker has sent and not had acknowledged.
	// When it is full (or no backup is known) new states are not queued:
	// the newest one replaces the one waiting, and it goes out, as one
	// delta from the last sent state, when acks free the window. Default 4.
	Window int
	// MaxInFlightChunks is the most unacknowledged chunks a link to one
	// replica_handler has on the wire. Default 16 (1 MiB with 64 KiB chunks).
	MaxInFlightChunks int
	// StallTimeout is how long a chunk, frame or resync message a link
	// sent may go unanswered before the link probes its replica_handler
	// (LinkPing, again every StallTimeout while it lasts). The probe's
	// answer comes back after the answers to everything sent before it
	// (protoactor keeps the order of what it delivers), so what is still
	// unanswered then was lost (a connection reset, a paused peer): its
	// workers resync at once. A handler busy with a large keyframe answers
	// the probe late, not wrongly, so this bounds the detection of a loss,
	// not the time a frame may take. Negative switches probing off.
	// Default 2 s.
	StallTimeout time.Duration
	// AckTimeout is the last resort: how long a worker waits for an answer
	// (an ack, or to its resync query) before it gives up what it has in
	// flight and resyncs, and how long a link waits without any word from
	// its destination, not even to a probe, before it writes off what is
	// unanswered. Losses are normally found after StallTimeout; this only
	// matters for a destination that stays silent. Default 30 s.
	AckTimeout time.Duration
	// MaxBackoff caps how long a worker honours a replica_handler's
	// Backoff: it sends no new frame for min(RetryAfter, MaxBackoff),
	// merging its states meanwhile. Default 10 s.
	MaxBackoff time.Duration
	// Resync tunes the Merkle comparison a worker runs with a replica that
	// holds another state than the worker's (see resync.go). Both sides
	// must agree on FanOut: the replica_handler uses
	// ReceiverConfig.Resync. Default resync.DefaultConfig().
	Resync resync.Config
	// MaxResyncMessage is the most bytes of one message of the comparison
	// (each travels whole, not chunked); a comparison that would send more
	// ends with a keyframe instead. Default 512 KiB.
	MaxResyncMessage int

	dropChunk func(*Chunk) bool  // test hook: the link loses chunks it returns true for
	dropReply func(Message) bool // test hook: the link loses replies it returns true for
}

// DefaultReplicationConfig returns the defaults: delta mode, adaptive
// keyframes, replication after every step, asynchronous.
func DefaultReplicationConfig() ReplicationConfig {
	return ReplicationConfig{
		Delta:             true,
		Policy:            delta.DefaultPolicy(),
		Mode:              EveryStep,
		ChunkSize:         64 << 10,         // far below gRPC's 4 MB message limit
		Window:            4,                // enough to keep a loopback link busy
		MaxInFlightChunks: 16,               // 1 MiB on the wire per destination
		StallTimeout:      2 * time.Second,  // a loss is found within about this after the link heals
		AckTimeout:        30 * time.Second, // the last resort against a destination that stays silent
		MaxBackoff:        10 * time.Second, // a confused handler cannot silence a worker for long
		Resync:            resync.DefaultConfig(),
		MaxResyncMessage:  512 << 10, // half of node's default 1 MiB message bound
	}
}

// Validate fills defaults for zero numeric fields and checks the rest.
func (c *ReplicationConfig) Validate() error {
	d := DefaultReplicationConfig()
	if c.Policy == nil {
		c.Policy = d.Policy
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = d.ChunkSize
	}
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.MaxInFlightChunks == 0 {
		c.MaxInFlightChunks = d.MaxInFlightChunks
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = d.AckTimeout
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = d.StallTimeout
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.Resync == (resync.Config{}) {
		c.Resync = d.Resync
	}
	if c.MaxResyncMessage == 0 {
		c.MaxResyncMessage = d.MaxResyncMessage
	}
	switch {
	case c.Mode != EveryStep && c.Mode != OnRequest:
		return fmt.Errorf("%w: Mode %d", ErrConfig, c.Mode)
	case c.ChunkSize < 0:
		return fmt.Errorf("%w: ChunkSize %d < 0", ErrConfig, c.ChunkSize)
	case c.Window < 0:
		return fmt.Errorf("%w: Window %d < 0", ErrConfig, c.Window)
	case c.MaxInFlightChunks < 0:
		return fmt.Errorf("%w: MaxInFlightChunks %d < 0", ErrConfig, c.MaxInFlightChunks)
	case c.AckTimeout < 0:
		return fmt.Errorf("%w: AckTimeout %v < 0", ErrConfig, c.AckTimeout)
	case c.MaxBackoff < 0:
		return fmt.Errorf("%w: MaxBackoff %v < 0", ErrConfig, c.MaxBackoff)
	case c.MaxResyncMessage < 0:
		return fmt.Errorf("%w: MaxResyncMessage %d < 0", ErrConfig, c.MaxResyncMessage)
	}
	if err := c.Resync.Validate(); err != nil {
		return fmt.Errorf("%w: Resync: %w", ErrConfig, err)
	}
	if a, ok := c.Policy.(delta.Adaptive); ok {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("%w: Policy: %w", ErrConfig, err)
		}
	}
	return nil
}

// ReplicaState is a worker's whole state at sequence number Seq, sent to its
// backup's replica_handler PID (or to nil when no backup is known). The
// worker's sender middleware takes it off the mailbox path and sends
// keyframe or delta chunks instead; it never travels as such.
type ReplicaState struct {
	State term.Term
	Seq   uint64
}

// WorkerStats are a worker's counters, updated by the worker and readable
// from any goroutine (for status pages and the demo).
type WorkerStats struct {
	steps, frames, keyframes, deltas atomic.Uint64
	bytesSent, fullBytes             atomic.Uint64
	seq, acked, coalesced, failures  atomic.Uint64
	needKey, timeouts, backoffs      atomic.Uint64
	resyncs, resyncCovered           atomic.Uint64
	resyncMerkle, resyncKeyframes    atomic.Uint64
	resyncRounds, resyncBytes        atomic.Uint64
	ackedHash, linkLosses            atomic.Uint64
	draining                         atomic.Bool
}

// WorkerStatus is a snapshot of WorkerStats.
type WorkerStatus struct {
	Steps          uint64 // messages handled
	Frames         uint64 // frames sent (keyframes + deltas)
	Keyframes      uint64
	Deltas         uint64
	BytesSent      uint64 // frame bytes sent
	FullStateBytes uint64 // bytes that sending the whole state each time would have cost
	Seq            uint64 // the worker's state sequence: of the newest state handed to replication (continues across takeovers)
	AckedSeq       uint64 // the newest state sequence the replica holds (acknowledged, or reported by a resync with its hash)
	AckLag         uint64 // Seq - AckedSeq
	AckedHash      uint64 // term.Hash of the state at AckedSeq (0 when unknown)
	Coalesced      uint64 // states replaced by a newer one before being sent
	EncodeFailures uint64 // states that could not be encoded
	NeedKeyframes  uint64 // keyframe requests from the replica (gaps, mismatches)
	AckTimeouts    uint64 // times the frames in flight (or a resync) were given up after AckTimeout without an answer
	LinkLosses     uint64 // times the link found something of the worker's stream lost (see StallTimeout) and the worker resynced
	Backoffs       uint64 // Backoff messages honoured (the replica_handler's admission control)
	// Resyncs counts the resyncs started (a ResyncQuery to a new or
	// silent backup); each ended one way: ResyncCovered (the worker still
	// held the replica's state: one delta from it), ResyncMerkle (a Merkle
	// comparison and a delta of the differing subterms) or ResyncKeyframes
	// (no replica, too much divergence, or a failed exchange).
	Resyncs, ResyncCovered, ResyncMerkle, ResyncKeyframes uint64
	// ResyncRoundTrips and ResyncBytes are the exchange's request/answer
	// pairs and term-encoded bytes (both ways) before the data went out;
	// the covered path's delta and a keyframe are frames (BytesSent), the
	// Merkle path's delta is part of ResyncBytes.
	ResyncRoundTrips, ResyncBytes uint64
	// Draining is set once the worker got a Drain: it handles no further
	// user message and is about to be stopped.
	Draining bool
}

// Snapshot returns the current counters.
func (s *WorkerStats) Snapshot() WorkerStatus {
	st := WorkerStatus{
		Steps: s.steps.Load(), Frames: s.frames.Load(), Keyframes: s.keyframes.Load(), Deltas: s.deltas.Load(),
		BytesSent: s.bytesSent.Load(), FullStateBytes: s.fullBytes.Load(), Seq: s.seq.Load(),
		AckedSeq: s.acked.Load(), Coalesced: s.coalesced.Load(), EncodeFailures: s.failures.Load(),
		NeedKeyframes: s.needKey.Load(), AckTimeouts: s.timeouts.Load(), Backoffs: s.backoffs.Load(),
		Resyncs: s.resyncs.Load(), ResyncCovered: s.resyncCovered.Load(), ResyncMerkle: s.resyncMerkle.Load(),
		ResyncKeyframes: s.resyncKeyframes.Load(), ResyncRoundTrips: s.resyncRounds.Load(), ResyncBytes: s.resyncBytes.Load(),
		AckedHash: s.ackedHash.Load(), LinkLosses: s.linkLosses.Load(), Draining: s.draining.Load(),
	}
	if st.Seq > st.AckedSeq {
		st.AckLag = st.Seq - st.AckedSeq
	}
	return st
}

// replicatorTick is the replicator's ack-timeout timer.
type replicatorTick struct{}

// replicatorResume is the replicator's back-off timer: the pause a Backoff
// asked for may be over.
type replicatorResume struct{}

type sentFrame struct {
	seq    uint64 // the state sequence the frame carries
	kind   delta.FrameKind
	sentAt time.Time
}

// replicator is the worker side of replication: it decides what to send
// and when, keeps the frame window, and feeds the link. It belongs to one
// worker; all its methods run on the worker's goroutine (the sender
// middleware runs inside the worker's Send).
//
// One sequence numbers everything: the worker's state sequence (the count
// of states handed to replication, continuing across takeovers). Frames
// carry it (delta.Encoder.EncodeAt), the replica stores it, acks name it.
// States that arrive while the window is full are not queued: the newest
// replaces the waiting one (its sequence skips the merged ones), and the
// next frame is one delta from the last sent state to it, which is what
// merging the skipped deltas would give, for one diff instead of many.
//
// When the destination changes or goes silent, the replicator resyncs
// before sending (see resync.go); meanwhile states merge as above.
type replicator struct {
	cfg   *ReplicationConfig
	enc   *delta.Encoder
	stats *WorkerStats
	logs  *slog.Logger

	worker, owner string
	epoch         uint64

	dest, link  *actor.PID
	clock       *linkClock // when the link last heard from dest
	self        *actor.PID
	actorSystem *actor.ActorSystem

	latest       term.Term // newest state handed in
	latestStep   uint64    // its sequence
	sentStep     uint64    // sequence of the newest frame sent
	forceKey     bool
	inflight     []sentFrame
	keyInFlight  uint64 // seq of an unacknowledged keyframe, 0 for none
	ackedStep    uint64
	lastKeyBytes int
	timer        *time.Timer
	pausedUntil  time.Time   // no new frame before this (Backoff); zero when not paused
	resume       *time.Timer // fires at pausedUntil

	sent []sentState // states the replica may hold (resync.go)
	hint *Position   // where SetBackup said the next destination's replica stands
	rs   resyncRun   // the resync under way, if any
}

// senderMiddleware intercepts ReplicaState sends.
func (r *replicator) senderMiddleware(next actor.SenderFunc) actor.SenderFunc {
	return func(ctx actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
		st, ok := env.Message.(*ReplicaState)
		if !ok {
			next(ctx, target, env)
			return
		}
		r.replicate(ctx, target, st)
	}
}

// replicate takes a new state for the replica at target.
func (r *replicator) replicate(ctx actor.SenderContext, target *actor.PID, st *ReplicaState) {
	if r.latest != nil && r.latestStep > r.sentStep && st.Seq != r.latestStep {
		r.stats.coalesced.Add(1)
	}
	r.latest, r.latestStep = st.State, st.Seq
	r.stats.seq.Store(st.Seq)
	r.retarget(target)
	r.trySend(ctx)
}

// retarget switches to a new destination: a resync (or, for a worker that
// never replicated, a keyframe) comes first.
func (r *replicator) retarget(target *actor.PID) {
	hint := r.hint
	r.hint = nil
	if samePID(target, r.dest) {
		return
	}
	if r.link != nil {
		r.actorSystem.Root.Send(r.link, &linkDetach{worker: r.worker, pid: r.self})
	}
	r.dest, r.link, r.clock = target, nil, nil
	r.inflight, r.keyInFlight, r.forceKey = nil, 0, true
	r.rs = resyncRun{}
	r.pausedUntil = time.Time{} // a Backoff came from the old destination
	if target == nil {
		return
	}
	link, clock, err := linkTo(r.actorSystem, target, r.cfg)
	if err != nil {
		r.logs.Warn("replication: no link to the backup", slog.String("worker", r.worker), slog.Any("err", err))
		return
	}
	r.link, r.clock = link, clock
	if !r.cfg.Delta {
		return
	}
	if hint != nil && hint.Epoch == r.epoch {
		if st, ok := r.sentAt(hint.Seq, hint.Hash); ok {
			// node compared digests: the backup holds a state the worker
			// has. Go on from it without asking.
			r.stats.resyncs.Add(1)
			r.rebaseCovered(st, hint.Seq)
			return
		}
	}
	if len(r.sent) > 0 || r.enc.Seq() > 0 {
		// A worker that has replicated before (or starts from a replica)
		// asks what the new backup holds before sending; a fresh one's
		// first frame is a keyframe anyway.
		r.rs.phase = resyncDue
	}
}

// trySend sends the newest state when it is new (or a keyframe is due),
// the window has room and no Backoff is in force.
func (r *replicator) trySend(ctx actor.SenderContext) {
	if r.latest == nil || r.link == nil {
		return
	}
	if r.rs.phase != resyncIdle {
		if r.rs.phase == resyncDue {
			r.sendQuery(ctx)
		}
		return // the resync's end sends what waited
	}
	if len(r.inflight) >= r.cfg.Window {
		return
	}
	if !r.pausedUntil.IsZero() {
		if time.Now().Before(r.pausedUntil) {
			return // onResume tries again
		}
		r.pausedUntil = time.Time{}
	}
	if r.latestStep == r.sentStep && !r.forceKey {
		return
	}
	if r.forceKey || !r.cfg.Delta {
		r.enc.RequestKeyframe() // also spares the diff in full-state mode
	}
	f, err := r.enc.EncodeAt(r.latest, r.latestStep)
	var data []byte
	if err == nil {
		data, err = appendEnvelope(make([]byte, 0, len(f.Payload)+64), r.owner, f)
	}
	if err != nil {
		r.stats.failures.Add(1)
		r.logs.Error("replication: cannot encode the state", slog.String("worker", r.worker), slog.Any("err", err))
		r.latest = nil // do not retry the same state on every ack
		return
	}
	r.forceKey = false
	r.sentStep = r.latestStep
	r.remember(r.latest, f.Seq)
	r.sendFrame(ctx, f, data)
}

// sendFrame hands an encoded frame to the link and records it in flight.
func (r *replicator) sendFrame(ctx actor.SenderContext, f delta.Frame, data []byte) {
	r.inflight = append(r.inflight, sentFrame{seq: f.Seq, kind: f.Kind, sentAt: time.Now()})
	r.stats.frames.Add(1)
	r.stats.bytesSent.Add(uint64(len(data)))
	if f.Kind == delta.FrameKeyframe {
		r.keyInFlight = f.Seq
		r.lastKeyBytes = len(data)
		r.stats.keyframes.Add(1)
	} else {
		r.stats.deltas.Add(1)
	}
	// What a full-state send would have cost: the last keyframe's size
	// stands in for the state's (the state changes little between two).
	r.stats.fullBytes.Add(uint64(r.lastKeyBytes))
	ctx.Send(r.link, &linkFrame{worker: r.worker, workerPID: r.self, epoch: r.epoch, seq: f.Seq, kind: f.Kind, data: data})
	r.arm()
}

// onAck frees the window up to a.Seq (or ends a Merkle resync).
func (r *replicator) onAck(ctx actor.SenderContext, a *Ack) {
	if a.Epoch != r.epoch {
		return
	}
	if r.rs.phase == resyncMerkle && r.rs.done && a.Seq == r.rs.seq {
		r.endMerkle(ctx)
		return
	}
	kept := r.inflight[:0]
	for _, f := range r.inflight {
		if f.seq > a.Seq {
			kept = append(kept, f)
			continue
		}
		r.markAcked(f.seq)
	}
	r.inflight = kept
	if r.keyInFlight != 0 && r.keyInFlight <= a.Seq {
		r.keyInFlight = 0
	}
	r.trySend(ctx)
}

// onNeedKeyframe resends the newest state as a keyframe, unless a keyframe
// newer than what the replica has is already on its way (the replica asks
// again for every delta that was in flight behind a gap) or a resync query
// is under way (its answer decides).
func (r *replicator) onNeedKeyframe(ctx actor.SenderContext, n *NeedKeyframe) {
	if n.Epoch != r.epoch {
		return
	}
	r.stats.needKey.Add(1)
	switch r.rs.phase {
	case resyncDue, resyncWaiting:
		// An answer to a frame sent before the resync began (a delta
		// whose base was lost): the resync's query asks what the replica
		// holds, which settles it.
		return
	case resyncMerkle:
		r.resyncFailed(ctx, "the replica asked for a keyframe")
		return
	}
	if r.keyInFlight != 0 && r.keyInFlight > n.HaveSeq {
		return
	}
	r.inflight, r.forceKey = nil, true
	r.trySend(ctx)
}

// onTick gives up frames unacknowledged for longer than AckTimeout, or a
// resync unanswered for as long, when the link has not heard from the
// destination for as long either: the last resort (losses are normally
// found by the link's probe, see StallTimeout).
func (r *replicator) onTick(ctx actor.SenderContext) {
	r.timer = nil
	silent := r.clock.silentFor(r.cfg.AckTimeout)
	switch {
	case !silent:
		// The destination is talking (a large keyframe's chunks are being
		// credited, other workers' frames answered): the link's probe
		// finds what is lost.
	case r.rs.phase == resyncWaiting || r.rs.phase == resyncMerkle:
		if time.Since(r.rs.at) >= r.cfg.AckTimeout {
			r.stats.timeouts.Add(1)
			r.giveUp(ctx)
		}
	case len(r.inflight) > 0 && time.Since(r.inflight[0].sentAt) >= r.cfg.AckTimeout:
		r.stats.timeouts.Add(1)
		r.giveUp(ctx)
	}
	r.arm()
}

// onLinkLost: the link found chunks, a frame, a reply or a resync message
// of this worker's stream lost, and dropped what it still held of it.
func (r *replicator) onLinkLost(ctx actor.SenderContext, m *linkLost) {
	if !samePID(m.link, r.link) {
		return // a link the worker no longer sends through
	}
	r.stats.linkLosses.Add(1)
	r.giveUp(ctx)
}

// giveUp gives up the frames in flight and any resync under way, and asks
// the replica what it holds before sending again (in full-state mode,
// resends a keyframe at once). Nothing is counted acknowledged that the
// replica did not answer.
func (r *replicator) giveUp(ctx actor.SenderContext) {
	r.inflight, r.keyInFlight, r.forceKey = nil, 0, true
	r.rs = resyncRun{}
	if r.cfg.Delta {
		r.rs.phase = resyncDue
	}
	r.trySend(ctx)
}

// onBackoff pauses sending for the wait the replica_handler asked for
// (capped by MaxBackoff). States keep coming in meanwhile and are merged
// exactly as while the window is full: the newest replaces the waiting
// one. A Backoff for another node's workers is ignored.
func (r *replicator) onBackoff(b *Backoff) {
	if b.Node != "" && b.Node != r.owner {
		return
	}
	d := min(b.RetryAfter, r.cfg.MaxBackoff)
	if d <= 0 {
		return
	}
	r.stats.backoffs.Add(1)
	if until := time.Now().Add(d); until.After(r.pausedUntil) {
		r.pausedUntil = until
	}
	r.armResume()
}

// onResume sends what waited once the pause is over.
func (r *replicator) onResume(ctx actor.SenderContext) {
	r.resume = nil
	if !r.pausedUntil.IsZero() && time.Now().Before(r.pausedUntil) {
		r.armResume() // a later Backoff extended the pause
		return
	}
	r.trySend(ctx)
}

func (r *replicator) armResume() {
	if r.resume != nil || r.pausedUntil.IsZero() {
		return
	}
	system, self := r.actorSystem, r.self
	r.resume = time.AfterFunc(time.Until(r.pausedUntil), func() { system.Root.Send(self, &replicatorResume{}) })
}

func (r *replicator) arm() {
	waiting := r.rs.phase == resyncWaiting || r.rs.phase == resyncMerkle
	if r.timer != nil || len(r.inflight) == 0 && !waiting || r.cfg.AckTimeout <= 0 {
		return
	}
	system, self := r.actorSystem, r.self
	r.timer = time.AfterFunc(r.cfg.AckTimeout, func() { system.Root.Send(self, &replicatorTick{}) })
}

// stop cancels the timer and detaches from the link.
func (r *replicator) stop() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.resume != nil {
		r.resume.Stop()
		r.resume = nil
	}
	if r.link != nil {
		r.actorSystem.Root.Send(r.link, &linkDetach{worker: r.worker, pid: r.self})
		r.link, r.dest, r.clock = nil, nil, nil
	}
}

// samePID reports whether a and b name the same process (nil for none).
func samePID(a, b *actor.PID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Address == b.Address && a.Id == b.Id
}
