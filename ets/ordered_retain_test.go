package ets

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// A removed node keeps its links for lock-free readers, so the insert
// fingers must not keep one: it would keep every node removed after it
// alive, and deleted objects' memory would never be given back.
func TestOrderedFingersDropRemovedNodes(t *testing.T) {
	o, err := New(Options{Kind: OrderedSet})
	require.NoError(t, err)
	// Keys in the middle of the table use the insert fingers.
	for _, k := range []int{0, 1000, 500, 501, 502, 200, 201} {
		require.NoError(t, o.Insert(term.NewTuple(term.Int(k))))
	}
	for _, k := range []int{0, 1000, 500, 501, 502, 200, 201} {
		_, err := o.Delete(term.Int(k))
		require.NoError(t, err)
	}
	ord := o.t.st.(*ordered)
	for _, fp := range ord.insFingers {
		for l, x := range fp {
			if x != nil && x != &ord.head {
				require.False(t, x.removed.Load(), "finger at level %d keeps a removed node", l)
			}
		}
	}
}
