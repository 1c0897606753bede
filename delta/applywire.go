package delta

import (
	"fmt"

	"github.com/enode-dev/enode/term"
)

// ApplyEncoded applies the spec whose wire form (as Encode writes it) is
// data to t, and returns the result: the same term, with the same errors,
// as Apply(t, Decode(data)), but without building the spec. This is the
// receiver's path (Decoder.Apply uses it): the ops are read from data and
// applied as they come, the elements of a changed tuple are gathered once
// and the tuple built in one allocation, the edited elements of a list and
// the puts of a map go to one term.List.SetMany and one term.Map.PutMany,
// and all of that goes through scratch stacks that the whole call shares,
// so a delta costs the terms it builds and next to nothing else.
//
// Errors: data that Decode refuses gives Decode's error (wrapping
// ErrCorrupt, with the byte offset), whatever t; a well-formed spec that
// does not fit t gives Apply's (wrapping ErrMismatch). t is never changed,
// and ApplyEncoded never panics.
func ApplyEncoded(t term.Term, data []byte) (term.Term, error) {
	var a Applier
	return a.Apply(t, data)
}

// An Applier applies encoded specs as ApplyEncoded does, keeping its
// scratch space (the stacks of changed elements and the read-ahead's
// buffers) from one call to the next, so that a stream of deltas does not
// allocate it again for every frame: a Decoder holds one. The zero value
// is ready to use. An Applier is not safe for concurrent use; it holds no
// reference to a term between calls.
type Applier struct {
	a applier
}

// maxKeptScratch is the most entries an Applier keeps in each scratch
// buffer between calls: a rare huge delta's buffers go with it, the usual
// deltas' stay.
const maxKeptScratch = 4096

// Apply returns ApplyEncoded(t, data), with the same errors.
func (ap *Applier) Apply(t term.Term, data []byte) (term.Term, error) {
	a := &ap.a
	a.r = reader{b: data}
	if a.terms == nil {
		a.terms = make([]term.Term, 0, 64)
		a.sets = make([]term.ListElem, 0, 128)
		a.pairs = make([]term.Pair, 0, 64)
	}
	res, err := a.run(t)
	a.reset()
	if err != nil {
		// Reading stopped at the first error, which may be a mismatch
		// before a corruption further on; Decode and Apply would have
		// reported the corruption, so the input is checked whole. This is
		// the failure path only.
		if _, derr := Decode(data); derr != nil {
			return nil, derr
		}
		return nil, err
	}
	return res, nil
}

// reset empties the scratch stacks (an error may leave entries on them),
// drops the references they hold, and lets go of buffers that grew past
// maxKeptScratch.
func (a *applier) reset() {
	a.r = reader{}
	a.terms = resetScratch(a.terms)
	a.sets = resetScratch(a.sets)
	a.pairs = resetScratch(a.pairs)
	a.warmIdx = resetScratch(a.warmIdx)
	a.warmOld = resetScratch(a.warmOld)
	a.warmNext = resetScratch(a.warmNext)
	for i := range a.warmLevels {
		a.warmLevels[i] = resetScratch(a.warmLevels[i])
	}
}

func resetScratch[T any](s []T) []T {
	if cap(s) > maxKeptScratch {
		return nil
	}
	clear(s[:cap(s)])
	return s[:0]
}

// applier reads a spec and applies it in one pass. Its scratch slices are
// stacks: a tuple, list or map being edited keeps its pending elements
// above a mark and pops them before returning, so nested edits share the
// storage.
type applier struct {
	r     reader
	terms []term.Term     // a changed tuple's elements; a list insert's values; a map's removed keys
	sets  []term.ListElem // a list's edited elements
	pairs []term.Pair     // a map's puts

	// Scratch space of warmList, and where its loads go (see warm.go).
	warmLevels        [maxWarmLevels][]warmEdit // the edits of each level, indexed in one pass
	warmIdx           []int
	warmOld, warmNext []term.Term // the old terms of one level and of the next
	sink              uint64
}

func (a *applier) run(t term.Term) (term.Term, error) {
	r := &a.r
	v, err := r.byte()
	if err != nil {
		return nil, err
	}
	if v != specVersion {
		r.off--
		return nil, r.fail("not a delta spec (version byte %#x)", v)
	}
	if t == nil {
		return nil, fmt.Errorf("%w: nil term", ErrMismatch)
	}
	res, err := a.spec(t, 0)
	if err != nil {
		return nil, err
	}
	if r.left() != 0 {
		return nil, r.fail("%d trailing bytes", r.left())
	}
	return res, nil
}

// spec reads one spec and applies it to t. It reads exactly what
// reader.spec reads and checks what it checks.
func (a *applier) spec(t term.Term, depth int) (term.Term, error) {
	r := &a.r
	if depth > maxValueDepth {
		return nil, r.fail("nesting deeper than %d", maxValueDepth)
	}
	tag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case sKeep:
		return t, nil
	case sReplace:
		return r.value(depth + 1)
	case sTuple:
		x, ok := t.(*term.Tuple)
		if !ok {
			return nil, fmt.Errorf("%w: tuple spec on a %v", ErrMismatch, t.Kind())
		}
		return a.tuple(x, depth)
	case sList:
		x, ok := t.(*term.List)
		if !ok {
			return nil, fmt.Errorf("%w: list spec on a %v", ErrMismatch, t.Kind())
		}
		return a.list(x, depth)
	case sMap:
		x, ok := t.(*term.Map)
		if !ok {
			return nil, fmt.Errorf("%w: map spec on a %v", ErrMismatch, t.Kind())
		}
		return a.mapSpec(x, depth)
	}
	// Binary and Invalid specs (and unknown tags, which reader.spec
	// refuses) are rare and small: decoded, then applied.
	r.off--
	s, err := r.spec(depth)
	if err != nil {
		return nil, err
	}
	return apply(t, s)
}

// replaceNext reports whether the next spec is a Replace. Its value is
// then taken as a change without comparing it with the old one: Diff
// writes a Replace only for a value that differs, and a Replace by an equal
// value gives an equal term either way (only not the same object). For an
// integer field, the comparison would read the old boxed value, a cache
// miss on a cold replica, for nothing.
func (a *applier) replaceNext() bool {
	return a.r.off < len(a.r.b) && a.r.b[a.r.off] == sReplace
}

// seqOp reads the next op header of a tuple or list spec and refuses a
// retain or delete right after one of the same kind, as reader.ops does.
func (a *applier) seqOp(prev OpKind) (OpKind, int, error) {
	k, c, err := a.r.opHeader(true)
	if err != nil {
		return 0, 0, err
	}
	if (k == OpRetain || k == OpDelete) && k == prev {
		return 0, 0, a.r.fail("two adjacent %v ops", k)
	}
	return k, c, nil
}

// tuple applies the ops that follow to t: the new elements are gathered on
// the terms stack and the tuple built once at the end, or t itself is
// returned when nothing changed. When the ops only edit elements (a record
// with some fields changed, the usual case) the edits are also gathered on
// the sets stack and the tuple built by Tuple.SetMany, which carries t's
// cached hash instead of leaving the new tuple to rehash every field.
func (a *applier) tuple(t *term.Tuple, depth int) (term.Term, error) {
	n, err := a.r.count(1)
	if err != nil {
		return nil, err
	}
	mark, smark := len(a.terms), len(a.sets)
	pos, changed, reshaped := 0, false, false
	var prev OpKind
	for range n {
		k, c, err := a.seqOp(prev)
		if err != nil {
			return nil, err
		}
		prev = k
		switch k {
		case OpRetain, OpDelete:
			if c > t.Len()-pos {
				return nil, fmt.Errorf("%w: %v %d at tuple element %d of %d", ErrMismatch, k, c, pos, t.Len())
			}
			if k == OpRetain {
				for i := pos; i < pos+c; i++ {
					a.terms = append(a.terms, t.At(i))
				}
			} else {
				changed, reshaped = true, true
			}
			pos += c
		case OpInsert:
			for range c {
				v, err := a.r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				a.terms = append(a.terms, v)
			}
			changed, reshaped = true, true
		case OpEdit:
			if pos >= t.Len() {
				return nil, fmt.Errorf("%w: edit at tuple element %d of %d", ErrMismatch, pos, t.Len())
			}
			old := t.At(pos)
			replace := a.replaceNext()
			v, err := a.spec(old, depth+1)
			if err != nil {
				return nil, err
			}
			if replace || !term.Same(v, old) {
				changed = true
				a.sets = append(a.sets, term.ListElem{Index: pos, Value: v})
			}
			a.terms = append(a.terms, v)
			pos++
		}
	}
	var nt *term.Tuple
	switch {
	case !changed:
	case !reshaped:
		nt = t.SetMany(a.sets[smark:])
	default:
		for i := pos; i < t.Len(); i++ {
			a.terms = append(a.terms, t.At(i))
		}
		nt = term.NewTuple(a.terms[mark:]...)
	}
	clear(a.terms[mark:])
	clear(a.sets[smark:])
	a.terms, a.sets = a.terms[:mark], a.sets[:smark]
	if nt == nil {
		return t, nil
	}
	return nt, nil
}

// list applies the ops that follow to l as Apply does: inserts and deletes
// as they come, edited elements in one SetMany at the end (their indexes
// stay valid: every later insert or delete is after them), then the tail.
func (a *applier) list(l *term.List, depth int) (term.Term, error) {
	a.warmList(l, depth)
	n, err := a.r.count(1)
	if err != nil {
		return nil, err
	}
	mark := len(a.sets)
	pos := 0
	var prev OpKind
	for range n {
		k, c, err := a.seqOp(prev)
		if err != nil {
			return nil, err
		}
		prev = k
		switch k {
		case OpRetain, OpDelete:
			if c > l.Len()-pos {
				return nil, fmt.Errorf("%w: %v %d at list element %d of %d", ErrMismatch, k, c, pos, l.Len())
			}
			if k == OpRetain {
				pos += c
			} else {
				l = l.Delete(pos, pos+c)
			}
		case OpInsert:
			vm := len(a.terms)
			for range c {
				v, err := a.r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				a.terms = append(a.terms, v)
			}
			l = l.Insert(pos, a.terms[vm:]...)
			clear(a.terms[vm:])
			a.terms = a.terms[:vm]
			pos += c
		case OpEdit:
			if pos >= l.Len() {
				return nil, fmt.Errorf("%w: edit at list element %d of %d", ErrMismatch, pos, l.Len())
			}
			old := l.At(pos)
			replace := a.replaceNext()
			v, err := a.spec(old, depth+1)
			if err != nil {
				return nil, err
			}
			if replace || !term.Same(v, old) {
				a.sets = append(a.sets, term.ListElem{Index: pos, Value: v})
			}
			pos++
		}
	}
	l = l.SetMany(a.sets[mark:])
	clear(a.sets[mark:])
	a.sets = a.sets[:mark]
	// The tail spec is almost always Keep: decoded, then applied.
	tailSpec, err := a.r.spec(depth + 1)
	if err != nil {
		return nil, err
	}
	if isEmpty(tailSpec) {
		return l, nil
	}
	tail, err := apply(l.Tail(), tailSpec)
	if err != nil {
		return nil, err
	}
	if tl, ok := tail.(*term.List); ok && tl.Len() > 0 {
		return nil, fmt.Errorf("%w: list tail spec gives a non-empty list", ErrMismatch)
	}
	return l.WithTail(tail), nil
}

// mapSpec applies the entries that follow to m. While their keys are
// strictly increasing (as Diff and Merge write them) no two name one key,
// so the puts are gathered for one PutMany and the removals for the end,
// and an edit reads its old value from m itself; from the first key out of
// order on, what was gathered is applied and the rest goes entry by entry,
// which is what Apply does with such a spec.
func (a *applier) mapSpec(m *term.Map, depth int) (term.Term, error) {
	r := &a.r
	n, err := r.count(2)
	if err != nil {
		return nil, err
	}
	pmark, rmark := len(a.pairs), len(a.terms)
	batch := true
	var prevKey term.Term
	for i := range n {
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		key, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		switch MapOpKind(kind) {
		case MapPut, MapRemove, MapEdit:
		default:
			return nil, r.fail("unknown map op %d", kind)
		}
		if batch && i > 0 && term.CompareKeys(prevKey, key) >= 0 {
			m = a.flushMap(m, pmark, rmark)
			batch = false
		}
		prevKey = key
		switch MapOpKind(kind) {
		case MapPut:
			v, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if batch {
				a.pairs = append(a.pairs, term.Pair{Key: key, Value: v})
			} else {
				m = m.Put(key, v)
			}
		case MapRemove:
			if batch {
				a.terms = append(a.terms, key)
			} else {
				m = m.Remove(key)
			}
		case MapEdit:
			old, ok := m.Get(key)
			if !ok {
				return nil, fmt.Errorf("%w: edit of absent map key", ErrMismatch)
			}
			v, err := a.spec(old, depth+1)
			if err != nil {
				return nil, err
			}
			if term.Same(v, old) {
				continue
			}
			if batch {
				a.pairs = append(a.pairs, term.Pair{Key: key, Value: v})
			} else {
				m = m.Put(key, v)
			}
		}
	}
	if batch {
		m = a.flushMap(m, pmark, rmark)
	}
	return m, nil
}

// flushMap applies the gathered removals and puts (of distinct keys) to m
// and pops them.
func (a *applier) flushMap(m *term.Map, pmark, rmark int) *term.Map {
	for _, k := range a.terms[rmark:] {
		m = m.Remove(k)
	}
	m = m.PutMany(a.pairs[pmark:])
	clear(a.terms[rmark:])
	clear(a.pairs[pmark:])
	a.terms, a.pairs = a.terms[:rmark], a.pairs[:pmark]
	return m
}
