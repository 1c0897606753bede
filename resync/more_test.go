package resync

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

func TestCatchUp(t *testing.T) {
	out, err := delta.NewOutbox(4)
	require.NoError(t, err)
	st := workload.NewStepper(workload.Small, 1)
	states := []term.Term{workload.State(workload.Small, 1)}
	for i := 1; i <= 6; i++ {
		prev := states[len(states)-1].(*term.Tuple)
		next := st.Step(prev, int64(i))
		states = append(states, next)
		require.NoError(t, out.Push(uint64(i), uint64(i), delta.Diff(prev, next)))
	}
	// Within the outbox: one round trip gives exactly the latest state.
	p, err := CatchUp(out, 3, Position{Epoch: 3, Seq: 4})
	require.NoError(t, err)
	require.True(t, p.Covered, p.Reason)
	require.Equal(t, uint64(6), p.Seq)
	got, err := delta.Apply(states[4], p.Spec)
	require.NoError(t, err)
	require.True(t, term.Equal(states[6], got))
	// Merged past, another epoch, no outbox: the Merkle path.
	for _, tc := range []struct {
		out *delta.Outbox
		at  Position
	}{{out, Position{2, 5}}, {nil, Position{3, 5}}} {
		p, err := CatchUp(tc.out, 3, tc.at)
		require.NoError(t, err)
		require.False(t, p.Covered)
		require.NotEmpty(t, p.Reason)
	}
	// Acknowledged entries are gone: a copy from before them is not covered.
	out.Ack(5)
	p, err = CatchUp(out, 3, Position{Epoch: 3, Seq: 2})
	require.NoError(t, err)
	require.False(t, p.Covered)
}

func TestDiffWorkers(t *testing.T) {
	src, cp := WorkerDigest{}, WorkerDigest{}
	for i := range 5000 {
		id := fmt.Sprintf("worker-%d", i)
		src[id], cp[id] = uint64(i)*7919, uint64(i)*7919
	}
	want := []string{"worker-17", "worker-2500", "worker-4999"}
	for _, id := range want {
		cp[id]++
	}
	got, res, err := DiffWorkers(src, cp, DefaultConfig())
	require.NoError(t, err)
	slices.Sort(got)
	require.Equal(t, want, got)
	require.LessOrEqual(t, res.RoundTrips, 3)
	// A worker only the copy has (it ran elsewhere during a partition).
	cp["worker-extra"] = 1
	got, _, err = DiffWorkers(src, cp, DefaultConfig())
	require.NoError(t, err)
	slices.Sort(got)
	require.Equal(t, []string{"worker-17", "worker-2500", "worker-4999", "worker-extra"}, got)
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{FanOut: 1, MaxRounds: 3}, {FanOut: 32, MaxRounds: 0}, {FanOut: 32, MaxRounds: 3, HelloDepth: -1}, {FanOut: 32, MaxRounds: 3, ReplaceBelow: -1}} {
		_, err := NewSource(term.Int(1), c)
		require.ErrorIs(t, err, ErrBadConfig)
	}
}

func TestProtocolMisuse(t *testing.T) {
	src, err := NewSource(term.NewTuple(term.Int(1), term.Int(2)), DefaultConfig())
	require.NoError(t, err)
	_, err = src.Handle(Message{Kind: MsgHashes})
	require.ErrorIs(t, err, ErrProtocol)
	_, err = src.Handle(Message{Kind: MsgAsk})
	require.ErrorIs(t, err, ErrProtocol)
	cp, err := NewCopy(term.Int(1), DefaultConfig())
	require.NoError(t, err)
	_, _, err = cp.Handle(Message{Kind: MsgHello})
	require.ErrorIs(t, err, ErrProtocol)
	_, _, err = cp.Handle(Message{Kind: MsgDone, Root: 1, Delta: delta.Keep{}})
	require.ErrorIs(t, err, ErrVerify)
	require.Equal(t, term.Int(1), cp.State(), "a failed verify keeps the old state")
}

func TestWireRoundTrip(t *testing.T) {
	base := workload.State(workload.Small, 1)
	src, _ := diverge(t, base, 0.05, 3)
	s, err := NewSource(src, DefaultConfig())
	require.NoError(t, err)
	c, err := NewCopy(base, DefaultConfig())
	require.NoError(t, err)
	m := c.Start()
	for range 4 {
		b, err := AppendMessage(nil, m)
		require.NoError(t, err)
		back, err := DecodeMessage(b)
		require.NoError(t, err)
		b2, err := AppendMessage(nil, back)
		require.NoError(t, err)
		require.Equal(t, b, b2)
		for cut := range len(b) {
			_, err := DecodeMessage(b[:cut])
			require.True(t, errors.Is(err, ErrCorrupt), "truncated at %d", cut)
		}
		if m.Kind == MsgDone || m.Kind == MsgKeyframe {
			break
		}
		if m.Kind == MsgAsk {
			m, _, err = c.Handle(back)
		} else {
			m, err = s.Handle(back)
		}
		require.NoError(t, err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	base := workload.State(workload.Small, 1)
	c, _ := NewCopy(base, DefaultConfig())
	hello, _ := AppendMessage(nil, c.Start())
	f.Add(hello)
	ask, _ := AppendMessage(nil, Message{Kind: MsgAsk, Ask: []Path{{{Kind: StepElem, A: 4}, {Kind: StepRange, A: 0, B: 64}}}})
	f.Add(ask)
	done, _ := AppendMessage(nil, Message{Kind: MsgDone, Root: 9, Delta: delta.Tuple{Ops: []delta.Op{delta.Retain(1), delta.Edit(delta.Replace{Value: term.Int(3)})}}})
	f.Add(done)
	kf, _ := AppendMessage(nil, Message{Kind: MsgKeyframe, Root: 9, State: term.Atom("ok")})
	f.Add(kf)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		// Whatever decodes re-encodes, and a copy or source fed it
		// answers with an error or a message, never a panic.
		_, err = AppendMessage(nil, m)
		if err != nil {
			return
		}
		if cp, err := NewCopy(base, DefaultConfig()); err == nil {
			_, _, _ = cp.Handle(m)
		}
		if s, err := NewSource(base, DefaultConfig()); err == nil {
			_, _ = s.Handle(m)
		}
	})
}
