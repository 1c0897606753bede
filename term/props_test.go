package term

import (
	"cmp"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// refCompareLists is the term order of lists by its definition, on copies
// of the elements.
func refCompareLists(x, y *List, exact bool) int {
	a, b := x.Elems(), y.Elems()
	for i := range min(len(a), len(b)) {
		if c := compare(a[i], b[i], exact); c != 0 {
			return c
		}
	}
	switch {
	case len(a) == len(b):
		return compare(x.Tail(), y.Tail(), exact)
	case len(a) > len(b):
		return -tailVersusRest(y.Tail())
	default:
		return tailVersusRest(x.Tail())
	}
}

func refEqualLists(x, y *List) bool {
	a, b := x.Elems(), y.Elems()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return Equal(x.tail, y.tail)
}

// refCompareMaps is the term order of maps by its definition: size, keys in
// map-key order, then values in key order.
func refCompareMaps(x, y *Map, exact bool) int {
	if x.Len() != y.Len() {
		return cmp.Compare(x.Len(), y.Len())
	}
	var xk, yk, xv, yv []Term
	for k, v := range x.All() {
		xk, xv = append(xk, k), append(xv, v)
	}
	for k, v := range y.All() {
		yk, yv = append(yk, k), append(yv, v)
	}
	for i := range xk {
		if c := compareKeys(xk[i], yk[i]); c != 0 {
			return c
		}
	}
	for i := range xv {
		if c := compare(xv[i], yv[i], exact); c != 0 {
			return c
		}
	}
	return 0
}

// smallTerm returns values from a tiny domain, so that random lists and maps
// are often equal or equal but for 1 versus 1.0.
func smallTerm(r *rand.Rand) Term {
	switch r.IntN(4) {
	case 0:
		return Float(r.IntN(3))
	case 1:
		return NewTuple(Int(r.IntN(2)))
	}
	return Int(r.IntN(3))
}

// mutateList applies one random edit to l, often none that changes the
// contents (setting an equal element, rebuilding the list).
func mutateList(r *rand.Rand, l *List) *List {
	n := l.Len()
	switch r.IntN(7) {
	case 0:
		if n > 0 {
			return l.Set(r.IntN(n), smallTerm(r))
		}
	case 1:
		return l.Insert(r.IntN(n+1), smallTerm(r))
	case 2:
		if n > 0 {
			i := r.IntN(n)
			return l.Delete(i, i+1)
		}
	case 3:
		return ImproperList(l.Elems(), l.Tail())
	case 4:
		return l.WithTail(Atom("t"))
	case 5:
		if n > 0 {
			return l.Update(r.IntN(n), func(e Term) Term { return ImproperList([]Term{e}, Nil()).At(0) })
		}
	}
	return l.WithTail(Nil())
}

// TestListOrderProperties checks Equal and Compare on lists that share
// structure against the definitions on element copies.
func TestListOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 4))
	for range 300 {
		n := r.IntN(400)
		e := make([]Term, n)
		for i := range e {
			e[i] = smallTerm(r)
		}
		a := NewList(e...)
		b := a
		for range r.IntN(4) {
			b = mutateList(r, b)
		}
		if r.IntN(3) == 0 {
			Hash(a) // cached hashes take the early exit
			Hash(b)
		}
		require.Equal(t, refEqualLists(a, b), Equal(a, b))
		require.Equal(t, refCompareLists(a, b, false), Compare(a, b))
		require.Equal(t, refCompareLists(a, b, true), compareKeys(a, b))
		require.Equal(t, -Compare(a, b), Compare(b, a))
		if Equal(a, b) {
			require.Equal(t, Hash(a), Hash(b))
		}
	}
}

func TestMapOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 4))
	for range 300 {
		a := EmptyMap()
		for range r.IntN(300) {
			a = a.Put(Int(r.IntN(400)), smallTerm(r))
		}
		b := a
		for range r.IntN(4) {
			switch r.IntN(3) {
			case 0:
				b = b.Put(smallTerm(r), smallTerm(r))
			case 1:
				b = b.Remove(Int(r.IntN(400)))
			default:
				b = b.Put(Int(r.IntN(400)), smallTerm(r))
			}
		}
		require.Equal(t, refCompareMaps(a, b, false), Compare(a, b))
		require.Equal(t, refCompareMaps(a, b, true), compareKeys(a, b))
		require.Equal(t, -Compare(a, b), Compare(b, a))
		eq := Equal(a, b)
		require.Equal(t, eq, refCompareMaps(a, b, true) == 0 && a.Len() == b.Len())
		if eq {
			require.Equal(t, Hash(a), Hash(b))
		}
	}
}

// TestHashConcurrent hashes shared structure from several goroutines; run
// with -race it checks that the per-node caches are safe to fill at once.
func TestHashConcurrent(t *testing.T) {
	l := listOwning(tuples(5000), nil)
	m := mapFromSorted(ints(0, 5000), ints(0, 5000))
	big := NewBinary(make([]byte, 3*binaryHashChunk))
	variants := []Term{l.Set(7, Int(1)), l.Append(Int(1)), m.Put(Int(7), Int(0)), big.Set(5, []byte{1})}
	want := make([]uint64, len(variants))
	for i, v := range variants {
		want[i] = Hash(rebuild(v))
	}
	var wg sync.WaitGroup
	got := make([][]uint64, 4)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range variants {
				got[g] = append(got[g], Hash(v))
			}
		}()
	}
	wg.Wait()
	for g := range got {
		require.Equal(t, want, got[g])
	}
}

// rebuild returns a copy of a list, map or binary that shares no internal
// structure with it.
func rebuild(v Term) Term {
	switch x := v.(type) {
	case *List:
		return ImproperList(x.Elems(), x.Tail())
	case *Map:
		var keys, vals []Term
		for k, v := range x.All() {
			keys, vals = append(keys, k), append(vals, v)
		}
		return mapFromSorted(keys, vals)
	case *Binary:
		return NewBitstring(x.Bytes(), x.TailBits())
	}
	return v
}

// TestHashAfterUpdates checks that hashes assembled from caches after many
// updates match the hash of a rebuilt term.
func TestHashAfterUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	l := listOwning(tuples(20000), nil)
	m := mapFromSorted(ints(0, 20000), ints(0, 20000))
	b := NewBinary(make([]byte, 4*binaryHashChunk+9))
	Hash(l)
	Hash(m)
	Hash(b)
	for range 50 {
		for range 20 {
			l = l.Set(r.IntN(l.Len()), Int(r.IntN(9)))
			m = m.Put(Int(r.IntN(30000)), Int(r.IntN(9)))
			b = b.Set(r.IntN(b.Len()-8), []byte{1, 2, 3, 4, 5, 6, 7, 8})
		}
		l = l.Delete(0, 1).Append(Int(3)).Insert(r.IntN(l.Len()), Int(4))
		m = m.Remove(Int(r.IntN(30000)))
		require.Equal(t, Hash(rebuild(l)), Hash(l))
		require.Equal(t, Hash(rebuild(m)), Hash(m))
		require.Equal(t, Hash(rebuild(b)), Hash(b))
	}
}

func TestHashBinaryString(t *testing.T) {
	for _, n := range []int{0, 1, 15, 64, binaryHashChunk, binaryHashChunk + 1, 3*binaryHashChunk + 7} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		require.Equal(t, Hash(NewBinary(b)), HashBinaryString(string(b)), "%d bytes", n)
	}
	require.NotEqual(t, HashBinaryString("a"), HashBinaryString("b"))
	require.NotEqual(t, HashBinaryString("a"), Hash(Atom("a")))
}
