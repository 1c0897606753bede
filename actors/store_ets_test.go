package actors

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func TestReplicaTableRoundTrip(t *testing.T) {
	tab, err := NewReplicaTable(nil, "")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 11))
	want := map[string]Replica{}
	for i := range 500 {
		r := Replica{
			Worker: string(rune('a'+rng.IntN(26))) + string(rune('a'+rng.IntN(26))), Owner: "n@h",
			Epoch: rng.Uint64(), Seq: rng.Uint64(), Keyframes: rng.Uint64(), Deltas: rng.Uint64N(1000), Bytes: rng.Uint64(),
			State: term.NewTuple(term.Int(i), term.BinaryString("s")),
		}
		if rng.IntN(3) > 0 {
			r.Updated = time.Unix(0, rng.Int64())
		}
		require.NoError(t, tab.Put(r))
		want[r.Worker] = r
		if rng.IntN(10) == 0 {
			require.True(t, tab.Delete(r.Worker))
			require.False(t, tab.Delete(r.Worker))
			delete(want, r.Worker)
		}
	}
	view := tab.View()
	n, err := view.Len()
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	for w, r := range want {
		got, ok := tab.Get(w)
		require.True(t, ok)
		require.True(t, got.Updated.Equal(r.Updated), "%v vs %v", got.Updated, r.Updated)
		got.Updated, r.Updated = time.Time{}, time.Time{}
		require.True(t, term.Equal(r.State, got.State))
		got.State, r.State = nil, nil
		require.Equal(t, r, got)
	}
	list, err := view.List(false)
	require.NoError(t, err)
	require.Len(t, list, len(want))
	for i, r := range list {
		require.Nil(t, r.State, "List(false) leaves states out")
		if i > 0 {
			require.Less(t, list[i-1].Worker, r.Worker, "sorted by worker")
		}
	}
	seen := 0
	tab.Range(func(Replica) bool { seen++; return seen < 3 })
	require.Equal(t, min(3, len(want)), seen, "Range stops when fn returns false")
	require.Error(t, tab.Put(Replica{}), "a replica needs a worker id")

	require.NoError(t, tab.Close())
	require.NoError(t, tab.Close(), "closing twice is harmless")
	_, _, err = view.Get("ab")
	require.ErrorIs(t, err, ets.ErrDeleted)
	_, err = view.List(true)
	require.ErrorIs(t, err, ets.ErrDeleted)
	require.Error(t, tab.Put(Replica{Worker: "x"}))
}

func TestReplicaRowMalformed(t *testing.T) {
	good := replicaRow(Replica{Worker: "w", Owner: "o", Epoch: 1, Seq: 2, State: term.Int(3)})
	for name, row := range map[string]*term.Tuple{
		"nil":        nil,
		"short":      term.NewTuple(tagReplica, term.BinaryString("w")),
		"wrong tag":  good.Set(0, term.Atom("other")),
		"bad worker": good.Set(1, term.Int(1)),
		"bad epoch":  good.Set(3, term.Int(-1)),
		"bad seq":    good.Set(4, term.Float(1)),
		"bad time":   good.Set(6, term.Atom("now")),
		"bad bytes":  good.Set(9, term.BinaryString("x")),
	} {
		_, err := rowReplica(row, true)
		require.ErrorIs(t, err, ErrReplicaRow, name)
	}
	r, err := rowReplica(good, true)
	require.NoError(t, err)
	require.Equal(t, term.Int(3), r.State)
	r, err = rowReplica(replicaRow(Replica{Worker: "w"}), true)
	require.NoError(t, err)
	require.Nil(t, r.State, "a missing state stays missing")
	require.True(t, r.Updated.IsZero())
}

func TestReceiverConfigTable(t *testing.T) {
	reg := ets.NewRegistry()
	cfg := quietReceiver()
	cfg.Registry = reg
	require.NoError(t, cfg.Validate())
	tab, ok := cfg.Store.(*ReplicaTable)
	require.True(t, ok, "the default store is a replica table")
	require.True(t, tab.byHandler)
	require.Equal(t, []term.Atom{DefaultReplicaTable}, reg.Names())
	_, err := OpenReplicaView(reg, "")
	require.NoError(t, err)

	again := quietReceiver()
	again.Registry = reg
	_, err = ReplicaHandlerProps(again)
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorIs(t, err, ets.ErrNameTaken)
	again.Table = "second"
	_, err = ReplicaHandlerProps(again)
	require.NoError(t, err)

	_, err = OpenReplicaView(nil, "")
	require.ErrorIs(t, err, ErrConfig)
	_, err = OpenReplicaView(reg, "missing")
	require.ErrorIs(t, err, ets.ErrNoTable)

	for name, a := range map[string]AdmissionConfig{
		"Admission.Capacity": {Capacity: -1},
		"Admission.Rate":     {Rate: -2},
		"Admission.TTL":      {Capacity: 100, Rate: 1, TTL: time.Second},
	} {
		bad := quietReceiver()
		bad.Admission = a
		err := bad.Validate()
		require.ErrorIs(t, err, ErrConfig, name)
		require.Contains(t, err.Error(), name)
	}
	off := quietReceiver()
	off.Admission = AdmissionConfig{Disabled: true, Capacity: -1}
	require.NoError(t, off.Validate(), "a disabled admission's fields are not looked at")
}

// TestReplicaViewDuringUpdates reads the handler's table from other
// goroutines while a worker replicates as fast as it can: every row read is
// whole (its counters agree with its sequence number, the state is the
// one of that sequence), and rows only move forward.
func TestReplicaViewDuringUpdates(t *testing.T) {
	sys := newSystem(t)
	reg := ets.NewRegistry()
	cfg := quietReceiver()
	cfg.Registry = reg
	h := spawnHandler(t, sys, cfg)
	view, err := OpenReplicaView(reg, "")
	require.NoError(t, err)
	rc := DefaultReplicationConfig()
	rc.Policy = delta.Every(1000)
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))

	var (
		stop  atomic.Bool
		reads atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []string
	)
	fail := func(s string) { mu.Lock(); fails = append(fails, s); mu.Unlock() }
	for range 2 {
		wg.Go(func() {
			var lastSeq, lastVersion int64
			for !stop.Load() {
				r, ok, err := view.Get("w1")
				if err != nil {
					fail(err.Error())
					return
				}
				if !ok {
					continue
				}
				reads.Add(1)
				st, _ := r.State.(*term.Tuple)
				if st == nil || st.Len() < 3 {
					fail("state is not a worker_state tuple")
					return
				}
				version := int64(st.At(2).(term.Int))
				switch {
				case r.Keyframes+r.Deltas > r.Seq:
					// Each applied frame advances the state sequence by
					// one or more (the worker merges states it could not
					// send yet).
					fail("more frames applied than states")
				case int64(r.Seq) < lastSeq || version < lastVersion:
					fail("a row went backwards")
				case r.Owner != "a@127.0.0.1" || r.Epoch != 1 || r.Bytes == 0 || r.Updated.IsZero():
					fail("row fields")
				}
				lastSeq, lastVersion = int64(r.Seq), version
			}
		})
	}
	stepN(t, sys, pid, 200)
	waitFor(t, "200 steps", func() bool { return stats.Snapshot().Steps == 200 })
	want := term.Hash(workerState(t, sys, pid))
	waitFor(t, "the view to show the worker's state", func() bool {
		r, ok, err := view.Get("w1")
		return err == nil && ok && term.Hash(r.State) == want
	})
	waitFor(t, "some reads", func() bool { return reads.Load() > 100 })
	stop.Store(true)
	wg.Wait()
	require.Empty(t, fails)

	byOwner, err := view.ByOwner("a@127.0.0.1")
	require.NoError(t, err)
	require.Len(t, byOwner, 1)
	require.Equal(t, want, term.Hash(byOwner[0].State))
	none, err := view.ByOwner("b@127.0.0.1")
	require.NoError(t, err)
	require.Empty(t, none)
	// The actor answers from the same table.
	r, ok := getReplica(t, sys, h, "w1")
	require.True(t, ok)
	require.Equal(t, want, term.Hash(r.State))
}

// TestReplicaHandlerRestartKeepsTable crashes the handler while it stores
// a state: the restarted handler finds every replica in the table, the
// worker's stream recovers with a keyframe, and the table goes only when
// the handler stops for good.
func TestReplicaHandlerRestartKeepsTable(t *testing.T) {
	sys := newSystem(t)
	reg := ets.NewRegistry()
	cfg := quietReceiver()
	cfg.Registry = reg
	var (
		armed   atomic.Bool
		crashes atomic.Int64
	)
	cfg.beforeStore = func(r Replica) {
		if r.Worker == "w1" && armed.CompareAndSwap(true, false) {
			crashes.Add(1)
			panic("replica_handler crash requested")
		}
	}
	h := spawnHandler(t, sys, cfg)
	view, err := OpenReplicaView(reg, "")
	require.NoError(t, err)
	rc := DefaultReplicationConfig()
	rc.Policy = delta.Every(1000)
	pids := map[string]*WorkerStats{}
	for _, id := range []string{"w1", "w2", "w3"} {
		pid, stats := startWorker(t, sys, spec(id, newStepper(workload.Small), h, rc))
		stepN(t, sys, pid, 3)
		converged(t, sys, h, pid, id)
		pids[id] = stats
	}
	before, err := view.List(false)
	require.NoError(t, err)
	require.Len(t, before, 3)

	w1 := actorPID(sys, "w1")
	armed.Store(true)
	stepN(t, sys, w1, 20)
	waitFor(t, "the crash", func() bool { return crashes.Load() == 1 })
	after, err := view.List(false)
	require.NoError(t, err)
	require.Len(t, after, 3, "the crash lost no replica")
	for i := range after {
		require.GreaterOrEqual(t, after[i].Seq, before[i].Seq)
	}
	// The restarted handler has fresh decoders: w1's next delta is a gap,
	// answered with NeedKeyframe, and a keyframe brings it up to date.
	stepN(t, sys, w1, 2)
	r := converged(t, sys, h, w1, "w1")
	require.GreaterOrEqual(t, r.Keyframes, uint64(2))
	require.GreaterOrEqual(t, pids["w1"].Snapshot().NeedKeyframes, uint64(1))
	for _, id := range []string{"w2", "w3"} {
		got, ok, err := view.Get(id)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, term.Hash(workerState(t, sys, actorPID(sys, id))), term.Hash(got.State))
	}

	require.NoError(t, sys.Root.StopFuture(h).Wait())
	waitFor(t, "the table to go with the handler", func() bool {
		_, err := OpenReplicaView(reg, "")
		return err != nil
	})
	_, _, err = view.Get("w1")
	require.ErrorIs(t, err, ets.ErrDeleted)
}

// actorPID is the PID of an actor spawned at the root under name.
func actorPID(sys *actor.ActorSystem, name string) *actor.PID {
	return actor.NewPID(sys.Address(), name)
}
