package term

import (
	"math/big"
	"sync/atomic"
)

// Term is an immutable Erlang value. The concrete types are Atom, Int,
// BigInt, Float, *Binary, *Tuple, *List, *Map, Pid, Port, Ref and *Fun;
// no other type implements Term.
type Term interface {
	// Kind reports the Erlang type of the term.
	Kind() Kind
	isTerm()
}

// Kind is the Erlang type of a term. Kinds are declared in Erlang's term
// order (number < atom < reference < fun < port < pid < tuple < map < list
// < bitstring), so comparing kinds compares the types' places in that order.
// The empty list sorts before every other list, which is how nil comes
// between map and list in Erlang's order.
type Kind uint8

// The kinds, in Erlang's term order. KindInt covers Int and BigInt.
const (
	KindInt Kind = iota + 1
	KindFloat
	KindAtom
	KindRef
	KindFun
	KindPort
	KindPid
	KindTuple
	KindMap
	KindList
	KindBinary
)

var kindNames = [...]string{
	KindInt: "integer", KindFloat: "float", KindAtom: "atom", KindRef: "reference",
	KindFun: "fun", KindPort: "port", KindPid: "pid", KindTuple: "tuple",
	KindMap: "map", KindList: "list", KindBinary: "bitstring",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "invalid"
}

// numberOrder reports the place of k in term order, treating integers and
// floats as one class (numbers compare by value across the two types).
func (k Kind) order() int {
	if k == KindFloat {
		return int(KindInt)
	}
	return int(k)
}

// Atom is an Erlang atom, such as ok or 'hello world'. Atoms are at most
// 255 characters (code points) long, as in Erlang.
type Atom string

// Common atoms.
const (
	True      Atom = "true"
	False     Atom = "false"
	Undefined Atom = "undefined"
	OK        Atom = "ok"
)

// Bool returns the atom true or false.
func Bool(b bool) Atom {
	if b {
		return True
	}
	return False
}

// Int is an Erlang integer that fits in 64 bits. Integers outside that range
// are BigInt; the constructors keep the two apart, so an Int and a BigInt are
// never equal.
type Int int64

// BigInt is an Erlang integer outside the int64 range. Create one with
// Integer; its value is never changed after construction.
type BigInt struct{ v *big.Int }

// Integer returns v as an Int when it fits in 64 bits, or as a BigInt. It
// copies v, so the caller may go on changing it.
func Integer(v *big.Int) Term {
	if v.IsInt64() {
		return Int(v.Int64())
	}
	return BigInt{new(big.Int).Set(v)}
}

// Big returns a copy of the integer's value.
func (b BigInt) Big() *big.Int { return new(big.Int).Set(b.v) }

// bigValue returns the value without copying; callers must not change it.
func (b BigInt) bigValue() *big.Int { return b.v }

// Float is an Erlang float (IEEE 754 double). Erlang has no NaN or infinity;
// the codec refuses to encode them.
type Float float64

// Pid is an Erlang process identifier: opaque, it round-trips exactly.
type Pid struct {
	Node     Atom
	ID       uint32
	Serial   uint32
	Creation uint32
}

// Port is an Erlang port identifier: opaque, it round-trips exactly.
type Port struct {
	Node     Atom
	ID       uint64
	Creation uint32
}

// Ref is an Erlang reference: opaque, it round-trips exactly. Len says how
// many of the ID words are used (1 to 5).
type Ref struct {
	Node     Atom
	Creation uint32
	Len      uint8
	ID       [5]uint32
}

// Words returns the used ID words of the reference.
func (r Ref) Words() []uint32 {
	n := int(r.Len)
	if n > len(r.ID) {
		n = len(r.ID)
	}
	return r.ID[:n]
}

// Fun is an Erlang fun as the External Term Format carries it: opaque, kept
// so that it round-trips exactly. An export fun (fun M:F/A) has Exported set
// and only Module, Function and Arity; a local fun has the rest.
type Fun struct {
	Exported bool
	Module   Atom
	Function Atom // export funs only
	Arity    uint8
	Uniq     [16]byte
	Index    uint32
	OldIndex Term // an Int
	OldUniq  Term // an Int
	Pid      Term // a Pid
	FreeVars []Term
}

func (Atom) Kind() Kind    { return KindAtom }
func (Int) Kind() Kind     { return KindInt }
func (BigInt) Kind() Kind  { return KindInt }
func (Float) Kind() Kind   { return KindFloat }
func (Pid) Kind() Kind     { return KindPid }
func (Port) Kind() Kind    { return KindPort }
func (Ref) Kind() Kind     { return KindRef }
func (*Fun) Kind() Kind    { return KindFun }
func (*Tuple) Kind() Kind  { return KindTuple }
func (*List) Kind() Kind   { return KindList }
func (*Map) Kind() Kind    { return KindMap }
func (*Binary) Kind() Kind { return KindBinary }

func (Atom) isTerm()    {}
func (Int) isTerm()     {}
func (BigInt) isTerm()  {}
func (Float) isTerm()   {}
func (Pid) isTerm()     {}
func (Port) isTerm()    {}
func (Ref) isTerm()     {}
func (*Fun) isTerm()    {}
func (*Tuple) isTerm()  {}
func (*List) isTerm()   {}
func (*Map) isTerm()    {}
func (*Binary) isTerm() {}

// hashCache holds a composite term's content hash once computed. Terms are
// shared between goroutines, so the cache is written atomically; 0 means not
// computed yet (a real hash of 0 is stored as 1).
type hashCache struct{ h atomic.Uint64 }

func (c *hashCache) load() (uint64, bool) {
	h := c.h.Load()
	return h, h != 0
}

func (c *hashCache) store(h uint64) uint64 {
	if h == 0 {
		h = 1
	}
	c.h.Store(h)
	return h
}

// Tuple is an Erlang tuple. Create one with NewTuple or Record; Set returns
// a new tuple that shares every other element with the old one.
type Tuple struct {
	elems []Term
	// hash caches, unlike other composites', the polynomial hash of the
	// elements (see hash.go) with polyCached set, never 0 once computed;
	// Hash finishes it with the arity. Two cached values differ exactly
	// when the hashes of tuples of one arity do.
	hash hashCache
}

// NewTuple returns the tuple {elems...}. It copies elems.
func NewTuple(elems ...Term) *Tuple {
	t := makeTuple(len(elems))
	copy(t.elems, elems)
	return t
}

// Record returns the record tuple {name, fields...}.
func Record(name Atom, fields ...Term) *Tuple {
	t := makeTuple(len(fields) + 1)
	t.elems[0] = name
	copy(t.elems[1:], fields)
	return t
}

// tupleWith is a tuple together with the array its elements live in: a
// small tuple as one object, so that reading it costs one cache miss where
// a header and a separate element slice cost two. A is [n]Term.
type tupleWith[A any] struct {
	t Tuple
	a A
}

// makeTuple returns a tuple of n elements, all nil, for the caller to fill
// before sharing it. A tuple of up to 8 elements (records, pairs, the small
// tuples that states are mostly made of) is one allocation: the struct and
// its element array together, instead of two (each size is one of the
// allocator's size classes, 64 to 160 bytes). The decoder carves the same
// layout from slabs (decoder.smallTuple).
func makeTuple(n int) *Tuple {
	switch n {
	case 0:
		return &Tuple{}
	case 1:
		p := new(tupleWith[[1]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 2:
		p := new(tupleWith[[2]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 3:
		p := new(tupleWith[[3]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 4:
		p := new(tupleWith[[4]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 5:
		p := new(tupleWith[[5]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 6:
		p := new(tupleWith[[6]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 7:
		p := new(tupleWith[[7]Term])
		p.t.elems = p.a[:]
		return &p.t
	case 8:
		p := new(tupleWith[[8]Term])
		p.t.elems = p.a[:]
		return &p.t
	}
	return &Tuple{elems: make([]Term, n)}
}

// tupleOwning returns a tuple that takes ownership of elems.
func tupleOwning(elems []Term) *Tuple { return &Tuple{elems: elems} }

// Len returns the tuple's arity.
func (t *Tuple) Len() int { return len(t.elems) }

// At returns the element at index i, counting from 0 (Erlang's element(i+1,
// T)). It panics if i is out of range, like a slice index.
func (t *Tuple) At(i int) Term { return t.elems[i] }

// Elems returns a copy of the elements.
func (t *Tuple) Elems() []Term { return append([]Term(nil), t.elems...) }

// Tag returns the first element when it is an atom, as for a record.
func (t *Tuple) Tag() (Atom, bool) {
	if len(t.elems) == 0 {
		return "", false
	}
	a, ok := t.elems[0].(Atom)
	return a, ok
}

// Set returns a copy of t with element i replaced by v (setelement(i+1, T,
// V)); every other element is shared with t. It panics if i is out of range.
//
// When t's hash is cached, the copy's is derived from it and the hashes of
// the old and the new element (hashing v now), without reading the other
// elements: a cold record stays cold where it was not changed.
func (t *Tuple) Set(i int, v Term) *Tuple {
	if v == nil {
		panic("term: nil Term in Tuple.Set")
	}
	old := t.elems[i]
	nt := makeTuple(len(t.elems))
	copy(nt.elems, t.elems)
	nt.elems[i] = v
	if p, ok := t.cachedPoly(); ok {
		nt.hash.h.Store(polyAdd(p, replaceDelta(len(t.elems), i, Hash(old), Hash(v))) | polyCached)
	}
	return nt
}

// SetMany returns a copy of t with element e.Index replaced by e.Value for
// every e in elems: the same tuple as calling Set for each in turn (when an
// index repeats, the last value wins), built in one allocation, and with its
// hash carried from t's as Set does. It panics if an index is out of range
// or a value is nil, as Set does.
func (t *Tuple) SetMany(elems []ListElem) *Tuple {
	n := len(t.elems)
	for _, e := range elems {
		if e.Value == nil {
			panic("term: nil Term in Tuple.SetMany")
		}
		_ = t.elems[e.Index] // the range check Set makes
	}
	nt := makeTuple(n)
	copy(nt.elems, t.elems)
	p, carry := t.cachedPoly()
	for _, e := range elems {
		if carry {
			p = polyAdd(p, replaceDelta(n, e.Index, Hash(nt.elems[e.Index]), Hash(e.Value)))
		}
		nt.elems[e.Index] = e.Value
	}
	if carry {
		nt.hash.h.Store(p | polyCached)
	}
	return nt
}

// Update returns a copy of t with element i replaced by f(element i).
func (t *Tuple) Update(i int, f func(Term) Term) *Tuple { return t.Set(i, f(t.elems[i])) }

// Append returns a copy of t with vs added at the end (erlang:append_element).
func (t *Tuple) Append(vs ...Term) *Tuple {
	nt := makeTuple(len(t.elems) + len(vs))
	copy(nt.elems[copy(nt.elems, t.elems):], vs)
	return nt
}

// Delete returns a copy of t without element i (erlang:delete_element).
func (t *Tuple) Delete(i int) *Tuple {
	nt := makeTuple(len(t.elems) - 1)
	copy(nt.elems[copy(nt.elems, t.elems[:i]):], t.elems[i+1:])
	return nt
}

// Insert returns a copy of t with v inserted before index i
// (erlang:insert_element).
func (t *Tuple) Insert(i int, v Term) *Tuple {
	nt := makeTuple(len(t.elems) + 1)
	copy(nt.elems, t.elems[:i])
	nt.elems[i] = v
	copy(nt.elems[i+1:], t.elems[i:])
	return nt
}
