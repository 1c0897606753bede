package node

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// Replication bridges.
//
// The actors package speaks its replication protocol in Go values (Chunk,
// ChunkAck, Ack, NeedKeyframe, Fenced), sent by actors that know nothing of
// the node: the worker's link and the replica handler's receiver
// middleware. protoactor's remote carries protobuf only, so those values
// cannot cross nodes as they are. Two small node actors carry them in their
// term form ({enode_chunk, ...}, see actors.Message), which the node's
// middlewares encode as ETF on the way out and decode on the way in:
//
//	worker ─▶ link ─Chunk─▶ replicaOut ══term══▶ replicaIn (replica_handler) ─Chunk─▶ ReplicaHandler
//	worker ◀─ link ◀─Ack…── replicaOut ◀══term══ replicaIn ◀─Ack, ChunkAck…──────── ReplicaHandler
//
// Workers are given the replicaOut of their backup as their SetBackup PID,
// so the link (one per destination) talks to it locally.

// replicaOut is the local stand-in of one remote replica_handler: it sends
// the chunks of the link that uses it, in term form, and hands the replies
// back to that link.
type replicaOut struct {
	dest *actor.PID // the remote replica_handler
	link *actor.PID // the link that sends through this bridge
	log  *slog.Logger
}

func (o *replicaOut) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Chunk:
		if s := ctx.Sender(); s != nil {
			o.link = s
		}
		// Sent as this bridge, so that the replies come back here; the
		// node's sender middleware encodes the term.
		ctx.Request(o.dest, m.ToTerm())
	case term.Term:
		pm, err := actors.FromTerm(m)
		if err != nil {
			o.log.Warn("replication bridge: dropped a reply that is not protocol", "from", o.dest.String(), "err", err)
			return
		}
		if o.link != nil {
			ctx.Send(o.link, pm)
		}
	case *actor.DeadLetterResponse:
		// No replica_handler there: give the link its credit back.
		if o.link != nil {
			ctx.Send(o.link, m)
		}
	}
}

// replicaIn is registered as replica_handler on a spare: it takes chunks
// from other nodes' bridges, hands them to the replica handler as if it
// had sent them, and sends the handler's answers back to the bridge that
// sent each worker's chunks.
type replicaIn struct {
	handler *actor.PID
	senders map[string]*actor.PID // worker id -> the remote bridge sending its chunks
	log     *slog.Logger
}

func (in *replicaIn) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case term.Term:
		pm, err := actors.FromTerm(m)
		if err != nil {
			in.log.Warn("replica_handler: dropped a message that is not protocol", "sender", ctx.Sender(), "err", err)
			return
		}
		c, ok := pm.(*actors.Chunk)
		if !ok {
			in.log.Warn("replica_handler: dropped an unexpected protocol message", "sender", ctx.Sender(), "msg", term.Format(m))
			return
		}
		if s := ctx.Sender(); s != nil {
			in.senders[c.Worker] = s
		}
		ctx.RequestWithCustomSender(in.handler, c, ctx.Self())
	case *actors.Chunk:
		// A chunk from this node (a worker whose backup is its own node
		// does not exist in N+1, but nothing forbids a test to send one).
		if s := ctx.Sender(); s != nil {
			in.senders[m.Worker] = s
		}
		ctx.RequestWithCustomSender(in.handler, m, ctx.Self())
	case *actors.ChunkAck:
		in.reply(ctx, m.Worker, m)
	case *actors.Ack:
		in.reply(ctx, m.Worker, m)
	case *actors.NeedKeyframe:
		in.reply(ctx, m.Worker, m)
	case *actors.Fenced:
		in.reply(ctx, m.Worker, m)
	}
}

// reply sends an answer of the handler to the bridge of worker, in term
// form for another node (the node's sender middleware encodes it).
func (in *replicaIn) reply(ctx actor.Context, worker string, m actors.Message) {
	to, ok := in.senders[worker]
	if !ok {
		return
	}
	if to.Address == ctx.Self().Address {
		ctx.Send(to, m)
		return
	}
	ctx.Send(to, m.ToTerm())
}
