package delta

import (
	"math/rand/v2"

	"github.com/enode-dev/enode/term"
)

// Random terms and random edits for the property tests. Edits use the term
// package's update helpers, so an edited term shares what it did not touch,
// as a worker's next state does.

var atoms = []term.Atom{"a", "b", "ok", "na", "session", "loc", "true", "undefined"}

func randScalar(r *rand.Rand) term.Term {
	switch r.IntN(8) {
	case 0, 1:
		return term.Int(r.IntN(10))
	case 2:
		return term.Int(r.Int64() >> r.IntN(64))
	case 3:
		return term.Float(float64(r.IntN(5)))
	case 4, 5:
		return atoms[r.IntN(len(atoms))]
	case 6:
		return randBinary(r)
	default:
		return term.Pid{Node: "n@h", ID: uint32(r.IntN(3)), Serial: 1, Creation: 2}
	}
}

func randBinary(r *rand.Rand) *term.Binary {
	n := r.IntN(8)
	if r.IntN(6) == 0 {
		n = 40 + r.IntN(300)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(4))
	}
	if n > 0 && r.IntN(12) == 0 {
		return term.NewBitstring(b, uint8(1+r.IntN(7)))
	}
	return term.NewBinary(b)
}

func randTerm(r *rand.Rand, depth int) term.Term {
	if depth <= 0 || r.IntN(3) == 0 {
		return randScalar(r)
	}
	switch r.IntN(4) {
	case 0:
		n := r.IntN(6)
		if r.IntN(10) == 0 {
			n = 60 + r.IntN(40) // longer than the original's 50 positions
		}
		e := make([]term.Term, n)
		for i := range e {
			e[i] = randTerm(r, depth-1)
		}
		return term.NewTuple(e...)
	case 1:
		n := r.IntN(12)
		if r.IntN(8) == 0 {
			n = 50 + r.IntN(100)
		}
		e := make([]term.Term, n)
		for i := range e {
			e[i] = randTerm(r, depth-1)
		}
		if n > 0 && r.IntN(8) == 0 {
			return term.ImproperList(e, randScalar(r))
		}
		return term.NewList(e...)
	case 2:
		n := r.IntN(7)
		m := term.EmptyMap()
		for range n {
			m = m.Put(randKey(r), randTerm(r, depth-1))
		}
		return m
	default:
		return randBinary(r)
	}
}

func randKey(r *rand.Rand) term.Term {
	switch r.IntN(5) {
	case 0:
		return term.Int(r.IntN(6))
	case 1:
		return term.Float(float64(r.IntN(6)))
	case 2:
		return atoms[r.IntN(len(atoms))]
	case 3:
		return term.NewTuple(term.Int(r.IntN(2)), term.Float(float64(r.IntN(2))))
	default:
		return term.BinaryString(string(rune('k' + r.IntN(6))))
	}
}

// mutate returns t with a few random changes made by the update helpers.
func mutate(r *rand.Rand, t term.Term, depth int) term.Term {
	m := mutate1(r, t, depth)
	if l, ok := m.(*term.List); ok && l.Len() == 0 && !l.IsProper() {
		// Deleting every element of an improper list leaves [|Tail], which
		// the term package allows but Erlang has no syntax or encoding for.
		return l.Tail()
	}
	return m
}

func mutate1(r *rand.Rand, t term.Term, depth int) term.Term {
	if depth <= 0 || r.IntN(8) == 0 {
		return randTerm(r, 2)
	}
	switch x := t.(type) {
	case *term.Tuple:
		n := x.Len()
		switch c := r.IntN(10); {
		case n > 0 && c < 6:
			i := r.IntN(n)
			return x.Set(i, mutate(r, x.At(i), depth-1))
		case c < 7:
			return x.Append(randTerm(r, 2))
		case n > 0 && c < 8:
			return x.Delete(r.IntN(n))
		default:
			return x.Insert(r.IntN(n+1), randTerm(r, 2))
		}
	case *term.List:
		n := x.Len()
		switch c := r.IntN(12); {
		case n > 0 && c < 5:
			i := r.IntN(n)
			return x.Set(i, mutate(r, x.At(i), depth-1))
		case c < 6:
			return x.Append(randTerm(r, 2))
		case n > 0 && c < 7:
			return x.Delete(0, 1)
		case n > 0 && c < 9:
			i := r.IntN(n)
			return x.Delete(i, min(n, i+1+r.IntN(3)))
		case c < 11:
			vs := make([]term.Term, 1+r.IntN(3))
			for k := range vs {
				vs[k] = randTerm(r, 2)
			}
			return x.Insert(r.IntN(n+1), vs...)
		case n > 0:
			if x.IsProper() {
				return x.WithTail(atoms[r.IntN(len(atoms))])
			}
			return x.WithTail(term.Nil())
		default:
			return x.Append(term.Int(n))
		}
	case *term.Map:
		keys := make([]term.Term, 0, x.Len())
		for k := range x.All() {
			keys = append(keys, k)
		}
		switch c := r.IntN(10); {
		case len(keys) > 0 && c < 5:
			k := keys[r.IntN(len(keys))]
			v, _ := x.Get(k)
			return x.Put(k, mutate(r, v, depth-1))
		case len(keys) > 0 && c < 7:
			return x.Remove(keys[r.IntN(len(keys))])
		default:
			return x.Put(randKey(r), randTerm(r, 2))
		}
	case *term.Binary:
		n := x.Len()
		switch c := r.IntN(6); {
		case x.IsBinary() && n > 0 && c < 3:
			off := r.IntN(n)
			p := make([]byte, 1+r.IntN(min(8, n-off)))
			for i := range p {
				p[i] = byte(r.IntN(256))
			}
			return x.Set(off, p)
		case x.IsBinary() && c < 4:
			return x.Append([]byte("xyz")[:1+r.IntN(3)])
		case n > 1 && c < 5:
			i := r.IntN(n)
			return x.Slice(i, n)
		default:
			return randBinary(r)
		}
	}
	return randTerm(r, 2)
}

// mutateN applies k random mutations.
func mutateN(r *rand.Rand, t term.Term, k int) term.Term {
	for range k {
		t = mutate(r, t, 5)
	}
	return t
}

// deepCopy rebuilds t so that it shares nothing with it, as a term decoded
// from bytes would.
func deepCopy(t term.Term) term.Term {
	switch x := t.(type) {
	case *term.Tuple:
		e := x.Elems()
		for i := range e {
			e[i] = deepCopy(e[i])
		}
		return term.NewTuple(e...)
	case *term.List:
		e := x.Elems()
		for i := range e {
			e[i] = deepCopy(e[i])
		}
		if x.IsProper() {
			return term.NewList(e...)
		}
		return term.ImproperList(e, deepCopy(x.Tail()))
	case *term.Map:
		var ps []term.Pair
		for k, v := range x.All() {
			ps = append(ps, term.Pair{Key: deepCopy(k), Value: deepCopy(v)})
		}
		return term.MapOf(ps...)
	case *term.Binary:
		if x.IsBinary() {
			return term.NewBinary(x.Bytes())
		}
		return term.NewBitstring(x.Bytes(), x.TailBits())
	}
	return t
}
