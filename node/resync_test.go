package node_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
)

// winningSpare returns a spare name that rendezvous hashing prefers over
// every one of others as active's backup.
func winningSpare(t *testing.T, active string, others ...string) string {
	t.Helper()
	for i := 2; i < 100; i++ {
		name := fmt.Sprintf("s%d@127.0.0.1", i)
		if b, _ := actors.RendezvousBackup(active, append([]string{name}, others...)); b == name {
			return name
		}
	}
	t.Fatal("no winning spare name")
	return ""
}

// TestResyncOnBackupChanges runs real nodes through the resync paths of a
// worker whose backup changes: a brand-new spare (no replica: a keyframe),
// the new spare leaving so that the worker goes back to the old one, which
// holds a replica a few states behind (a Merkle comparison, no keyframe),
// and the spare started again (empty: a keyframe). Each time the replica
// ends equal to the worker's state, and the round trips and bytes of each
// resync are logged (go test ./node -run ResyncOnBackup -v).
func TestResyncOnBackupChanges(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	active, s1 := c.Nodes[0], c.Nodes[1]
	waitBackup(t, active, s1.Name())
	_, err := active.StartWorker("w1")
	require.NoError(t, err)
	incr(t, active, "w1", 5)
	w := waitAcked(t, active, "w1", 6)
	waitReplicaEqual(t, s1, "w1", getState(t, active, "w1", ""))
	require.Equal(t, uint64(1), w.Status.Keyframes, "a fresh worker's first frame is a keyframe, no question asked")
	require.Zero(t, w.Status.Resyncs)

	// settle waits for the resync to end, the acks and the replica on spare,
	// and returns what this resync cost.
	settle := func(phase string, spare *node.Node, seq uint64, before actors.WorkerStatus) actors.WorkerStatus {
		t.Helper()
		var w node.WorkerInfo
		nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
			var ok bool
			w, ok = worker(t, active, "w1")
			s := w.Status
			return ok && s.Resyncs > before.Resyncs && s.ResyncCovered+s.ResyncMerkle+s.ResyncKeyframes == s.Resyncs &&
				s.Seq >= seq && s.AckedSeq == s.Seq
		}, "%s: the resync to end and w1 to be acknowledged (last %+v)", phase, &w.Status)
		r := waitReplicaEqual(t, spare, "w1", getState(t, active, "w1", ""))
		require.Equal(t, w.Status.AckedSeq, r.Seq, "%s: one sequence: the replica holds the acknowledged state", phase)
		a := w.Status
		t.Logf("%-34s covered %d merkle %d keyframe %d; round trips %d, exchange %d B, frames %d B",
			phase, a.ResyncCovered-before.ResyncCovered, a.ResyncMerkle-before.ResyncMerkle,
			a.ResyncKeyframes-before.ResyncKeyframes, a.ResyncRoundTrips-before.ResyncRoundTrips,
			a.ResyncBytes-before.ResyncBytes, a.BytesSent-before.BytesSent)
		return a
	}

	// switched waits until the worker has begun resyncing with its new
	// backup (its SetBackup follows the node's digest exchange), so that
	// the steps after it go to the new backup.
	switched := func(before actors.WorkerStatus) {
		t.Helper()
		nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
			w, ok := worker(t, active, "w1")
			return ok && w.Status.Resyncs > before.Resyncs
		}, "w1 to switch backups")
	}

	// A brand-new spare that rendezvous hashing prefers: it has nothing,
	// so one query and a keyframe.
	before := w.Status
	s2 := c.Add(winningSpare(t, active.Name(), s1.Name()), node.RoleSpare)
	c.WaitConverged()
	waitBackup(t, active, s2.Name())
	switched(before)
	incr(t, active, "w1", 3)
	after := settle("brand-new spare", s2, 9, before)
	require.Equal(t, uint64(1), after.ResyncKeyframes-before.ResyncKeyframes)
	require.Equal(t, uint64(1), after.ResyncRoundTrips-before.ResyncRoundTrips)
	require.Equal(t, uint64(1), after.Keyframes-before.Keyframes)

	// The new spare leaves: back to s1, whose replica is states behind and
	// no longer in the worker's keeping: a Merkle comparison and a delta.
	before = after
	require.NoError(t, s2.Shutdown())
	waitBackup(t, active, s1.Name())
	switched(before)
	incr(t, active, "w1", 2)
	after = settle("back to a stale replica", s1, 11, before)
	require.Equal(t, uint64(1), after.ResyncMerkle-before.ResyncMerkle)
	require.LessOrEqual(t, after.ResyncRoundTrips-before.ResyncRoundTrips, uint64(3))
	require.Equal(t, before.Keyframes, after.Keyframes, "no keyframe")

	// The spare restarts (same name, empty): a keyframe again.
	before = after
	s2 = c.Add(s2.Name(), node.RoleSpare)
	c.WaitConverged()
	waitBackup(t, active, s2.Name())
	switched(before)
	incr(t, active, "w1", 1)
	after = settle("restarted spare", s2, 12, before)
	require.Equal(t, uint64(1), after.ResyncKeyframes-before.ResyncKeyframes)
}

// TestDigestFindsDifferingWorkers: a node's backup comes back (here: the
// spare that replaced it leaves) holding replicas of four workers, two of
// which stepped meanwhile. The node compares worker digests with it
// (resync.DiffWorkers over id -> epoch, seq, state hash) and only those two
// resync; the other two go on from the replica they know is there, with no
// round trip of their own.
func TestDigestFindsDifferingWorkers(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	active, s1 := c.Nodes[0], c.Nodes[1]
	waitBackup(t, active, s1.Name())
	ids := []string{"w1", "w2", "w3", "w4"}
	for _, id := range ids {
		_, err := active.StartWorker(id)
		require.NoError(t, err)
		incr(t, active, id, 2)
		waitAcked(t, active, id, 3)
		waitReplicaEqual(t, s1, id, getState(t, active, id, ""))
	}

	s2 := c.Add(winningSpare(t, active.Name(), s1.Name()), node.RoleSpare)
	c.WaitConverged()
	waitBackup(t, active, s2.Name())
	for _, id := range ids { // each has begun its resync with s2
		nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
			w, ok := worker(t, active, id)
			return ok && w.Status.Resyncs > 0
		}, "%s to switch to %s", id, s2.Name())
	}
	incr(t, active, "w1", 3)
	incr(t, active, "w2", 3)
	before := map[string]actors.WorkerStatus{}
	for _, id := range ids {
		seq := uint64(3)
		if id == "w1" || id == "w2" {
			seq = 6
		}
		waitReplicaEqual(t, s2, id, getState(t, active, id, ""))
		before[id] = waitAcked(t, active, id, seq).Status
	}

	require.NoError(t, s2.Shutdown())
	waitBackup(t, active, s1.Name())
	var ex node.DigestExchange
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		var ok bool
		ex, ok = active.LastDigestExchange()
		return ok && ex.Backup == s1.Name()
	}, "the digest comparison with %s", s1.Name())
	t.Logf("digest exchange: %d workers, differing %v, in sync %d, %d round trips, %d bytes",
		ex.Workers, ex.Differing, ex.InSync, ex.RoundTrips, ex.Bytes)
	require.Equal(t, []string{"w1", "w2"}, ex.Differing)
	require.Equal(t, 2, ex.InSync)

	for _, id := range ids {
		st := getState(t, active, id, "")
		waitReplicaEqual(t, s1, id, st)
		var w node.WorkerInfo
		nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
			var ok bool
			w, ok = worker(t, active, id)
			s := w.Status
			return ok && s.Resyncs > before[id].Resyncs && s.ResyncCovered+s.ResyncMerkle+s.ResyncKeyframes == s.Resyncs
		}, "%s's resync to end", id)
		s, b := w.Status, before[id]
		if id == "w1" || id == "w2" {
			require.Equal(t, b.ResyncMerkle+1, s.ResyncMerkle, "%s differs: a Merkle resync", id)
			require.Greater(t, s.ResyncRoundTrips, b.ResyncRoundTrips)
		} else {
			require.Equal(t, b.ResyncCovered+1, s.ResyncCovered, "%s is in sync", id)
			require.Equal(t, b.ResyncRoundTrips, s.ResyncRoundTrips, "%s: no round trip of its own", id)
		}
		require.Equal(t, b.Keyframes, s.Keyframes, "%s: no keyframe", id)
	}
}
