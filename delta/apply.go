package delta

import (
	"fmt"

	"github.com/enode-dev/enode/term"
)

// Apply returns the term that spec makes of t. t is never changed: the
// result is built with the term package's update helpers, so it shares every
// part of t that spec does not touch, and the cost follows the size of the
// spec, not of t (a Retain over 30,000 list elements costs nothing).
//
// Apply returns an error wrapping ErrMismatch when spec does not fit t (a
// list spec on a tuple, a position past the end, an edit of an absent map
// key) and one wrapping ErrInvalidSpec when spec is malformed; it never
// panics.
func Apply(t term.Term, spec Spec) (term.Term, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil term", ErrMismatch)
	}
	return apply(t, spec)
}

func apply(t term.Term, spec Spec) (term.Term, error) {
	switch s := spec.(type) {
	case nil, Keep:
		return t, nil
	case Replace:
		if s.Value == nil {
			return nil, fmt.Errorf("%w: replace with a nil term", ErrInvalidSpec)
		}
		return s.Value, nil
	case Invalid:
		return nil, fmt.Errorf("%w: %s", ErrMismatch, s.Reason)
	case Tuple:
		x, ok := t.(*term.Tuple)
		if !ok {
			return nil, fmt.Errorf("%w: tuple spec on a %v", ErrMismatch, t.Kind())
		}
		return applyTuple(x, s.Ops)
	case List:
		x, ok := t.(*term.List)
		if !ok {
			return nil, fmt.Errorf("%w: list spec on a %v", ErrMismatch, t.Kind())
		}
		return applyList(x, s)
	case Map:
		x, ok := t.(*term.Map)
		if !ok {
			return nil, fmt.Errorf("%w: map spec on a %v", ErrMismatch, t.Kind())
		}
		return applyMap(x, s.Entries)
	case Binary:
		x, ok := t.(*term.Binary)
		if !ok {
			return nil, fmt.Errorf("%w: binary spec on a %v", ErrMismatch, t.Kind())
		}
		return applyBinary(x, s.Ops)
	}
	return nil, fmt.Errorf("%w: unknown spec type %T", ErrInvalidSpec, spec)
}

// checkOp validates an op in itself.
func checkOp(op Op) error {
	switch op.Kind {
	case OpRetain, OpDelete:
		if op.N <= 0 {
			return fmt.Errorf("%w: %v count %d", ErrInvalidSpec, op.Kind, op.N)
		}
	case OpInsert:
		if len(op.Values) == 0 {
			return fmt.Errorf("%w: empty insert", ErrInvalidSpec)
		}
		for _, v := range op.Values {
			if v == nil {
				return fmt.Errorf("%w: insert of a nil term", ErrInvalidSpec)
			}
		}
	case OpEdit:
	default:
		return fmt.Errorf("%w: op kind %d", ErrInvalidSpec, op.Kind)
	}
	return nil
}

func applyTuple(t *term.Tuple, ops []Op) (term.Term, error) {
	if len(ops) <= 4 {
		// Records change a field or two in place: Set copies the tuple
		// once per edit instead of twice for the general path.
		if r, ok, err := applyTupleInPlace(t, ops); ok || err != nil {
			return r, err
		}
	}
	old := t.Elems()
	out := make([]term.Term, 0, len(old))
	pos := 0
	for _, op := range ops {
		if err := checkOp(op); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpRetain, OpDelete:
			if op.N > len(old)-pos {
				return nil, fmt.Errorf("%w: %v %d at tuple element %d of %d", ErrMismatch, op.Kind, op.N, pos, len(old))
			}
			if op.Kind == OpRetain {
				out = append(out, old[pos:pos+op.N]...)
			}
			pos += op.N
		case OpInsert:
			out = append(out, op.Values...)
		case OpEdit:
			if pos >= len(old) {
				return nil, fmt.Errorf("%w: edit at tuple element %d of %d", ErrMismatch, pos, len(old))
			}
			v, err := apply(old[pos], op.Spec)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			pos++
		}
	}
	out = append(out, old[pos:]...)
	return term.NewTuple(out...), nil
}

// applyTupleInPlace applies ops made only of retains and at most two edits
// with Tuple.Set; it reports false, with no error, when ops are of another
// shape.
func applyTupleInPlace(t *term.Tuple, ops []Op) (term.Term, bool, error) {
	edits := 0
	for _, op := range ops {
		switch {
		case op.Kind == OpEdit:
			edits++
		case op.Kind != OpRetain:
			return nil, false, nil
		}
	}
	if edits > 2 {
		return nil, false, nil
	}
	pos := 0
	for _, op := range ops {
		if err := checkOp(op); err != nil {
			return nil, false, err
		}
		if op.Kind == OpRetain {
			if op.N > t.Len()-pos {
				return nil, false, fmt.Errorf("%w: retain %d at tuple element %d of %d", ErrMismatch, op.N, pos, t.Len())
			}
			pos += op.N
			continue
		}
		if pos >= t.Len() {
			return nil, false, fmt.Errorf("%w: edit at tuple element %d of %d", ErrMismatch, pos, t.Len())
		}
		old := t.At(pos)
		v, err := apply(old, op.Spec)
		if err != nil {
			return nil, false, err
		}
		if !term.Same(v, old) {
			t = t.Set(pos, v)
		}
		pos++
	}
	return t, true, nil
}

func applyList(l *term.List, s List) (term.Term, error) {
	pos := 0 // index in the list being built; elements from pos on are old ones not yet consumed
	// Edited elements are set in one batch at the end (SetMany copies each
	// changed node once). Their indexes stay valid: every later insert or
	// delete happens after them.
	var sets []term.ListElem
	for _, op := range s.Ops {
		if err := checkOp(op); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpRetain:
			if op.N > l.Len()-pos {
				return nil, fmt.Errorf("%w: retain %d at list element %d of %d", ErrMismatch, op.N, pos, l.Len())
			}
			pos += op.N
		case OpDelete:
			if op.N > l.Len()-pos {
				return nil, fmt.Errorf("%w: delete %d at list element %d of %d", ErrMismatch, op.N, pos, l.Len())
			}
			l = l.Delete(pos, pos+op.N)
		case OpInsert:
			l = l.Insert(pos, op.Values...)
			pos += len(op.Values)
		case OpEdit:
			if pos >= l.Len() {
				return nil, fmt.Errorf("%w: edit at list element %d of %d", ErrMismatch, pos, l.Len())
			}
			old := l.At(pos)
			v, err := apply(old, op.Spec)
			if err != nil {
				return nil, err
			}
			if !term.Same(v, old) {
				sets = append(sets, term.ListElem{Index: pos, Value: v})
			}
			pos++
		}
	}
	l = l.SetMany(sets)
	if isEmpty(s.Tail) {
		return l, nil
	}
	tail, err := apply(l.Tail(), s.Tail)
	if err != nil {
		return nil, err
	}
	if tl, ok := tail.(*term.List); ok && tl.Len() > 0 {
		return nil, fmt.Errorf("%w: list tail spec gives a non-empty list", ErrMismatch)
	}
	return l.WithTail(tail), nil
}

func applyMap(m *term.Map, entries []MapEntry) (term.Term, error) {
	if keysIncreasing(entries) {
		return applyMapBatch(m, entries)
	}
	for _, e := range entries {
		if e.Key == nil {
			return nil, fmt.Errorf("%w: map entry with a nil key", ErrInvalidSpec)
		}
		switch e.Kind {
		case MapPut:
			if e.Value == nil {
				return nil, fmt.Errorf("%w: put of a nil term", ErrInvalidSpec)
			}
			m = m.Put(e.Key, e.Value)
		case MapRemove:
			m = m.Remove(e.Key)
		case MapEdit:
			old, ok := m.Get(e.Key)
			if !ok {
				return nil, fmt.Errorf("%w: edit of absent map key", ErrMismatch)
			}
			v, err := apply(old, e.Spec)
			if err != nil {
				return nil, err
			}
			if !term.Same(v, old) {
				m = m.Put(e.Key, v)
			}
		default:
			return nil, fmt.Errorf("%w: map op kind %d", ErrInvalidSpec, e.Kind)
		}
	}
	return m, nil
}

// keysIncreasing reports whether the entries' keys are strictly increasing
// in map-key order, as Diff and Merge write them: then no two entries name
// one key, and they can be applied in any order.
func keysIncreasing(entries []MapEntry) bool {
	for i, e := range entries {
		if e.Key == nil {
			return false
		}
		if i > 0 && term.CompareKeys(entries[i-1].Key, e.Key) >= 0 {
			return false
		}
	}
	return true
}

// applyMapBatch applies entries of distinct keys: removals one by one, puts
// and edits in one PutMany.
func applyMapBatch(m *term.Map, entries []MapEntry) (term.Term, error) {
	puts := make([]term.Pair, 0, len(entries))
	removes := 0
	for _, e := range entries {
		switch e.Kind {
		case MapPut:
			if e.Value == nil {
				return nil, fmt.Errorf("%w: put of a nil term", ErrInvalidSpec)
			}
			puts = append(puts, term.Pair{Key: e.Key, Value: e.Value})
		case MapRemove:
			removes++
		case MapEdit:
			old, ok := m.Get(e.Key)
			if !ok {
				return nil, fmt.Errorf("%w: edit of absent map key", ErrMismatch)
			}
			v, err := apply(old, e.Spec)
			if err != nil {
				return nil, err
			}
			if !term.Same(v, old) {
				puts = append(puts, term.Pair{Key: e.Key, Value: v})
			}
		default:
			return nil, fmt.Errorf("%w: map op kind %d", ErrInvalidSpec, e.Kind)
		}
	}
	if removes > 0 {
		for _, e := range entries {
			if e.Kind == MapRemove {
				m = m.Remove(e.Key)
			}
		}
	}
	return m.PutMany(puts), nil
}

func checkByteOp(op ByteOp) error {
	switch op.Kind {
	case OpRetain, OpDelete:
		if op.N <= 0 {
			return fmt.Errorf("%w: %v count %d", ErrInvalidSpec, op.Kind, op.N)
		}
	case OpInsert:
		if len(op.Bytes) == 0 {
			return fmt.Errorf("%w: empty byte insert", ErrInvalidSpec)
		}
	default:
		return fmt.Errorf("%w: byte op kind %v", ErrInvalidSpec, op.Kind)
	}
	return nil
}

// patch is an in-place overwrite of a binary.
type patch struct {
	off int
	p   []byte
}

func applyBinary(b *term.Binary, ops []ByteOp) (term.Term, error) {
	if !b.IsBinary() {
		return nil, fmt.Errorf("%w: binary spec on a bitstring", ErrMismatch)
	}
	// Fast path: only retains and same-length overwrites (a delete next to
	// an insert of as many bytes), applied with Set so untouched chunks stay
	// shared.
	var patches []patch
	pos, inPlace := 0, true
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		if err := checkByteOp(op); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpRetain:
			if op.N > b.Len()-pos {
				return nil, fmt.Errorf("%w: retain %d at byte %d of %d", ErrMismatch, op.N, pos, b.Len())
			}
			pos += op.N
			continue
		case OpDelete:
			if op.N > b.Len()-pos {
				return nil, fmt.Errorf("%w: delete %d at byte %d of %d", ErrMismatch, op.N, pos, b.Len())
			}
			if i+1 < len(ops) && ops[i+1].Kind == OpInsert && len(ops[i+1].Bytes) == op.N {
				patches = append(patches, patch{pos, ops[i+1].Bytes})
				pos += op.N
				i++
				continue
			}
		case OpInsert:
			if i+1 < len(ops) && ops[i+1].Kind == OpDelete && ops[i+1].N == len(op.Bytes) {
				if ops[i+1].N > b.Len()-pos {
					return nil, fmt.Errorf("%w: delete %d at byte %d of %d", ErrMismatch, ops[i+1].N, pos, b.Len())
				}
				patches = append(patches, patch{pos, op.Bytes})
				pos += len(op.Bytes)
				i++
				continue
			}
		}
		inPlace = false
		break
	}
	if inPlace {
		for _, p := range patches {
			b = b.Set(p.off, p.p)
		}
		return b, nil
	}
	return applyBinarySlow(b, ops)
}

// applyBinarySlow rebuilds the binary; it is used when the length changes.
func applyBinarySlow(b *term.Binary, ops []ByteOp) (term.Term, error) {
	old := b.Bytes()
	out := make([]byte, 0, len(old))
	pos := 0
	for _, op := range ops {
		if err := checkByteOp(op); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpRetain, OpDelete:
			if op.N > len(old)-pos {
				return nil, fmt.Errorf("%w: %v %d at byte %d of %d", ErrMismatch, op.Kind, op.N, pos, len(old))
			}
			if op.Kind == OpRetain {
				out = append(out, old[pos:pos+op.N]...)
			}
			pos += op.N
		case OpInsert:
			out = append(out, op.Bytes...)
		}
	}
	out = append(out, old[pos:]...)
	return term.NewBinary(out), nil
}
