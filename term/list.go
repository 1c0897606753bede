package term

import (
	"iter"
	"unicode/utf8"
)

// List is an Erlang list: proper ([a,b,c], with [] as the empty list) or
// improper ([a,b|c]). Create one with NewList, Charlist or ImproperList;
// Set, Append, Insert and Delete return a new list that shares every
// untouched part with the old one, so updating one element of a long list
// costs about log(n), not n. Element indexes count from 0.
type List struct {
	elems []Term
	tail  Term // nil for a proper list
	hash  hashCache
}

var emptyList = &List{}

// Nil returns the empty list [].
func Nil() *List { return emptyList }

// NewList returns the proper list [elems...]. It copies elems.
func NewList(elems ...Term) *List {
	if len(elems) == 0 {
		return emptyList
	}
	return &List{elems: append([]Term(nil), elems...)}
}

// ImproperList returns [elems... | tail]. A tail that is itself a list is
// joined on, so the result is in normal form: ImproperList([a], [b]) is the
// proper list [a,b]. It copies elems.
func ImproperList(elems []Term, tail Term) *List {
	return listOwning(append([]Term(nil), elems...), tail)
}

// listOwning returns [elems... | tail], taking ownership of elems.
func listOwning(elems []Term, tail Term) *List {
	if t, ok := tail.(*List); ok {
		if t.Len() > 0 || t.tail != nil {
			elems = append(elems, t.elems...)
		}
		tail = t.tail
	}
	if len(elems) == 0 && tail == nil {
		return emptyList
	}
	return &List{elems: elems, tail: tail}
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
func (l *List) Len() int { return len(l.elems) }

// IsProper reports whether the list ends in [].
func (l *List) IsProper() bool { return l.tail == nil }

// Tail returns what the last cons cell points to: Nil() for a proper list.
func (l *List) Tail() Term {
	if l.tail == nil {
		return emptyList
	}
	return l.tail
}

// At returns element i. It panics if i is out of range, like a slice index.
func (l *List) At(i int) Term { return l.elems[i] }

// All iterates over the elements with their indexes.
func (l *List) All() iter.Seq2[int, Term] {
	return func(yield func(int, Term) bool) {
		for i, e := range l.elems {
			if !yield(i, e) {
				return
			}
		}
	}
}

// Elems returns a copy of the elements.
func (l *List) Elems() []Term { return append([]Term(nil), l.elems...) }

// AppendElems appends the elements to dst and returns it.
func (l *List) AppendElems(dst []Term) []Term { return append(dst, l.elems...) }

// Set returns the list with element i replaced by v.
func (l *List) Set(i int, v Term) *List {
	if v == nil {
		panic("term: nil Term in List.Set")
	}
	e := append([]Term(nil), l.elems...)
	e[i] = v
	return &List{elems: e, tail: l.tail}
}

// Update returns the list with element i replaced by f(element i).
func (l *List) Update(i int, f func(Term) Term) *List { return l.Set(i, f(l.elems[i])) }

// Append returns the list with vs added after the last element; an improper
// tail stays the tail.
func (l *List) Append(vs ...Term) *List { return l.Insert(len(l.elems), vs...) }

// Insert returns the list with vs inserted before element i (i == Len()
// appends).
func (l *List) Insert(i int, vs ...Term) *List {
	_ = l.elems[:i]
	e := make([]Term, 0, len(l.elems)+len(vs))
	e = append(e, l.elems[:i]...)
	e = append(e, vs...)
	e = append(e, l.elems[i:]...)
	return listOwning(e, l.tail)
}

// Delete returns the list without elements i to j-1.
func (l *List) Delete(i, j int) *List {
	_ = l.elems[i:j]
	e := make([]Term, 0, len(l.elems)-(j-i))
	e = append(e, l.elems[:i]...)
	e = append(e, l.elems[j:]...)
	return listOwning(e, l.tail)
}

// Slice returns the proper list of elements i to j-1.
func (l *List) Slice(i, j int) *List {
	return listOwning(append([]Term(nil), l.elems[i:j]...), nil)
}

// WithTail returns the list with its tail replaced (Nil() makes it proper).
func (l *List) WithTail(tail Term) *List {
	return listOwning(append([]Term(nil), l.elems...), tail)
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
func ListEdits(old, new *List) []ListEdit {
	a, b := old.elems, new.elems
	p := 0
	for p < len(a) && p < len(b) && Same(a[p], b[p]) {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && Same(a[len(a)-1-s], b[len(b)-1-s]) {
		s++
	}
	if p == len(a)-s && p == len(b)-s {
		return nil
	}
	if len(a) != len(b) {
		return []ListEdit{{p, len(a) - s, p, len(b) - s}}
	}
	var out []ListEdit
	for i := p; i < len(a)-s; i++ {
		if Same(a[i], b[i]) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].OldHi == i {
			out[n-1].OldHi, out[n-1].NewHi = i+1, i+1
			continue
		}
		out = append(out, ListEdit{i, i + 1, i, i + 1})
	}
	return out
}
