package term_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// A replica that applies workload deltas keeps its hashes cached: after a
// delta.Applier applies a step to a hashed replica (a delta.Decoder hashes
// every keyframe and every state it applies), only the nodes the step
// built can lack a cached hash, so the receiver's checksum costs about the
// change, not the state. The bound is the same for the small and the
// reference state (40 KB and 4 MB; the changes per step are the same), and
// the hash is the one a fresh decode of the same state gets.
func TestAppliedDeltaLeavesHashesCached(t *testing.T) {
	// A step changes 100 sessions and 50 counters; each change copies a few
	// records and the leaf and inner nodes above it.
	const maxUnhashed = 1000
	for _, v := range []workload.Variant{workload.Small, workload.Reference} {
		t.Run(v.String(), func(t *testing.T) {
			st := workload.NewStepper(v, 1)
			cur := workload.State(v, 42)
			key, err := term.Encode(cur)
			require.NoError(t, err)
			replica, err := term.Decode(key)
			require.NoError(t, err)
			unhashed, total := term.UnhashedNodes(replica)
			require.Equal(t, total, unhashed, "a decoded state has no hashes yet")
			term.Hash(replica) // the keyframe's checksum
			unhashed, _ = term.UnhashedNodes(replica)
			require.Zero(t, unhashed)

			var ap delta.Applier
			for k := 1; k <= 10; k++ {
				prev := cur
				cur = st.Step(prev, workload.InitialTimestampMs+int64(k)*1000)
				payload, err := delta.AppendDiff(nil, prev, cur, delta.DiffOptions{})
				require.NoError(t, err)
				next, err := ap.Apply(replica, payload)
				require.NoError(t, err)

				unhashed, total := term.UnhashedNodes(next)
				require.LessOrEqual(t, unhashed, maxUnhashed, "step %d: %d of %d nodes to hash", k, unhashed, total)
				h := term.Hash(next)
				require.Equal(t, term.Hash(cur), h, "step %d", k)
				b, err := term.Encode(next)
				require.NoError(t, err)
				fresh, err := term.Decode(b)
				require.NoError(t, err)
				require.Equal(t, term.Hash(fresh), h, "step %d", k)
				replica = next
			}
		})
	}
}
