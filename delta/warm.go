package delta

import (
	"math"

	"github.com/enode-dev/enode/term"
)

// Warming: on a replica that is not in the caches (the usual case: other
// work runs between two deltas), applying a list spec is a chain of cache
// misses per edited element — the rope's leaf, the element, the nested
// tuples the spec edits, their old fields — each waiting for the one
// before. Before applying a list spec, the applier reads ahead in the spec
// (without building anything), in one pass that indexes the positions it
// edits at every level warmed, and loads the old terms there level by
// level: all the edited elements, then all the children their nested specs
// edit, and so on. Within a level the loads
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

// warmEdit is one edit the read-ahead found: the position it edits, and
// the index, in the level above, of the edit whose nested spec holds it
// (for the list's own edits, -1).
type warmEdit struct{ pos, parent int }

// warmList loads ahead the old elements of l that the list spec whose ops
// start at the reader's offset edits, and what their nested specs edit.
// One pass over the spec's bytes indexes the edits of every level it
// warms (warmLevels); the loads then go level by level from that index.
func (a *applier) warmList(l *term.List, depth int) {
	if l.Len() < minWarmLen {
		return
	}
	r := a.r // a copy: the apply reads the spec again
	n, err := r.count(1)
	if err != nil {
		return
	}
	lv := &a.warmLevels
	for i := range lv {
		lv[i] = lv[i][:0]
	}
	if cap(lv[0]) < n {
		// n bounds the list's edits; one allocation instead of a doubling series.
		lv[0] = make([]warmEdit, 0, n)
	}
	a.indexEdits(&r, n, l.Len(), depth, 0, -1)
	if len(lv[0]) < minWarmEdits {
		return
	}
	idx := a.warmIdx[:0]
	for _, e := range lv[0] {
		idx = append(idx, e.pos)
	}
	items := l.AtMany(a.warmOld[:0], idx)
	next := a.warmNext[:0]
	for level := 1; ; level++ {
		a.touch(items)
		if level == maxWarmLevels || len(lv[level]) == 0 {
			break
		}
		// items holds the terms of level-1's edits, in their order, so an
		// edit's parent indexes it; a parent that is not a tuple long
		// enough has nothing to load (the apply will say what is wrong).
		next = next[:0]
		for _, e := range lv[level] {
			var c term.Term
			if t, ok := items[e.parent].(*term.Tuple); ok && e.pos < t.Len() {
				c = t.At(e.pos)
			}
			next = append(next, c)
		}
		items, next = next, items
	}
	clear(items)
	clear(next)
	// The buffers (swapped by the levels, grown by appends) serve again.
	a.warmIdx, a.warmOld, a.warmNext = idx[:0], items[:0], next[:0]
}

// touch loads the header of each term (the value of a boxed integer), in
// a loop whose iterations do not depend on each other.
func (a *applier) touch(items []term.Term) {
	var s uint64
	for _, it := range items {
		switch x := it.(type) {
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

// indexEdits reads the n ops of a tuple or list spec at warm level level
// (the edits of the list itself at 0) over a sequence of length elements,
// appending each edit to warmLevels[level] with parent, and indexing the
// nested tuple specs of the edits at the next level (records' fields, the
// usual nesting) down to maxWarmLevels; everything else is skipped. It
// reports false, having stopped, when the ops do not parse or edit past
// length.
func (a *applier) indexEdits(r *reader, n, length, depth, level, parent int) bool {
	pos := 0
	for range n {
		k, c, err := r.opHeader(true)
		if err != nil {
			return false
		}
		switch k {
		case OpRetain, OpDelete:
			pos += c
		case OpInsert:
			for range c {
				if !r.skipValue(depth + 1) {
					return false
				}
			}
		case OpEdit:
			if pos >= length {
				return false
			}
			edits := &a.warmLevels[level]
			*edits = append(*edits, warmEdit{pos: pos, parent: parent})
			if !a.indexSpec(r, depth+1, level+1, len(*edits)-1) {
				return false
			}
			pos++
		}
	}
	return true
}

// indexSpec moves past one nested spec, indexing its edits at level when
// it is a tuple spec and level is one that warmList loads.
func (a *applier) indexSpec(r *reader, depth, level, parent int) bool {
	if level >= maxWarmLevels || depth > maxValueDepth || r.left() == 0 || r.b[r.off] != sTuple {
		return r.skipSpec(depth)
	}
	r.off++
	n, err := r.count(1)
	if err != nil {
		return false
	}
	return a.indexEdits(r, n, math.MaxInt, depth, level, parent)
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
