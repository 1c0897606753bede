package demo

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

func TestParseKeyframe(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want delta.KeyframePolicy
		ok   bool
	}{
		{"adaptive", delta.DefaultAdaptive(), true},
		{"every:10", delta.Every(10), true},
		{"every:1", delta.Every(1), true},
		{"every:0", nil, false},
		{"every:", nil, false},
		{"every:x", nil, false},
		{"sometimes", nil, false},
		{"", nil, false},
	} {
		p, err := ParseKeyframe(tc.in)
		if !tc.ok {
			require.ErrorIs(t, err, ErrOptions, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, p, tc.in)
	}
}

func TestParseRole(t *testing.T) {
	r, err := ParseRole("active")
	require.NoError(t, err)
	require.Equal(t, node.RoleActive, r)
	r, err = ParseRole("spare")
	require.NoError(t, err)
	require.Equal(t, node.RoleSpare, r)
	_, err = ParseRole("observer")
	require.ErrorIs(t, err, ErrOptions)
}

func TestCheckState(t *testing.T) {
	good := workload.State(workload.Small, 1)
	require.NoError(t, CheckState(good))
	for name, bad := range map[string]term.Term{
		"atom":     term.Atom("x"),
		"nil":      nil,
		"short":    term.NewTuple(term.Atom("worker_state")),
		"tag":      good.Set(0, term.Atom("other")),
		"version":  good.Set(workload.FieldVersion, term.Atom("v")),
		"sessions": good.Set(workload.FieldSessions, term.Int(1)),
		"counters": good.Set(workload.FieldCounters, term.Int(1)),
		"blob":     good.Set(workload.FieldBlob, term.Int(1)),
	} {
		require.ErrorIs(t, CheckState(bad), ErrNotWorkload, name)
	}
}

func TestWorkerStepRejectsCorruptInnerState(t *testing.T) {
	w := NewWorker("a-w01", workload.Small, 1)
	w.stepper = workload.NewStepper(workload.Small, 1)
	// Right outer shape, sessions that are not session tuples.
	bad := workload.State(workload.Small, 1).Set(workload.FieldSessions, term.NewList(term.Int(1), term.Int(2)))
	require.NoError(t, CheckState(bad))
	_, err := w.step(bad)
	require.ErrorIs(t, err, ErrNotWorkload)
}

func TestWorkerID(t *testing.T) {
	require.Equal(t, "active1-w03", WorkerID("active1@127.0.0.1", 3))
	require.Equal(t, "x-w12", WorkerID("x", 12))
}

// TestSettleAndStatus runs an active node and a spare in one process, lets
// the workers step, settles them (with the LAN failure detection, so that a
// starved test machine cannot make the spare take over) and checks that every worker's state hash
// equals its replica's, and that the status service answers over the wire.
func TestSettleAndStatus(t *testing.T) {
	spare, err := Start(Options{Name: "spare1@127.0.0.1", Role: node.RoleSpare, LAN: true, Variant: workload.Small, Step: 10 * time.Millisecond})
	require.NoError(t, err)
	defer spare.Close()
	active, err := Start(Options{
		Name: "active1@127.0.0.1", Role: node.RoleActive, LAN: true, Seeds: []string{spare.Node().GossipAddr()},
		Workers: 2, Variant: workload.Small, Step: 10 * time.Millisecond, Seed: 7,
	})
	require.NoError(t, err)
	defer active.Close()

	// Wait for some acknowledged steps.
	var last []WorkerStatus
	require.Eventually(t, func() bool {
		st, err := active.Status()
		if err != nil {
			return false
		}
		last = st.Workers
		done := len(st.Workers) == 2
		for _, w := range st.Workers {
			done = done && w.Acked >= 5
		}
		return done
	}, 20*time.Second, 10*time.Millisecond, "workers did not replicate: %+v", last)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	as, err := active.Settle(ctx)
	require.NoError(t, err)
	ss, err := spare.Settle(ctx)
	require.NoError(t, err)
	require.Equal(t, "spare1@127.0.0.1", as.Backup)
	require.Len(t, as.Workers, 2, "%+v\n%+v", as, ss)
	require.Empty(t, ss.Takeovers, "a false failure detection")
	replicas := map[string]ReplicaStatus{}
	for _, r := range ss.Replicas {
		replicas[r.Worker] = r
	}
	for _, w := range as.Workers {
		r, ok := replicas[w.ID]
		require.True(t, ok, w.ID)
		require.NotZero(t, w.Hash)
		require.Equal(t, w.Hash, r.Hash, w.ID)
		require.Equal(t, w.Version, r.Version, w.ID)
		require.Equal(t, int64(w.Seq), w.Version, "a fresh worker's Seq is its state's Version")
		require.Equal(t, "active1@127.0.0.1", r.Owner)
	}

	// The status service answers from the other node, as a record.
	remote, err := QueryStatus(ctx, spare.Node(), "active1@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "active1@127.0.0.1", remote.Node)
	require.Equal(t, "active", remote.Role)
	require.Len(t, remote.Workers, 2)
	require.Len(t, remote.Members, 2)
	// What the process costs travels with it: the goroutines always, the
	// resident memory and threads where /proc says them.
	require.Greater(t, remote.Process.Goroutines, 10, "a node runs memberlist, remote and actor goroutines")
	if runtime.GOOS == "linux" {
		require.Greater(t, remote.Process.RSSBytes, uint64(1<<20))
		require.Greater(t, remote.Process.Threads, 0)
	}

	_, err = QueryStatus(ctx, spare.Node(), "nobody@127.0.0.1")
	require.ErrorIs(t, err, ErrStatus)
}
