package term

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// fresh returns a deep copy of v that shares no composite with it and has
// no hash cached.
func fresh(t *testing.T, v Term) Term {
	t.Helper()
	switch x := v.(type) {
	case *Tuple:
		e := make([]Term, x.Len())
		for i := range e {
			e[i] = fresh(t, x.At(i))
		}
		return NewTuple(e...)
	case *List:
		e := x.Elems()
		for i := range e {
			e[i] = fresh(t, e[i])
		}
		if tl, ok := x.Tail().(*List); ok && tl.Len() == 0 {
			return NewList(e...)
		}
		return ImproperList(e, fresh(t, x.Tail()))
	case *Map:
		var keys, vals []Term
		for k, v := range x.All() {
			keys, vals = append(keys, fresh(t, k)), append(vals, fresh(t, v))
		}
		return mapFromSorted(keys, vals)
	case *Binary:
		return NewBitstring(x.Bytes(), x.TailBits())
	case *Fun:
		f := *x
		f.FreeVars = nil
		for _, v := range x.FreeVars {
			f.FreeVars = append(f.FreeVars, fresh(t, v))
		}
		return &f
	}
	return v
}

// TestTupleHashCarried checks that the hashes Set and SetMany carry from a
// hashed tuple are the hashes of the same tuples built from scratch, over
// random tuples and random replacements (some of them nested records built
// with Set themselves).
func TestTupleHashCarried(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for range 300 {
		n := 1 + r.IntN(12)
		elems := make([]Term, n)
		for i := range elems {
			elems[i] = randomTerm(r, 2)
		}
		tup := NewTuple(elems...)
		Hash(tup)
		cur := tup
		for range 1 + r.IntN(5) {
			i := r.IntN(n)
			v := randomTerm(r, 2)
			if inner, ok := cur.At(i).(*Tuple); ok && inner.Len() > 0 && r.IntN(2) == 0 {
				v = inner.Set(r.IntN(inner.Len()), randomTerm(r, 1))
			}
			cur = cur.Set(i, v)
			_, ok := cur.cachedPoly()
			require.True(t, ok, "Set on a hashed tuple carries the hash")
			require.Equal(t, Hash(fresh(t, cur)), Hash(cur), "after Set(%d): %s", i, Format(cur))
		}
		var edits []ListElem
		for range r.IntN(2 * n) {
			edits = append(edits, ListElem{Index: r.IntN(n), Value: randomTerm(r, 2)})
		}
		many := cur.SetMany(edits)
		one := cur
		for _, e := range edits {
			one = one.Set(e.Index, e.Value)
		}
		require.True(t, Equal(one, many), "SetMany %v: %s vs %s", edits, Format(many), Format(one))
		require.Equal(t, Hash(fresh(t, many)), Hash(many))
		require.Equal(t, Hash(one), Hash(many))
	}
}

// TestTupleHashLazy checks that updates of a tuple whose hash is not
// cached leave the copy's hash to be computed when asked.
func TestTupleHashLazy(t *testing.T) {
	tup := NewTuple(Atom("a"), Int(1000), BinaryString("x"))
	nt := tup.Set(1, Int(2000))
	_, ok := nt.cachedPoly()
	require.False(t, ok)
	nt = tup.SetMany([]ListElem{{Index: 2, Value: Int(1)}})
	_, ok = nt.cachedPoly()
	require.False(t, ok)
	require.Equal(t, Hash(NewTuple(Atom("a"), Int(1000), Int(1))), Hash(nt))
}

// TestTupleHashDistinct checks that the polynomial hash still tells apart
// tuples that differ by arity, order or one element.
func TestTupleHashDistinct(t *testing.T) {
	ts := []*Tuple{
		NewTuple(),
		NewTuple(Int(0)),
		NewTuple(Int(0), Int(0)),
		NewTuple(Int(1), Int(2)),
		NewTuple(Int(2), Int(1)),
		NewTuple(Int(1), Int(2), Int(0)),
		NewTuple(NewTuple(Int(1), Int(2))),
		NewTuple(NewTuple(Int(1)), Int(2)),
	}
	seen := map[uint64]int{}
	for i, x := range ts {
		h := Hash(x)
		j, dup := seen[h]
		require.False(t, dup, "%s and %s hash alike", Format(ts[j]), Format(x))
		seen[h] = i
	}
	require.NotEqual(t, Hash(NewTuple(Int(1))), Hash(NewList(Int(1))))
}

func TestTupleSetManyPanics(t *testing.T) {
	tup := NewTuple(Int(1), Int(2))
	require.Panics(t, func() { tup.SetMany([]ListElem{{Index: 2, Value: Int(1)}}) })
	require.Panics(t, func() { tup.SetMany([]ListElem{{Index: -1, Value: Int(1)}}) })
	require.Panics(t, func() { tup.SetMany([]ListElem{{Index: 0, Value: nil}}) })
	require.Same(t, tup, tup) // unchanged
	require.True(t, Equal(tup, tup.SetMany(nil)))
}

// TestDecodedTuplesFromSlabs: tuples of every arity that the decoder carves
// with their elements from per-arity slabs behave as tuples built with
// NewTuple, and updates of one (Set, Append, Insert, Delete) leave its
// neighbours in the slab alone.
func TestDecodedTuplesFromSlabs(t *testing.T) {
	var want []*Tuple
	var elems []Term
	for n := range 11 {
		for k := range 3 {
			e := make([]Term, n)
			for i := range e {
				e[i] = Int(1000*n + 10*k + i)
			}
			tup := NewTuple(e...)
			want = append(want, tup)
			elems = append(elems, tup)
		}
	}
	enc, err := Encode(NewList(elems...))
	require.NoError(t, err)
	dec, err := Decode(enc)
	require.NoError(t, err)
	var got []*Tuple
	for _, e := range dec.(*List).All() {
		got = append(got, e.(*Tuple))
	}
	require.Len(t, got, len(want))
	for i, x := range got {
		require.True(t, Equal(want[i], x), "tuple %d: %s", i, Format(x))
		require.Equal(t, Hash(want[i]), Hash(x))
	}
	for i, x := range got {
		if x.Len() == 0 {
			continue
		}
		_ = x.Set(0, Atom("x")).Append(Atom("y"), Atom("z"))
		_ = x.Insert(x.Len(), Atom("w"))
		_ = x.Delete(0)
		_ = x.SetMany([]ListElem{{Index: x.Len() - 1, Value: Atom("v")}})
		for j, o := range got {
			require.True(t, Equal(want[j], o), "changing tuple %d moved tuple %d", i, j)
		}
	}
}
