package term

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// AtMany gives what At gives, for any ascending (or repeated) indexes, on
// lists of one leaf and of several levels, and panics as At does.
func TestListAtMany(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 5, 64, 65, 3000, 70000} {
		elems := make([]Term, n)
		for i := range elems {
			elems[i] = Int(i * 7)
		}
		l := NewList(elems...)
		for range 20 {
			var idx []int
			for i := 0; i < n; i += 1 + r.IntN(1+n/10) {
				idx = append(idx, i)
				if r.IntN(5) == 0 {
					idx = append(idx, i) // a repeat
				}
			}
			dst := []Term{Atom("kept")}
			got := l.AtMany(dst, idx)
			require.Len(t, got, len(idx)+1)
			require.Equal(t, Atom("kept"), got[0])
			for k, i := range idx {
				require.Equal(t, l.At(i), got[k+1], "index %d", i)
			}
		}
		require.Panics(t, func() { l.AtMany(nil, []int{0, n}) })
		require.Panics(t, func() { l.AtMany(nil, []int{-1}) })
	}
	require.Empty(t, Nil().AtMany(nil, nil))
}

// PutMany on a cold-path-sized batch (where it warms the search paths
// first) gives the same map as Put one at a time, for keys of every kind
// the warming reads specially and keys it does not.
func TestPutManyWarmedPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := func(i int) Term {
		switch i % 5 {
		case 0:
			return BinaryString("k-" + string(rune('a'+i%26)) + Format(Int(i)))
		case 1:
			return Int(i * 1000)
		case 2:
			return NewTuple(Atom("k"), Int(i))
		case 3:
			return Atom("a" + Format(Int(i)))
		}
		return Float(float64(i) + 0.5)
	}
	var pairs []Pair
	for i := range 20000 {
		pairs = append(pairs, Pair{key(i), Int(i)})
	}
	m := MapOf(pairs...)
	for round := range 10 {
		var batch []Pair
		want := m
		for range minWarmPairs + r.IntN(200) {
			i := r.IntN(25000) // some keys new, some present
			p := Pair{key(i), Int(round*100000 + i)}
			batch = append(batch, p)
			want = want.Put(p.Key, p.Value)
		}
		got := m.PutMany(batch)
		require.True(t, Equal(want, got))
		require.Equal(t, Hash(want), Hash(got))
		m = got
	}
}
