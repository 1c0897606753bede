package node_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
)

// counter is the test worker: its state is {counter, Id, N, Pad}, where
// Pad is a few KiB that never change (so deltas are much smaller than
// keyframes). "incr" adds one to N; "get" replies with the whole state.
type counter struct{}

var errBoom = errors.New("boom")

func (counter) Init(ctx *actors.WorkerContext) (any, error) {
	pad := make([]byte, 4096)
	for i := range pad {
		pad[i] = byte(i)
	}
	return term.NewTuple(term.Atom("counter"), term.BinaryString(ctx.ID()), term.Int(0), term.NewBinary(pad)), nil
}

func (counter) Handle(_ *actors.WorkerContext, state any, msg any) (any, any, error) {
	st := state.(*term.Tuple)
	switch msg {
	case term.Atom("incr"):
		n := st.At(2).(term.Int)
		return st.Set(2, n+1), nil, nil
	case term.Atom("get"):
		return st, st, nil
	case term.Atom("crash"):
		return nil, nil, errBoom
	}
	return st, nil, nil
}

// counterFactory builds counters for ids starting with "w".
func counterFactory(id string) (actors.Behaviour, error) {
	if id == "" || id[0] != 'w' {
		return nil, fmt.Errorf("no worker kind for %q", id)
	}
	return counter{}, nil
}

// withWorkers gives a node the counter factory, and with ENODE_TEST_LOG
// set, a logger on stderr (to follow takeovers and fences).
func withWorkers(cfg *node.Config) {
	cfg.Workers = counterFactory
	if os.Getenv("ENODE_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
}

// counterOf returns N of a counter's state.
func counterOf(t *testing.T, st term.Term) int64 {
	t.Helper()
	tup, ok := st.(*term.Tuple)
	require.True(t, ok, "state %v", st)
	return int64(tup.At(2).(term.Int))
}

// getState asks worker id on node at (as seen from n) for its state.
func getState(t *testing.T, n *node.Node, id, at string) term.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.DefaultTimeout)
	defer cancel()
	res, err := n.Call(ctx, node.ProcessID{Name: id, Node: at}, term.Atom("get"))
	require.NoError(t, err)
	return res.(term.Term)
}

func incr(t testing.TB, n *node.Node, id string, times int) {
	t.Helper()
	for range times {
		require.NoError(t, n.Send(node.ProcessID{Name: id}, term.Atom("incr")))
	}
}

// worker returns the WorkerInfo of id on n.
func worker(t testing.TB, n *node.Node, id string) (node.WorkerInfo, bool) {
	t.Helper()
	ws, err := n.Workers()
	require.NoError(t, err)
	for _, w := range ws {
		if w.ID == id {
			return w, true
		}
	}
	return node.WorkerInfo{}, false
}

// waitAcked waits until worker id on n has had every state acknowledged,
// at least up to seq, and returns its info.
func waitAcked(t testing.TB, n *node.Node, id string, seq uint64) node.WorkerInfo {
	t.Helper()
	var w node.WorkerInfo
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		var ok bool
		w, ok = worker(t, n, id)
		return ok && w.Status.Seq >= seq && w.Status.AckedSeq == w.Status.Seq
	}, "worker %s on %s acknowledged up to seq %d (last: %+v)", id, n.Name(), seq, w.Status)
	return w
}

// waitReplicaEqual waits until spare holds a replica of id equal (by
// term.Hash and term.Equal) to want.
func waitReplicaEqual(t *testing.T, spare *node.Node, id string, want term.Term) actors.Replica {
	t.Helper()
	var r actors.Replica
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		var ok bool
		var err error
		r, ok, err = spare.Replica(id)
		require.NoError(t, err)
		return ok && term.Hash(r.State) == term.Hash(want)
	}, "replica of %s on %s equal to the worker's state", id, spare.Name())
	require.True(t, term.Equal(r.State, want))
	return r
}

func waitBackup(t testing.TB, n *node.Node, want string) {
	t.Helper()
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		b, _, err := n.Backup()
		return err == nil && b == want
	}, "backup of %s is %q", n.Name(), want)
}

func TestWorkerReplicatesToSpare(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	active, spare := c.Nodes[0], c.Nodes[1]
	waitBackup(t, active, spare.Name())
	b, ok, err := spare.Backup()
	require.NoError(t, err)
	require.False(t, ok, "a spare has no backup, got %q", b)

	pid, err := active.StartWorker("w1")
	require.NoError(t, err)
	require.NotNil(t, pid)
	require.Equal(t, pid.Id, active.Whereis("w1").Id, "registered under its id")
	const steps = 30
	incr(t, active, "w1", steps)
	w := waitAcked(t, active, "w1", steps+1) // Init's state is seq 1
	require.Equal(t, uint64(1), w.Epoch)
	require.Empty(t, w.TakenFrom)
	require.Greater(t, w.Status.Deltas, uint64(0), "deltas after the first keyframe")
	require.Less(t, w.Status.BytesSent, w.Status.FullStateBytes, "deltas cost less than full states")

	st := getState(t, active, "w1", "")
	require.Equal(t, int64(steps), counterOf(t, st))
	r := waitReplicaEqual(t, spare, "w1", st)
	require.Equal(t, active.Name(), r.Owner)
	require.Equal(t, uint64(1), r.Epoch)
	// One sequence: the replica holds the worker's acknowledged state.
	require.Equal(t, w.Status.AckedSeq, r.Seq)

	// The same state, asked from the spare over the wire.
	require.True(t, term.Equal(st, getState(t, spare, "w1", active.Name())))
}

func TestStartWorkerErrors(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	active, spare := c.Nodes[0], c.Nodes[1]
	_, err := active.StartWorker("w1")
	require.NoError(t, err)
	for _, tc := range []struct {
		n    *node.Node
		id   string
		want error
	}{
		{active, "w1", node.ErrWorkerExists},
		{active, "x1", node.ErrWorkerFactory},
		{active, "", node.ErrBadName},
		{active, "w/1", node.ErrBadName},
		{active, "enode.w", node.ErrBadName},
		{spare, "w2", node.ErrNotActive},
	} {
		_, err := tc.n.StartWorker(tc.id)
		require.ErrorIs(t, err, tc.want, "StartWorker(%q) on %s", tc.id, tc.n.Name())
	}
	ws, err := active.Workers()
	require.NoError(t, err)
	require.Len(t, ws, 1)

	bare, err := node.Start(node.LocalConfig("bare@127.0.0.1"))
	require.NoError(t, err)
	_, err = bare.StartWorker("w1")
	require.ErrorIs(t, err, node.ErrNoWorkers)
	require.NoError(t, bare.Shutdown())
	_, err = bare.Workers()
	require.ErrorIs(t, err, node.ErrStopped)
}

func TestConfigReplicationValidation(t *testing.T) {
	cfg := node.LocalConfig("a@127.0.0.1")
	cfg.Replication.ChunkSize = cfg.MaxMessageSize
	require.NoError(t, cfg.Validate(), "without workers no chunk is sent")
	cfg.Workers = counterFactory
	require.ErrorIs(t, cfg.Validate(), node.ErrInvalidConfig)
	cfg = node.LocalConfig("a@127.0.0.1")
	cfg.Replication.Window = -1
	require.ErrorIs(t, cfg.Validate(), node.ErrInvalidConfig)
	cfg = node.LocalConfig("a@127.0.0.1")
	require.NoError(t, cfg.Validate())
}

func TestStopWorkerAndCrashRestart(t *testing.T) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(withWorkers))
	active := c.Nodes[0]
	_, err := active.StartWorker("w1")
	require.NoError(t, err)
	incr(t, active, "w1", 3)
	waitAcked(t, active, "w1", 4)
	// A crash restarts it under its supervisor: same name, Init again.
	require.NoError(t, active.Send(node.ProcessID{Name: "w1"}, term.Atom("crash")))
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err := active.Call(ctx, node.ProcessID{Name: "w1"}, term.Atom("get"))
		return err == nil && counterOf(t, res.(term.Term)) == 0
	}, "w1 restarted from Init")
	ok, err := active.StopWorker("w1")
	require.NoError(t, err)
	require.True(t, ok)
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		_, ok := worker(t, active, "w1")
		return !ok && active.Whereis("w1") == nil
	}, "w1 gone")
	ok, err = active.StopWorker("w1")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestBackupChanges(t *testing.T) {
	c := nodetest.Start(t, 1, nodetest.WithConfig(withWorkers))
	active := c.Nodes[0]
	_, err := active.StartWorker("w1")
	require.NoError(t, err)
	incr(t, active, "w1", 5)
	b, ok, err := active.Backup()
	require.NoError(t, err)
	require.False(t, ok, "no spare yet, got %q", b)

	// A spare appears: the worker replicates to it (a keyframe first).
	s1 := c.Add("s1@127.0.0.1", node.RoleSpare)
	c.WaitConverged()
	waitBackup(t, active, s1.Name())
	w := waitAcked(t, active, "w1", 6)
	waitReplicaEqual(t, s1, "w1", getState(t, active, "w1", ""))
	require.GreaterOrEqual(t, w.Status.Keyframes, uint64(1))

	// A second spare: the backup is whichever rendezvous hashing picks.
	s2 := c.Add("s2@127.0.0.1", node.RoleSpare)
	c.WaitConverged()
	want, _ := actors.RendezvousBackup(active.Name(), []string{s1.Name(), s2.Name()})
	waitBackup(t, active, want)
	incr(t, active, "w1", 2)
	chosen, other := c.Node(want), s1
	if chosen == s1 {
		other = s2
	}
	waitReplicaEqual(t, chosen, "w1", getState(t, active, "w1", ""))

	// The backup leaves: the worker re-targets to the other spare, and the
	// replica there catches up: by a keyframe when it has none, by a
	// resync of the one it kept when it was the backup before.
	before := waitAcked(t, active, "w1", 8).Status
	_, had, err := other.Replica("w1")
	require.NoError(t, err)
	require.NoError(t, chosen.Shutdown())
	waitBackup(t, active, other.Name())
	incr(t, active, "w1", 3)
	w = waitAcked(t, active, "w1", 11)
	if had {
		require.Equal(t, before.Keyframes, w.Status.Keyframes, "the old replica resynced, no keyframe")
		require.Greater(t, w.Status.ResyncMerkle, before.ResyncMerkle)
	} else {
		require.Greater(t, w.Status.Keyframes, before.Keyframes, "a keyframe to the new backup")
	}
	st := getState(t, active, "w1", "")
	require.Equal(t, int64(10), counterOf(t, st))
	waitReplicaEqual(t, other, "w1", st)
}
