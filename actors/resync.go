package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/resync"
	"github.com/enode-dev/enode/term"
)

// Resync, the worker's side. When a worker starts replicating to a
// replica_handler (a new backup, a spare restarted, a backup back after a
// partition) or its link finds something of its stream lost (see link),
// it does not send a keyframe blindly. It asks what the handler holds (ResyncQuery); the
// answer (ResyncStatus) gives the replica's epoch, sequence and state hash,
// and the opening Hello of a Merkle comparison over it. Then:
//
//   - covered: the worker still holds the state the replica has (same
//     epoch and sequence, same hash; it keeps the newest acknowledged state
//     and those sent after it): the delta.Encoder is rebased on it and the
//     next frame is one delta from there. One round trip.
//   - Merkle: the replica holds something else (an older state, another
//     epoch's): a resync.Source over the worker's newest state answers the
//     Copy's hashes (Resync messages, resync's wire form) until it has a
//     delta of only the differing subterms. For a replica of the worker's
//     epoch the delta goes as an ordinary delta frame on the replica's
//     sequence (chunked, checksummed, acknowledged as usual); for one of an
//     older epoch it goes as the comparison's Done message, which the
//     handler applies, checks against the source's root hash, stores at the
//     worker's epoch and sequence and acknowledges. Either way the encoder
//     is then rebased on that state.
//   - keyframe: no replica, a divergence large enough that the Source
//     prefers its whole state or a message would exceed MaxResyncMessage,
//     or an exchange that failed: a keyframe frame, chunked as usual.
//
// Resync messages go through the worker's link, like its frames: the link
// sends them after the chunks it sent for the worker (dropping the frames
// it still held: the resync supersedes them), so the handler sees them in
// that order, and forwards the answers. A resync message or answer lost
// on the way is found by the link's probe (StallTimeout) and the resync
// starts again with a new query; a resync that gets no answer within
// AckTimeout (the backup is cut off or gone) does too, rather than sending
// a keyframe into the silence.
//
// None of it blocks the worker: new states merge into the newest one, as
// while the window is full, and go out when the resync ends.

// resyncPhase is where a worker's resync stands.
type resyncPhase uint8

const (
	resyncIdle    resyncPhase = iota // no resync: frames flow
	resyncDue                        // the next trySend sends a ResyncQuery
	resyncWaiting                    // the query is out; waiting for ResyncStatus
	resyncMerkle                     // a comparison runs (done: its delta is out, waiting for the Ack)
)

// resyncRun is the state of one resync.
type resyncRun struct {
	phase resyncPhase
	at    time.Time // when the last message went out (for the timeout)
	src   *resync.Source
	state term.Term // the state the comparison brings the replica to
	seq   uint64    // its sequence
	done  bool      // the Source's delta went out (in a Resync message)
	// baseEpoch and baseSeq are where the replica stands.
	baseEpoch, baseSeq uint64
}

// sentState is a state the replica may hold: one the worker sent.
type sentState struct {
	seq   uint64
	state term.Term
}

// remember keeps st (sent at seq) as a state the replica may hold, with
// the newest acknowledged one and those sent after it; at most Window+1
// states, which share all but their changes with each other.
func (r *replicator) remember(st term.Term, seq uint64) {
	if n := len(r.sent); n > 0 && r.sent[n-1].seq == seq {
		r.sent[n-1].state = st
	} else {
		r.sent = append(r.sent, sentState{seq: seq, state: st})
	}
	r.trimSent()
}

func (r *replicator) trimSent() {
	k := 0
	for k+1 < len(r.sent) && r.sent[k+1].seq <= r.ackedStep {
		k++ // an older state than the newest acknowledged one is not needed
	}
	if over := len(r.sent) - k - (r.cfg.Window + 1); over > 0 {
		k += over
	}
	if k > 0 {
		n := copy(r.sent, r.sent[k:])
		clear(r.sent[n:])
		r.sent = r.sent[:n]
	}
}

// sentAt returns the state sent at seq when it hashes to hash.
func (r *replicator) sentAt(seq, hash uint64) (term.Term, bool) {
	for _, s := range r.sent {
		if s.seq == seq && term.Hash(s.state) == hash {
			return s.state, true
		}
	}
	return nil, false
}

// markAcked records that the replica holds the state at seq.
func (r *replicator) markAcked(seq uint64) {
	if seq > r.ackedStep {
		r.ackedStep = seq
		r.stats.acked.Store(seq)
		h := uint64(0)
		for _, s := range r.sent {
			if s.seq == seq {
				h = term.Hash(s.state)
			}
		}
		r.stats.ackedHash.Store(h)
		r.trimSent()
	}
}

// rebaseCovered ends a resync on the covered path: the replica holds st
// (at seq), which the worker sent: the next frame is a delta from it.
func (r *replicator) rebaseCovered(st term.Term, seq uint64) {
	r.enc.Rebase(st, seq)
	r.forceKey = false
	r.sentStep = seq // frames after it, if any, were lost
	r.markAcked(seq)
	r.rs = resyncRun{}
	r.stats.resyncCovered.Add(1)
}

// sendResync sends a resync message to the handler through the link,
// after the chunks the link sent for this worker and in place of the
// frames it still held (the answer comes back through the link, which
// watches it for loss), and counts its bytes.
func (r *replicator) sendResync(ctx actor.SenderContext, m Message) {
	r.countBytes(m)
	r.rs.at = time.Now()
	ctx.Send(r.link, &linkControl{worker: r.worker, workerPID: r.self, msg: m})
	r.arm()
}

func (r *replicator) countBytes(m Message) {
	if n, err := term.EncodedSize(m.ToTerm()); err == nil {
		r.stats.resyncBytes.Add(uint64(n))
	}
}

// sendQuery opens a resync.
func (r *replicator) sendQuery(ctx actor.SenderContext) {
	r.stats.resyncs.Add(1)
	r.rs = resyncRun{phase: resyncWaiting}
	r.sendResync(ctx, &ResyncQuery{Worker: r.worker, Epoch: r.epoch})
}

// onResyncStatus chooses the path from what the handler holds.
func (r *replicator) onResyncStatus(ctx actor.SenderContext, s *ResyncStatus) {
	if r.rs.phase != resyncWaiting || s.Worker != r.worker {
		return
	}
	r.countBytes(s)
	r.stats.resyncRounds.Add(1)
	if !s.Found {
		r.resyncKeyframe(ctx)
		return
	}
	if s.Epoch == r.epoch {
		if st, ok := r.sentAt(s.Seq, s.Hash); ok {
			r.rebaseCovered(st, s.Seq)
			r.trySend(ctx)
			return
		}
	}
	hello, err := resync.DecodeMessage(s.Hello)
	if err == nil && hello.Kind != resync.MsgHello {
		err = fmt.Errorf("%w: status carries a %s, want hello", ErrMalformed, hello.Kind)
	}
	var src *resync.Source
	if err == nil {
		src, err = resync.NewSource(r.latest, r.cfg.Resync)
	}
	if err != nil {
		r.resyncFailed(ctx, err.Error())
		return
	}
	r.rs = resyncRun{phase: resyncMerkle, src: src, state: r.latest, seq: r.latestStep, baseEpoch: s.Epoch, baseSeq: s.Seq}
	r.answer(ctx, hello)
}

// onResync takes the copy's next message of the comparison.
func (r *replicator) onResync(ctx actor.SenderContext, m *Resync) {
	if r.rs.phase != resyncMerkle || r.rs.done || m.Worker != r.worker || m.Seq != r.rs.seq {
		return
	}
	r.countBytes(m)
	r.stats.resyncRounds.Add(1)
	msg, err := resync.DecodeMessage(m.Data)
	if err != nil {
		r.resyncFailed(ctx, err.Error())
		return
	}
	r.answer(ctx, msg)
}

// answer runs the Source on the copy's message and sends its answer.
func (r *replicator) answer(ctx actor.SenderContext, in resync.Message) {
	out, err := r.rs.src.Handle(in)
	if err != nil {
		r.resyncFailed(ctx, err.Error())
		return
	}
	if out.Kind == resync.MsgKeyframe {
		r.resyncKeyframe(ctx) // as a chunked frame, not one message
		return
	}
	if out.Kind == resync.MsgDone && r.rs.baseEpoch == r.epoch && r.rs.seq > r.rs.baseSeq {
		r.doneAsFrame(ctx, out)
		return
	}
	data, err := resync.AppendMessage(nil, out)
	if err == nil && len(data) > r.cfg.MaxResyncMessage {
		err = fmt.Errorf("a %s of %d bytes is over MaxResyncMessage", out.Kind, len(data))
	}
	if err != nil {
		r.resyncFailed(ctx, err.Error())
		return
	}
	r.rs.done = out.Kind == resync.MsgDone
	r.sendResync(ctx, &Resync{Worker: r.worker, Owner: r.owner, Epoch: r.epoch, Seq: r.rs.seq, Data: data})
}

// doneAsFrame sends the comparison's delta as a delta frame on the
// replica's state (same epoch: the handler's stream decoder stands at the
// replica's sequence), chunked like any frame, so its size is not bounded
// by one message; the frame's checksum checks the result and its Ack is an
// ordinary one.
func (r *replicator) doneAsFrame(ctx actor.SenderContext, out resync.Message) {
	payload, err := delta.Encode(out.Delta)
	f := delta.Frame{Worker: r.worker, Epoch: r.epoch, Seq: r.rs.seq, Base: r.rs.baseSeq, Kind: delta.FrameDelta,
		Payload: payload, Checksum: term.Hash(r.rs.state)}
	var data []byte
	if err == nil {
		data, err = appendEnvelope(make([]byte, 0, len(payload)+64), r.owner, f)
	}
	if err != nil {
		r.resyncFailed(ctx, err.Error())
		return
	}
	r.finishMerkle()
	r.sendFrame(ctx, f, data)
	r.trySend(ctx)
}

// endMerkle: the replica applied the comparison's delta and acknowledged
// the state: frames go on as deltas from it.
func (r *replicator) endMerkle(ctx actor.SenderContext) {
	r.markAcked(r.finishMerkle())
	r.trySend(ctx)
}

// finishMerkle ends a Merkle resync: the comparison's state is the last one
// sent, the base of the next delta. It returns its sequence.
func (r *replicator) finishMerkle() uint64 {
	st, seq := r.rs.state, r.rs.seq
	r.rs = resyncRun{}
	r.stats.resyncMerkle.Add(1)
	r.enc.Rebase(st, seq)
	r.forceKey = false
	r.sentStep = seq
	r.remember(st, seq)
	return seq
}

// resyncKeyframe ends the resync with a keyframe.
func (r *replicator) resyncKeyframe(ctx actor.SenderContext) {
	r.rs = resyncRun{}
	r.stats.resyncKeyframes.Add(1)
	r.inflight, r.keyInFlight, r.forceKey = nil, 0, true
	r.trySend(ctx)
}

// resyncFailed gives the resync up for a keyframe.
func (r *replicator) resyncFailed(ctx actor.SenderContext, why string) {
	if r.logs != nil {
		r.logs.Info("replication: resync given up for a keyframe", slog.String("worker", r.worker), slog.String("why", why))
	}
	r.resyncKeyframe(ctx)
}
