package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// divergeMsg asks a divergingBehaviour to change frac of its sessions in
// place (workload.Diverge), so that a replica left behind differs by a
// known share.
type divergeMsg struct {
	frac float64
	seed uint64
}

// divergingBehaviour is stepBehaviour plus divergeMsg.
type divergingBehaviour struct{ *stepBehaviour }

func (b divergingBehaviour) Handle(ctx *WorkerContext, state any, msg any) (any, any, error) {
	if d, ok := msg.(divergeMsg); ok {
		s := workload.Diverge(state.(*term.Tuple), d.frac, d.seed)
		return s, nil, nil
	}
	return b.stepBehaviour.Handle(ctx, state, msg)
}

// resyncCost is what one resync cost, from the worker's counters.
type resyncCost struct {
	path       string
	roundTrips uint64
	exchange   uint64 // ResyncBytes: query, status, comparison messages
	frames     uint64 // frame bytes sent (the covered delta, a keyframe)
	keyframes  uint64
}

func costBetween(a, b WorkerStatus) resyncCost {
	c := resyncCost{
		roundTrips: b.ResyncRoundTrips - a.ResyncRoundTrips, exchange: b.ResyncBytes - a.ResyncBytes,
		frames: b.BytesSent - a.BytesSent, keyframes: b.Keyframes - a.Keyframes,
	}
	switch {
	case b.ResyncCovered > a.ResyncCovered:
		c.path = "covered"
	case b.ResyncMerkle > a.ResyncMerkle:
		c.path = "merkle"
	case b.ResyncKeyframes > a.ResyncKeyframes:
		c.path = "keyframe"
	}
	return c
}

// TestResyncPathsReferenceState runs every resync path in the live
// replication path (worker, sender middleware, link, receiver middleware,
// replica_handler) on the reference state (about 4 MB), checking that each
// ends with the replica equal to the worker's state and that the cheap path
// was taken, and logs round trips and bytes (go test ./actors -run
// ResyncPaths -v).
func TestResyncPathsReferenceState(t *testing.T) {
	if testing.Short() {
		t.Skip("reference state")
	}
	sys := newSystem(t)
	h1 := sys.Root.Spawn(mustHandlerProps(t))
	h2 := sys.Root.Spawn(mustHandlerProps(t))
	b := divergingBehaviour{newStepper(workload.Reference)}
	pid, stats := startWorker(t, sys, spec("w1", b, h1, DefaultReplicationConfig()))
	step := func(n int) {
		base := stats.Snapshot().Steps // state queries count as steps too
		stepN(t, sys, pid, n)
		waitFor(t, "steps", func() bool { return stats.Snapshot().Steps >= base+uint64(n) })
	}
	diverge := func(frac float64) {
		base := stats.Snapshot().Steps
		sys.Root.Send(pid, divergeMsg{frac: frac, seed: base})
		waitFor(t, "the divergence", func() bool { return stats.Snapshot().Steps > base })
	}
	settle := func(h *actor.PID) WorkerStatus {
		converged(t, sys, h, pid, "w1")
		waitFor(t, "acks and the resync's end", func() bool {
			s := stats.Snapshot()
			return s.AckLag == 0 && s.Seq > 0 && s.ResyncCovered+s.ResyncMerkle+s.ResyncKeyframes == s.Resyncs
		})
		return stats.Snapshot()
	}
	step(3)
	settle(h1)
	var costs []resyncCost
	// switchTo moves the worker to backup h and returns what the resync
	// cost and the worker's counters before and after.
	switchTo := func(name string, h *actor.PID) (c resyncCost, before, after WorkerStatus) {
		before = stats.Snapshot()
		sys.Root.Send(pid, &SetBackup{PID: h})
		after = settle(h)
		c = costBetween(before, after)
		c.path = name + ": " + c.path
		costs = append(costs, c)
		return c, before, after
	}

	// A brand-new spare: it has no replica, so a keyframe.
	c, before, after := switchTo("new spare", h2)
	require.Equal(t, uint64(1), after.ResyncKeyframes-before.ResyncKeyframes)
	require.Equal(t, uint64(1), c.roundTrips)
	require.Equal(t, uint64(1), c.keyframes)
	keyBytes := c.frames // the keyframe (no step ran meanwhile)

	// The backup goes away and comes back (a partition heals): it holds
	// the newest acknowledged state, which the worker kept: one delta.
	sys.Root.Send(pid, &SetBackup{})
	diverge(0.01)
	c, before, after = switchTo("backup back (outbox covers)", h2)
	require.Equal(t, uint64(1), after.ResyncCovered-before.ResyncCovered, "the covered path")
	require.Equal(t, uint64(1), c.roundTrips)
	require.Zero(t, c.keyframes)

	// Back to h1, which holds a state from before the divergence (1% of
	// the sessions differ) that the worker no longer keeps: Merkle.
	c, before, after = switchTo("stale replica, 1% diverged", h1)
	require.Equal(t, uint64(1), after.ResyncMerkle-before.ResyncMerkle, "the Merkle path: %+v", c)
	require.LessOrEqual(t, c.roundTrips, uint64(3))
	require.Zero(t, c.keyframes)
	require.Less(t, c.exchange+c.frames, keyBytes/10, "far less than a keyframe")

	// h2 is left behind by half the sessions: the comparison costs about
	// a third of a keyframe here; never much more than one.
	diverge(0.5)
	settle(h1)
	c, _, _ = switchTo("stale replica, 50% diverged", h2)
	require.Less(t, c.exchange+c.frames, keyBytes+keyBytes/4, "not much more than a keyframe")

	for _, c := range costs {
		t.Logf("%-45s round trips %d, exchange %9d B, frames %9d B, total %9d B (keyframe %d B)",
			c.path, c.roundTrips, c.exchange, c.frames, c.exchange+c.frames, keyBytes)
	}
}

func mustHandlerProps(t *testing.T) *actor.Props {
	t.Helper()
	p, err := ReplicaHandlerProps(quietReceiver())
	require.NoError(t, err)
	return p
}

// TestResyncAcrossEpochs takes a worker over (epoch 2, from a replica that
// has moved on since: 1% of its sessions differ from the handler's) and
// starts it against a handler that holds the epoch-1 replica: the Merkle
// comparison's delta goes in its Done message, the handler stores the
// replica at epoch 2 and acknowledges it, and no keyframe crosses.
func TestResyncAcrossEpochs(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	pid, _ := startWorker(t, sys, spec("w1", newStepper(workload.Reference), h, DefaultReplicationConfig()))
	stepN(t, sys, pid, 2)
	old := converged(t, sys, h, pid, "w1")
	require.NoError(t, sys.Root.StopFuture(pid).Wait())

	from := old
	from.State = workload.Diverge(old.State.(*term.Tuple), 0.01, 5)
	from.Seq = old.Seq + 3 // the replica it is taken over from was ahead
	ws := FromReplica(from, "b@127.0.0.1", newStepper(workload.Reference), DefaultReplicationConfig())
	ws.Backup, ws.Logger = h, quiet()
	pid2, stats := startWorker(t, sys, ws)
	r := converged(t, sys, h, pid2, "w1")
	waitFor(t, "the resync's end", func() bool {
		s := stats.Snapshot()
		return s.Resyncs > 0 && s.ResyncCovered+s.ResyncMerkle+s.ResyncKeyframes == s.Resyncs && s.AckLag == 0
	})
	s := stats.Snapshot()
	require.Equal(t, uint64(1), s.ResyncMerkle, "%+v", s)
	require.Zero(t, s.Keyframes)
	require.Equal(t, uint64(2), r.Epoch)
	require.Equal(t, from.Seq+1, r.Seq, "the taken-over state is replicated as the replica's seq + 1")
	require.Equal(t, r.Seq, s.AckedSeq)
	require.LessOrEqual(t, s.ResyncRoundTrips, uint64(3))

	// Deltas go on from the resynced state.
	stepN(t, sys, pid2, 2)
	r2 := converged(t, sys, h, pid2, "w1")
	require.Greater(t, r2.Deltas, r.Deltas)
	require.Equal(t, r.Keyframes, r2.Keyframes)
}
