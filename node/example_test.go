package node_test

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// Two nodes on loopback: a registers an echo process, b (which joined a,
// so it knows a as soon as Start returns) calls it by {Name, Node}.
func Example() {
	a, err := node.Start(node.LocalConfig("a@127.0.0.1"))
	if err != nil {
		panic(err)
	}
	defer a.Shutdown()
	cfg := node.LocalConfig("b@127.0.0.1")
	cfg.Seeds = []string{a.GossipAddr()}
	b, err := node.Start(cfg)
	if err != nil {
		panic(err)
	}
	defer b.Shutdown()

	_, err = a.Spawn("echo", a.PropsFromFunc(func(ctx actor.Context) {
		if t, ok := ctx.Message().(term.Term); ok {
			ctx.Respond(term.NewTuple(term.Atom("echo"), t))
		}
	}))
	if err != nil {
		panic(err)
	}
	reply, err := b.Call(context.Background(), node.ProcessID{Name: "echo", Node: "a@127.0.0.1"}, term.Atom("hello"))
	if err != nil {
		panic(err)
	}
	fmt.Println(term.Format(reply.(term.Term)))
	// Output: {echo,hello}
}

// Watching nodes come and go, like net_kernel:monitor_nodes(true).
func ExampleNode_MonitorNodes() {
	a, err := node.Start(node.LocalConfig("a@127.0.0.1"))
	if err != nil {
		panic(err)
	}
	defer a.Shutdown()
	w := a.MonitorNodes()
	defer w.Cancel()

	cfg := node.LocalConfig("b@127.0.0.1")
	cfg.Role = node.RoleSpare
	cfg.Seeds = []string{a.GossipAddr()}
	b, err := node.Start(cfg)
	if err != nil {
		panic(err)
	}
	ev := <-w.Events()
	fmt.Println(ev.Kind, ev.Member.Name, ev.Member.Role)
	_ = b.Shutdown()
	ev = <-w.Events()
	fmt.Println(ev.Kind, ev.Member.Name, "left:", ev.Left)
	// Output:
	// nodeup b@127.0.0.1 spare
	// nodedown b@127.0.0.1 left: true
}
