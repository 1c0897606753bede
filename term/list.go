package term

import (
	"fmt"
	"iter"
	"unicode/utf8"
)

// List is an Erlang list: proper ([a,b,c], with [] as the empty list) or
// improper ([a,b|c]). Create one with NewList, Charlist or ImproperList;
// Set, Append, Insert and Delete return a new list that shares every
// untouched part with the old one, so updating one element of a long list
// costs about log(n), not n. Element indexes count from 0.
//
// The elements live in a persistent balanced tree of chunks (see rope.go):
// leaves of up to 32 elements, inner nodes of up to 32 children that know
// their children's element counts. A list of 32,000 elements is three levels
// deep.
type List struct {
	root *lnode // nil for a list without elements
	tail Term   // nil for a proper list; never a *List
	hash hashCache
}

var emptyList = &List{}

// Nil returns the empty list [].
func Nil() *List { return emptyList }

// NewList returns the proper list [elems...]. It copies elems.
func NewList(elems ...Term) *List {
	if len(elems) == 0 {
		return emptyList
	}
	return &List{root: buildRope(append([]Term(nil), elems...))}
}

// ImproperList returns [elems... | tail]. A tail that is itself a list is
// joined on, so the result is in normal form: ImproperList([a], [b]) is the
// proper list [a,b]. It copies elems.
func ImproperList(elems []Term, tail Term) *List {
	return listOwning(append([]Term(nil), elems...), tail)
}

// listOwning returns [elems... | tail], taking ownership of elems: the
// leaves of the new list are subslices of elems, so building costs one pass
// and a few allocations per 32 elements.
func listOwning(elems []Term, tail Term) *List {
	return listOf(buildRope(elems), tail)
}

// listOf returns the list with the given tree and tail, joining a tail that
// is a list on so that the result is in normal form.
func listOf(root *lnode, tail Term) *List {
	if t, ok := tail.(*List); ok {
		root = ropeJoin(root, t.root)
		tail = t.tail
	}
	if root == nil && tail == nil {
		return emptyList
	}
	return &List{root: root, tail: tail}
}

// Charlist returns the Erlang string s: the list of its code points.
func Charlist(s string) *List {
	e := make([]Term, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		e = append(e, Int(r))
	}
	return listOwning(e, nil)
}

// Len returns the number of elements, not counting an improper tail.
func (l *List) Len() int {
	if l.root == nil {
		return 0
	}
	return l.root.n
}

// IsProper reports whether the list ends in [].
func (l *List) IsProper() bool { return l.tail == nil }

// Tail returns what the last cons cell points to: Nil() for a proper list.
func (l *List) Tail() Term {
	if l.tail == nil {
		return emptyList
	}
	return l.tail
}

func (l *List) checkIndex(i int) {
	if i < 0 || i >= l.Len() {
		panic(fmt.Sprintf("term: list index %d out of range [0:%d]", i, l.Len()))
	}
}

func (l *List) checkRange(i, j int) {
	if i < 0 || j < i || j > l.Len() {
		panic(fmt.Sprintf("term: list range [%d:%d] out of range [0:%d]", i, j, l.Len()))
	}
}

// At returns element i. It panics if i is out of range, like a slice index.
func (l *List) At(i int) Term {
	l.checkIndex(i)
	return l.root.at(i)
}

// All iterates over the elements with their indexes.
func (l *List) All() iter.Seq2[int, Term] {
	return func(yield func(int, Term) bool) {
		if l.root == nil {
			return
		}
		i := 0
		l.root.leaves(func(leaf []Term) bool {
			for _, e := range leaf {
				if !yield(i, e) {
					return false
				}
				i++
			}
			return true
		})
	}
}

// Elems returns a copy of the elements.
func (l *List) Elems() []Term { return l.AppendElems(make([]Term, 0, l.Len())) }

// AppendElems appends the elements to dst and returns it.
func (l *List) AppendElems(dst []Term) []Term {
	if l.root == nil {
		return dst
	}
	l.root.leaves(func(leaf []Term) bool {
		dst = append(dst, leaf...)
		return true
	})
	return dst
}

// Set returns the list with element i replaced by v.
func (l *List) Set(i int, v Term) *List {
	if v == nil {
		panic("term: nil Term in List.Set")
	}
	l.checkIndex(i)
	return &List{root: l.root.set(i, v), tail: l.tail}
}

// Update returns the list with element i replaced by f(element i).
func (l *List) Update(i int, f func(Term) Term) *List { return l.Set(i, f(l.At(i))) }

// Append returns the list with vs added after the last element; an improper
// tail stays the tail.
func (l *List) Append(vs ...Term) *List { return l.Insert(l.Len(), vs...) }

// Insert returns the list with vs inserted before element i (i == Len()
// appends).
func (l *List) Insert(i int, vs ...Term) *List {
	l.checkRange(i, i)
	for _, v := range vs {
		if v == nil {
			panic("term: nil Term in List.Insert")
		}
	}
	if len(vs) == 0 {
		return l
	}
	mid := buildRope(append([]Term(nil), vs...))
	root := ropeJoin(ropeJoin(ropePrefix(l.root, i), mid), ropeSuffix(l.root, i))
	return &List{root: root, tail: l.tail}
}

// Delete returns the list without elements i to j-1.
func (l *List) Delete(i, j int) *List {
	l.checkRange(i, j)
	if i == j {
		return l
	}
	return listOf(ropeJoin(ropePrefix(l.root, i), ropeSuffix(l.root, j)), l.tail)
}

// Slice returns the proper list of elements i to j-1.
func (l *List) Slice(i, j int) *List {
	l.checkRange(i, j)
	return listOf(ropeSuffix(ropePrefix(l.root, j), i), nil)
}

// WithTail returns the list with its tail replaced (Nil() makes it proper).
func (l *List) WithTail(tail Term) *List {
	if tail == nil {
		panic("term: nil Term in List.WithTail")
	}
	return listOf(l.root, tail)
}

// polyHash is the polynomial hash of the elements (see hash.go), assembled
// from the per-node caches.
func (l *List) polyHash() uint64 {
	if l.root == nil {
		return 0
	}
	p, _ := l.root.polyHash()
	return p
}

// ListEdit says that old[OldLo:OldHi] became new[NewLo:NewHi]. When the two
// spans have the same length, their elements correspond position by
// position (only some of them may differ).
type ListEdit struct{ OldLo, OldHi, NewLo, NewHi int }

// ListEdits returns, in order, the spans where old and new differ; outside
// them the elements are identical. Shared structure is skipped without being
// looked at, so when new was made from old with the update helpers the cost
// follows the number of changes, not the length. Elements inside an edit may
// still be equal. Tails are not compared.
//
// Subtrees that the two lists share act as anchors even when they sit at
// different positions, so an element appended, a head dropped or a few
// elements inserted or deleted in the middle give small edits, not one edit
// from the first shifted element to the end.
func ListEdits(old, new *List) []ListEdit {
	if old.root == new.root {
		return nil
	}
	if old.root == nil || new.root == nil {
		return []ListEdit{{0, old.Len(), 0, new.Len()}}
	}
	d := listDiffer{buf: make([]lspan, 0, 256)}
	d.seq([]lspan{{old.root, 0}}, []lspan{{new.root, 0}}, 0, old.Len(), 0, new.Len())
	return d.out
}
