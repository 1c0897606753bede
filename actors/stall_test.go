package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
)

// These tests lose one message of a worker's stream, as protoactor's
// remote does while it re-establishes a connection, with AckTimeout left
// at its default (30 s): the link's probe must find the loss, and the
// worker recover through a resync, long before the ack timeout would.

// lossConfig is the default config with a short StallTimeout, so that the
// tests need not wait 2 s per loss.
func lossConfig() ReplicationConfig {
	rc := DefaultReplicationConfig()
	rc.StallTimeout = 50 * time.Millisecond
	rc.Window = 1
	return rc
}

// once returns a hook that is true for the first value matching match.
func once[T any](match func(T) bool) (func(T) bool, func() bool) {
	var (
		mu   sync.Mutex
		done bool
	)
	return func(v T) bool {
			mu.Lock()
			defer mu.Unlock()
			if !done && match(v) {
				done = true
				return true
			}
			return false
		}, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return done
		}
}

// requireProbeRecovery checks that a loss was repaired by the link's probe
// and a covered resync: no ack timeout, no second keyframe.
func requireProbeRecovery(t *testing.T, sys *actor.ActorSystem, h *actor.PID, stats *WorkerStats, losses uint64) {
	t.Helper()
	waitFor(t, "every state acknowledged", func() bool { s := stats.Snapshot(); return s.AckLag == 0 })
	s := stats.Snapshot()
	require.Zero(t, s.AckTimeouts, "the probe found the loss, not the ack timeout")
	require.GreaterOrEqual(t, s.LinkLosses, losses)
	require.GreaterOrEqual(t, s.ResyncCovered, uint64(1), "the replica held a state the worker had")
	require.Equal(t, uint64(1), s.Keyframes, "repaired with a delta, not a keyframe")
	ls, err := LinkStatus(sys, h, time.Minute)
	require.NoError(t, err)
	require.GreaterOrEqual(t, ls.Pings, uint64(1))
	require.GreaterOrEqual(t, ls.Losses, losses)
	require.Zero(t, ls.Resets)
	require.Zero(t, ls.InFlight)
}

func TestLostFrameFoundByProbe(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := lossConfig()
	var lost func() bool
	rc.dropChunk, lost = once(func(c *Chunk) bool { return c.Seq >= 2 }) // the first frame after the keyframe
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	stepN(t, sys, pid, 4)
	converged(t, sys, h, pid, "w1")
	require.True(t, lost())
	requireProbeRecovery(t, sys, h, stats, 1)
}

func TestLostAckFoundByProbe(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := lossConfig()
	var lost func() bool
	rc.dropReply, lost = once(func(m Message) bool { a, ok := m.(*Ack); return ok && a.Seq == 2 })
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	request[uint64](t, sys, pid, "step") // state 2: applied, its Ack lost
	converged(t, sys, h, pid, "w1")
	requireProbeRecovery(t, sys, h, stats, 1)
	require.True(t, lost())
	require.Equal(t, uint64(2), stats.Snapshot().AckedSeq, "the resync found state 2 held: acknowledged by the replica's own word")
}

func TestLostResyncAnswerFoundByProbe(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := lossConfig()
	var chunkLost, statusLost func() bool
	rc.dropChunk, chunkLost = once(func(c *Chunk) bool { return c.Seq == 2 })
	rc.dropReply, statusLost = once(func(m Message) bool { _, ok := m.(*ResyncStatus); return ok })
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	request[uint64](t, sys, pid, "step")
	converged(t, sys, h, pid, "w1")
	require.True(t, chunkLost())
	require.True(t, statusLost())
	requireProbeRecovery(t, sys, h, stats, 2)
	require.GreaterOrEqual(t, stats.Snapshot().Resyncs, uint64(2), "the lost answer's query was asked again")
}

// slowLink stands between a link and its replica_handler: it forwards
// everything in order (keeping the sender) and takes its time over each
// chunk, like a slow network.
func slowLink(sys *actor.ActorSystem, to *actor.PID, perChunk time.Duration) *actor.PID {
	return sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case actor.SystemMessage, actor.AutoReceiveMessage:
			return
		case *Chunk:
			time.Sleep(perChunk) // the network's pace, not a wait for a condition
			sys.Root.RequestWithCustomSender(to, m, c.Sender())
		default:
			sys.Root.RequestWithCustomSender(to, m, c.Sender())
		}
	}))
}

// TestSlowKeyframeNotLost sends the 40 MB keyframe over a slow link with a
// StallTimeout far below its transfer and decode times: the link probes
// while the handler decodes, and the probe's late answer says nothing was
// lost.
func TestSlowKeyframeNotLost(t *testing.T) {
	if testing.Short() {
		t.Skip("40 MB state")
	}
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	via := slowLink(sys, h, time.Millisecond)
	rc := DefaultReplicationConfig()
	rc.StallTimeout = 20 * time.Millisecond
	pid, stats := startWorker(t, sys, spec("big", newStepper(workload.Large), via, rc))
	stepN(t, sys, pid, 2)
	r := converged(t, sys, h, pid, "big")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	s := stats.Snapshot()
	require.Greater(t, r.Bytes, uint64(30_000_000), "the large keyframe went through")
	require.Equal(t, uint64(1), s.Keyframes, "the keyframe was never given up")
	require.Zero(t, s.LinkLosses)
	require.Zero(t, s.AckTimeouts)
	ls, err := LinkStatus(sys, via, time.Minute)
	require.NoError(t, err)
	require.Greater(t, ls.Pings, uint64(0), "the link probed while the handler was busy with the keyframe")
	require.Zero(t, ls.Losses)
}

// TestLostAckFoundWhileLinkBusy loses one worker's Ack while another
// worker keeps the link busy (its replies never stop): the probe is due
// because the lost Ack's frame has been unanswered for StallTimeout, not
// because the destination went quiet.
func TestLostAckFoundWhileLinkBusy(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := lossConfig()
	rc.Window = 4
	rc.AckTimeout = time.Hour // only the probe can repair it within the test
	var lost func() bool
	rc.dropReply, lost = once(func(m Message) bool { a, ok := m.(*Ack); return ok && a.Worker == "quiet" && a.Seq == 2 })
	quietPID, quietStats := startWorker(t, sys, spec("quiet", newStepper(workload.Small), h, rc))
	busyPID, busyStats := startWorker(t, sys, spec("busy", newStepper(workload.Small), h, rc))
	request[uint64](t, sys, quietPID, "step") // state 2: applied, its Ack lost
	waitFor(t, "the quiet worker's state acknowledged", func() bool {
		sys.Root.Send(busyPID, "step") // keep the link's replies coming
		return lost() && quietStats.Snapshot().AckLag == 0
	})
	s := quietStats.Snapshot()
	require.GreaterOrEqual(t, s.LinkLosses, uint64(1))
	require.Zero(t, s.AckTimeouts)
	require.Equal(t, uint64(1), s.Keyframes)
	require.Zero(t, busyStats.Snapshot().LinkLosses, "the busy worker lost nothing")
	converged(t, sys, h, quietPID, "quiet")
}
