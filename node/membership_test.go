package node_test

import (
	"testing"
	"time"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/stretchr/testify/require"
)

// nextEvent returns the next event of w about member name, skipping others.
func nextEvent(t *testing.T, w *node.NodeWatch, name string) node.NodeEvent {
	t.Helper()
	timer := time.NewTimer(nodetest.DefaultTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.Events():
			require.True(t, ok, "event channel closed")
			if ev.Member.Name == name {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no event about %s", name)
		}
	}
}

func TestMembersAndMetadata(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(func(cfg *node.Config) { cfg.Meta = map[string]string{"zone": "a"} }))
	a, b := c.Nodes[0], c.Nodes[1]
	ms := a.Members()
	require.Len(t, ms, 2)
	byName := map[string]node.Member{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	require.Equal(t, node.RoleActive, byName[a.Name()].Role)
	require.Equal(t, node.RoleSpare, byName[b.Name()].Role)
	require.Equal(t, b.RemoteAddr(), byName[b.Name()].RemoteAddr)
	require.Equal(t, b.GossipAddr(), byName[b.Name()].GossipAddr)
	require.Equal(t, map[string]string{"zone": "a"}, byName[b.Name()].Meta)
	require.True(t, byName[b.Name()].Alive)

	w := a.MonitorNodes()
	defer w.Cancel()
	require.NoError(t, b.SetMeta(map[string]string{"load": "7", "zone": ""}))
	require.Equal(t, map[string]string{"load": "7"}, b.Meta())
	ev := nextEvent(t, w, b.Name())
	require.Equal(t, node.NodeUpdate, ev.Kind)
	require.Equal(t, map[string]string{"load": "7"}, ev.Member.Meta)

	big := make([]byte, 600)
	require.ErrorIs(t, b.SetMeta(map[string]string{"big": string(big)}), node.ErrMetaTooLarge)
	require.Equal(t, map[string]string{"load": "7"}, b.Meta())
}

func TestNodeUpDownEvents(t *testing.T) {
	c := nodetest.Start(t, 1)
	a := c.Nodes[0]
	w := a.MonitorNodes()
	defer w.Cancel()

	b := c.Add(nodetest.Name(2), node.RoleSpare)
	ev := nextEvent(t, w, b.Name())
	require.Equal(t, node.NodeUp, ev.Kind)
	require.Equal(t, node.RoleSpare, ev.Member.Role)
	require.Equal(t, b.RemoteAddr(), ev.Member.RemoteAddr)

	// graceful: Left is set
	require.NoError(t, b.Shutdown())
	ev = nextEvent(t, w, b.Name())
	require.Equal(t, node.NodeDown, ev.Kind)
	require.True(t, ev.Left)

	// hard stop: declared dead by failure detection, Left unset
	d := c.Add(nodetest.Name(3), node.RoleActive)
	require.Equal(t, node.NodeUp, nextEvent(t, w, d.Name()).Kind)
	require.NoError(t, d.Halt())
	ev = nextEvent(t, w, d.Name())
	require.Equal(t, node.NodeDown, ev.Kind)
	require.False(t, ev.Left)

	// a restarted node with the same name comes back
	d2 := c.Add(nodetest.Name(3), node.RoleActive)
	ev = nextEvent(t, w, d2.Name())
	require.Equal(t, node.NodeUp, ev.Kind)
	require.Equal(t, d2.RemoteAddr(), ev.Member.RemoteAddr)
	require.Zero(t, w.Dropped())
}

func TestPartitionDeclaresDeadAndHeals(t *testing.T) {
	c := nodetest.Start(t, 3)
	a, b := c.Nodes[0], c.Nodes[2]
	w := a.MonitorNodes()
	defer w.Cancel()
	c.Isolate(b)
	ev := nextEvent(t, w, b.Name())
	require.Equal(t, node.NodeDown, ev.Kind)
	require.False(t, ev.Left)
	nodetest.WaitMembers(t, a, a.Name(), c.Nodes[1].Name())
	c.Heal()
	// b refutes its death and rejoins (push/pull or its own gossip)
	require.Equal(t, node.NodeUp, nextEvent(t, w, b.Name()).Kind)
	c.WaitConverged()
}

func TestSlowSubscriberLosesEventsWithoutBlocking(t *testing.T) {
	c := nodetest.Start(t, 1, nodetest.WithConfig(func(cfg *node.Config) { cfg.EventBuffer = 1 }))
	a := c.Nodes[0]
	slow := a.MonitorNodes() // never read
	fast := a.MonitorNodes()
	defer slow.Cancel()
	defer fast.Cancel()
	b := c.Add(nodetest.Name(2), node.RoleActive)
	require.Equal(t, node.NodeUp, nextEvent(t, fast, b.Name()).Kind)
	require.NoError(t, b.SetMeta(map[string]string{"x": "1"}))
	require.Equal(t, node.NodeUpdate, nextEvent(t, fast, b.Name()).Kind)
	require.NoError(t, b.Shutdown())
	require.Equal(t, node.NodeDown, nextEvent(t, fast, b.Name()).Kind)
	require.GreaterOrEqual(t, slow.Dropped(), uint64(2)) // more if the load made a false positive
	require.Equal(t, node.NodeUp, (<-slow.Events()).Kind)
	slow.Cancel()
	slow.Cancel()
	_, ok := <-slow.Events()
	require.False(t, ok)
}
