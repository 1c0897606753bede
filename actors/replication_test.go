package actors

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func quietReceiver() ReceiverConfig {
	c := DefaultReceiverConfig()
	c.Logger = quiet()
	return c
}

func stepN(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, n int) {
	t.Helper()
	for range n {
		sys.Root.Send(pid, "step")
	}
}

func TestKeyframeThenDeltas(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Policy = delta.Every(1000) // the adaptive policy would send keyframes: small-state deltas are large
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	for i := range 30 {
		// One step at a time, so that every step is a frame of its own.
		request[uint64](t, sys, pid, "step")
		waitFor(t, "the step's ack", func() bool { return stats.Snapshot().AckedSeq == uint64(i+2) })
	}
	r := converged(t, sys, h, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })

	s := stats.Snapshot()
	require.Equal(t, uint64(31), s.Steps, "30 steps and the state query")
	require.Equal(t, uint64(1), s.Keyframes, "only the first frame is a keyframe")
	require.Equal(t, s.Frames, s.Keyframes+s.Deltas)
	require.Equal(t, uint64(31), s.Seq, "Init's state and 30 steps")
	require.Equal(t, uint64(30), s.Deltas)
	require.Zero(t, s.Coalesced)
	require.Less(t, s.BytesSent, s.FullStateBytes/2, "deltas cost a fraction of full states")
	require.Equal(t, "a@127.0.0.1", r.Owner)
	require.Equal(t, uint64(1), r.Epoch)
	require.Equal(t, s.Frames, r.Seq, "the stream numbers frames from 1")
	require.Equal(t, uint64(1), r.Keyframes)
	require.Equal(t, s.Deltas, r.Deltas)
}

func TestFullStateMode(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Delta = false
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	stepN(t, sys, pid, 10)
	r := converged(t, sys, h, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	s := stats.Snapshot()
	require.Zero(t, s.Deltas)
	require.Equal(t, s.Frames, s.Keyframes)
	require.Zero(t, r.Deltas)
	require.Equal(t, s.Keyframes, r.Keyframes)
}

func TestNeedKeyframeResends(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	var mu sync.Mutex
	dropped := 0
	rc.dropChunk = func(c *Chunk) bool {
		mu.Lock()
		defer mu.Unlock()
		if c.Seq == 5 && dropped == 0 { // lose the fifth frame (a delta)
			dropped++
			return true
		}
		return false
	}
	rc.Window = 1        // one frame at a time: after the loss nothing reaches the replica
	rc.StallTimeout = -1 // no probe: this test is about the replica's request
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	isDropped := func() bool { mu.Lock(); defer mu.Unlock(); return dropped > 0 }
	for !isDropped() {
		request[uint64](t, sys, pid, "step")
		waitFor(t, "the step's frame to go", func() bool { return stats.Snapshot().AckLag == 0 || isDropped() })
	}
	require.Equal(t, uint64(5), stats.Snapshot().Frames)
	// Frame 5 is lost: no ack comes, the window stays full, and steps
	// after it coalesce. The worker resends when the replica asks for a
	// keyframe (or after the ack timeout).
	stepN(t, sys, pid, 3)
	waitFor(t, "steps to coalesce", func() bool { return stats.Snapshot().Coalesced >= 2 })
	sys.Root.Send(pid, &NeedKeyframe{Worker: "w1", Epoch: 1, HaveSeq: 4})
	r := converged(t, sys, h, pid, "w1")
	require.GreaterOrEqual(t, r.Keyframes, uint64(2), "a keyframe repaired the gap")
	require.GreaterOrEqual(t, stats.Snapshot().Keyframes, uint64(2))
}

func TestGapFoundByReplica(t *testing.T) {
	// With a window of 4 the delta after a lost one reaches the replica,
	// which finds the gap and asks for the keyframe itself.
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	var mu sync.Mutex
	dropped := false
	rc.dropChunk = func(c *Chunk) bool {
		mu.Lock()
		defer mu.Unlock()
		if c.Seq == 3 && !dropped {
			dropped = true
			return true
		}
		return false
	}
	rc.Window = 8
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	stepN(t, sys, pid, 6)
	r := converged(t, sys, h, pid, "w1")
	require.Equal(t, uint64(2), r.Keyframes, "the first keyframe and the repair")
	require.Equal(t, uint64(2), stats.Snapshot().Keyframes, "one repair keyframe, not one per delta behind the gap")
}

func TestWorkerReplicatesOnRequest(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Mode = OnRequest
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	stepN(t, sys, pid, 5)
	sys.Root.Send(pid, "replicate")
	r := converged(t, sys, h, pid, "w1")
	s := stats.Snapshot()
	require.Equal(t, uint64(7), s.Steps, "5 steps, the request and the state query")
	require.Equal(t, uint64(1), s.Frames, "one replication, on request")
	require.Equal(t, uint64(1), r.Seq)
}

func TestOutboxMergesWhileNoBackup(t *testing.T) {
	sys := newSystem(t)
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), nil, DefaultReplicationConfig()))
	stepN(t, sys, pid, 40)
	waitFor(t, "40 steps", func() bool { return stats.Snapshot().Steps == 40 })
	s := stats.Snapshot()
	require.Zero(t, s.Frames, "nothing to send to")
	require.Equal(t, uint64(40), s.Coalesced)
	require.Equal(t, uint64(41), s.AckLag)

	h := spawnHandler(t, sys, quietReceiver())
	sys.Root.Send(pid, &SetBackup{PID: h})
	converged(t, sys, h, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	require.Equal(t, uint64(1), stats.Snapshot().Frames, "one keyframe catches up")
}

func TestOutboxBoundedWhileBackupUnreachable(t *testing.T) {
	sys := newSystem(t)
	// A PID no actor has: every chunk goes to dead letters, no ack comes.
	gone := actor.NewPID(sys.Address(), "no-such-replica-handler")
	rc := DefaultReplicationConfig()
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), gone, rc))
	stepN(t, sys, pid, 60)
	waitFor(t, "60 steps", func() bool { return stats.Snapshot().Steps == 60 })
	s := stats.Snapshot()
	require.LessOrEqual(t, s.Frames, uint64(rc.Window), "no more frames than the window while no ack comes")
	require.GreaterOrEqual(t, s.Coalesced, uint64(60-rc.Window))

	h := spawnHandler(t, sys, quietReceiver())
	sys.Root.Send(pid, &SetBackup{PID: h})
	stepN(t, sys, pid, 5)
	r := converged(t, sys, h, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	require.Equal(t, uint64(1), r.Keyframes, "the new backup got one keyframe, then deltas")
	require.LessOrEqual(t, stats.Snapshot().Frames, uint64(rc.Window)+6)
}

func TestBackupChangeSendsKeyframe(t *testing.T) {
	sys := newSystem(t)
	cfg1, cfg2 := quietReceiver(), quietReceiver()
	p1, err := ReplicaHandlerProps(cfg1)
	require.NoError(t, err)
	p2, err := ReplicaHandlerProps(cfg2)
	require.NoError(t, err)
	h1 := sys.Root.Spawn(p1)
	h2 := sys.Root.Spawn(p2)
	pid, _ := startWorker(t, sys, spec("w1", newStepper(workload.Small), h1, DefaultReplicationConfig()))
	stepN(t, sys, pid, 5)
	converged(t, sys, h1, pid, "w1")
	sys.Root.Send(pid, (&SetBackup{PID: h2}).ToTerm()) // the term form, as from a remote node
	stepN(t, sys, pid, 5)
	converged(t, sys, h2, pid, "w1")
	stepN(t, sys, pid, 3)
	r := converged(t, sys, h2, pid, "w1")
	require.Equal(t, uint64(1), r.Keyframes, "h2 had no replica: one keyframe")
	require.GreaterOrEqual(t, r.Deltas, uint64(1), "deltas after the keyframe")
}

func TestSyncModeWaitsForAck(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	// A gate between the worker's link and the replica holds chunks until
	// the test releases them.
	gate := newGate(sys, h)
	rc := DefaultReplicationConfig()
	rc.Sync = true
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), gate.pid, rc))
	gate.release(t, 1) // Init's keyframe
	waitFor(t, "the first ack", func() bool { return stats.Snapshot().AckedSeq == 1 })

	replies := make(chan any, 4)
	client := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Request(pid, "step")
			c.Request(pid, "step")
		case uint64:
			replies <- c.Message()
		}
	}))
	defer sys.Root.Stop(client)

	gate.wait(t, 1) // the first step's frame reached the gate
	require.Empty(t, replies, "no reply before the replica acknowledged")
	require.Equal(t, uint64(1), stats.Snapshot().Steps, "the second message waits")
	gate.release(t, 1)
	gate.wait(t, 1) // the second step's frame
	require.Equal(t, uint64(2), stats.Snapshot().Steps)
	gate.release(t, 1)
	waitFor(t, "two replies", func() bool { return len(replies) == 2 })
	converged(t, sys, h, pid, "w1")
}

// gate is a stand-in replica_handler address: it holds the chunks it gets
// until released, then forwards them to the real handler (keeping the
// sender, so answers go to the link).
type gate struct {
	pid *actor.PID
	mu  sync.Mutex
	q   []*actor.MessageEnvelope
	sys *actor.ActorSystem
	to  *actor.PID
}

func newGate(sys *actor.ActorSystem, to *actor.PID) *gate {
	g := &gate{sys: sys, to: to}
	g.pid = sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*Chunk); ok {
			g.mu.Lock()
			g.q = append(g.q, &actor.MessageEnvelope{Message: c.Message(), Sender: c.Sender()})
			g.mu.Unlock()
		}
	}))
	return g
}

func (g *gate) wait(t *testing.T, n int) {
	if t == nil {
		return // the caller knows n chunks are held
	}
	waitFor(t, "chunks at the gate", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.q) >= n })
}

// releaseHeld releases whatever the gate holds, without waiting.
func (g *gate) releaseHeld() {
	g.mu.Lock()
	n := len(g.q)
	g.mu.Unlock()
	if n > 0 {
		g.release(nil, n)
	}
}

func (g *gate) release(t *testing.T, n int) {
	g.wait(t, n)
	g.mu.Lock()
	out := g.q[:n]
	g.q = g.q[n:]
	g.mu.Unlock()
	for _, e := range out {
		g.sys.Root.RequestWithCustomSender(g.to, e.Message, e.Sender)
	}
}

func TestLowerEpochIsFenced(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	// The takeover copy runs with epoch 2 ...
	s2 := spec("w1", newStepper(workload.Small), h, DefaultReplicationConfig())
	s2.Epoch = 2
	props, _, err := WorkerProps(s2)
	require.NoError(t, err)
	newer := sys.Root.Spawn(props)
	stepN(t, sys, newer, 3)
	waitFor(t, "epoch 2 replica", func() bool { r, ok := getReplica(t, sys, h, "w1"); return ok && r.Epoch == 2 })

	// ... and the old copy, epoch 1, comes back: its frames are refused and
	// it stops.
	term1 := &terminations{}
	b := &terminating{stepBehaviour: newStepper(workload.Small), log: term1}
	old, _ := startWorker(t, sys, spec("w1", b, h, DefaultReplicationConfig()))
	waitFor(t, "the old copy to be fenced", func() bool { return term1.count() == 1 })
	require.ErrorIs(t, term1.last(), ErrFenced)
	waitFor(t, "the fenced worker to be gone", func() bool {
		_, err := sys.Root.RequestFuture(old, "state", 100*time.Millisecond).Result()
		return err != nil
	})
	r, _ := getReplica(t, sys, h, "w1")
	require.Equal(t, uint64(2), r.Epoch)
}

type terminations struct {
	mu      sync.Mutex
	reasons []error
}

func (t *terminations) count() int { t.mu.Lock(); defer t.mu.Unlock(); return len(t.reasons) }
func (t *terminations) last() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reasons[len(t.reasons)-1]
}

type terminating struct {
	*stepBehaviour
	log *terminations
}

func (b *terminating) Terminate(_ *WorkerContext, _ any, reason error) {
	b.log.mu.Lock()
	b.log.reasons = append(b.log.reasons, reason)
	b.log.mu.Unlock()
}

func TestTakeoverFromReplica(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	pid, _ := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, DefaultReplicationConfig()))
	stepN(t, sys, pid, 5)
	before := converged(t, sys, h, pid, "w1")
	sys.Root.Stop(pid)

	list := request[*ReplicaList](t, sys, h, &ReplicasByOwner{Owner: "a@127.0.0.1"})
	require.Len(t, list.Replicas, 1)
	rep := list.Replicas[0]
	require.Equal(t, term.Hash(before.State), term.Hash(rep.State))

	sp := FromReplica(rep, "b@127.0.0.1", newStepper(workload.Small), DefaultReplicationConfig())
	sp.Backup, sp.Logger = h, quiet()
	require.Equal(t, uint64(2), sp.Epoch)
	props, stats, err := WorkerProps(sp)
	require.NoError(t, err)
	pid2 := sys.Root.Spawn(props)
	require.Equal(t, term.Hash(rep.State), term.Hash(workerState(t, sys, pid2)), "starts from the replica")
	stepN(t, sys, pid2, 3)
	r := converged(t, sys, h, pid2, "w1")
	require.Equal(t, uint64(2), r.Epoch)
	require.Equal(t, "b@127.0.0.1", r.Owner)
	require.Equal(t, rep.Seq+4, stats.Snapshot().Seq, "the worker's count continues")
}

func TestReferenceKeyframeInChunks(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	var mu sync.Mutex
	chunks := map[uint64]uint32{}
	rc := DefaultReplicationConfig()
	rc.dropChunk = func(c *Chunk) bool {
		mu.Lock()
		chunks[c.Seq] = c.Total
		mu.Unlock()
		return false
	}
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Reference), h, rc))
	stepN(t, sys, pid, 2)
	converged(t, sys, h, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, chunks[1], uint32(30), "the ~4 MB keyframe travels in many 64 KiB chunks")
	require.Equal(t, uint64(1), stats.Snapshot().Keyframes)
}

func TestLargeKeyframeInChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("40 MB state")
	}
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	pid, stats := startWorker(t, sys, spec("big", newStepper(workload.Large), h, DefaultReplicationConfig()))
	stepN(t, sys, pid, 3)
	r := converged(t, sys, h, pid, "big")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
	s := stats.Snapshot()
	require.Greater(t, r.Bytes, uint64(30_000_000), "the large keyframe went through")
	require.Equal(t, uint64(1), s.Keyframes)
	require.Equal(t, s.Deltas, r.Deltas)
}

func TestReplicaHandlerQueries(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	for _, w := range []struct{ id, owner string }{{"w2", "a@h"}, {"w1", "a@h"}, {"w3", "b@h"}} {
		sp := spec(w.id, newStepper(workload.Small), h, DefaultReplicationConfig())
		sp.Owner = w.owner
		pid, _ := startWorker(t, sys, sp)
		converged(t, sys, h, pid, w.id)
	}
	all := request[*ReplicaList](t, sys, h, &ListReplicas{})
	require.Len(t, all.Replicas, 3)
	for i, id := range []string{"w1", "w2", "w3"} {
		require.Equal(t, id, all.Replicas[i].Worker)
		require.Nil(t, all.Replicas[i].State, "status leaves states out")
		require.Equal(t, uint64(1), all.Replicas[i].Seq)
		require.False(t, all.Now.Before(all.Replicas[i].Updated))
	}
	byA := request[*ReplicaList](t, sys, h, &ReplicasByOwner{Owner: "a@h"})
	require.Len(t, byA.Replicas, 2)
	require.NotNil(t, byA.Replicas[0].State)
	d := request[*ReplicaResult](t, sys, h, &DropReplica{Worker: "w2"})
	require.True(t, d.Found)
	_, ok := getReplica(t, sys, h, "w2")
	require.False(t, ok)
	d = request[*ReplicaResult](t, sys, h, &DropReplica{Worker: "w2"})
	require.False(t, d.Found)
}

// TestHandlerTermChunksAndDuplicates drives a replica_handler directly with
// chunks in their term form (as a remote link sends them) and checks the
// answers: acks, a duplicate ignored, a gap, a stale epoch.
func TestHandlerTermChunksAndDuplicates(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	answers := make(chan Message, 64)
	probe := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(Message); ok {
			if _, isChunkAck := m.(*ChunkAck); !isChunkAck {
				answers <- m
			}
		}
	}))
	enc := func(epoch uint64) *delta.Encoder {
		e, err := delta.NewEncoder(delta.EncoderConfig{Worker: "w", Epoch: epoch})
		require.NoError(t, err)
		return e
	}
	send := func(f delta.Frame, chunkSize int) {
		data, err := appendEnvelope(nil, "a@h", f)
		require.NoError(t, err)
		total := (len(data) + chunkSize - 1) / chunkSize
		for i := range total {
			c := &Chunk{Worker: "w", Epoch: f.Epoch, Seq: f.Seq, Index: uint32(i), Total: uint32(total),
				Bytes: data[i*chunkSize : min((i+1)*chunkSize, len(data))]}
			sys.Root.RequestWithCustomSender(h, c.ToTerm(), probe)
		}
	}
	e1 := enc(1)
	s := term.Term(workload.State(workload.Small, 1))
	st := workload.NewStepper(workload.Small, 3)
	f1, err := e1.Encode(s)
	require.NoError(t, err)
	send(f1, 1000)
	require.Equal(t, &Ack{Worker: "w", Epoch: 1, Seq: 1}, recv(t, answers))
	send(f1, 1000) // the same frame again: a duplicate, re-acknowledged
	require.Equal(t, &Ack{Worker: "w", Epoch: 1, Seq: 1}, recv(t, answers))
	s = st.Step(s.(*term.Tuple), 1)
	f2, err := e1.Encode(s)
	require.NoError(t, err)
	s = st.Step(s.(*term.Tuple), 2)
	f3, err := e1.Encode(s)
	require.NoError(t, err)
	send(f3, 1000) // f2 skipped: a gap
	require.Equal(t, &NeedKeyframe{Worker: "w", Epoch: 1, HaveSeq: 1}, recv(t, answers))
	send(f2, 1000)
	require.Equal(t, &Ack{Worker: "w", Epoch: 1, Seq: 2}, recv(t, answers))
	send(f3, 1000)
	require.Equal(t, &Ack{Worker: "w", Epoch: 1, Seq: 3}, recv(t, answers))
	r, _ := getReplica(t, sys, h, "w")
	require.Equal(t, term.Hash(s), term.Hash(r.State))
	require.Equal(t, uint64(1), r.Keyframes)
	require.Equal(t, uint64(2), r.Deltas)

	// A corrupt checksum: the delta applies but the state is wrong.
	s4 := st.Step(s.(*term.Tuple), 3)
	f4, err := e1.Encode(s4)
	require.NoError(t, err)
	f4.Checksum ^= 1
	send(f4, 1000)
	require.Equal(t, &NeedKeyframe{Worker: "w", Epoch: 1, HaveSeq: 3}, recv(t, answers))

	// Epoch 2 takes over; epoch 1's frames are then refused with Fenced.
	e2 := enc(2)
	g1, err := e2.Encode(s)
	require.NoError(t, err)
	send(g1, 1<<20)
	require.Equal(t, &Ack{Worker: "w", Epoch: 2, Seq: 1}, recv(t, answers))
	e1.RequestKeyframe()
	f5, err := e1.Encode(s4)
	require.NoError(t, err)
	send(f5, 1<<20)
	require.Equal(t, &Fenced{Worker: "w", Epoch: 2}, recv(t, answers))
}

func recv(t *testing.T, ch chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no answer from the replica_handler")
	}
	return nil
}

func TestAckTimeoutResends(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Window = 1
	rc.AckTimeout = 20 * time.Millisecond // short, so the test need not wait
	rc.StallTimeout = -1                  // no probe: this test is about the last resort
	var mu sync.Mutex
	dropped := false
	rc.dropChunk = func(c *Chunk) bool {
		mu.Lock()
		defer mu.Unlock()
		if c.Seq == 2 && !dropped {
			dropped = true
			return true
		}
		return false
	}
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	request[uint64](t, sys, pid, "step") // its frame is lost; nobody says so
	converged(t, sys, h, pid, "w1")
	// Under load other frames may time out too (20 ms is short); at least
	// the lost one did, and a resync repaired it: the replica reported the
	// state it holds (Init's, which the worker still has), and one delta
	// from it followed, no keyframe. The last resort has two clocks of the
	// same length, the worker's ack timeout and its link's (which writes
	// everything unanswered off and tells the worker: a link loss); either
	// may fire first.
	s := stats.Snapshot()
	require.GreaterOrEqual(t, s.AckTimeouts+s.LinkLosses, uint64(1))
	require.GreaterOrEqual(t, s.Resyncs, uint64(1))
	require.GreaterOrEqual(t, s.ResyncCovered, uint64(1), "the worker held the replica's state")
	require.LessOrEqual(t, s.ResyncCovered+s.ResyncMerkle+s.ResyncKeyframes, s.Resyncs)
}

// TestKeyframeDoesNotStallOtherWorkers runs two workers through one link
// into one replica_handler, with a gate in between that lets the test
// release chunks one at a time: worker b's deltas are acknowledged while
// worker a's 4 MB keyframe is still on its way.
func TestKeyframeDoesNotStallOtherWorkers(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	g := newGate(sys, h)
	rc := DefaultReplicationConfig()
	rc.MaxInFlightChunks = 2
	big := &stepBehaviour{initial: term.Record("big", term.NewBinary(bytes.Repeat([]byte("x"), 4<<20)))}
	_, statsA := startWorker(t, sys, spec("a", big, g.pid, rc))
	g.wait(t, 2) // a's keyframe (65 chunks) has started
	pidB, statsB := startWorker(t, sys, spec("b", newStepper(workload.Small), g.pid, rc))
	sys.Root.Send(pidB, "step")
	sys.Root.Send(pidB, "step")
	waitFor(t, "b's three frames at the link", func() bool { return statsB.Snapshot().Frames == 3 })
	released := 0
	// Release one chunk at a time, in the order the link sent them, until
	// b's three frames are acknowledged.
	waitFor(t, "b's frames", func() bool {
		if statsB.Snapshot().AckedSeq == 3 {
			return true
		}
		g.mu.Lock()
		held := len(g.q)
		g.mu.Unlock()
		if held > 0 {
			g.release(t, 1)
			released++
		}
		return false
	})
	require.Less(t, released, 20, "b's frames went between a's chunks, not after them")
	require.Zero(t, statsA.Snapshot().AckedSeq, "a's keyframe is still on its way")
	waitFor(t, "a's keyframe", func() bool {
		g.releaseHeld()
		return statsA.Snapshot().AckedSeq == 1
	})
	require.Equal(t, uint64(1), statsA.Snapshot().Keyframes)
}

// goCounter keeps its state as a Go struct: the worker marshals it to a
// term to replicate it, and Restore unmarshals a replica on takeover.
type goCounter struct{}

type counterState struct {
	N     int
	Notes []byte
}

func (goCounter) Init(*WorkerContext) (any, error) {
	return counterState{Notes: make([]byte, 512)}, nil
}

func (goCounter) Handle(_ *WorkerContext, state, msg any) (any, any, error) {
	s := state.(counterState)
	if msg == "get" {
		return s, s.N, nil
	}
	s.N++
	return s, s.N, nil
}

func (goCounter) Restore(_ *WorkerContext, replica term.Term) (any, error) {
	var s counterState
	err := term.Unmarshal(replica, &s)
	return s, err
}

func TestGoValueStates(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	pid, _ := startWorker(t, sys, spec("c", goCounter{}, h, DefaultReplicationConfig()))
	for range 3 {
		request[int](t, sys, pid, "inc")
	}
	var r Replica
	waitFor(t, "the replica", func() bool {
		var ok bool
		r, ok = getReplica(t, sys, h, "c")
		return ok && r.Seq >= 2 && term.Format(r.State.(*term.Tuple).At(1)) == "3"
	})
	tag, _ := r.State.(*term.Tuple).Tag()
	require.Equal(t, term.Atom("counter_state"), tag)

	sys.Root.Stop(pid)
	sp := FromReplica(r, "b@h", goCounter{}, DefaultReplicationConfig())
	sp.Backup, sp.Logger = h, quiet()
	props, _, err := WorkerProps(sp)
	require.NoError(t, err)
	pid2 := sys.Root.Spawn(props)
	require.Equal(t, 3, request[int](t, sys, pid2, "get"), "restored through Restore")
	require.Equal(t, 4, request[int](t, sys, pid2, "inc"))
}

// badState cannot be marshaled: the worker fails, as Erlang's would.
type badState struct{}

func (badState) Init(*WorkerContext) (any, error) { return make(chan int), nil }
func (badState) Handle(_ *WorkerContext, s, _ any) (any, any, error) {
	return s, nil, nil
}

func TestUnmarshalableStateFails(t *testing.T) {
	sys := newSystem(t)
	s := &starts{n: map[string]int{}}
	w := newWatcher(sys)
	props, stats, err := WorkerProps(spec("bad", badState{}, nil, DefaultReplicationConfig()))
	require.NoError(t, err)
	sup := startSupervisor(t, sys, SupervisorSpec{Strategy: OneForOne, Intensity: 2, Children: []ChildSpec{{Name: "bad", Props: props}, s.child("other")}})
	w.watch(sys, sup)
	waitFor(t, "the supervisor to give up on a worker that cannot start", func() bool { return w.isGone(sup) })
	require.Zero(t, stats.Snapshot().Frames)
}
