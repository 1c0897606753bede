package delta

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func TestFrameRoundTrip(t *testing.T) {
	f := Frame{Worker: "w1", Epoch: 3, Seq: 300, Base: 299, Kind: FrameDelta, Payload: []byte{0xD1, 0}, Checksum: 0x0102030405060708}
	b, err := AppendFrame(nil, f)
	require.NoError(t, err)
	require.Equal(t, []byte{0xEF, 2, 2, 'w', '1', 3, 0xac, 0x02, 0xab, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 2, 0xD1, 0}, b)
	g, err := DecodeFrame(b)
	require.NoError(t, err)
	require.Equal(t, f, g)

	for _, bad := range []Frame{
		{Worker: "w", Seq: 1, Kind: 7},
		{Worker: "w", Seq: 2, Base: 2, Kind: FrameDelta},
		{Worker: "w", Seq: 2, Base: 1, Kind: FrameKeyframe},
		{Worker: "w", Seq: 0, Kind: FrameKeyframe},
	} {
		_, err := AppendFrame(nil, bad)
		require.ErrorIs(t, err, ErrInvalidFrame)
	}
	for k := range len(b) {
		_, err := DecodeFrame(b[:k])
		require.ErrorIs(t, err, ErrCorrupt, "truncated at %d", k)
	}
	_, err = DecodeFrame(append(b, 0))
	require.ErrorIs(t, err, ErrCorrupt)
	b[1] = 9
	_, err = DecodeFrame(b)
	require.ErrorIs(t, err, ErrInvalidFrame)
}

func FuzzDecodeFrame(f *testing.F) {
	b, err := AppendFrame(nil, Frame{Worker: "w1", Epoch: 3, Seq: 300, Base: 299, Kind: FrameDelta, Payload: []byte{0xD1, 0}})
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{0xEF, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			return
		}
		again, err := AppendFrame(nil, fr)
		require.NoError(t, err)
		back, err := DecodeFrame(again)
		require.NoError(t, err)
		require.Equal(t, fr, back)
		d := NewDecoder(fr.Worker)
		_, _ = d.Apply(fr)
	})
}

func TestPolicies(t *testing.T) {
	var kinds []bool
	for n := range 12 {
		kinds = append(kinds, Every(4).Keyframe(History{Deltas: n % 4}))
	}
	require.Equal(t, []bool{false, false, false, true, false, false, false, true, false, false, false, true}, kinds)
	require.True(t, Every(1).Keyframe(History{}))

	p := Adaptive{MaxInterval: 100, Start: 2, End: 1}
	require.NoError(t, p.Validate())
	require.InDelta(t, 2.0, p.Fraction(0), 1e-9)
	require.InDelta(t, 1.5, p.Fraction(50), 1e-9)
	require.InDelta(t, 1.0, p.Fraction(100), 1e-9)
	require.InDelta(t, 1.0, p.Fraction(1000), 1e-9)
	tests := []struct {
		h    History
		want bool
	}{
		{History{Deltas: 0, DeltaBytes: 0, KeyframeBytes: 1000, NextDeltaBytes: 10}, false},
		{History{Deltas: 0, DeltaBytes: 0, KeyframeBytes: 1000, NextDeltaBytes: 1000}, true},   // delta as big as a keyframe
		{History{Deltas: 9, DeltaBytes: 1880, KeyframeBytes: 1000, NextDeltaBytes: 10}, false}, // 1890 < 1.9·1000
		{History{Deltas: 9, DeltaBytes: 1880, KeyframeBytes: 1000, NextDeltaBytes: 20}, true},  // 1900 ≥ 1.9·1000
		{History{Deltas: 79, DeltaBytes: 1150, KeyframeBytes: 1000, NextDeltaBytes: 10}, false},
		{History{Deltas: 79, DeltaBytes: 1190, KeyframeBytes: 1000, NextDeltaBytes: 10}, true}, // fraction 1.2
		{History{Deltas: 99, DeltaBytes: 0, KeyframeBytes: 1000, NextDeltaBytes: 1}, true},     // max interval
	}
	for k, tc := range tests {
		require.Equal(t, tc.want, p.Keyframe(tc.h), "case %d", k)
	}
	for _, bad := range []Adaptive{{}, {MaxInterval: 10, Start: 1, End: 2}, {MaxInterval: 10, Start: 1, End: 0}} {
		require.ErrorIs(t, bad.Validate(), ErrPolicy)
	}
	_, err := NewEncoder(EncoderConfig{Worker: "w", Policy: Adaptive{}})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewEncoder(EncoderConfig{Worker: "w", Policy: &Adaptive{MaxInterval: 5, Start: 1, End: 2}})
	require.ErrorIs(t, err, ErrPolicy)
	_, err = NewEncoder(EncoderConfig{Worker: "w", Policy: (*Adaptive)(nil)})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewEncoder(EncoderConfig{})
	require.ErrorIs(t, err, ErrConfig)
}

// A stream over the small workload: every frame applies and the replica
// follows the worker; Every(4) gives keyframe, delta, delta, delta.
func TestStreamFollowsWorker(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Worker: "w42", Epoch: 1, Policy: Every(4)})
	require.NoError(t, err)
	dec := NewDecoder("w42")
	st := workload.NewStepper(workload.Small, 1)
	s := workload.State(workload.Small, 42)
	var kinds []FrameKind
	for step := range 12 {
		if step > 0 {
			s = st.Step(s, int64(step))
		}
		f, err := enc.Encode(s)
		require.NoError(t, err)
		b, err := AppendFrame(nil, f)
		require.NoError(t, err)
		g, err := DecodeFrame(b)
		require.NoError(t, err)
		res, err := dec.Apply(g)
		require.NoError(t, err)
		require.Equal(t, Applied, res.Outcome)
		require.Equal(t, uint64(step+1), res.Seq)
		requireEqualTerms(t, s, res.State)
		kinds = append(kinds, f.Kind)
	}
	K, D := FrameKeyframe, FrameDelta
	require.Equal(t, []FrameKind{K, D, D, D, K, D, D, D, K, D, D, D}, kinds)
}

func TestDecoderRules(t *testing.T) {
	states := []term.Term{tup(a("s"), i(0))}
	for k := 1; k < 8; k++ {
		states = append(states, states[k-1].(*term.Tuple).Set(1, i(k)))
	}
	enc, err := NewEncoder(EncoderConfig{Worker: "w", Epoch: 5, Policy: Every(100)})
	require.NoError(t, err)
	var frames []Frame
	for _, s := range states[:4] {
		f, err := enc.Encode(s)
		require.NoError(t, err)
		frames = append(frames, f)
	}
	dec := NewDecoder("w")

	// A delta before any keyframe: gap.
	res, err := dec.Apply(frames[1])
	require.ErrorIs(t, err, ErrGap)
	require.Equal(t, NeedKeyframe, res.Outcome)
	require.Nil(t, res.State)

	res, err = dec.Apply(frames[0])
	require.NoError(t, err)
	require.Equal(t, Applied, res.Outcome)

	// Frame 2 lost: frame 3 is a gap, the replica stays at 1.
	res, err = dec.Apply(frames[2])
	require.ErrorIs(t, err, ErrGap)
	require.Equal(t, NeedKeyframe, res.Outcome)
	require.Equal(t, uint64(1), res.Seq)
	requireEqualTerms(t, states[0], res.State)

	res, err = dec.Apply(frames[1])
	require.NoError(t, err)
	require.Equal(t, Applied, res.Outcome)

	// Duplicates are ignored.
	for _, f := range frames[:2] {
		res, err = dec.Apply(f)
		require.NoError(t, err)
		require.Equal(t, Duplicate, res.Outcome)
		require.Equal(t, uint64(2), res.Seq)
	}

	// A wrong checksum: discarded, keyframe needed.
	bad := frames[2]
	bad.Checksum++
	res, err = dec.Apply(bad)
	require.ErrorIs(t, err, ErrChecksum)
	require.Equal(t, NeedKeyframe, res.Outcome)
	requireEqualTerms(t, states[1], res.State)

	// A corrupt payload, and a payload that does not fit the replica.
	bad = frames[2]
	bad.Payload = []byte{0xD1, 42}
	res, err = dec.Apply(bad)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Equal(t, NeedKeyframe, res.Outcome)
	bad.Payload, err = Encode(List{Ops: []Op{Retain(1)}})
	require.NoError(t, err)
	res, err = dec.Apply(bad)
	require.ErrorIs(t, err, ErrMismatch)
	require.Equal(t, NeedKeyframe, res.Outcome)

	// The encoder is asked for a keyframe; it resyncs the replica.
	enc.RequestKeyframe()
	f, err := enc.Encode(states[4])
	require.NoError(t, err)
	require.Equal(t, FrameKeyframe, f.Kind)
	res, err = dec.Apply(f)
	require.NoError(t, err)
	require.Equal(t, Applied, res.Outcome)
	require.Equal(t, uint64(5), res.Seq)
	f, err = enc.Encode(states[5])
	require.NoError(t, err)
	require.Equal(t, FrameDelta, f.Kind)
	res, err = dec.Apply(f)
	require.NoError(t, err)
	requireEqualTerms(t, states[5], res.State)

	// A stale epoch is refused; a newer epoch needs a keyframe.
	old := f
	old.Epoch, old.Seq, old.Base = 4, 7, 6
	res, err = dec.Apply(old)
	require.ErrorIs(t, err, ErrStaleEpoch)
	require.Equal(t, Refused, res.Outcome)
	enc6, err := NewEncoder(EncoderConfig{Worker: "w", Epoch: 6})
	require.NoError(t, err)
	k6, err := enc6.Encode(states[6])
	require.NoError(t, err)
	d6, err := enc6.Encode(states[7])
	require.NoError(t, err)
	res, err = dec.Apply(d6)
	require.ErrorIs(t, err, ErrGap)
	require.Equal(t, NeedKeyframe, res.Outcome)
	res, err = dec.Apply(k6)
	require.NoError(t, err)
	require.Equal(t, Applied, res.Outcome)
	require.Equal(t, uint64(6), res.Epoch)
	require.Equal(t, uint64(1), res.Seq)
	res, err = dec.Apply(d6)
	require.NoError(t, err)
	requireEqualTerms(t, states[7], res.State)

	res, err = dec.Apply(Frame{Worker: "other", Seq: 1, Kind: FrameKeyframe})
	require.ErrorIs(t, err, ErrWrongWorker)
	require.Equal(t, Refused, res.Outcome)
}

func TestOutboxOverflowReplay(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for run := range 150 {
		bound := 2 + r.IntN(6)
		o, err := NewOutbox(bound)
		require.NoError(t, err)
		states := []term.Term{randTerm(r, 4)}
		n := 1 + r.IntN(40)
		acked := uint64(0)
		for k := 1; k <= n; k++ {
			states = append(states, mutateN(r, states[k-1], 1+r.IntN(3)))
			require.NoError(t, o.Push(uint64(k), uint64(k), Diff(states[k-1], states[k])))
			require.LessOrEqual(t, o.Len(), bound)
			if r.IntN(6) == 0 {
				acked = uint64(r.IntN(k + 1))
				o.Ack(acked)
			}
		}
		// Entries are contiguous and end at the latest state.
		es := o.Entries()
		for k := 1; k < len(es); k++ {
			require.Equal(t, es[k-1].To+1, es[k].From)
		}
		if len(es) > 0 {
			require.Equal(t, uint64(n), es[len(es)-1].To)
		}
		boundaries := map[uint64]bool{}
		for _, e := range es {
			boundaries[e.From-1] = true
		}
		for rcv := uint64(0); rcv <= uint64(n); rcv++ {
			s, to, err := o.Since(rcv)
			if err != nil {
				require.ErrorIs(t, err, ErrNeedKeyframe)
				require.False(t, boundaries[rcv], "run %d: receiver at boundary %d must be served", run, rcv)
				continue
			}
			require.Equal(t, uint64(n), max(to, rcv), "run %d", run)
			got, err := Apply(states[rcv], s)
			require.NoError(t, err, "run %d rcv %d", run, rcv)
			if to == uint64(n) {
				requireEqualTerms(t, states[n], got, run, rcv)
			}
		}
	}
	_, err := NewOutbox(1)
	require.ErrorIs(t, err, ErrConfig)
	o, _ := NewOutbox(2)
	require.NoError(t, o.Push(1, 1, Keep{}))
	require.ErrorIs(t, o.Push(3, 3, Keep{}), ErrGap)
	require.ErrorIs(t, o.Push(0, 0, Keep{}), ErrGap)
	o.Reset(7)
	require.Equal(t, 0, o.Len())
	require.ErrorIs(t, o.Push(7, 7, Keep{}), ErrGap)
	require.NoError(t, o.Push(8, 9, Keep{}))
	_, _, err = o.Since(6)
	require.ErrorIs(t, err, ErrNeedKeyframe)
	o.Ack(9)
	_, _, err = o.Since(8)
	require.ErrorIs(t, err, ErrNeedKeyframe)
	s, to, err := o.Since(9)
	require.NoError(t, err)
	require.Equal(t, uint64(9), to)
	require.True(t, s.IsEmpty())
}

// On the reference workload a delta is under 1% of the keyframe, and the
// replica built by Apply shares what did not change.
func TestReferenceDeltaSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the 4 MB reference state")
	}
	s := workload.State(workload.Reference, 42)
	key, err := encodeState(s)
	require.NoError(t, err)
	st := workload.NewStepper(workload.Reference, 3)
	for k := range 5 {
		n := st.Step(s, int64(k))
		spec := Diff(s, n)
		b, err := Encode(spec)
		require.NoError(t, err)
		require.Less(t, len(b), len(key)/100, "step %d", k)
		got, err := Apply(s, spec)
		require.NoError(t, err)
		require.Equal(t, term.Hash(n), term.Hash(got))
		g := got.(*term.Tuple)
		if term.Same(n.At(workload.FieldBlob), s.At(workload.FieldBlob)) {
			require.True(t, term.Same(g.At(workload.FieldBlob), s.At(workload.FieldBlob)), "untouched blob shared")
		}
		require.True(t, term.Same(g.At(workload.FieldWorker), s.At(workload.FieldWorker)))
		s = n
	}
}
