package node

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
)

func stats(t *testing.T, n *Node) monitorStats {
	t.Helper()
	r, err := n.system.Root.RequestFuture(n.monitorPID, statsReq{}, 5*time.Second).Result()
	require.NoError(t, err)
	return r.(monitorStats)
}

func waitStats(t *testing.T, n *Node, want monitorStats) {
	t.Helper()
	var got monitorStats
	require.Eventually(t, func() bool { got = stats(t, n); return got == want }, 10*time.Second, 5*time.Millisecond,
		"%s: want %+v, have %+v", n.Name(), want, got)
}

// The monitor tables on both ends shrink back to nothing when monitors are
// cancelled, fire, or lose their watcher.
func TestMonitorTablesAreCleanedUp(t *testing.T) {
	a := startT(t, "a@127.0.0.1", nil)
	b := startT(t, "b@127.0.0.1", nil, a.GossipAddr())
	require.Eventually(t, func() bool { _, ok := a.members.peer(b.Name()); return ok }, 10*time.Second, 5*time.Millisecond)
	downs := make(chan *Down, 10)
	watcherProps := a.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*Down); ok {
			downs <- d
		}
	})
	watcher := a.system.Root.Spawn(watcherProps)
	target, err := b.Spawn("target", b.PropsFromFunc(func(actor.Context) {}))
	require.NoError(t, err)
	to := ProcessID{Name: "target", Node: b.Name()}

	var refs []MonitorRef
	for range 3 {
		ref, err := a.Monitor(watcher, to)
		require.NoError(t, err)
		refs = append(refs, ref)
	}
	waitStats(t, a, monitorStats{Out: 3, Watchers: 1})
	waitStats(t, b, monitorStats{In: 3, Exits: 1})

	a.Demonitor(refs[0])
	waitStats(t, a, monitorStats{Out: 2, Watchers: 1})
	waitStats(t, b, monitorStats{In: 2, Exits: 1})

	// the watcher goes: its monitors go with it, on both nodes
	require.NoError(t, a.system.Root.StopFuture(watcher).Wait())
	waitStats(t, a, monitorStats{})
	waitStats(t, b, monitorStats{})

	// a monitor that fires leaves nothing behind either
	watcher2 := a.system.Root.Spawn(watcherProps)
	_, err = a.Monitor(watcher2, to)
	require.NoError(t, err)
	require.NoError(t, b.system.Root.StopFuture(target).Wait())
	d := <-downs
	require.Equal(t, ReasonNormal, d.Reason)
	waitStats(t, a, monitorStats{Watchers: 0})
	waitStats(t, b, monitorStats{})
	require.Empty(t, downs)
}

// Membership's NodeDown fires the monitors of processes on that node with
// ReasonNodeDown (the end-to-end tests race it against the connection loss,
// which reports ReasonNoConnection).
func TestNodeDownFiresMonitors(t *testing.T) {
	a := startT(t, "a@127.0.0.1", nil)
	b := startT(t, "b@127.0.0.1", nil, a.GossipAddr())
	require.Eventually(t, func() bool { _, ok := a.members.peer(b.Name()); return ok }, 10*time.Second, 5*time.Millisecond)
	downs := make(chan *Down, 10)
	watcher := a.system.Root.Spawn(a.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*Down); ok {
			downs <- d
		}
	}))
	_, err := b.Spawn("target", b.PropsFromFunc(func(actor.Context) {}))
	require.NoError(t, err)
	ref, err := a.Monitor(watcher, ProcessID{Name: "target", Node: b.Name()})
	require.NoError(t, err)
	local, err := a.Spawn("local", a.PropsFromFunc(func(actor.Context) {}))
	require.NoError(t, err)
	refLocal, err := a.MonitorPID(watcher, local)
	require.NoError(t, err)

	a.system.Root.Send(a.monitorPID, nodeDown{name: b.Name()})
	d := <-downs
	require.Equal(t, ref, d.Ref)
	require.Equal(t, ReasonNodeDown, d.Reason)
	require.Equal(t, ProcessID{Name: "target", Node: b.Name()}, d.Name)
	waitStats(t, a, monitorStats{Out: 1, In: 1, Watchers: 1, Exits: 1}) // the local monitor stays
	require.NoError(t, a.system.Root.StopFuture(local).Wait())
	d = <-downs
	require.Equal(t, refLocal, d.Ref)
	require.Equal(t, ReasonNormal, d.Reason)
}
