package node_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// crashy panics on the atom crash. With stopOnCrash its supervisor stops it
// instead of restarting it.
func crashy(n *node.Node, stopOnCrash bool) *actor.Props {
	var opts []actor.PropsOption
	if stopOnCrash {
		opts = append(opts, actor.WithGuardian(actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive {
			return actor.StopDirective
		})))
	}
	return n.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(term.Atom); ok && m == "crash" {
			panic("asked to crash")
		}
		if ctx.Sender() != nil {
			ctx.Respond(term.OK)
		}
	}, opts...)
}

func nextDown(t *testing.T, in *nodetest.Inbox) *node.Down {
	t.Helper()
	m := in.Next(t)
	d, ok := m.(*node.Down)
	require.True(t, ok, "got %T %v, want *node.Down", m, m)
	return d
}

func TestMonitorReasons(t *testing.T) {
	c := nodetest.Start(t, 3)
	a, b := c.Nodes[0], c.Nodes[1]
	watch := nodetest.NewInbox(t, a, "watcher")

	for _, tc := range []struct {
		name  string
		local bool
	}{{"remote", false}, {"local", true}} {
		t.Run(tc.name, func(t *testing.T) {
			target := b
			if tc.local {
				target = a
			}
			at := func(name string) node.ProcessID { return node.ProcessID{Name: name, Node: target.Name()} }

			// normal: the process stopped
			pid, err := target.Spawn("w1", crashy(target, true))
			require.NoError(t, err)
			ref, err := a.Monitor(watch.PID(), at("w1"))
			require.NoError(t, err)
			target.System().Root.Stop(pid)
			d := nextDown(t, watch)
			require.Equal(t, ref, d.Ref)
			require.Equal(t, node.ReasonNormal, d.Reason)
			require.Equal(t, at("w1"), d.Name)
			require.Equal(t, pid.Id, d.PID.Id)
			nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool { return target.Whereis("w1") == nil }, "w1 unregistered")

			// crashed, by PID
			pid, err = target.Spawn("w2", crashy(target, true))
			require.NoError(t, err)
			ref, err = a.MonitorPID(watch.PID(), pid)
			require.NoError(t, err)
			// a call makes sure the monitor is set up before the crash
			_, err = a.Call(t.Context(), at("w2"), term.Atom("sync"))
			require.NoError(t, err)
			require.NoError(t, a.Send(at("w2"), term.Atom("crash")))
			d = nextDown(t, watch)
			require.Equal(t, ref, d.Ref)
			require.Equal(t, node.ReasonCrashed, d.Reason)

			// crashed once and restarted, then stopped: normal
			pid, err = target.Spawn("w3", crashy(target, false))
			require.NoError(t, err)
			ref, err = a.Monitor(watch.PID(), at("w3"))
			require.NoError(t, err)
			require.NoError(t, a.Send(at("w3"), term.Atom("crash")))
			_, err = a.Call(t.Context(), at("w3"), term.Atom("alive?"))
			require.NoError(t, err)
			target.System().Root.Stop(pid)
			d = nextDown(t, watch)
			require.Equal(t, ref, d.Ref)
			require.Equal(t, node.ReasonNormal, d.Reason)

			// noproc: by name and by PID
			ref, err = a.Monitor(watch.PID(), at("nobody"))
			require.NoError(t, err)
			d = nextDown(t, watch)
			require.Equal(t, ref, d.Ref)
			require.Equal(t, node.ReasonNoProc, d.Reason)
			ref, err = a.MonitorPID(watch.PID(), actor.NewPID(target.RemoteAddr(), "$gone"))
			require.NoError(t, err)
			d = nextDown(t, watch)
			require.Equal(t, ref, d.Ref)
			require.Equal(t, node.ReasonNoProc, d.Reason)

			// demonitor: no Down for the cancelled monitor
			pid, err = target.Spawn("w4", crashy(target, true))
			require.NoError(t, err)
			ref1, err := a.Monitor(watch.PID(), at("w4"))
			require.NoError(t, err)
			a.Demonitor(ref1)
			ref2, err := a.Monitor(watch.PID(), at("w4"))
			require.NoError(t, err)
			_, err = a.Call(t.Context(), at("w4"), term.Atom("sync"))
			require.NoError(t, err)
			target.System().Root.Stop(pid)
			d = nextDown(t, watch)
			require.Equal(t, ref2, d.Ref)
			require.True(t, watch.Empty())
		})
	}

	// noconnection: a node that is not a member
	ref, err := a.Monitor(watch.PID(), node.ProcessID{Name: "x", Node: "nobody@127.0.0.1"})
	require.NoError(t, err)
	d := nextDown(t, watch)
	require.Equal(t, ref, d.Ref)
	require.Equal(t, node.ReasonNoConnection, d.Reason)

	// nodedown: the node is declared dead (hard stop)...
	victim := c.Nodes[2]
	_, err = victim.Spawn("w5", crashy(victim, true))
	require.NoError(t, err)
	ref, err = a.Monitor(watch.PID(), node.ProcessID{Name: "w5", Node: victim.Name()})
	require.NoError(t, err)
	_, err = a.Call(t.Context(), node.ProcessID{Name: "w5", Node: victim.Name()}, term.Atom("sync"))
	require.NoError(t, err)
	require.NoError(t, victim.Halt())
	d = nextDown(t, watch)
	require.Equal(t, ref, d.Ref)
	require.Contains(t, []node.Reason{node.ReasonNodeDown, node.ReasonNoConnection}, d.Reason)

	// ...or leaves
	_, err = b.Spawn("w6", crashy(b, true))
	require.NoError(t, err)
	ref, err = a.Monitor(watch.PID(), node.ProcessID{Name: "w6", Node: b.Name()})
	require.NoError(t, err)
	_, err = a.Call(t.Context(), node.ProcessID{Name: "w6", Node: b.Name()}, term.Atom("sync"))
	require.NoError(t, err)
	require.NoError(t, b.Shutdown())
	d = nextDown(t, watch)
	require.Equal(t, ref, d.Ref)
	// Shutdown stops b's registered processes before b's remote stops, so
	// the Down may report the process's end or the node's
	require.Contains(t, []node.Reason{node.ReasonNormal, node.ReasonNodeDown, node.ReasonNoConnection}, d.Reason)
	require.True(t, watch.Empty())
}

func TestMonitorErrors(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	remote := nodetest.NewInbox(t, b, "")
	_, err := a.Monitor(remote.PID(), node.ProcessID{Name: "x"})
	require.ErrorIs(t, err, node.ErrNotLocal)
	local := nodetest.NewInbox(t, a, "")
	_, err = a.Monitor(local.PID(), node.ProcessID{Name: "a/b"})
	require.ErrorIs(t, err, node.ErrBadName)
	_, err = a.MonitorPID(local.PID(), nil)
	require.ErrorIs(t, err, node.ErrNoProc)
}
