package term

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// An EditScratch gives what ListEdits and MapEdits give, call after call
// on the same memory, and stops allocating once its buffers have grown.
func TestEditScratchMatchesEdits(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	elems := make([]Term, 5000)
	for k := range elems {
		elems[k] = NewTuple(Int(k))
	}
	l0 := NewList(elems...)
	m0 := EmptyMap()
	for k := range 2000 {
		m0 = m0.Put(Int(k), NewTuple(Int(k)))
	}
	var s EditScratch
	for n := range 300 {
		l1, m1 := l0, m0
		for range r.IntN(40) {
			k := r.IntN(l1.Len())
			switch r.IntN(4) {
			case 0:
				l1 = l1.Delete(k, k+1)
			case 1:
				l1 = l1.Insert(k, Int(n))
			default:
				l1 = l1.Set(k, NewTuple(Int(-k)))
			}
			key := Int(r.IntN(2500))
			switch r.IntN(3) {
			case 0:
				m1 = m1.Remove(key)
			default:
				m1 = m1.Put(key, NewTuple(Int(n)))
			}
		}
		if n%50 == 0 {
			l1, m1 = NewList(), EmptyMap() // one side empty
		}
		require.Equal(t, ListEdits(l0, l1), s.ListEdits(l0, l1), n)
		var want []MapChange
		MapEdits(m0, m1, func(k, ov, nv Term) bool {
			want = append(want, MapChange{k, ov, nv})
			return true
		})
		got := s.MapChanges(m0, m1)
		require.Equal(t, len(want), len(got), n)
		for k := range want {
			require.True(t, Identical(want[k].Key, got[k].Key) && Identical(want[k].OldV, got[k].OldV) &&
				Identical(want[k].NewV, got[k].NewV), "%d: change %d", n, k)
		}
	}
	l1 := l0.Set(100, Int(1)).Set(4000, Int(2))
	m1 := m0.Put(Int(7), Int(1)).Put(Int(1500), Int(2))
	allocs := testing.AllocsPerRun(20, func() {
		s.ListEdits(l0, l1)
		s.MapChanges(m0, m1)
	})
	require.Zero(t, allocs)
}
