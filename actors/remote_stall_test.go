package actors_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node/nodetest"
)

// TestRemoteBlipRecovers cuts the remote connection between the worker's
// node and its backup for a moment, with the default replication config
// (AckTimeout 30 s): the frames sent into the cut are dropped by
// protoactor's remote without a word, and the worker takes no further
// step, so nothing but the link's probe can tell it. It must recover within
// a few StallTimeouts of the heal, through a resync, not after AckTimeout.
func TestRemoteBlipRecovers(t *testing.T) {
	p := startPair(t)
	rc := actors.DefaultReplicationConfig()
	w := p.startWorker(t, "blip", newRemoteStepper(workload.Small, 4), rc)
	p.steps(w, 3)
	waitAcked(t, w, 4)
	before := w.stats.Snapshot()

	p.cluster.Partition(p.a, p.b)
	p.steps(w, 3)
	nodetest.WaitFor(t, remoteWait, func() bool {
		st := w.stats.Snapshot()
		ls, err := actors.LinkStatus(p.a.System(), p.backup, remoteWait)
		return err == nil && st.Seq == 7 && st.Frames > before.Frames && ls.QueuedBytes == 0
	}, "the worker's frames to go into the cut")
	healed := time.Now()
	p.cluster.Heal()
	st := waitAcked(t, w, 7)
	recovery := time.Since(healed)
	t.Logf("acknowledged %d states again %v after the heal (AckTimeout %v): %+v", st.AckedSeq, recovery, rc.AckTimeout, st)
	p.converged(t, w)
	ls, err := actors.LinkStatus(p.a.System(), p.backup, remoteWait)
	require.NoError(t, err)
	t.Logf("link: %+v", ls)
	require.Zero(t, st.AckTimeouts, "recovered before the ack timeout")
	// Usually frames were lost in the cut: the link found it and the
	// worker resynced (a delta from the state the replica held; rarely a
	// keyframe too, when the replica's NeedKeyframe for a later frame
	// overtakes the news of the loss). When the cut came too late for
	// them they simply went through.
	require.Equal(t, st.LinkLosses > 0, st.Resyncs > 0, "a resync exactly when something was lost")
	require.Less(t, recovery, rc.AckTimeout/2)
}
