package node

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/term"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Terms over the wire.
//
// protoactor's remote carries protobuf messages only, and silently drops
// (after logging) a message it fails to serialize. So the node serializes
// at send time, where the sender can get the error: a term (or a Go value
// that term.Marshal turns into one) is encoded in the External Term Format
// and wrapped in an anypb.Any with type URL "type.enode.dev/term"; on the
// receiving side the node's receiver middleware unwraps it, so handlers of
// actors made with Node.Props see a term.Term. Protobuf messages pass
// through unchanged. Messages between processes of one node are not encoded
// at all: terms are immutable, so the receiver gets the sender's value.

// forRemote turns msg into what protoactor can carry to another node.
func (n *Node) forRemote(msg any) (any, error) {
	switch m := msg.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil message", ErrUnserializable)
	case proto.Message:
		if size := proto.Size(m); size > n.cfg.MaxMessageSize {
			return nil, fmt.Errorf("%w: %T is %d bytes, the limit is %d", ErrTooLarge, m, size, n.cfg.MaxMessageSize)
		}
		return m, nil
	case term.Term:
		return n.wrapTerm(m)
	}
	t, err := marshalTerm(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %w", ErrUnserializable, msg, err)
	}
	return n.wrapTerm(t)
}

func (n *Node) wrapTerm(t term.Term) (any, error) {
	etf, err := term.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnserializable, err)
	}
	if len(etf) > n.cfg.MaxMessageSize {
		return nil, fmt.Errorf("%w: the term is %d bytes in ETF, the limit is %d", ErrTooLarge, len(etf), n.cfg.MaxMessageSize)
	}
	return &anypb.Any{TypeUrl: urlTerm, Value: etf}, nil
}

// forLocal turns msg into what a process of this node receives: protobuf
// messages and terms as they are, other Go values marshaled to terms.
func forLocal(msg any) (any, error) {
	switch msg.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil message", ErrUnserializable)
	case proto.Message, term.Term:
		return msg, nil
	}
	t, err := marshalTerm(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %w", ErrUnserializable, msg, err)
	}
	return t, nil
}

// fromWire unwraps a term that came over the wire; other messages are
// returned as they are.
func fromWire(msg any) (any, error) {
	a, ok := msg.(*anypb.Any)
	if !ok || a.TypeUrl != urlTerm {
		return msg, nil
	}
	t, err := term.Decode(a.Value)
	if err != nil {
		return nil, fmt.Errorf("decoding a term message: %w", err)
	}
	return t, nil
}

// Props returns props for an actor of this node: its handler receives
// terms sent from other nodes as term.Term (not as their wire form), what
// it sends or responds to processes on other nodes is encoded on the way
// out (a message that cannot be encoded is logged and dropped: use
// Node.Send to get the error), and a crash that stops it is reported as
// ReasonCrashed to its monitors. opts are applied after the node's own
// receiver middleware (so the caller's middleware sees terms) and before
// its sender middleware (so the caller's middleware sees what the handler
// sent).
func (n *Node) Props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	all := make([]actor.PropsOption, 0, len(opts)+2)
	all = append(all, actor.WithReceiverMiddleware(n.receiveMiddleware))
	all = append(all, opts...)
	all = append(all, actor.WithSenderMiddleware(n.sendMiddleware))
	return actor.PropsFromProducer(producer, all...)
}

// PropsFromFunc is Props for a function actor.
func (n *Node) PropsFromFunc(f actor.ReceiveFunc, opts ...actor.PropsOption) *actor.Props {
	return n.Props(func() actor.Actor { return f }, opts...)
}

func (n *Node) receiveMiddleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch env.Message.(type) {
		case *anypb.Any:
			msg, err := fromWire(env.Message)
			if err != nil {
				n.log.Warn("dropping undecodable message", "actor", ctx.Self().String(), "sender", env.Sender.String(), "err", err)
				return
			}
			env = &actor.MessageEnvelope{Header: env.Header, Message: msg, Sender: env.Sender}
		case *actor.Restarting:
			if rec, ok := n.exits.Load(ctx.Self().Id); ok {
				rec.(*exitRecord).failed.Store(false)
			}
		case *actor.Stopped:
			if rec, ok := n.exits.Load(ctx.Self().Id); ok {
				r := rec.(*exitRecord)
				r.crashed.Store(r.failed.Load())
			}
		}
		defer func() {
			if r := recover(); r != nil {
				if rec, ok := n.exits.Load(ctx.Self().Id); ok {
					rec.(*exitRecord).failed.Store(true)
				}
				panic(r) // protoactor's supervision takes it from here
			}
		}()
		next(ctx, env)
	}
}

func (n *Node) sendMiddleware(next actor.SenderFunc) actor.SenderFunc {
	return func(ctx actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
		if target == nil || n.isLocal(target) {
			next(ctx, target, env)
			return
		}
		msg, err := n.forRemote(env.Message)
		if err != nil {
			n.log.Error("dropping message that cannot be sent", "actor", ctx.Self().String(), "to", target.String(), "err", err)
			return
		}
		next(ctx, target, &actor.MessageEnvelope{Header: env.Header, Message: msg, Sender: env.Sender})
	}
}
