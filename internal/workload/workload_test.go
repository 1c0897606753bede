package workload

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func TestStateShape(t *testing.T) {
	for _, v := range []Variant{Small, Reference} {
		s := State(v, 42)
		p := v.Params()
		require.Equal(t, 7, s.Len())
		require.Equal(t, p.Sessions, s.At(FieldSessions).(*term.List).Len())
		require.Equal(t, p.Counters, s.At(FieldCounters).(*term.Map).Len())
		require.Equal(t, p.BlobBytes, s.At(FieldBlob).(*term.Binary).Len())
	}
	require.True(t, term.Equal(Session(7), term.Record("session", term.Int(7),
		term.Record("timestamp", term.Int(86996753)), term.Record("tid", term.Int(0)),
		term.Record("loc", term.NewTuple(term.Int(7), term.Int(7)), term.Atom("na")),
		term.BinaryString("user-0000000007"))))
}

func TestStepIsDeterministicAndShares(t *testing.T) {
	s0 := State(Small, 1)
	a := NewStepper(Small, 7).Step(s0, 5)
	b := NewStepper(Small, 7).Step(s0, 5)
	require.True(t, term.Equal(a, b), "same seed, same step")
	require.False(t, term.Equal(a, s0))
	require.Equal(t, term.Int(2), a.At(FieldVersion))
	require.Equal(t, term.Int(5), a.At(FieldTimestamp))
	require.Same(t, s0.At(FieldBlob), a.At(FieldBlob).(*term.Binary), "blob untouched unless overwritten")

	// Exactly 100 sessions differ when the list kept its length.
	st := NewStepper(Small, 3)
	s := s0
	for i := 0; i < 200; i++ {
		next := st.Step(s, int64(i))
		ol, nl := s.At(FieldSessions).(*term.List), next.At(FieldSessions).(*term.List)
		if ol.Len() == nl.Len() && term.Equal(ol.At(0), nl.At(0)) {
			diff := 0
			for j := 0; j < ol.Len(); j++ {
				if !term.Equal(ol.At(j), nl.At(j)) {
					diff++
				}
			}
			require.Equal(t, 100, diff)
		}
		s = next
	}
}
