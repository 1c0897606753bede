package term

import (
	"bytes"
	"cmp"
	"math"
	"math/big"
	"slices"
	"strings"
)

// Same reports whether a and b are the same value without looking inside
// them: the same object for composite terms, equal values for the others.
// Same(a, b) implies Equal(a, b); the converse does not hold.
func Same(a, b Term) bool {
	switch x := a.(type) {
	case *Tuple:
		y, ok := b.(*Tuple)
		return ok && x == y
	case *List:
		y, ok := b.(*List)
		return ok && x == y
	case *Map:
		y, ok := b.(*Map)
		return ok && x == y
	case *Binary:
		y, ok := b.(*Binary)
		return ok && x == y
	case *Fun:
		y, ok := b.(*Fun)
		return ok && x == y
	case BigInt:
		y, ok := b.(BigInt)
		return ok && x.v == y.v
	case Ref:
		y, ok := b.(Ref)
		return ok && Equal(x, y)
	}
	return a == b
}

// Equal reports whether a and b are exactly equal, as Erlang's =:=: 1 and
// 1.0 are not equal. Shared subterms are equal without being looked at, and
// terms whose hashes are already known and differ are unequal at once.
func Equal(a, b Term) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case Atom:
		y, ok := b.(Atom)
		return ok && x == y
	case Int:
		y, ok := b.(Int)
		return ok && x == y
	case Float:
		y, ok := b.(Float)
		return ok && (x == y || math.Float64bits(float64(x)) == math.Float64bits(float64(y)))
	case BigInt:
		y, ok := b.(BigInt)
		return ok && x.v.Cmp(y.v) == 0
	case Pid, Port:
		return a == b
	case Ref:
		y, ok := b.(Ref)
		return ok && x.Node == y.Node && x.Creation == y.Creation && slices.Equal(x.Words(), y.Words())
	case *Binary:
		y, ok := b.(*Binary)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if x.BitLen() != y.BitLen() || hashesDiffer(&x.hash, &y.hash) {
			return false
		}
		return binaryBytesEqual(x, y)
	case *Tuple:
		y, ok := b.(*Tuple)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if len(x.elems) != len(y.elems) || hashesDiffer(&x.hash, &y.hash) {
			return false
		}
		for i := range x.elems {
			if !Equal(x.elems[i], y.elems[i]) {
				return false
			}
		}
		return true
	case *List:
		y, ok := b.(*List)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if x.Len() != y.Len() || hashesDiffer(&x.hash, &y.hash) {
			return false
		}
		if !listElemsEqual(x, y) {
			return false
		}
		return Equal(x.tail, y.tail)
	case *Map:
		y, ok := b.(*Map)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if x.Len() != y.Len() || hashesDiffer(&x.hash, &y.hash) {
			return false
		}
		eq := true
		MapEdits(x, y, func(_, ov, nv Term) bool {
			eq = ov != nil && nv != nil && Equal(ov, nv)
			return eq
		})
		return eq
	case *Fun:
		y, ok := b.(*Fun)
		if !ok {
			return false
		}
		return x == y || funEqual(x, y)
	}
	return false
}

func hashesDiffer(a, b *hashCache) bool {
	ha, oka := a.load()
	hb, okb := b.load()
	return oka && okb && ha != hb
}

func funEqual(x, y *Fun) bool {
	if x.Exported != y.Exported || x.Module != y.Module || x.Function != y.Function ||
		x.Arity != y.Arity || x.Uniq != y.Uniq || x.Index != y.Index ||
		len(x.FreeVars) != len(y.FreeVars) {
		return false
	}
	if !Equal(x.OldIndex, y.OldIndex) || !Equal(x.OldUniq, y.OldUniq) || !Equal(x.Pid, y.Pid) {
		return false
	}
	for i := range x.FreeVars {
		if !Equal(x.FreeVars[i], y.FreeVars[i]) {
			return false
		}
	}
	return true
}

// Compare orders a and b by Erlang's term order and returns -1, 0 or +1:
// number < atom < reference < fun < port < pid < tuple < map < [] < list <
// bitstring. Integers and floats compare by value, so Compare(1, 1.0) is 0
// (Erlang's ==) while Equal(1, 1.0) is false.
func Compare(a, b Term) int { return compare(a, b, false) }

// compareKeys is Erlang's map-key order: term order, except that every
// integer sorts before every float (maps:keys(#{0.5=>a,2=>b}) is [2,0.5]),
// at any depth.
func compareKeys(a, b Term) int { return compare(a, b, true) }

// CompareKeys orders a and b as the keys of a map are ordered (and as
// term_to_binary writes the keys of a small map): Erlang's term order,
// except that every integer sorts before every float, at any depth. It is 0
// exactly when a and b are Equal.
func CompareKeys(a, b Term) int { return compareKeys(a, b) }

func compare(a, b Term, exact bool) int {
	ka, kb := a.Kind(), b.Kind()
	if ka.order() != kb.order() {
		return cmp.Compare(ka.order(), kb.order())
	}
	switch x := a.(type) {
	case Int, BigInt, Float:
		if exact && ka != kb {
			// In map-key order every integer sorts before every float.
			return cmp.Compare(int(ka), int(kb))
		}
		return compareNumbers(a, b)
	case Atom:
		return strings.Compare(string(x), string(b.(Atom)))
	case Ref:
		// OTP 25 orders references by node, then creation, then the ID
		// words from the most significant (last) down.
		y := b.(Ref)
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		if x.Creation != y.Creation {
			return cmp.Compare(uint64(x.Creation), uint64(y.Creation))
		}
		xw, yw := x.Words(), y.Words()
		if len(xw) != len(yw) {
			return cmp.Compare(len(xw), len(yw))
		}
		for i := len(xw) - 1; i >= 0; i-- {
			if xw[i] != yw[i] {
				return cmp.Compare(uint64(xw[i]), uint64(yw[i]))
			}
		}
		return 0
	case *Fun:
		return compareFuns(x, b.(*Fun), exact)
	case Port:
		y := b.(Port)
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		if x.ID != y.ID {
			return cmp.Compare(x.ID, y.ID)
		}
		return cmp.Compare(uint64(x.Creation), uint64(y.Creation))
	case Pid:
		// OTP 25 orders pids by serial, then number, then node (the
		// serial is the high part of a local pid's word).
		y := b.(Pid)
		if x.Serial != y.Serial {
			return cmp.Compare(uint64(x.Serial), uint64(y.Serial))
		}
		if x.ID != y.ID {
			return cmp.Compare(uint64(x.ID), uint64(y.ID))
		}
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		return cmp.Compare(uint64(x.Creation), uint64(y.Creation))
	case *Tuple:
		y := b.(*Tuple)
		if x == y {
			return 0
		}
		if len(x.elems) != len(y.elems) {
			return cmp.Compare(len(x.elems), len(y.elems))
		}
		for i := range x.elems {
			if c := compare(x.elems[i], y.elems[i], exact); c != 0 {
				return c
			}
		}
		return 0
	case *Map:
		return compareMaps(x, b.(*Map), exact)
	case *List:
		return compareLists(x, b.(*List), exact)
	case *Binary:
		return compareBinaries(x, b.(*Binary))
	}
	return 0
}

// listElemsEqual reports whether two lists of one length have equal
// elements. Positions outside the edits hold identical elements as long as
// the edits keep their lengths; from an edit that shifts positions on, the
// rest is compared position by position, skipping shared leaves.
func listElemsEqual(x, y *List) bool {
	eq := func(a, b Term) bool { return Equal(a, b) }
	for _, e := range ListEdits(x, y) {
		if e.OldHi-e.OldLo != e.NewHi-e.NewLo {
			return ropeZip(x.root, y.root, e.OldLo, x.Len(), eq)
		}
		if !ropeZip(x.root, y.root, e.OldLo, e.OldHi, eq) {
			return false
		}
	}
	return true
}

// compareMaps orders maps by size, then by their keys in map-key order, then
// by their values in key order. Only the pairs MapEdits reports can decide:
// the smallest key that one map has and the other lacks decides the key
// order (the map holding it has the smaller key there), and failing such a
// key, the first value that compares unequal does.
func compareMaps(x, y *Map, exact bool) int {
	if x == y {
		return 0
	}
	if x.Len() != y.Len() {
		return cmp.Compare(x.Len(), y.Len())
	}
	c := 0
	MapEdits(x, y, func(_, ov, nv Term) bool {
		switch {
		case nv == nil:
			c = -1
		case ov == nil:
			c = 1
		}
		return c == 0
	})
	if c != 0 {
		return c
	}
	MapEdits(x, y, func(_, ov, nv Term) bool {
		c = compare(ov, nv, exact)
		return c == 0
	})
	return c
}

// compareLists orders lists element by element, then by what follows the
// shorter one. Only positions inside the edits between the two can differ
// until an edit shifts positions; from there on they are compared position
// by position, skipping shared leaves.
func compareLists(x, y *List, exact bool) int {
	if x == y {
		return 0
	}
	n := min(x.Len(), y.Len())
	c := 0
	cmp := func(a, b Term) bool {
		c = compare(a, b, exact)
		return c == 0
	}
	for _, e := range ListEdits(x, y) {
		if e.OldLo >= n {
			break
		}
		if e.OldHi-e.OldLo != e.NewHi-e.NewLo {
			ropeZip(x.root, y.root, e.OldLo, n, cmp)
			break
		}
		if !ropeZip(x.root, y.root, e.OldLo, min(e.OldHi, n), cmp) {
			break
		}
	}
	if c != 0 {
		return c
	}
	switch {
	case x.Len() == y.Len():
		return compare(x.Tail(), y.Tail(), exact)
	case x.Len() > n:
		// x goes on with a non-empty list where y has its tail.
		return -tailVersusRest(y.Tail())
	default:
		return tailVersusRest(x.Tail())
	}
}

// tailVersusRest compares a list's tail with the non-empty rest of a longer
// list at the same place. A tail is never a non-empty list (lists are kept in
// normal form), so it is [] or a term of another kind.
func tailVersusRest(t Term) int {
	if _, ok := t.(*List); ok {
		return -1 // [] sorts before any non-empty list
	}
	return cmp.Compare(t.Kind().order(), KindList.order())
}

// binaryBytesEqual reports whether two binaries of one bit length hold the
// same bytes, skipping chunks they share.
func binaryBytesEqual(x, y *Binary) bool {
	if x.Len() != y.Len() {
		return false
	}
	for k := range x.spans() {
		if !sameSpan(x, y, k) && !bytes.Equal(x.span(k), y.span(k)) {
			return false
		}
	}
	return true
}

// compareBinaries orders bitstrings bit by bit, a prefix first. The unused
// bits of a last byte are clear, so bytes compare as bits do.
func compareBinaries(x, y *Binary) int {
	if x == y {
		return 0
	}
	for k := range min(x.spans(), y.spans()) {
		if sameSpan(x, y, k) {
			continue
		}
		a, c := x.span(k), y.span(k)
		m := min(len(a), len(c))
		if r := bytes.Compare(a[:m], c[:m]); r != 0 {
			return r
		}
	}
	return cmp.Compare(x.BitLen(), y.BitLen())
}

func compareFuns(x, y *Fun, exact bool) int {
	if x == y {
		return 0
	}
	if x.Exported != y.Exported {
		// OTP sorts local funs before export funs.
		if !x.Exported {
			return -1
		}
		return 1
	}
	if c := strings.Compare(string(x.Module), string(y.Module)); c != 0 {
		return c
	}
	if x.Exported {
		if c := strings.Compare(string(x.Function), string(y.Function)); c != 0 {
			return c
		}
		return cmp.Compare(int(x.Arity), int(y.Arity))
	}
	if c := compareOptional(x.OldIndex, y.OldIndex, exact); c != 0 {
		return c
	}
	if c := compareOptional(x.OldUniq, y.OldUniq, exact); c != 0 {
		return c
	}
	// Then what tells two local funs of one module apart, so that funs
	// which are not Equal never compare as 0 (they would collide as keys).
	if x.Index != y.Index {
		return cmp.Compare(uint64(x.Index), uint64(y.Index))
	}
	if c := bytes.Compare(x.Uniq[:], y.Uniq[:]); c != 0 {
		return c
	}
	if x.Arity != y.Arity {
		return cmp.Compare(int(x.Arity), int(y.Arity))
	}
	if c := compareOptional(x.Pid, y.Pid, exact); c != 0 {
		return c
	}
	if len(x.FreeVars) != len(y.FreeVars) {
		return cmp.Compare(len(x.FreeVars), len(y.FreeVars))
	}
	for i := range x.FreeVars {
		if c := compare(x.FreeVars[i], y.FreeVars[i], exact); c != 0 {
			return c
		}
	}
	return 0
}

// compareOptional orders an absent (nil) field before a present one.
func compareOptional(a, b Term, exact bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return compare(a, b, exact)
}

// compareNumbers compares integers and floats by value, exactly (no
// rounding of large integers to floats).
func compareNumbers(a, b Term) int {
	switch x := a.(type) {
	case Int:
		switch y := b.(type) {
		case Int:
			return cmp.Compare(int64(x), int64(y))
		case BigInt:
			return -y.v.Sign()
		case Float:
			return -compareFloatInt(float64(y), big.NewInt(int64(x)))
		}
	case BigInt:
		switch y := b.(type) {
		case Int:
			return x.v.Sign()
		case BigInt:
			return x.v.Cmp(y.v)
		case Float:
			return -compareFloatInt(float64(y), x.v)
		}
	case Float:
		switch y := b.(type) {
		case Int:
			return compareFloatInt(float64(x), big.NewInt(int64(y)))
		case BigInt:
			return compareFloatInt(float64(x), y.v)
		case Float:
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	return 0
}

func compareFloatInt(f float64, i *big.Int) int {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		if f > 0 {
			return 1
		}
		return -1
	}
	bf := new(big.Float).SetFloat64(f)
	return bf.Cmp(new(big.Float).SetInt(i))
}
