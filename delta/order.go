package delta

import (
	"cmp"

	"github.com/enode-dev/enode/term"
)

// keyOrder is a strict total order on terms that agrees with term.Equal:
// Erlang's term order made exact, with an integer before a float of the same
// value, as map keys are ordered. Map specs keep their entries in this order
// so that Merge can join two of them in one pass.
func keyOrder(a, b term.Term) int {
	if c := exactOrder(a, b); c != 0 {
		return c
	}
	if term.Equal(a, b) {
		return 0
	}
	// Unequal terms that the order above cannot tell apart (funs differing
	// only in parts term order ignores): any fixed tie-break will do.
	return cmp.Compare(term.Hash(a), term.Hash(b))
}

func isNumber(k term.Kind) bool { return k == term.KindInt || k == term.KindFloat }

func exactOrder(a, b term.Term) int {
	ka, kb := a.Kind(), b.Kind()
	if isNumber(ka) && isNumber(kb) {
		c := term.Compare(a, b)
		if c == 0 && ka != kb {
			if ka == term.KindInt {
				return -1
			}
			return 1
		}
		return c
	}
	if ka != kb {
		return term.Compare(a, b)
	}
	switch x := a.(type) {
	case *term.Tuple:
		y := b.(*term.Tuple)
		if x.Len() != y.Len() {
			return cmp.Compare(x.Len(), y.Len())
		}
		for i := range x.Len() {
			if c := exactOrder(x.At(i), y.At(i)); c != 0 {
				return c
			}
		}
		return 0
	case *term.List:
		y := b.(*term.List)
		n := min(x.Len(), y.Len())
		for i := range n {
			if c := exactOrder(x.At(i), y.At(i)); c != 0 {
				return c
			}
		}
		if x.Len() == y.Len() {
			return exactOrder(x.Tail(), y.Tail())
		}
		// The prefixes are exactly equal, so term order decides the rest.
		return term.Compare(x, y)
	case *term.Map:
		y := b.(*term.Map)
		if x.Len() != y.Len() {
			return cmp.Compare(x.Len(), y.Len())
		}
		xk, xv := pairs(x)
		yk, yv := pairs(y)
		for i := range xk {
			if c := exactOrder(xk[i], yk[i]); c != 0 {
				return c
			}
		}
		for i := range xv {
			if c := exactOrder(xv[i], yv[i]); c != 0 {
				return c
			}
		}
		return 0
	}
	return term.Compare(a, b)
}

func pairs(m *term.Map) (keys, vals []term.Term) {
	keys = make([]term.Term, 0, m.Len())
	vals = make([]term.Term, 0, m.Len())
	for k, v := range m.All() {
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals
}
