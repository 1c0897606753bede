package ets

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// Deleted objects of an ordered_set filled in key order are given back to
// the garbage collector. (A skip list's removed node keeps its links for
// lock-free readers, so a search finger left on one kept every node
// removed after it alive.)
func TestOrderedDeletedObjectsCollected(t *testing.T) {
	o, err := New(Options{Kind: OrderedSet})
	require.NoError(t, err)
	const n = 2000
	var collected atomic.Int64
	for i := range n {
		bin := term.NewBinary([]byte("10.0.0.1"))
		runtime.SetFinalizer(bin, func(*term.Binary) { collected.Add(1) })
		require.NoError(t, o.Insert(term.NewTuple(term.Int(i), bin)))
	}
	// Keys in the middle too, which use the insert fingers.
	for _, k := range []int{n + 1000, n + 500, n + 501, n + 502} {
		require.NoError(t, o.Insert(term.NewTuple(term.Int(k))))
	}
	for i := range n {
		first, ok, err := o.First()
		require.NoError(t, err)
		require.True(t, ok)
		_, _, err = o.Lookup(first)
		require.NoError(t, err)
		ok, err = o.Delete(term.Int(i))
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Eventually(t, func() bool {
		runtime.GC()
		return collected.Load() >= n*9/10
	}, 10*time.Second, 10*time.Millisecond, "collected %d of %d deleted objects", collected.Load(), n)
	runtime.KeepAlive(o)
}
