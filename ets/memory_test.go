package ets

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// randLeaf returns a small random leaf term.
func randLeaf(r *rand.Rand) term.Term {
	switch r.IntN(4) {
	case 0:
		return term.Int(r.Int64N(1000))
	case 1:
		return term.Atom([]string{"a", "ok", "undefined", "session"}[r.IntN(4)])
	case 2:
		return term.NewBinary(make([]byte, r.IntN(64)))
	default:
		return term.Float(r.Float64())
	}
}

// randTerm returns a random term of at most depth levels.
func randTerm(r *rand.Rand, depth int) term.Term {
	if depth == 0 || r.IntN(4) == 0 {
		return randLeaf(r)
	}
	n := r.IntN(8)
	elems := make([]term.Term, n)
	for i := range elems {
		elems[i] = randTerm(r, depth-1)
	}
	switch r.IntN(4) {
	case 0:
		return term.NewTuple(elems...)
	case 1:
		return term.NewList(elems...)
	case 2:
		return term.ImproperList(append(elems, randLeaf(r)), randLeaf(r))
	default:
		pairs := make([]term.Pair, n)
		for i := range pairs {
			pairs[i] = term.Pair{Key: term.Int(r.Int64N(100)), Value: elems[i]}
		}
		return term.MapOf(pairs...)
	}
}

// mutate returns an updated copy of t made with the update helpers, so it
// shares what it does not change, as a replica's next state does.
func mutate(r *rand.Rand, t term.Term, depth int) term.Term {
	switch x := t.(type) {
	case *term.Tuple:
		if x.Len() > 0 && r.IntN(5) > 0 {
			i := r.IntN(x.Len())
			return x.Set(i, mutate(r, x.At(i), depth+1))
		}
	case *term.List:
		switch {
		case x.Len() > 0 && r.IntN(3) == 0:
			i := r.IntN(x.Len())
			return x.Set(i, mutate(r, x.At(i), depth+1))
		case x.Len() > 2 && r.IntN(3) == 0:
			i := r.IntN(x.Len() - 1)
			return x.Delete(i, i+1+r.IntN(x.Len()-i-1))
		case r.IntN(4) == 0:
			return x.WithTail(randLeaf(r))
		default:
			return x.Insert(r.IntN(x.Len()+1), randTerm(r, 2), randLeaf(r))
		}
	case *term.Map:
		if x.Len() > 0 && r.IntN(3) == 0 {
			for k := range x.All() {
				if r.IntN(2) == 0 {
					return x.Remove(k)
				}
			}
		}
		k := term.Int(r.Int64N(120))
		if v, ok := x.Get(k); ok {
			return x.Put(k, mutate(r, v, depth+1))
		}
		return x.Put(k, randTerm(r, 2))
	}
	if depth > 3 || r.IntN(3) == 0 {
		return randTerm(r, 2)
	}
	return randLeaf(r)
}

// termBytesDelta must equal the difference of the two full walks, for
// updated copies (shared structure) and for unrelated terms alike.
func TestTermBytesDeltaMatchesFullWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 3000 {
		old := randTerm(r, 4)
		cur := old
		for range 1 + r.IntN(5) {
			next := mutate(r, cur, 0)
			require.Equal(t, termBytes(next)-termBytes(cur), termBytesDelta(cur, next), "case %d: %v -> %v", i, cur, next)
			cur = next
		}
		require.Equal(t, termBytes(cur)-termBytes(old), termBytesDelta(old, cur), "case %d", i)
		other := randTerm(r, 3)
		require.Equal(t, termBytes(other)-termBytes(cur), termBytesDelta(cur, other), "case %d", i)
		require.Zero(t, termBytesDelta(cur, cur))
	}
}

func TestTermBytesDeltaTable(t *testing.T) {
	l := term.NewList(term.Int(1), term.BinaryString("abc"), term.Int(3))
	m := term.MapOf(term.Pair{Key: term.Atom("k"), Value: term.BinaryString("v")})
	cases := []struct {
		name     string
		old, new term.Term
	}{
		{"leaf kinds differ", term.Int(1), term.BinaryString("xyz")},
		{"tuple arity changes", term.NewTuple(term.Int(1)), term.NewTuple(term.Int(1), term.Int(2))},
		{"tuple element grows", term.NewTuple(l, m), term.NewTuple(l, m.Put(term.Atom("k"), term.BinaryString("longer value")))},
		{"list element set", l, l.Set(1, term.BinaryString("abcdef"))},
		{"list appended", l, l.Append(term.NewTuple(term.Int(4)))},
		{"list emptied", l, term.Nil()},
		{"list from empty", term.Nil(), l},
		{"improper tail added", l, l.WithTail(term.BinaryString("tail"))},
		{"improper tail dropped", l.WithTail(term.BinaryString("tail")), l},
		{"improper tail changed", l.WithTail(term.Int(1)), l.WithTail(term.BinaryString("tail"))},
		{"map key added", m, m.Put(term.Int(2), l)},
		{"map key removed", m.Put(term.Int(2), l), m},
		{"map to list", m, l},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, termBytes(c.new)-termBytes(c.old), termBytesDelta(c.old, c.new))
		})
	}
}

// Replacing objects keeps the table's memory figure exact: after any
// sequence of replacements it equals that of a table filled with the final
// objects directly.
func TestMemoryAfterReplacements(t *testing.T) {
	for _, kind := range kinds() {
		t.Run(kind.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(kind)))
			o, err := New(Options{Kind: kind})
			require.NoError(t, err)
			final := map[int64]*term.Tuple{}
			for range 2000 {
				k := r.Int64N(20)
				obj, ok := final[k]
				if !ok {
					obj = tup(term.Int(k), randTerm(r, 3))
				} else {
					obj = obj.Set(1, mutate(r, obj.At(1), 0))
				}
				require.NoError(t, o.Insert(obj))
				final[k] = obj
			}
			var want int64
			for _, obj := range final {
				want += termBytes(obj)
			}
			require.Equal(t, want, objectBytes(o.t.st))
		})
	}
}

// objectBytes is the part of a table's memory figure that counts its
// objects (the rest is the structure's own).
func objectBytes(st store) int64 {
	switch x := st.(type) {
	case *hashSet:
		var m int64
		for i := range x.shards {
			m += x.shards[i].mem
		}
		return m
	case orderedSet:
		return x.objBytes()
	}
	panic("unknown store")
}

// BenchmarkReplaceReferenceState replaces a replica-sized object (the
// reference workload's ~4 MB state) by its next step, as a replica_handler
// does on every delta: the memory accounting must cost in proportion to the
// step's change, not to the state.
func BenchmarkReplaceReferenceState(b *testing.B) {
	for _, kind := range kinds() {
		b.Run(kind.String(), func(b *testing.B) {
			o, err := New(Options{Kind: kind})
			require.NoError(b, err)
			st := workload.NewStepper(workload.Reference, 1)
			s := workload.State(workload.Reference, 1)
			states := []*term.Tuple{s}
			for i := range 64 {
				s = st.Step(s, int64(i)*100)
				states = append(states, s)
			}
			require.NoError(b, o.Insert(tup(term.Int(1), states[0])))
			b.ResetTimer()
			for i := range b.N {
				require.NoError(b, o.Insert(tup(term.Int(1), states[1+i%64])))
			}
		})
	}
}
