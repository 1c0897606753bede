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
// (after logging) a message it fails to serialize. So a term (or a Go value
// that term.Marshal turns into one, or a TermForm) bound for another node is
// encoded in the External Term Format and wrapped in an anypb.Any with type
// URL "type.enode.dev/term":
//
//   - by Node.Send and Node.Call, at send time, so the sender gets the
//     error (ErrUnserializable, ErrTooLarge);
//   - for everything else an actor sends, responds or forwards to another
//     node, by the remote transport's outbound hook, on the wire side (a
//     message that cannot be encoded is logged and dropped there).
//
// The receiving node's inbound hook unwraps it, so every actor receives a
// term.Term. Protobuf messages pass through unchanged. Messages between
// processes of one node are not encoded at all: terms are immutable, so the
// receiver gets the sender's value.

// TermForm is a message that has an Erlang term form: it travels to other
// nodes as ToTerm's term (the actors package's protocol messages are such).
type TermForm interface {
	ToTerm() term.Term
}

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
	case TermForm:
		return n.wrapTerm(m.ToTerm())
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
	switch m := msg.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil message", ErrUnserializable)
	case proto.Message, term.Term:
		return msg, nil
	case TermForm:
		return m.ToTerm(), nil
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

// Props returns props for an actor of this node whose crashes are
// reported as such: a monitor of a process made from these props gets
// ReasonCrashed when it panics and its supervisor stops it instead of
// restarting it (any other actor's end is ReasonNormal). Terms are
// encoded and decoded for every actor of the node, whatever its props.
// opts are applied after the node's receiver middleware.
func (n *Node) Props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	all := make([]actor.PropsOption, 0, len(opts)+1)
	all = append(all, actor.WithReceiverMiddleware(n.CrashReporting))
	all = append(all, opts...)
	return actor.PropsFromProducer(producer, all...)
}

// PropsFromFunc is Props for a function actor.
func (n *Node) PropsFromFunc(f actor.ReceiveFunc, opts ...actor.PropsOption) *actor.Props {
	return n.Props(func() actor.Actor { return f }, opts...)
}

// CrashReporting is the receiver middleware Props adds, for props built
// elsewhere (actor.WithReceiverMiddleware(n.CrashReporting)): it tells the
// node's monitors that a process stopped after a panic, so they report
// ReasonCrashed instead of ReasonNormal.
func (n *Node) CrashReporting(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch env.Message.(type) {
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
