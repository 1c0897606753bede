package resync

import (
	"math/rand/v2"
	"testing"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// diverge changes frac of the sessions of s as a workload step would (new
// timestamp and loc X) and returns the result and the encoded size of the
// true change.
func diverge(t testing.TB, s *term.Tuple, frac float64, seed uint64) (*term.Tuple, int) {
	r := rand.New(rand.NewPCG(seed, 7))
	sessions := s.At(workload.FieldSessions).(*term.List)
	n := int(float64(sessions.Len()) * frac)
	for _, i := range r.Perm(sessions.Len())[:n] {
		sess := sessions.At(i).(*term.Tuple)
		ts := sess.At(2).(*term.Tuple)
		sess = sess.Set(2, ts.Set(1, ts.At(1).(term.Int)+term.Int(1+r.IntN(1000))))
		sessions = sessions.Set(i, sess)
	}
	out := s.Set(workload.FieldSessions, sessions)
	enc, err := delta.Encode(delta.Diff(s, out))
	require.NoError(t, err)
	return out, len(enc)
}

func checkSync(t *testing.T, src, cp term.Term) Result {
	t.Helper()
	res, err := Sync(src, cp, DefaultConfig())
	require.NoError(t, err)
	require.True(t, term.Equal(src, res.State), "copy must end equal to the source")
	require.LessOrEqual(t, res.RoundTrips, 3)
	return res
}

func TestReferenceOnePercent(t *testing.T) {
	base := workload.State(workload.Reference, 42)
	src, trueBytes := diverge(t, base, 0.01, 1)
	res := checkSync(t, src, base)
	t.Logf("1%%: rt=%d toSrc=%d toCopy=%d hash=%d delta=%d true=%d kf=%v", res.RoundTrips, res.BytesToSrc, res.BytesToCopy, res.HashBytes, res.Source.DeltaBytes, trueBytes, res.Keyframe)
	require.False(t, res.Keyframe)
}
