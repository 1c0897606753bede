package node

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// lagged starts the cluster of startGated (w1 with 3 states acknowledged),
// then has w1 step 7 more times with its replica store closed: the steps
// reach the worker but not the replica. It returns the nodes, the store
// (closed, a Put held) and w1's status after its last step.
func lagged(t *testing.T, edit func(*Config)) (a, s *Node, gs *gatedStore, last actors.WorkerStatus) {
	t.Helper()
	a, s, gs = startGated(t, edit)
	gs.close()
	for range 7 {
		require.NoError(t, a.Send(ProcessID{Name: "w1"}, term.Atom("incr")))
	}
	eventually(t, func() bool {
		w, ok := workerInfo(t, a, "w1")
		last = w.Status
		return ok && w.Status.Steps == 10
	}, "w1 handled its 10 increments")
	select {
	case <-gs.waiting:
	case <-time.After(ackedWait):
		t.Fatal("no state of the last 7 reached the replica handler")
	}
	require.Less(t, last.AckedSeq, last.Seq, "replication should lag behind the worker")
	return a, s, gs, last
}

// A graceful Shutdown waits until the workers' newest states are
// acknowledged: the spare takes w1 over from its last step, not from its
// last acknowledged state. Without the drain (DrainTimeout 0) those steps
// are lost, which is what makes this test's first case meaningful.
func TestShutdownDrainsWorkers(t *testing.T) {
	a, s, gs, last := lagged(t, nil)
	pid := a.Whereis("w1")
	require.NotNil(t, pid)
	done := make(chan error, 1)
	go func() { done <- a.Shutdown() }()
	// The worker takes no new message once draining; open the replica
	// only then, so that the acks can only have been awaited by the drain.
	// (Without a drain Shutdown returns first, and w1 is taken over behind
	// its last step.)
	eventually(t, func() bool {
		if len(done) > 0 {
			return true
		}
		st, err := actors.WorkerStatusOf(a.System(), pid, time.Second)
		return err == nil && st.Draining
	}, "w1 is draining")
	a.System().Root.Send(pid, term.Atom("incr")) // after the drain began: dropped
	gs.open()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(ackedWait):
		t.Fatal("Shutdown did not return")
	}
	waitTakeover(t, s, "w1", a.Name())
	require.Equal(t, int64(10), tallyOf(t, tallyState(t, s, "w1", "")), "w1 should run from its last step")
	tos, err := s.Takeovers()
	require.NoError(t, err)
	require.Len(t, tos, 1)
	require.Equal(t, last.Seq, tos[0].Seq, "the taker starts from the drained sequence")
}

func TestShutdownWithoutDrainLosesUnackedSteps(t *testing.T) {
	a, s, gs, _ := lagged(t, func(cfg *Config) { cfg.DrainTimeout = 0 })
	require.NoError(t, a.Shutdown())
	waitTakeover(t, s, "w1", a.Name())
	gs.open()
	require.Equal(t, int64(3), tallyOf(t, tallyState(t, s, "w1", "")), "w1 should run from its last acknowledged state")
}

// A drain that cannot complete (the replica holds every Put) ends at
// DrainTimeout, logs the worker, and the shutdown goes on.
func TestShutdownDrainTimesOut(t *testing.T) {
	logs := &syncBuffer{}
	a, s, gs, _ := lagged(t, func(cfg *Config) {
		cfg.DrainTimeout = 200 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	require.NoError(t, a.Shutdown())
	require.Contains(t, logs.String(), "worker not drained in time")
	require.Contains(t, logs.String(), "worker=w1")
	waitTakeover(t, s, "w1", a.Name())
	gs.open()
	require.Equal(t, int64(3), tallyOf(t, tallyState(t, s, "w1", "")))
	require.NoError(t, a.Shutdown(), "Shutdown stays idempotent")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
