package node

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// ReplicaServiceName is the registered name of the replica service that
// StartReplicaService spawns: it answers reads of the replicas this node
// keeps, from any node, as {enode_replicas, Node}.
//
// The protocol is plain Erlang terms (Worker is a binary, Epoch, Seq,
// Offset and Size non-negative integers):
//
//	{get_replica, Worker}              -> {replica, Worker, Owner, Epoch, Seq, Size, Bytes}
//	{get_replica, Worker, Epoch, Seq}  -> {unchanged, Worker, Epoch, Seq}   when the replica is not newer
//	                                      or the {replica, ...} answer above
//	{get_chunk, Worker, Epoch, Seq, Offset} -> {chunk, Worker, Offset, Bytes}
//	{seal_replica, Worker, Epoch, Seq} -> as {get_replica, Worker, Epoch, Seq}, after sealing
//	any of them                        -> {error, not_found} | {error, moved} | {error, badarg}
//
// seal_replica is what a node taking Worker over with epoch Epoch+1 asks
// (see Takeover in the package doc): from then on this node's replica
// table refuses, and never acknowledges, a state of Worker with an epoch
// at or below Epoch, and the answer carries this node's replica when it is
// newer than (Epoch, Seq).
//
// Bytes is the state in the External Term Format (term_to_binary), Size its
// whole length. A state too large for one message comes in pieces: the
// replica answer carries the first piece, and get_chunk asks for the piece
// at Offset of that same (Epoch, Seq); {error, moved} says the replica has
// moved on meanwhile (start again). Pieces are at most MaxMessageSize less
// the framing.
const ReplicaServiceName = "enode_replicas"

// replicaPiece is the largest piece of an encoded state the service sends
// in one answer: room for the answer's record and the transport envelope.
func (n *Node) replicaPiece() int { return max(n.cfg.MaxMessageSize-2*envelopeOverhead, 256) }

// replicaService answers reads of the node's replica table. It keeps the
// encoding of the last state it served, so the pieces of one large state
// are encoded once, not once per piece.
type replicaService struct {
	n *Node

	worker     string // the encoded state's worker, epoch and seq
	epoch, seq uint64
	etf        []byte
}

// StartReplicaService registers the replica service on this node under
// ReplicaServiceName. Any node may run it: on a node that keeps no replica
// every read answers {error, not_found}. It reads the replica table
// through its read-only view, never through the replica_handler's mailbox.
// Start runs it on every node, so calling it again does nothing; it fails
// with ErrStopped after Shutdown.
func (n *Node) StartReplicaService() error {
	if n.stopped() {
		return ErrStopped
	}
	if n.Whereis(ReplicaServiceName) != nil {
		return nil // Start runs it on every node; a second call is a no-op
	}
	s := &replicaService{n: n}
	_, err := n.Spawn(ReplicaServiceName, n.PropsFromFunc(s.receive))
	return err
}

var (
	atomGetReplica = term.Atom("get_replica")
	atomGetChunk   = term.Atom("get_chunk")
	atomSeal       = term.Atom("seal_replica")
	atomReplica    = term.Atom("replica")
	atomUnchanged  = term.Atom("unchanged")
	atomChunk      = term.Atom("chunk")
	atomError      = term.Atom("error")
	errNotFound    = term.NewTuple(atomError, term.Atom("not_found"))
	errMoved       = term.NewTuple(atomError, term.Atom("moved"))
	errBadArg      = term.NewTuple(atomError, term.Atom("badarg"))
)

func (s *replicaService) receive(ctx actor.Context) {
	req, ok := ctx.Message().(*term.Tuple)
	if !ok {
		if _, isTerm := ctx.Message().(term.Term); isTerm && ctx.Sender() != nil {
			s.reply(ctx, errBadArg)
		}
		return
	}
	s.reply(ctx, s.answer(req))
}

func (s *replicaService) reply(ctx actor.Context, t term.Term) {
	if ctx.Sender() == nil {
		return
	}
	if err := s.n.Reply(ctx, t); err != nil {
		s.n.log.Warn("replica service: reply failed", "err", err)
	}
}

// answer computes the reply to one request.
func (s *replicaService) answer(req *term.Tuple) term.Term {
	tag, _ := req.Tag()
	switch {
	case (tag == atomGetReplica && (req.Len() == 2 || req.Len() == 4)) || (tag == atomSeal && req.Len() == 4):
		worker, ok := binaryText(req.At(1))
		if !ok {
			return errBadArg
		}
		var haveEpoch, haveSeq uint64
		have := req.Len() == 4
		if have {
			if haveEpoch, ok = term.UintOf(req.At(2)); !ok {
				return errBadArg
			}
			if haveSeq, ok = term.UintOf(req.At(3)); !ok {
				return errBadArg
			}
		}
		var (
			r     actors.Replica
			found bool
			err   error
		)
		if tag == atomSeal {
			t := s.n.repl.table.Load()
			if t == nil {
				return errNotFound // no table, so no replica_handler to acknowledge anything
			}
			r, found, err = t.SealWorker(worker, haveEpoch)
		} else {
			r, found, err = s.n.Replica(worker)
		}
		if err != nil || !found {
			return errNotFound
		}
		if have && (r.Epoch < haveEpoch || r.Epoch == haveEpoch && r.Seq <= haveSeq) {
			return term.NewTuple(atomUnchanged, req.At(1), term.Uint(r.Epoch), term.Uint(r.Seq))
		}
		etf, ok := s.encoded(worker, r.Epoch, r.Seq, r.State)
		if !ok {
			return errBadArg
		}
		piece := etf[:min(len(etf), s.n.replicaPiece())]
		return term.NewTuple(atomReplica, req.At(1), term.BinaryString(r.Owner),
			term.Uint(r.Epoch), term.Uint(r.Seq), term.Int(len(etf)), term.NewBinary(piece))
	case tag == atomGetChunk && req.Len() == 5:
		worker, ok1 := binaryText(req.At(1))
		epoch, ok2 := term.UintOf(req.At(2))
		seq, ok3 := term.UintOf(req.At(3))
		off, ok4 := term.UintOf(req.At(4))
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return errBadArg
		}
		etf := s.etf
		if s.worker != worker || s.epoch != epoch || s.seq != seq || etf == nil {
			r, found, err := s.n.Replica(worker)
			if err != nil || !found {
				return errNotFound
			}
			if r.Epoch != epoch || r.Seq != seq {
				return errMoved
			}
			var ok bool
			if etf, ok = s.encoded(worker, r.Epoch, r.Seq, r.State); !ok {
				return errBadArg
			}
		}
		if off > uint64(len(etf)) {
			return errBadArg
		}
		end := min(len(etf), int(off)+s.n.replicaPiece())
		return term.NewTuple(atomChunk, req.At(1), term.Uint(off), term.NewBinary(etf[off:end]))
	}
	return errBadArg
}

// encoded returns the ETF of a replica's state, from the one-entry cache
// when it is the state encoded last.
func (s *replicaService) encoded(worker string, epoch, seq uint64, state term.Term) ([]byte, bool) {
	if s.etf != nil && s.worker == worker && s.epoch == epoch && s.seq == seq {
		return s.etf, true
	}
	etf, err := term.Encode(state)
	if err != nil {
		s.n.log.Warn("replica service: cannot encode a replica", "worker", worker, "err", err)
		return nil, false
	}
	s.worker, s.epoch, s.seq, s.etf = worker, epoch, seq, etf
	return etf, true
}

// binaryText returns the worker id a binary term holds (not empty).
func binaryText(t term.Term) (string, bool) {
	b, ok := t.(*term.Binary)
	if !ok || !b.IsBinary() || b.Len() == 0 {
		return "", false
	}
	return string(b.Bytes()), true
}
