package delta

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// A sender numbering its own states (skipping merged ones), a receiver
// resumed from a stored replica, and a sender rebased on what the receiver
// holds keep one stream.
func TestEncodeAtRebaseResume(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Worker: "w", Epoch: 2, Policy: Every(100)})
	require.NoError(t, err)
	s1 := term.NewTuple(term.Int(1), term.BinaryString("a"))
	s5 := term.NewTuple(term.Int(5), term.BinaryString("a"))
	s9 := term.NewTuple(term.Int(9), term.BinaryString("b"))

	f1, err := enc.EncodeAt(s1, 10)
	require.NoError(t, err)
	require.Equal(t, FrameKeyframe, f1.Kind)
	require.Equal(t, uint64(10), f1.Seq)
	f5, err := enc.EncodeAt(s5, 14)
	require.NoError(t, err)
	require.Equal(t, FrameDelta, f5.Kind)
	require.Equal(t, uint64(10), f5.Base)
	_, err = enc.EncodeAt(s9, 14)
	require.ErrorIs(t, err, ErrInvalidFrame, "a sequence not above the last is refused")

	dec := ResumeDecoder("w", s1, 2, 10) // the replica survived, the decoder did not
	res, err := dec.Apply(f5)
	require.NoError(t, err)
	require.Equal(t, Applied, res.Outcome)
	require.True(t, term.Equal(s5, res.State))

	// The receiver reports it holds s1 at 10: the sender rebases on it and
	// the next frame is one delta from there.
	enc.RequestKeyframe()
	enc.Rebase(s1, 10)
	f9, err := enc.EncodeAt(s9, 20)
	var f Frame
	require.NoError(t, err)
	require.Equal(t, FrameDelta, f9.Kind)
	require.Equal(t, uint64(10), f9.Base)
	res, err = ResumeDecoder("w", s1, 2, 10).Apply(f9)
	require.NoError(t, err)
	require.True(t, term.Equal(s9, res.State))

	// A decoder at another state than the rebase says refuses by checksum
	// or gap, never applies wrongly.
	res, err = ResumeDecoder("w", s5, 2, 14).Apply(f9)
	require.ErrorIs(t, err, ErrGap)
	require.Equal(t, NeedKeyframe, res.Outcome)

	// A fresh encoder rebased on a state (a worker taken over, resynced)
	// weighs its deltas against that state's size: a delta, not a keyframe.
	fresh, err := NewEncoder(EncoderConfig{Worker: "w", Epoch: 3})
	require.NoError(t, err)
	fresh.Rebase(s1, 10)
	f, err = fresh.EncodeAt(s5, 11)
	require.NoError(t, err)
	require.Equal(t, FrameDelta, f.Kind)

	enc.Rebase(nil, 20)
	f, err = enc.EncodeAt(s1, 21)
	require.NoError(t, err)
	require.Equal(t, FrameKeyframe, f.Kind)
	require.Nil(t, ResumeDecoder("w", nil, 2, 3).state)
}
