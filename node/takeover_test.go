package node_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
)

// waitTakenOver waits until worker id runs on n, taken over from `from`
// with the given epoch, and returns its info.
func waitTakenOver(t *testing.T, n *node.Node, id, from string, epoch uint64) node.WorkerInfo {
	t.Helper()
	var w node.WorkerInfo
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		var ok bool
		w, ok = worker(t, n, id)
		return ok && w.TakenFrom == from && w.Epoch == epoch
	}, "%s taken over by %s from %s with epoch %d (have %+v)", id, n.Name(), from, epoch, w)
	return w
}

func waitRole(t *testing.T, n *node.Node, role node.Role) {
	t.Helper()
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool { return n.Role() == role }, "%s is %v", n.Name(), role)
}

// waitSeenAs waits until observer's member list shows n with role.
func waitSeenAs(t *testing.T, observer, n *node.Node, role node.Role) {
	t.Helper()
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		for _, m := range observer.Members() {
			if m.Name == n.Name() {
				return m.Role == role
			}
		}
		return false
	}, "%s sees %s as %v", observer.Name(), n.Name(), role)
}

func TestTakeoverAfterHalt(t *testing.T) {
	c := nodetest.Start(t, 3, nodetest.WithConfig(withWorkers)) // n1, n2 active; n3 spare
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	waitBackup(t, n1, n3.Name())
	waitBackup(t, n2, n3.Name())
	ids := []string{"w1", "w2", "w3"}
	for i, id := range ids {
		_, err := n1.StartWorker(id)
		require.NoError(t, err)
		incr(t, n1, id, 10+i)
	}
	_, err := n2.StartWorker("w9")
	require.NoError(t, err)
	// The acknowledged counter of each worker: what must survive.
	acked := map[string]int64{}
	for i, id := range ids {
		waitAcked(t, n1, id, uint64(10+i+1))
		acked[id] = int64(10 + i)
		incr(t, n1, id, 5) // may or may not be acknowledged before the kill
	}

	killed := time.Now()
	require.NoError(t, n1.Halt())
	for _, id := range ids {
		w := waitTakenOver(t, n3, id, n1.Name(), 2)
		require.Equal(t, n3.Whereis(id).Id, w.PID.Id, "registered under the same name")
		st := getState(t, n2, id, n3.Name()) // reached as {id, n3} from another node
		require.GreaterOrEqual(t, counterOf(t, st), acked[id], "no acknowledged state lost for %s", id)
	}
	waitRole(t, n3, node.RoleActive)
	waitSeenAs(t, n2, n3, node.RoleActive)
	// No spare is left: nobody has a backup until one joins.
	waitBackup(t, n2, "")
	waitBackup(t, n3, "")

	tos, err := n3.Takeovers()
	require.NoError(t, err)
	require.Len(t, tos, len(ids))
	for _, to := range tos {
		require.Equal(t, n1.Name(), to.From)
		require.Equal(t, uint64(2), to.Epoch)
		require.Positive(t, to.FailoverTime())
		require.Zero(t, to.DualWindow())
		t.Logf("%s: kill -> running %v (detect -> running %v)", to.Worker, to.Running.Sub(killed), to.FailoverTime())
	}
	reps, err := n3.Replicas()
	require.NoError(t, err)
	for _, r := range reps {
		require.NotEqual(t, n1.Name(), r.Owner, "taken-over replicas are dropped")
	}

	// A new spare joins: both active nodes replicate to it, the taken-over
	// workers with their new epoch.
	cfg := c.Config("n4@127.0.0.1", node.RoleSpare)
	cfg.Seeds = []string{n2.GossipAddr()} // the first node, the usual seed, is dead
	withWorkers(&cfg)
	s, err := node.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown() })
	for _, n := range []*node.Node{n2, n3, s} {
		nodetest.WaitMembers(t, n, n2.Name(), n3.Name(), s.Name())
	}
	waitBackup(t, n2, s.Name())
	waitBackup(t, n3, s.Name())
	incr(t, n3, "w1", 1)
	st := getState(t, n3, "w1", "")
	r := waitReplicaEqual(t, s, "w1", st)
	require.Equal(t, uint64(2), r.Epoch)
	require.Equal(t, n3.Name(), r.Owner)
	waitReplicaEqual(t, s, "w9", getState(t, n2, "w9", ""))
}

func TestTakeoverAfterGracefulLeave(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	a, s := c.Nodes[0], c.Nodes[1]
	waitBackup(t, a, s.Name())
	_, err := a.StartWorker("w1")
	require.NoError(t, err)
	incr(t, a, "w1", 7)
	waitAcked(t, a, "w1", 8)
	require.NoError(t, a.Shutdown())
	waitTakenOver(t, s, "w1", a.Name(), 2)
	require.Equal(t, int64(7), counterOf(t, getState(t, s, "w1", "")))
}

func TestFencingAfterPartitionAndRotation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*node.Config)
	}{
		// memberlist's own gossip to the dead heals the partition.
		{"short", withWorkers},
		// Without gossip to the dead (as for a partition longer than
		// GossipToTheDeadTime) only the node's rejoin loop heals it.
		{"long", func(cfg *node.Config) { withWorkers(cfg); cfg.Failure.GossipToTheDeadTime = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) { testFencingAndRotation(t, tc.cfg) })
	}
}

func testFencingAndRotation(t *testing.T, cfg func(*node.Config)) {
	c := nodetest.Start(t, 3, nodetest.WithConfig(cfg)) // n1, n2 active; n3 spare
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	waitBackup(t, n1, n3.Name())
	waitBackup(t, n2, n3.Name())
	ids := []string{"w1", "w2"}
	for _, id := range ids {
		_, err := n1.StartWorker(id)
		require.NoError(t, err)
		incr(t, n1, id, 4)
		waitAcked(t, n1, id, 5)
	}
	_, err := n2.StartWorker("w5")
	require.NoError(t, err)
	incr(t, n2, "w5", 3)
	waitAcked(t, n2, "w5", 4)

	// n1 is cut off: the others declare it dead and n3 takes its workers
	// over, while n1 (only partitioned) still runs its copies.
	c.Isolate(n1)
	for _, id := range ids {
		waitTakenOver(t, n3, id, n1.Name(), 2)
	}
	ws, err := n1.Workers()
	require.NoError(t, err)
	require.Len(t, ws, len(ids), "the isolated node still runs its copies")

	// The partition heals: n3 sees n1 again and fences its copies; n1,
	// left without workers, becomes the spare.
	c.Heal()
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		ws, err := n1.Workers()
		return err == nil && len(ws) == 0
	}, "the stale copies on n1 stopped")
	waitRole(t, n1, node.RoleSpare)
	c.WaitConverged()
	// At most one live copy of each worker: on n3, with the higher epoch.
	for _, id := range ids {
		require.Nil(t, n1.Whereis(id))
		w, ok := worker(t, n3, id)
		require.True(t, ok)
		require.Equal(t, uint64(2), w.Epoch)
	}
	var tos []node.Takeover
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		tos, err = n3.Takeovers()
		require.NoError(t, err)
		for _, to := range tos {
			if to.Fenced.IsZero() {
				return false
			}
		}
		return true
	}, "n3 saw every stale copy stop")
	for _, to := range tos {
		require.False(t, to.Returned.IsZero())
		require.False(t, to.Fenced.Before(to.Returned))
		t.Logf("%s: two copies for %v after n1 returned (detect -> running %v)", to.Worker, to.DualWindow(), to.FailoverTime())
	}

	// Rotation: n1 is the spare now; the active nodes replicate to it and a
	// later takeover uses it.
	waitSeenAs(t, n2, n1, node.RoleSpare)
	waitBackup(t, n2, n1.Name())
	waitBackup(t, n3, n1.Name())
	incr(t, n2, "w5", 2)
	st := getState(t, n2, "w5", "")
	waitReplicaEqual(t, n1, "w5", st)
	waitReplicaEqual(t, n1, "w1", getState(t, n3, "w1", ""))
	require.NoError(t, n2.Halt())
	waitTakenOver(t, n1, "w5", n2.Name(), 2)
	require.Equal(t, counterOf(t, st), counterOf(t, getState(t, n3, "w5", n1.Name())))
	waitRole(t, n1, node.RoleActive)
}
