package actors_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
)

// These tests run the replication path across protoactor remote between
// two real nodes on loopback: the worker on the active node n1, the
// replica_handler on the spare n2. The only way a chunk reaches the handler
// is the network: the handler lives in n2's actor system, the worker and
// its link in n1's, and the backup PID handed to the worker is built from
// n2's remote address (never a PID that n2's system has resolved).

// remoteWait bounds every wait of these tests. It is generous (two cores,
// -race, other jobs), not an expected duration.
const remoteWait = 90 * time.Second

// pair is an active node with workers and a spare node with a
// replica_handler.
type pair struct {
	cluster *nodetest.Cluster
	a, b    *node.Node
	handler *actor.PID // the handler, as n2 knows it (for queries on n2)
	backup  *actor.PID // the handler as the workers on n1 address it
}

func silent() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startPair starts n1 (active) and n2 (spare), joined, and spawns the
// replica_handler on n2.
func startPair(t *testing.T) *pair {
	t.Helper()
	c := nodetest.Start(t, 2)
	p := &pair{cluster: c, a: c.Nodes[0], b: c.Nodes[1]}
	require.Equal(t, node.RoleSpare, p.b.Role())
	// A spare node runs its own replica_handler (node's N+1 wiring); the
	// workers here are started by hand, so only that handler is used.
	p.handler = p.b.Whereis("replica_handler")
	require.NotNil(t, p.handler, "a spare node starts replica_handler")
	p.backup = actor.NewPID(p.b.RemoteAddr(), "replica_handler")
	require.NotEqual(t, p.a.RemoteAddr(), p.b.RemoteAddr())
	return p
}

// remoteStepper is a worker Behaviour running the reference workload:
// "step" applies one seeded step, "state" answers the state itself.
type remoteStepper struct {
	variant workload.Variant
	id      int
	stepper *workload.Stepper
}

func newRemoteStepper(v workload.Variant, id int) *remoteStepper {
	return &remoteStepper{variant: v, id: id, stepper: workload.NewStepper(v, uint64(id)+1)}
}

func (s *remoteStepper) Init(*actors.WorkerContext) (any, error) {
	return workload.State(s.variant, s.id), nil
}

func (s *remoteStepper) Handle(ctx *actors.WorkerContext, state, msg any) (any, any, error) {
	switch msg {
	case "step":
		next := s.stepper.Step(state.(*term.Tuple), workload.InitialTimestampMs+int64(ctx.Seq()))
		return next, nil, nil
	case "state":
		return state, state, nil
	}
	return state, nil, fmt.Errorf("remoteStepper: unexpected message %v", msg)
}

type remoteWorker struct {
	id    string
	pid   *actor.PID
	stats *actors.WorkerStats
}

// startWorker spawns a worker on n1 replicating to the handler on n2.
func (p *pair) startWorker(t *testing.T, id string, b actors.Behaviour, rc actors.ReplicationConfig) remoteWorker {
	t.Helper()
	props, stats, err := actors.WorkerProps(actors.WorkerSpec{
		ID: id, Owner: p.a.Name(), Behaviour: b, Backup: p.backup, Replication: rc, Logger: silent(),
	})
	require.NoError(t, err)
	pid, err := p.a.Spawn(id, props)
	require.NoError(t, err)
	return remoteWorker{id: id, pid: pid, stats: stats}
}

// steps sends n "step" messages to the worker.
func (p *pair) steps(w remoteWorker, n int) {
	for range n {
		p.a.System().Root.Send(w.pid, "step")
	}
}

// replica asks n2's handler for the replica of worker.
func (p *pair) replica(t *testing.T, worker string) (actors.Replica, bool) {
	t.Helper()
	res, err := p.b.System().Root.RequestFuture(p.handler, &actors.GetReplica{Worker: worker}, remoteWait).Result()
	require.NoError(t, err)
	r, ok := res.(*actors.ReplicaResult)
	require.Truef(t, ok, "answer %T", res)
	return r.Replica, r.Found
}

// state asks the worker on n1 for its state.
func (p *pair) state(t *testing.T, w remoteWorker) term.Term {
	t.Helper()
	res, err := p.a.System().Root.RequestFuture(w.pid, "state", remoteWait).Result()
	require.NoError(t, err)
	st, ok := res.(term.Term)
	require.Truef(t, ok, "answer %T", res)
	return st
}

// waitAcked waits until the worker has replicated seq states and the
// replica acknowledged all of them.
func waitAcked(t *testing.T, w remoteWorker, seq uint64) actors.WorkerStatus {
	t.Helper()
	var st actors.WorkerStatus
	nodetest.WaitFor(t, remoteWait, func() bool {
		st = w.stats.Snapshot()
		return st.Seq >= seq && st.AckedSeq == st.Seq
	}, "%s to have seq %d acknowledged (last: %+v)", w.id, seq, &st)
	return st
}

// converged checks that n2's replica of w is the worker's state on n1, by
// content hash and by term equality, and returns it.
func (p *pair) converged(t *testing.T, w remoteWorker) actors.Replica {
	t.Helper()
	want := p.state(t, w)
	var r actors.Replica
	nodetest.WaitFor(t, remoteWait, func() bool {
		var ok bool
		r, ok = p.replica(t, w.id)
		return ok && term.Hash(r.State) == term.Hash(want)
	}, "the replica of %s on n2 to equal its state on n1", w.id)
	require.True(t, term.Equal(want, r.State))
	require.Equal(t, p.a.Name(), r.Owner)
	return r
}

func TestRemoteKeyframeThenDeltas(t *testing.T) {
	p := startPair(t)
	const workers, steps = 4, 40
	ws := make([]remoteWorker, workers)
	for i := range ws {
		ws[i] = p.startWorker(t, fmt.Sprintf("w%d", i), newRemoteStepper(workload.Small, i), actors.DefaultReplicationConfig())
	}
	for _, w := range ws {
		waitAcked(t, w, 1) // the first state, a keyframe
		r := p.converged(t, w)
		require.Equal(t, uint64(1), r.Seq)
		require.Equal(t, uint64(1), r.Keyframes)
		require.Zero(t, r.Deltas)
	}
	for _, w := range ws {
		p.steps(w, steps)
	}
	for _, w := range ws {
		st := waitAcked(t, w, 1+steps)
		r := p.converged(t, w)
		require.Equal(t, uint64(1), r.Epoch)
		require.Equal(t, uint64(steps+1), st.Seq)
		require.Equal(t, st.Keyframes+st.Deltas, r.Keyframes+r.Deltas, "every frame sent was applied on n2")
		require.Equal(t, st.BytesSent, r.Bytes, "the frame bytes n1 sent are the bytes n2 applied")
		require.Greater(t, r.Deltas, uint64(0), "later states travel as deltas")
		require.Less(t, st.Keyframes, st.Deltas)
		require.Less(t, st.BytesSent, st.FullStateBytes/2, "deltas cost far less than whole states")
		require.Zero(t, st.NeedKeyframes)
		require.Zero(t, st.AckTimeouts)
	}
	var frames uint64
	for _, w := range ws {
		frames += w.stats.Snapshot().Frames
	}
	ls, err := actors.LinkStatus(p.a.System(), p.backup, remoteWait)
	require.NoError(t, err)
	require.Equal(t, workers, ls.Streams, "one link carries every worker's stream to n2")
	require.Equal(t, frames, ls.ChunksSent, "a small state's frames fit in one chunk each")
}

// TestRemoteBigKeyframes sends the reference state (about 4 MB, 61 chunks)
// and the large one (about 40 MB, 600+ chunks), both above gRPC's 4 MB
// message limit, and checks n2 reassembles them into the very state.
func TestRemoteBigKeyframes(t *testing.T) {
	for _, v := range []workload.Variant{workload.Reference, workload.Large} {
		t.Run(v.String(), func(t *testing.T) {
			p := startPair(t)
			rc := actors.DefaultReplicationConfig()
			w := p.startWorker(t, "big", newRemoteStepper(v, 42), rc)
			st := waitAcked(t, w, 1)
			r := p.converged(t, w)
			require.Equal(t, uint64(1), r.Keyframes)
			etf, err := term.Encode(r.State)
			require.NoError(t, err)
			require.Greater(t, st.BytesSent, uint64(len(etf)), "the keyframe is the whole state in ETF, in an envelope")
			require.Less(t, st.BytesSent, uint64(len(etf))+1024)
			ls, err := actors.LinkStatus(p.a.System(), p.backup, remoteWait)
			require.NoError(t, err)
			chunk := uint64(rc.ChunkSize)
			require.Equal(t, (st.BytesSent+chunk-1)/chunk, ls.ChunksSent, "the keyframe went in 64 KiB chunks")

			// Then a delta on top of the big keyframe.
			p.steps(w, 1)
			st = waitAcked(t, w, 2)
			r = p.converged(t, w)
			require.Equal(t, uint64(1), r.Deltas)
			require.Equal(t, uint64(1), st.Deltas)
		})
	}
}

// TestRemotePartitionResync cuts the network between the nodes while the
// worker steps: its frames get no ack (protoactor's remote buffers or
// loses them while it tries to reconnect), so after AckTimeout the worker
// gives them up and asks the replica what it holds, again each AckTimeout
// while the cut lasts. After the cut heals the answer crosses the wire: the
// replica holds the last acknowledged state, and one delta from it brings
// it up to date, no keyframe.
func TestRemotePartitionResync(t *testing.T) {
	p := startPair(t)
	rc := actors.DefaultReplicationConfig()
	// Short, so that the frames stuck in the cut are given up quickly;
	// long enough for a small state's keyframe under -race.
	rc.AckTimeout = 500 * time.Millisecond
	w := p.startWorker(t, "cut", newRemoteStepper(workload.Small, 3), rc)
	p.steps(w, 5)
	waitAcked(t, w, 6)
	before, _ := p.replica(t, w.id)
	require.Equal(t, uint64(1), before.Keyframes)

	p.cluster.Partition(p.a, p.b)
	p.steps(w, 20)
	nodetest.WaitFor(t, remoteWait, func() bool {
		st := w.stats.Snapshot()
		return st.Seq == 26 && st.AckTimeouts > 0
	}, "the worker to give up the frames stuck in the cut")
	mid, _ := p.replica(t, w.id)
	require.Equal(t, before.Seq, mid.Seq, "nothing crossed the cut")
	p.cluster.Heal()

	p.steps(w, 10)
	st := waitAcked(t, w, 36)
	r := p.converged(t, w)
	// The replica still held state 6, which the worker kept as its last
	// acknowledged one: the resync after the cut sent one delta from it.
	require.Equal(t, before.Keyframes, r.Keyframes, "no keyframe: the replica was repaired by a delta")
	require.Equal(t, uint64(1), st.Keyframes)
	require.GreaterOrEqual(t, st.ResyncCovered, uint64(1))
	require.Zero(t, st.ResyncKeyframes)

	// And the stream goes on with deltas from there.
	p.steps(w, 5)
	waitAcked(t, w, 41)
	after := p.converged(t, w)
	require.Greater(t, after.Deltas, r.Deltas)
}

// TestRemoteGapKeyframe makes the replica lose its base: n2 drops the
// worker's replica (and its stream decoder), so the next delta from n1
// applies to nothing. n2 answers NeedKeyframe across the wire, n1's worker
// sends a keyframe, and the replica is whole again.
func TestRemoteGapKeyframe(t *testing.T) {
	p := startPair(t)
	w := p.startWorker(t, "gap", newRemoteStepper(workload.Small, 4), actors.DefaultReplicationConfig())
	p.steps(w, 5)
	waitAcked(t, w, 6)
	p.converged(t, w)

	res, err := p.b.System().Root.RequestFuture(p.handler, &actors.DropReplica{Worker: w.id}, remoteWait).Result()
	require.NoError(t, err)
	require.True(t, res.(*actors.ReplicaResult).Found)

	p.steps(w, 1)
	nodetest.WaitFor(t, remoteWait, func() bool { return w.stats.Snapshot().NeedKeyframes > 0 },
		"n2 to ask n1 for a keyframe")
	st := waitAcked(t, w, 7)
	require.Equal(t, uint64(2), st.Keyframes, "the first state and the repair")
	r := p.converged(t, w)
	require.Equal(t, uint64(1), r.Keyframes, "the new replica starts from the keyframe")
	require.Zero(t, r.Deltas)

	p.steps(w, 3)
	waitAcked(t, w, 10)
	r = p.converged(t, w)
	require.Equal(t, uint64(3), r.Deltas)
}

// TestRemoteFullStateMode runs replication with Delta off: every state
// crosses the wire whole, and the replica still follows the worker.
func TestRemoteFullStateMode(t *testing.T) {
	p := startPair(t)
	rc := actors.DefaultReplicationConfig()
	rc.Delta = false
	w := p.startWorker(t, "full", newRemoteStepper(workload.Small, 5), rc)
	p.steps(w, 15)
	st := waitAcked(t, w, 16)
	r := p.converged(t, w)
	require.Zero(t, r.Deltas)
	require.Zero(t, st.Deltas)
	require.Equal(t, st.Frames, st.Keyframes)
	require.Equal(t, st.Frames, r.Keyframes)
	require.Equal(t, st.BytesSent, r.Bytes)
	// Whole states each time: every frame is about a keyframe's size.
	require.Greater(t, st.BytesSent/st.Frames, uint64(30_000))
}
