//go:build !chaoshooks

package actors

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChaosHooksAbsent: without the chaoshooks build tag the chaos suite's
// fault hooks cannot be switched on, whatever the environment says.
func TestChaosHooksAbsent(t *testing.T) {
	for _, v := range []string{"ignore-fenced", "ack-unstored"} {
		t.Setenv("ENODE_CHAOS_HOOK", v)
		require.False(t, hookIgnoreFenced(), v)
		s := NewMapStore()
		require.NoError(t, s.Put(Replica{Worker: "w", Epoch: 1, Seq: 1}))
		require.False(t, hookAckUnstored(s, Replica{Worker: "w", Epoch: 1, Seq: 2}), v)
	}
}
