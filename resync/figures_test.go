package resync

import (
	"testing"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// TestFigures prints the resync figures of issue 8 on the reference
// workload, one run side by side: go test ./resync/ -run Figures -v
func TestFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("reference-size figures")
	}
	base := workload.State(workload.Reference, 42)
	kf, err := term.EncodedSize(base)
	require.NoError(t, err)

	// Covered by the outbox: the copy is 5 steps behind, the outbox has them.
	out, err := delta.NewOutbox(64)
	require.NoError(t, err)
	st := workload.NewStepper(workload.Reference, 5)
	cur := base
	for i := 1; i <= 5; i++ {
		next := st.Step(cur, int64(i))
		require.NoError(t, out.Push(uint64(i), uint64(i), delta.Diff(cur, next)))
		cur = next
	}
	p, err := CatchUp(out, 1, Position{Epoch: 1, Seq: 0})
	require.NoError(t, err)
	require.True(t, p.Covered)
	enc, err := delta.Encode(p.Spec)
	require.NoError(t, err)
	t.Logf("%-22s rt=%d bytes=%9d (keyframe %d)", "covered by outbox", 1, len(enc)+16, kf)

	for _, tc := range []struct {
		name string
		frac float64
	}{{"1% sessions diverged", 0.01}, {"50% sessions diverged", 0.5}} {
		src, trueBytes := diverge(t, base, tc.frac, 9)
		res, err := Sync(src, base, DefaultConfig())
		require.NoError(t, err)
		require.True(t, term.Equal(src, res.State))
		t.Logf("%-22s rt=%d bytes=%9d (hashes+paths %d, payload %d, true change %d, keyframe chosen %v)",
			tc.name, res.RoundTrips, res.BytesToSrc+res.BytesToCopy, res.HashBytes, res.BytesToSrc+res.BytesToCopy-res.HashBytes, trueBytes, res.Keyframe)
	}
	res, err := Sync(base, nil, DefaultConfig())
	require.NoError(t, err)
	t.Logf("%-22s rt=%d bytes=%9d (keyframe chosen %v)", "brand-new copy", res.RoundTrips, res.BytesToSrc+res.BytesToCopy, res.Keyframe)
}

// BenchmarkSyncOnePercent measures one whole Merkle resync of the reference
// state with 1% of sessions diverged (both sides, in memory, through the
// wire codec).
func BenchmarkSyncOnePercent(b *testing.B) {
	base := workload.State(workload.Reference, 42)
	src, _ := diverge(b, base, 0.01, 9)
	term.Hash(src)
	term.Hash(base)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sync(src, base, DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
