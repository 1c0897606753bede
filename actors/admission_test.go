package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/funnel"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func TestBackoffTerm(t *testing.T) {
	for _, b := range []*Backoff{
		{Node: "a@h", Worker: "w1", RetryAfter: 250 * time.Millisecond},
		{Node: "a@h", Worker: "", RetryAfter: 0},
		{Node: "", Worker: "w", RetryAfter: time.Hour},
	} {
		m, err := FromTerm(b.ToTerm())
		require.NoError(t, err)
		require.Equal(t, b, m)
	}
	// The wait is rounded up to whole milliseconds: never shorter than asked.
	m, err := FromTerm((&Backoff{Node: "n", RetryAfter: 1500 * time.Microsecond}).ToTerm())
	require.NoError(t, err)
	require.Equal(t, 2*time.Millisecond, m.(*Backoff).RetryAfter)

	for name, bad := range map[string]term.Term{
		"arity":    term.Record(tagBackoff, term.BinaryString("n"), term.BinaryString("w")),
		"node":     term.Record(tagBackoff, term.Int(1), term.BinaryString("w"), term.Int(5)),
		"negative": term.Record(tagBackoff, term.BinaryString("n"), term.BinaryString("w"), term.Int(-5)),
		"float":    term.Record(tagBackoff, term.BinaryString("n"), term.BinaryString("w"), term.Float(5)),
		"overflow": term.Record(tagBackoff, term.BinaryString("n"), term.BinaryString("w"), term.Uint(1<<62)),
	} {
		_, err := FromTerm(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
}

// TestBackoffPausesWorker: a worker told to back off sends nothing while
// its steps merge into one waiting state; a Backoff for another node's
// workers is ignored; a new backup ends the pause (the Backoff came from
// the old one).
func TestBackoffPausesWorker(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	rc := DefaultReplicationConfig()
	rc.Policy = delta.Every(1000)
	rc.MaxBackoff = time.Hour
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, rc))
	converged(t, sys, h, pid, "w1")

	sys.Root.Send(pid, (&Backoff{Node: "someone-else@h", RetryAfter: time.Hour}).ToTerm())
	request[uint64](t, sys, pid, "step")
	waitFor(t, "the step's ack", func() bool { return stats.Snapshot().AckLag == 0 })
	require.Zero(t, stats.Snapshot().Backoffs, "another node's Backoff is not ours")

	sys.Root.Send(pid, &Backoff{Node: "a@127.0.0.1", Worker: "w1", RetryAfter: time.Hour})
	frames := stats.Snapshot().Frames
	stepN(t, sys, pid, 30)
	waitFor(t, "30 more steps", func() bool { return stats.Snapshot().Steps == 32 })
	s := stats.Snapshot()
	require.Equal(t, uint64(1), s.Backoffs)
	require.Equal(t, frames, s.Frames, "no frame while backing off")
	require.Equal(t, uint64(29), s.Coalesced, "the states merged into one waiting state")
	require.Equal(t, uint64(30), s.AckLag)

	h2 := spawnHandlerNamed(t, sys, quietReceiver(), "replica_handler_2")
	sys.Root.Send(pid, &SetBackup{PID: h2})
	converged(t, sys, h2, pid, "w1")
	waitFor(t, "acks", func() bool { return stats.Snapshot().AckLag == 0 })
}

func TestAdmissionDisabled(t *testing.T) {
	sys := newSystem(t)
	cfg := quietReceiver()
	cfg.Admission = AdmissionConfig{Disabled: true}
	h := spawnHandler(t, sys, cfg)
	pid, stats := startWorker(t, sys, spec("w1", newStepper(workload.Small), h, DefaultReplicationConfig()))
	stepN(t, sys, pid, 10)
	converged(t, sys, h, pid, "w1")
	st := request[*AdmissionStats](t, sys, h, &AdmissionStatsRequest{})
	require.False(t, st.Enabled)
	require.Empty(t, st.Nodes)
	require.Zero(t, stats.Snapshot().Backoffs)
}

// TestFloodDoesNotStarveOtherNode runs three nodes as three actor systems
// joined by an in-memory network that carries protocol messages in their
// term form: node a floods the spare (many workers stepping as fast as
// they can), node b steps one worker at a time and waits for each ack. The
// spare's funnel clock stands still, so a's funnel never refills: a is
// told to back off while b keeps being admitted and acknowledged. Then the
// clock moves on and a's replicas catch up with its workers.
func TestFloodDoesNotStarveOtherNode(t *testing.T) {
	const (
		capacity = 256 << 10 // bytes: b's whole run fits, a's flood does not
		rate     = 64 << 10  // bytes per second of funnel time
		floodN   = 6         // a's workers
		floodSt  = 300       // steps each
		rounds   = 15        // b's acknowledged steps
	)
	spare, a, b := newSystem(t), newSystem(t), newSystem(t)
	connect(t, map[string]*actor.ActorSystem{"spare@h": spare, "a@h": a, "b@h": b})

	clock := funnel.NewManualClock(time.Hour)
	reg := ets.NewRegistry()
	cfg := quietReceiver()
	cfg.Registry = reg
	cfg.Admission = AdmissionConfig{Capacity: capacity, Rate: rate, Clock: clock}
	h := spawnHandler(t, spare, cfg)
	view, err := OpenReplicaView(reg, "")
	require.NoError(t, err)

	rc := DefaultReplicationConfig()
	rc.Policy = delta.Every(1000)
	type flooder struct {
		pid   *actor.PID
		stats *WorkerStats
	}
	var flood []flooder
	for i := range floodN {
		id := "a-" + string(rune('0'+i))
		sp := spec(id, newStepper(workload.Small), h, rc)
		sp.Owner = "a@h"
		pid, stats := startWorker(t, a, sp)
		flood = append(flood, flooder{pid, stats})
	}
	for _, f := range flood {
		stepN(t, a, f.pid, floodSt)
	}
	admissionOf := func(node string) NodeAdmission {
		return request[*AdmissionStats](t, spare, h, &AdmissionStatsRequest{}).Node(node)
	}
	waitFor(t, "the flood to go over a's rate", func() bool { return admissionOf("a@h").Refused > 0 })

	sp := spec("b-0", newStepper(workload.Small), h, rc)
	sp.Owner = "b@h"
	bPID, bStats := startWorker(t, b, sp)
	waitFor(t, "b's first state to be acknowledged", func() bool { return bStats.Snapshot().AckedSeq == 1 })
	maxLag := uint64(0)
	for i := range rounds {
		request[uint64](t, b, bPID, "step")
		maxLag = max(maxLag, bStats.Snapshot().AckLag)
		waitFor(t, "b's step to be acknowledged", func() bool { return bStats.Snapshot().AckedSeq == uint64(i+2) })
	}
	require.LessOrEqual(t, maxLag, uint64(1), "b's ack lag stays at one step")
	require.Zero(t, bStats.Snapshot().Backoffs, "b is never told to back off")

	st := request[*AdmissionStats](t, spare, h, &AdmissionStatsRequest{})
	require.True(t, st.Enabled)
	an, bn := st.Node("a@h"), st.Node("b@h")
	t.Logf("admission: a %+v; b %+v", an, bn)
	require.Positive(t, an.Refused, "the flood went over a's rate")
	require.LessOrEqual(t, an.Bytes-an.RefusedBytes, uint64(capacity), "with the funnel clock still, a got at most its burst")
	require.Zero(t, bn.Refused)
	require.GreaterOrEqual(t, bn.Frames, uint64(rounds+1), "every b frame arrived")

	// Recovery: the flood ends, the funnel clock moves on, and after their
	// retry-after a's workers send their merged states.
	for _, f := range flood {
		waitFor(t, "a's steps", func() bool { return f.stats.Snapshot().Steps == floodSt })
	}
	clock.Advance(time.Hour)
	var backoffs, coalesced uint64
	for i, f := range flood {
		want := term.Hash(workerState(t, a, f.pid))
		id := "a-" + string(rune('0'+i))
		waitFor(t, "a's replica to catch up", func() bool {
			r, ok, err := view.Get(id)
			return err == nil && ok && term.Hash(r.State) == want
		})
		waitFor(t, "a's acks", func() bool { return f.stats.Snapshot().AckLag == 0 })
		s := f.stats.Snapshot()
		backoffs += s.Backoffs
		coalesced += s.Coalesced
	}
	t.Logf("a's workers: %d backoffs, %d states merged", backoffs, coalesced)
	require.Positive(t, backoffs)
	require.Positive(t, coalesced, "a's workers merged states while backing off")
	owned, err := view.ByOwner("a@h")
	require.NoError(t, err)
	require.Len(t, owned, floodN)
}

func spawnHandlerNamed(t testing.TB, sys *actor.ActorSystem, cfg ReceiverConfig, name string) *actor.PID {
	t.Helper()
	props, err := ReplicaHandlerProps(cfg)
	require.NoError(t, err)
	pid, err := sys.Root.SpawnNamed(props, name)
	require.NoError(t, err)
	return pid
}

// connect gives each actor system an address and lets them reach each
// other's actors, as a remote transport would: protocol messages travel in
// their term form, in order.
func connect(t testing.TB, systems map[string]*actor.ActorSystem) {
	t.Helper()
	for addr, sys := range systems {
		sys.ProcessRegistry.Address = addr
	}
	for _, sys := range systems {
		sys.ProcessRegistry.RegisterAddressResolver(func(pid *actor.PID) (actor.Process, bool) {
			to, ok := systems[pid.Address]
			if !ok {
				return nil, false
			}
			return wire{to: to}, true
		})
	}
}

// wire delivers a message to an actor of another actor system.
type wire struct{ to *actor.ActorSystem }

func (w wire) SendUserMessage(pid *actor.PID, msg any) {
	if env, ok := msg.(*actor.MessageEnvelope); ok {
		msg = &actor.MessageEnvelope{Header: env.Header, Message: onWire(env.Message), Sender: env.Sender}
	} else {
		msg = onWire(msg)
	}
	p, _ := w.to.ProcessRegistry.Get(pid)
	p.SendUserMessage(pid, msg)
}

func (w wire) SendSystemMessage(pid *actor.PID, msg any) {
	p, _ := w.to.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, msg)
}

func (w wire) Stop(pid *actor.PID) {
	p, _ := w.to.ProcessRegistry.Get(pid)
	p.Stop(pid)
}

func onWire(m any) any {
	if pm, ok := m.(Message); ok {
		return pm.ToTerm()
	}
	return m
}
