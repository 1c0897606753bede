package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// These tests pin "no acknowledged state is lost" on takeover: each builds
// one window in which a replica could acknowledge a state that the
// taken-over worker does not start from, deterministically (no timing).

const ackedWait = 20 * time.Second

// tally is the test worker: its state is {tally, N}; "incr" adds one.
type tally struct{}

func (tally) Init(*actors.WorkerContext) (any, error) {
	return term.NewTuple(term.Atom("tally"), term.Int(0)), nil
}

func (tally) Handle(_ *actors.WorkerContext, state any, msg any) (any, any, error) {
	st := state.(*term.Tuple)
	switch msg {
	case term.Atom("incr"):
		return st.Set(1, st.At(1).(term.Int)+1), nil, nil
	case term.Atom("get"):
		return st, st, nil
	}
	return st, nil, nil
}

func tallyOf(t *testing.T, st term.Term) int64 {
	t.Helper()
	tup, ok := st.(*term.Tuple)
	require.True(t, ok, "state %v", st)
	return int64(tup.At(1).(term.Int))
}

// startN starts a node of the test cluster (seeded by seed when not nil).
func startN(t *testing.T, name string, role Role, seed *Node, edit func(*Config)) *Node {
	t.Helper()
	cfg := LocalConfig(name)
	cfg.Role = role
	cfg.Workers = func(string) (actors.Behaviour, error) { return tally{}, nil }
	if seed != nil {
		cfg.Seeds = []string{seed.GossipAddr()}
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

func eventually(t *testing.T, cond func() bool, what string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, ackedWait, 5*time.Millisecond, append([]any{what}, args...)...)
}

func waitMembers(t *testing.T, n *Node, count int) {
	t.Helper()
	eventually(t, func() bool { return len(n.Members()) == count }, "%s sees %d members", n.Name(), count)
}

func workerInfo(t *testing.T, n *Node, id string) (WorkerInfo, bool) {
	t.Helper()
	ws, err := n.Workers()
	require.NoError(t, err)
	for _, w := range ws {
		if w.ID == id {
			return w, true
		}
	}
	return WorkerInfo{}, false
}

func tallyState(t *testing.T, from *Node, id, at string) term.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ackedWait)
	defer cancel()
	res, err := from.Call(ctx, ProcessID{Name: id, Node: at}, term.Atom("get"))
	require.NoError(t, err)
	return res.(term.Term)
}

// incrAcked sends times increments to id on n and waits until its newest
// state is acknowledged; it returns that state's Seq.
func incrAcked(t *testing.T, n *Node, id string, times int) uint64 {
	t.Helper()
	for range times {
		require.NoError(t, n.Send(ProcessID{Name: id}, term.Atom("incr")))
	}
	var w WorkerInfo
	eventually(t, func() bool {
		var ok bool
		w, ok = workerInfo(t, n, id)
		return ok && w.Status.Steps >= uint64(times) && w.Status.Seq > 0 && w.Status.AckedSeq == w.Status.Seq
	}, "%s on %s acknowledged", id, n.Name())
	return w.Status.Seq
}

func waitBackupOf(t *testing.T, n *Node) string {
	t.Helper()
	var b string
	eventually(t, func() bool {
		var ok bool
		var err error
		b, ok, err = n.Backup()
		return err == nil && ok
	}, "%s has a backup", n.Name())
	return b
}

func waitTakeover(t *testing.T, n *Node, id, from string) WorkerInfo {
	t.Helper()
	var w WorkerInfo
	eventually(t, func() bool {
		var ok bool
		w, ok = workerInfo(t, n, id)
		return ok && w.TakenFrom == from
	}, "%s takes %s over from %s", n.Name(), id, from)
	return w
}

// gatedStore holds the handler's Puts of one worker while closed, and
// records every state it stored (so acknowledged) for that worker.
type gatedStore struct {
	actors.Store
	worker  string
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting chan struct{} // a Put is held
	stored  []actors.Replica
}

func (g *gatedStore) close() {
	g.mu.Lock()
	g.gate, g.waiting = make(chan struct{}), make(chan struct{}, 1)
	g.mu.Unlock()
}

func (g *gatedStore) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

func (g *gatedStore) Put(r actors.Replica) error {
	g.mu.Lock()
	gate, waiting := g.gate, g.waiting
	g.mu.Unlock()
	if r.Worker == g.worker && gate != nil {
		select {
		case waiting <- struct{}{}:
		default:
		}
		<-gate
	}
	err := g.Store.Put(r)
	if err == nil && r.Worker == g.worker {
		g.mu.Lock()
		g.stored = append(g.stored, r)
		g.mu.Unlock()
	}
	return err
}

// startGated starts an active node a (edited by edit) and a spare s, a's
// backup, whose replica store is gated for w1, and w1 on a with 3 states
// acknowledged.
func startGated(t *testing.T, edit func(*Config)) (a, s *Node, gs *gatedStore) {
	t.Helper()
	a = startN(t, "a@127.0.0.1", RoleActive, nil, edit)
	s = startN(t, "s@127.0.0.1", RoleSpare, a, func(cfg *Config) {
		cfg.replicaStore = func(st actors.Store) actors.Store {
			gs = &gatedStore{Store: st, worker: "w1"}
			return gs
		}
	})
	waitMembers(t, a, 2)
	require.Equal(t, s.Name(), waitBackupOf(t, a))
	_, err := a.StartWorker("w1")
	require.NoError(t, err)
	incrAcked(t, a, "w1", 3)
	return a, s, gs
}

func (g *gatedStore) storedStates() []actors.Replica {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]actors.Replica(nil), g.stored...)
}

// A frame the backup has decoded but not stored when the takeover reads
// its replicas (queued in the handler, or being applied) must not be
// acknowledged after the read: the taken-over worker would start behind
// it. (The chaos soak's pause faults: the paused owner received that ack
// when it resumed.)
func TestTakeoverSealsFramesInFlight(t *testing.T) {
	a, s, gs := startGated(t, nil)

	// The next state reaches the handler and is held before its store.
	gs.close()
	require.NoError(t, a.Send(ProcessID{Name: "w1"}, term.Atom("incr")))
	select {
	case <-gs.waiting:
	case <-time.After(ackedWait):
		t.Fatal("the fourth state never reached the replica handler")
	}
	require.NoError(t, a.Halt())
	w := waitTakeover(t, s, "w1", a.Name())
	gs.open() // the held state is stored now, or refused

	got := tallyOf(t, tallyState(t, s, "w1", ""))
	for _, r := range gs.storedStates() {
		if r.Owner == a.Name() && r.Epoch < w.Epoch {
			require.GreaterOrEqual(t, got, tallyOf(t, r.State),
				"the replica acknowledged %v (epoch %d seq %d) but w1 runs from %d", r.State, r.Epoch, r.Seq, got)
		}
	}
	require.Equal(t, int64(3), got)
}

// A copy of a taken-over worker that still runs (its node was paused or
// partitioned, and comes back before the fence) must not be acknowledged by
// the node that took the worker over: its replica handler forgot the old
// stream when the worker became its own. (The CI failure of
// TestFencingAfterPartitionAndRotation: the taker acked the old copy's
// newer states, then ran from the older replica.)
func TestTakerRefusesTheStaleCopy(t *testing.T) {
	a := startN(t, "a@127.0.0.1", RoleActive, nil, nil)
	s := startN(t, "s@127.0.0.1", RoleSpare, a, nil)
	x := startN(t, "x@127.0.0.1", RoleActive, a, nil)
	waitMembers(t, a, 3)
	waitMembers(t, x, 3)
	require.Equal(t, s.Name(), waitBackupOf(t, a))
	_, err := a.StartWorker("w1")
	require.NoError(t, err)
	incrAcked(t, a, "w1", 3)
	require.NoError(t, a.Halt())
	w := waitTakeover(t, s, "w1", a.Name())
	eventually(t, func() bool { _, ok, _ := s.Replica("w1"); return !ok }, "the taken-over replica is dropped")

	// The stale copy: a's w1 at epoch 1, further on than the replica, that
	// replicates to s (run on x, since a is gone; the handler cannot tell).
	stale := term.NewTuple(term.Atom("tally"), term.Int(9))
	props, stats, err := actors.WorkerProps(actors.WorkerSpec{
		ID: "w1", Owner: a.Name(), Behaviour: tally{}, Epoch: w.Epoch - 1, Seq: 100, Replica: stale,
		Backup:      actor.NewPID(s.RemoteAddr(), replicaHandlerName),
		Replication: actors.DefaultReplicationConfig(),
	})
	require.NoError(t, err)
	_, err = x.Spawn("w1-stale", props)
	require.NoError(t, err)
	eventually(t, func() bool { return stats.Snapshot().Seq == 101 }, "the stale copy replicated its state")
	eventually(t, func() bool { return x.Whereis("w1-stale") == nil }, "the stale copy is fenced")
	require.Equal(t, uint64(100), stats.Snapshot().AckedSeq, "a state of the stale copy was acknowledged")
	require.Equal(t, int64(3), tallyOf(t, tallyState(t, x, "w1", s.Name())))
}

// The backup a worker replicates to may hold less than an earlier backup
// acknowledged (the backup moved, and the keyframe to the new one had not
// landed when the owner died). The takeover starts from the newest replica
// any live node holds, and seals it there.
func TestTakeoverStartsFromTheNewestReplica(t *testing.T) {
	a := startN(t, "a@127.0.0.1", RoleActive, nil, nil)
	s1 := startN(t, "s1@127.0.0.1", RoleSpare, a, nil)
	s2 := startN(t, "s2@127.0.0.1", RoleSpare, a, nil)
	for _, n := range []*Node{a, s1, s2} {
		waitMembers(t, n, 3)
	}
	backup := waitBackupOf(t, a)
	taker, other := s1, s2
	if backup == s2.Name() {
		taker, other = s2, s1
	}
	_, err := a.StartWorker("w1")
	require.NoError(t, err)
	incrAcked(t, a, "w1", 3)
	r, ok, err := taker.Replica("w1")
	require.NoError(t, err)
	require.True(t, ok)

	// other was w1's backup before and acknowledged more than taker holds.
	ot := other.repl.table.Load()
	require.NotNil(t, ot)
	newest := term.NewTuple(term.Atom("tally"), term.Int(7))
	require.NoError(t, ot.Put(actors.Replica{Worker: "w1", Owner: a.Name(), Epoch: r.Epoch, Seq: r.Seq + 4, State: newest}))

	// The connection between the spares is set up now, not by the
	// takeover's seals, which give a peer peerReplicaTimeout (on a loaded
	// machine, a first TLS connection under -race can take longer).
	ctx, cancel := context.WithTimeout(context.Background(), ackedWait)
	defer cancel()
	_, err = taker.Call(ctx, ProcessID{Name: ReplicaServiceName, Node: other.Name()},
		term.NewTuple(atomGetReplica, term.BinaryString("none")))
	require.NoError(t, err)

	require.NoError(t, a.Halt())
	w := waitTakeover(t, taker, "w1", a.Name())
	require.Equal(t, r.Epoch+1, w.Epoch)
	require.Equal(t, int64(7), tallyOf(t, tallyState(t, taker, "w1", "")))
	tos, err := taker.Takeovers()
	require.NoError(t, err)
	require.Len(t, tos, 1)
	require.Equal(t, r.Seq+4, tos[0].Seq)
	// The other replica is sealed: the dead owner's epoch is refused there.
	err = ot.Put(actors.Replica{Worker: "w1", Owner: a.Name(), Epoch: r.Epoch, Seq: r.Seq + 5, State: newest})
	var sealed *actors.SealedError
	require.True(t, errors.As(err, &sealed), "want a SealedError, got %v", err)
	// Exactly one taker: other, also a spare, took nothing over.
	ws, err := other.Workers()
	require.NoError(t, err)
	require.Empty(t, ws)
}

// Takeovers keeps the most recent records; TakeoverCount counts them all.
func TestTakeoverRecordsAreBounded(t *testing.T) {
	c := newController(&Node{log: slog.Default()})
	var first *Takeover
	for i := range maxTakeoverRecords + 10 {
		t := c.recordTakeover(Takeover{Worker: "w", Epoch: uint64(i + 1)})
		if i == 0 {
			first = t
		}
	}
	recs := c.takeoverRecords()
	require.Len(t, recs, maxTakeoverRecords)
	require.Equal(t, uint64(11), recs[0].Epoch)
	require.Equal(t, uint64(maxTakeoverRecords+10), recs[len(recs)-1].Epoch)
	require.Equal(t, uint64(maxTakeoverRecords+10), c.takeoverCount)
	first.Fenced = time.Now() // a pending fence still updates its record
}
