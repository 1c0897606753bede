package delta

import "github.com/enode-dev/enode/term"

// Warming: on a replica that is not in the caches (the usual case: other
// work runs between two deltas), applying a list spec is a chain of cache
// misses per edited element — the rope's leaf, the element, the nested
// tuples the spec edits, their old fields — each waiting for the one
// before. Before applying a list spec, the applier reads ahead in the spec
// (without building anything) for the positions it edits and loads the old
// terms there level by level: all the edited elements, then all the
// children their nested specs edit, and so on. Within a level the loads
// are independent, so the processor overlaps their misses; the apply that
// follows finds them in the cache. Warming only reads: when the spec does
// not parse or does not fit the term it stops, and the apply reports what
// is wrong.

// maxWarmLevels bounds how deep under a list the old terms are loaded
// ahead (the workload's sessions edit fields three levels down).
const maxWarmLevels = 4

// minWarmEdits is the fewest edits a list spec needs for warming to pay
// for reading its ops twice, and minWarmLen the shortest list warmed: a
// shorter one (the small workload's 320 sessions) stays in the caches, and
// reading ahead is then pure overhead (measured: 87 -> 149 µs per small
// step when every list was warmed).
const (
	minWarmEdits = 4
	minWarmLen   = 4096
)

// warmItem is an old term and the offset of the spec that applies to it.
type warmItem struct {
	t   term.Term
	off int
}

// warmList loads ahead the old elements of l that the list spec whose ops
// start at the reader's offset edits, and what their nested specs edit.
func (a *applier) warmList(l *term.List, depth int) {
	if l.Len() < minWarmLen {
		return
	}
	r := a.r // a copy: the apply reads the spec again
	n, err := r.count(1)
	if err != nil {
		return
	}
	if cap(a.warmIdx) < n {
		// n bounds the edits; one allocation instead of a doubling series.
		a.warmIdx, a.warmItems = make([]int, 0, n), make([]warmItem, 0, n)
	}
	idx := a.warmIdx[:0]
	items := a.warmItems[:0]
	r.edits(n, l.Len(), depth, func(pos, off int) {
		idx = append(idx, pos)
		items = append(items, warmItem{off: off})
	})
	if len(idx) < minWarmEdits {
		a.warmIdx, a.warmItems = idx, items
		return
	}
	olds := l.AtMany(a.warmOld[:0], idx)
	for k := range items {
		items[k].t = olds[k]
	}
	clear(olds)
	a.warmOld = olds[:0]
	next := a.warmNext[:0]
	for range maxWarmLevels {
		a.touch(items)
		next = a.warmChildren(items, next[:0], depth)
		if len(next) == 0 {
			break
		}
		items, next = next, items
	}
	clear(items)
	clear(next)
	// Both buffers (swapped by the levels, grown by appends) serve again.
	a.warmIdx, a.warmItems, a.warmNext = idx[:0], items[:0], next[:0]
}

// touch loads the header of each term (the value of a boxed integer), in
// a loop whose iterations do not depend on each other.
func (a *applier) touch(items []warmItem) {
	var s uint64
	for _, it := range items {
		switch x := it.t.(type) {
		case *term.Tuple:
			s += uint64(x.Len())
		case *term.List:
			s += uint64(x.Len())
		case *term.Map:
			s += uint64(x.Len())
		case *term.Binary:
			s += uint64(x.Len())
		case term.Int:
			s += uint64(x)
		case term.Float:
			s += uint64(x)
		}
	}
	a.sink += s
}

// warmChildren appends to next the children of items that their specs
// edit, for tuple specs (a record's fields, the usual nesting); the terms
// of items are in the cache by now.
func (a *applier) warmChildren(items, next []warmItem, depth int) []warmItem {
	for _, it := range items {
		t, ok := it.t.(*term.Tuple)
		if !ok || it.off >= len(a.r.b) || a.r.b[it.off] != sTuple {
			continue
		}
		r := reader{b: a.r.b, off: it.off + 1}
		n, err := r.count(1)
		if err != nil {
			continue
		}
		r.edits(n, t.Len(), depth, func(pos, off int) {
			next = append(next, warmItem{t: t.At(pos), off: off})
		})
	}
	return next
}

// edits reads the n ops of a tuple or list spec over a sequence of length
// elements, calling fn with the position of each edit (in the old
// sequence) and the offset of its nested spec, until the ops end, do not
// parse or do not fit.
func (r *reader) edits(n, length, depth int, fn func(pos, off int)) {
	pos := 0
	for range n {
		k, c, err := r.opHeader(true)
		if err != nil {
			return
		}
		switch k {
		case OpRetain, OpDelete:
			pos += c
		case OpInsert:
			for range c {
				if !r.skipValue(depth + 1) {
					return
				}
			}
		case OpEdit:
			if pos >= length {
				return
			}
			fn(pos, r.off)
			if !r.skipSpec(depth + 1) {
				return
			}
			pos++
		}
	}
}

// skipSpec moves past one spec without building it, reporting false when
// the input does not parse. The rare kinds are decoded instead.
func (r *reader) skipSpec(depth int) bool {
	if depth > maxValueDepth || r.left() == 0 {
		return false
	}
	switch r.b[r.off] {
	case sKeep:
		r.off++
		return true
	case sReplace:
		r.off++
		return r.skipValue(depth + 1)
	case sTuple, sList:
		tag := r.b[r.off]
		r.off++
		n, err := r.count(1)
		if err != nil {
			return false
		}
		for range n {
			k, c, err := r.opHeader(true)
			if err != nil {
				return false
			}
			switch k {
			case OpInsert:
				for range c {
					if !r.skipValue(depth + 1) {
						return false
					}
				}
			case OpEdit:
				if !r.skipSpec(depth + 1) {
					return false
				}
			}
		}
		return tag == sTuple || r.skipSpec(depth+1)
	case sMap:
		r.off++
		n, err := r.count(2)
		if err != nil {
			return false
		}
		for range n {
			kind, err := r.byte()
			if err != nil || !r.skipValue(depth+1) {
				return false
			}
			switch MapOpKind(kind) {
			case MapPut:
				if !r.skipValue(depth + 1) {
					return false
				}
			case MapRemove:
			case MapEdit:
				if !r.skipSpec(depth + 1) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	_, err := r.spec(depth)
	return err == nil
}

// skipValue moves past one embedded value without building it, reporting
// false when the input does not parse. The rare kinds are decoded instead.
func (r *reader) skipValue(depth int) bool {
	if depth > maxValueDepth || r.left() == 0 {
		return false
	}
	tag := r.b[r.off]
	switch tag {
	case vNil:
		r.off++
		return true
	case vInt:
		r.off++
		_, err := r.varint()
		return err == nil
	case vAtom, vBinary:
		r.off++
		n, err := r.count(1)
		if err != nil {
			return false
		}
		_, err = r.bytes(n)
		return err == nil
	case vTuple, vList:
		r.off++
		n, err := r.count(1)
		if err != nil {
			return false
		}
		for range n {
			if !r.skipValue(depth + 1) {
				return false
			}
		}
		return tag == vTuple || r.skipValue(depth+1)
	}
	_, err := r.value(depth)
	return err == nil
}
