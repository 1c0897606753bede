package actors

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
)

// Drain answers once the newest state is acknowledged; the worker handles
// no user message after it.
func TestDrainWaitsForTheNewestAck(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, DefaultReplicationConfig()))
	stepN(t, sys, pid, 50) // faster than the window of 4 frames: states coalesce, acks lag
	d := request[*Drained](t, sys, pid, &Drain{})
	require.Equal(t, uint64(51), d.Seq, "Drain is handled after the 50 steps sent before it")
	require.GreaterOrEqual(t, d.AckedSeq, d.Seq)
	r, ok := getReplica(t, sys, h, "w1")
	require.True(t, ok)
	require.Equal(t, d.Seq, r.Seq, "the replica holds the drained state")

	stepN(t, sys, pid, 3)
	st := request[*WorkerStatus](t, sys, pid, &StatsRequest{})
	require.True(t, st.Draining)
	require.Equal(t, uint64(50), st.Steps, "a step after Drain was handled")
	require.Equal(t, d.Seq, st.Seq)
	// Asked again, it answers again.
	require.Equal(t, d.Seq, request[*Drained](t, sys, pid, &Drain{}).Seq)
	require.Equal(t, d.Seq, stats.Snapshot().AckedSeq)
}

// A worker without a backup has nothing to wait for.
func TestDrainWithoutBackupAnswersAtOnce(t *testing.T) {
	sys := newSystem(t)
	pid, _ := startWorker(t, sys, spec("w1", newStepper(workload.Small), nil, DefaultReplicationConfig()))
	stepN(t, sys, pid, 5)
	d := request[*Drained](t, sys, pid, &Drain{})
	require.Equal(t, uint64(6), d.Seq)
	require.Equal(t, uint64(0), d.AckedSeq)
}
