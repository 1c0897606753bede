package node_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// echo is a handler that replies to every message with {reply, Msg} for
// terms and with the message itself for protobuf messages.
func echo(n *node.Node) *actor.Props {
	return n.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case term.Term:
			if ctx.Sender() != nil {
				ctx.Respond(term.NewTuple(term.Atom("reply"), m))
			}
		case *wrapperspb.StringValue:
			if ctx.Sender() != nil {
				ctx.Respond(m)
			}
		}
	})
}

func TestRegisterAndRemoteSend(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	in := nodetest.NewInbox(t, b, "inbox")
	require.Equal(t, in.PID().Id, b.Whereis("inbox").Id)
	require.Nil(t, b.Whereis("nobody"))

	require.NoError(t, a.Send(node.ProcessID{Name: "inbox", Node: b.Name()}, term.Atom("hello")))
	require.Equal(t, term.Atom("hello"), in.Next(t))

	// to a PID, and to a name on the node itself (Node "" or its name)
	require.NoError(t, a.SendPID(in.PID(), term.Int(7)))
	require.Equal(t, term.Int(7), in.Next(t))
	require.NoError(t, b.Send(node.ProcessID{Name: "inbox"}, term.Int(8)))
	require.Equal(t, term.Int(8), in.Next(t))
	require.NoError(t, b.Send(node.ProcessID{Name: "inbox", Node: b.Name()}, term.Int(9)))
	require.Equal(t, term.Int(9), in.Next(t))

	// a second registration of the name fails; after Unregister it is free
	_, err := b.Spawn("inbox", echo(b))
	require.ErrorIs(t, err, node.ErrNameTaken)
	require.True(t, b.Unregister("inbox"))
	require.False(t, b.Unregister("inbox"))
	require.ErrorIs(t, b.Send(node.ProcessID{Name: "inbox"}, term.Int(1)), node.ErrNoProc)
	require.NoError(t, b.Register("inbox2", in.PID()))
	require.NoError(t, a.Send(node.ProcessID{Name: "inbox2", Node: b.Name()}, term.Int(10)))
	require.Equal(t, term.Int(10), in.Next(t))
}

func TestRegisterErrors(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	in := nodetest.NewInbox(t, a, "")
	for _, name := range []string{"", "a/b", "$x", "enode.monitor", "deadletter", string(make([]byte, 256))} {
		require.ErrorIs(t, a.Register(name, in.PID()), node.ErrBadName, "%q", name)
	}
	remote := nodetest.NewInbox(t, b, "")
	require.ErrorIs(t, a.Register("remote", remote.PID()), node.ErrNotLocal)
	require.ErrorIs(t, a.Register("ghost", actor.NewPID(a.RemoteAddr(), "$nope")), node.ErrNotLocal)
}

func TestCall(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	_, err := b.Spawn("echo", echo(b))
	require.NoError(t, err)
	to := node.ProcessID{Name: "echo", Node: b.Name()}

	ctx := context.Background()
	got, err := a.Call(ctx, to, term.Atom("ping"))
	require.NoError(t, err)
	require.True(t, term.Equal(term.NewTuple(term.Atom("reply"), term.Atom("ping")), got.(term.Term)), "%v", got)

	// locally too
	got, err = b.Call(ctx, node.ProcessID{Name: "echo"}, term.Atom("ping"))
	require.NoError(t, err)
	require.True(t, term.Equal(term.NewTuple(term.Atom("reply"), term.Atom("ping")), got.(term.Term)))

	// protobuf messages keep working
	got, err = a.Call(ctx, to, wrapperspb.String("pb"))
	require.NoError(t, err)
	require.Equal(t, "pb", got.(*wrapperspb.StringValue).GetValue())

	// a handler that never answers: ErrTimeout at the context's deadline
	_, err = b.Spawn("silent", b.PropsFromFunc(func(actor.Context) {}))
	require.NoError(t, err)
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = a.Call(tctx, node.ProcessID{Name: "silent", Node: b.Name()}, term.Atom("ping"))
	require.ErrorIs(t, err, node.ErrTimeout)

	// a cancelled context: its error
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	_, err = a.Call(cctx, node.ProcessID{Name: "silent", Node: b.Name()}, term.Atom("ping"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestUnknownNodeAndName(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	ctx := context.Background()

	require.ErrorIs(t, a.Send(node.ProcessID{Name: "x", Node: "nobody@127.0.0.1"}, term.Atom("m")), node.ErrUnknownNode)
	_, err := a.Call(ctx, node.ProcessID{Name: "x", Node: "nobody@127.0.0.1"}, term.Atom("m"))
	require.ErrorIs(t, err, node.ErrUnknownNode)
	require.ErrorIs(t, a.SendPID(actor.NewPID("127.0.0.1:1", "x"), term.Atom("m")), node.ErrUnknownNode)

	// a free name here is an error at once; on another node a call gets
	// the remote dead letter back
	require.ErrorIs(t, a.Send(node.ProcessID{Name: "nobody"}, term.Atom("m")), node.ErrNoProc)
	_, err = a.Call(ctx, node.ProcessID{Name: "nobody", Node: b.Name()}, term.Atom("m"))
	require.ErrorIs(t, err, node.ErrNoProc)
	_, err = a.CallPID(ctx, actor.NewPID(a.RemoteAddr(), "$nope"), term.Atom("m"))
	require.ErrorIs(t, err, node.ErrNoProc)
	require.ErrorIs(t, a.Send(node.ProcessID{Name: "a/b", Node: b.Name()}, term.Atom("m")), node.ErrBadName)
}

func TestTermRoundTripBetweenNodes(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	_, err := b.Spawn("echo", echo(b))
	require.NoError(t, err)
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	blob := make([]byte, 200_000)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	msg := term.NewTuple(
		term.Atom("state"),
		term.Integer(big1),
		term.MapOf(term.Pair{Key: term.BinaryString("ctr-1"), Value: term.Int(1)},
			term.Pair{Key: term.Atom("k"), Value: term.NewList(term.Float(1.5), term.Int(-3))}),
		term.NewBinary(blob),
	)
	got, err := a.Call(context.Background(), node.ProcessID{Name: "echo", Node: b.Name()}, msg)
	require.NoError(t, err)
	require.True(t, term.Equal(term.NewTuple(term.Atom("reply"), msg), got.(term.Term)))
}

func TestUnserializableAndTooLarge(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(func(cfg *node.Config) { cfg.MaxMessageSize = 64 << 10 }))
	a, b := c.Nodes[0], c.Nodes[1]
	in := nodetest.NewInbox(t, b, "inbox")
	to := node.ProcessID{Name: "inbox", Node: b.Name()}

	for _, m := range []any{make(chan int), term.Float(nan()), nil} {
		err := a.Send(to, m)
		require.ErrorIs(t, err, node.ErrUnserializable, "%T", m)
	}
	require.ErrorIs(t, a.Send(to, term.NewBinary(make([]byte, 64<<10))), node.ErrTooLarge)
	require.ErrorIs(t, a.Send(to, wrapperspb.Bytes(make([]byte, 64<<10))), node.ErrTooLarge)
	// just under the limit goes through
	require.NoError(t, a.Send(to, term.NewBinary(make([]byte, 60<<10))))
	require.Equal(t, 60<<10, in.Next(t).(*term.Binary).Len())
	// locally, a Go value that cannot be a term is refused too
	require.ErrorIs(t, b.Send(node.ProcessID{Name: "inbox"}, make(chan int)), node.ErrUnserializable)
	require.True(t, in.Empty())
}

func nan() float64 {
	var z float64
	return z / z
}

func TestStoppedNode(t *testing.T) {
	c := nodetest.Start(t, 1)
	a := c.Nodes[0]
	require.NoError(t, a.Shutdown())
	require.NoError(t, a.Shutdown())
	require.NoError(t, a.Halt())
	require.ErrorIs(t, a.Send(node.ProcessID{Name: "x"}, term.Atom("m")), node.ErrStopped)
	_, err := a.Call(context.Background(), node.ProcessID{Name: "x"}, term.Atom("m"))
	require.True(t, errors.Is(err, node.ErrStopped))
	require.ErrorIs(t, a.SetMeta(map[string]string{"k": "v"}), node.ErrStopped)
	require.Nil(t, a.Members())
	_, ok := <-a.MonitorNodes().Events()
	require.False(t, ok)
}

// Messages near the size limit, sent faster than they can be written, are
// packed into gRPC frames many at a time; the receiver's limit is sized so
// that no frame is refused and every message arrives, in order.
func TestLargeMessagesInFullBatches(t *testing.T) {
	// LAN failure detection: moving 24 MB (slowly, under -race) must not
	// get a node suspected by the tight local profile.
	c := nodetest.Start(t, 2, nodetest.WithConfig(func(cfg *node.Config) { cfg.Failure = node.LANFailureDetection() }))
	a, b := c.Nodes[0], c.Nodes[1]
	in := nodetest.NewInbox(t, b, "inbox")
	to := node.ProcessID{Name: "inbox", Node: b.Name()}
	const count = 24 // ~24 MB in flight: six times gRPC's default 4 MB frame limit
	payload := make([]byte, 1<<20-64)
	for i := range count {
		payload[0] = byte(i)
		require.NoError(t, a.Send(to, term.NewTuple(term.Int(i), term.NewBinary(payload))))
	}
	for i := range count {
		m := in.Next(t).(*term.Tuple)
		require.Equal(t, term.Int(i), m.At(0))
		bin := m.At(1).(*term.Binary)
		require.Equal(t, len(payload), bin.Len())
		require.Equal(t, byte(i), bin.At(0))
	}
}

func TestReplyReportsErrors(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	errs := make(chan error, 2)
	_, err := b.Spawn("srv", b.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(term.Term); ok {
			errs <- b.Reply(ctx, make(chan int))               // cannot be sent
			errs <- b.Reply(ctx, map[string]int{"answer": 42}) // a Go value, marshaled
		}
	}))
	require.NoError(t, err)
	got, err := a.Call(context.Background(), node.ProcessID{Name: "srv", Node: b.Name()}, term.Atom("q"))
	require.NoError(t, err)
	require.ErrorIs(t, <-errs, node.ErrUnserializable)
	require.NoError(t, <-errs)
	v, ok := got.(*term.Map).Get(term.BinaryString("answer"))
	if !ok {
		v, ok = got.(*term.Map).Get(term.Atom("answer"))
	}
	require.True(t, ok, "%v", term.Format(got.(term.Term)))
	require.Equal(t, term.Int(42), v)
}

// chunk has a term form, like the actors package's protocol messages.
type chunk struct{ seq int }

func (c chunk) ToTerm() term.Term { return term.Record("chunk", term.Int(c.seq)) }

// Any actor of a node sends and receives terms across nodes, whatever its
// props: the transport encodes and decodes them.
func TestPlainActorsExchangeTerms(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	got := make(chan any, 4)
	plain := b.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case term.Term:
			got <- m
			if ctx.Sender() != nil {
				ctx.Respond(term.NewTuple(term.Atom("seen"), m))
			}
		case chunk:
			got <- m
		}
	}))
	require.NoError(t, b.Register("plain", plain))
	to := node.ProcessID{Name: "plain", Node: b.Name()}

	r, err := a.Call(context.Background(), to, term.Atom("x"))
	require.NoError(t, err)
	require.True(t, term.Equal(term.NewTuple(term.Atom("seen"), term.Atom("x")), r.(term.Term)))
	require.Equal(t, term.Atom("x"), <-got)

	// a TermForm goes as its term, also when an actor sends it itself
	require.NoError(t, a.Send(to, chunk{seq: 1}))
	require.True(t, term.Equal(chunk{1}.ToTerm(), (<-got).(term.Term)))
	sender := a.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			ctx.Send(actor.NewPID(b.RemoteAddr(), "plain"), chunk{seq: 2})
		}
	}))
	defer a.System().Root.Stop(sender)
	require.True(t, term.Equal(chunk{2}.ToTerm(), (<-got).(term.Term)))
	// locally the Go value is delivered as it is
	b.System().Root.Send(plain, chunk{seq: 3})
	require.Equal(t, chunk{seq: 3}, <-got)
}
