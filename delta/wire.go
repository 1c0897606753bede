package delta

import (
	"encoding/binary"
	"fmt"

	"github.com/enode-dev/enode/term"
)

// specVersion is the first byte of an encoded spec.
const specVersion byte = 0xD1

// Spec tags of the wire form.
const (
	sKeep byte = iota
	sReplace
	sTuple
	sList
	sMap
	sBinary
	sInvalid
)

// maxCount bounds a retain or delete count on the wire: no list, tuple or
// binary that fits in memory is longer, and the bound keeps the sums of
// counts in Merge far from overflowing.
const maxCount = 1 << 31

// Encode returns the wire form of spec. See the package documentation for
// the format. It returns an error wrapping ErrInvalidSpec for a malformed
// spec (a zero count, a nil value, an edit op in a binary spec).
func Encode(spec Spec) ([]byte, error) { return AppendEncode(nil, spec) }

// AppendEncode appends the wire form of spec to b and returns the extended
// buffer.
func AppendEncode(b []byte, spec Spec) ([]byte, error) {
	return appendSpec(append(b, specVersion), spec)
}

func appendOpHeader(b []byte, k OpKind, n int) []byte {
	return binary.AppendUvarint(b, uint64(n)<<2|uint64(k-1))
}

func appendSpec(b []byte, spec Spec) ([]byte, error) {
	var err error
	switch s := spec.(type) {
	case nil, Keep:
		return append(b, sKeep), nil
	case Replace:
		if s.Value == nil {
			return nil, fmt.Errorf("%w: replace with a nil term", ErrInvalidSpec)
		}
		return appendValue(append(b, sReplace), s.Value)
	case Tuple:
		return appendOps(append(b, sTuple), s.Ops)
	case List:
		if b, err = appendOps(append(b, sList), s.Ops); err != nil {
			return nil, err
		}
		return appendSpec(b, s.Tail)
	case Map:
		b = binary.AppendUvarint(append(b, sMap), uint64(len(s.Entries)))
		for _, e := range s.Entries {
			if e.Key == nil {
				return nil, fmt.Errorf("%w: map entry with a nil key", ErrInvalidSpec)
			}
			switch e.Kind {
			case MapPut, MapRemove, MapEdit:
			default:
				return nil, fmt.Errorf("%w: map op kind %d", ErrInvalidSpec, e.Kind)
			}
			if b, err = appendValue(append(b, byte(e.Kind)), e.Key); err != nil {
				return nil, err
			}
			switch e.Kind {
			case MapPut:
				if e.Value == nil {
					return nil, fmt.Errorf("%w: put of a nil term", ErrInvalidSpec)
				}
				b, err = appendValue(b, e.Value)
			case MapEdit:
				b, err = appendSpec(b, e.Spec)
			}
			if err != nil {
				return nil, err
			}
		}
		return b, nil
	case Binary:
		b = binary.AppendUvarint(append(b, sBinary), uint64(len(s.Ops)))
		for _, op := range s.Ops {
			if err := checkByteOp(op); err != nil {
				return nil, err
			}
			if op.Kind == OpInsert {
				b = append(appendOpHeader(b, op.Kind, len(op.Bytes)), op.Bytes...)
				continue
			}
			if op.N > maxCount {
				return nil, fmt.Errorf("%w: %v count %d", ErrInvalidSpec, op.Kind, op.N)
			}
			b = appendOpHeader(b, op.Kind, op.N)
		}
		return b, nil
	case Invalid:
		b = binary.AppendUvarint(append(b, sInvalid), uint64(len(s.Reason)))
		return append(b, s.Reason...), nil
	}
	return nil, fmt.Errorf("%w: unknown spec type %T", ErrInvalidSpec, spec)
}

func appendOps(b []byte, ops []Op) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(ops)))
	var err error
	for _, op := range ops {
		if err := checkOp(op); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpRetain, OpDelete:
			if op.N > maxCount {
				return nil, fmt.Errorf("%w: %v count %d", ErrInvalidSpec, op.Kind, op.N)
			}
			b = appendOpHeader(b, op.Kind, op.N)
		case OpInsert:
			b = appendOpHeader(b, op.Kind, len(op.Values))
			for _, v := range op.Values {
				if b, err = appendValue(b, v); err != nil {
					return nil, err
				}
			}
		case OpEdit:
			if b, err = appendSpec(appendOpHeader(b, op.Kind, 0), op.Spec); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// Decode reads a spec written by Encode. It never panics: truncated or
// malformed input, a count larger than the remaining input, nesting deeper
// than 512 levels or trailing bytes give an error wrapping ErrCorrupt that
// says at which byte offset. The spec shares no memory with data.
func Decode(data []byte) (Spec, error) {
	r := &reader{b: data}
	v, err := r.byte()
	if err != nil {
		return nil, err
	}
	if v != specVersion {
		r.off--
		return nil, r.fail("not a delta spec (version byte %#x)", v)
	}
	s, err := r.spec(0)
	if err != nil {
		return nil, err
	}
	if r.left() != 0 {
		return nil, r.fail("%d trailing bytes", r.left())
	}
	return s, nil
}

func (r *reader) opHeader(allowEdit bool) (OpKind, int, error) {
	h, err := r.uvarint()
	if err != nil {
		return 0, 0, err
	}
	k, n := OpKind(h&3+1), h>>2
	switch k {
	case OpRetain, OpDelete:
		if n == 0 || n > maxCount {
			return 0, 0, r.fail("%v count %d out of range", k, n)
		}
	case OpInsert:
		if n == 0 || n > uint64(r.left()) {
			return 0, 0, r.fail("insert of %d larger than the remaining input", n)
		}
	case OpEdit:
		if !allowEdit || n != 0 {
			return 0, 0, r.fail("bad edit op")
		}
	}
	return k, int(n), nil
}

func (r *reader) spec(depth int) (Spec, error) {
	if depth > maxValueDepth {
		return nil, r.fail("nesting deeper than %d", maxValueDepth)
	}
	tag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case sKeep:
		return Keep{}, nil
	case sReplace:
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		return Replace{Value: v}, nil
	case sTuple, sList:
		ops, err := r.ops(depth)
		if err != nil {
			return nil, err
		}
		if tag == sTuple {
			return Tuple{Ops: ops}, nil
		}
		tail, err := r.spec(depth + 1)
		if err != nil {
			return nil, err
		}
		return List{Ops: ops, Tail: tail}, nil
	case sMap:
		n, err := r.count(2)
		if err != nil {
			return nil, err
		}
		entries := make([]MapEntry, n)
		for k := range entries {
			kind, err := r.byte()
			if err != nil {
				return nil, err
			}
			e := &entries[k]
			e.Kind = MapOpKind(kind)
			if e.Key, err = r.value(depth + 1); err != nil {
				return nil, err
			}
			switch e.Kind {
			case MapPut:
				e.Value, err = r.value(depth + 1)
			case MapRemove:
			case MapEdit:
				e.Spec, err = r.spec(depth + 1)
			default:
				return nil, r.fail("unknown map op %d", kind)
			}
			if err != nil {
				return nil, err
			}
		}
		return Map{Entries: entries}, nil
	case sBinary:
		n, err := r.count(1)
		if err != nil {
			return nil, err
		}
		ops := make([]ByteOp, 0, n)
		for range n {
			k, c, err := r.opHeader(false)
			if err != nil {
				return nil, err
			}
			if k == OpInsert {
				p, err := r.bytes(c)
				if err != nil {
					return nil, err
				}
				ops = append(ops, InsertBytes(append([]byte(nil), p...)))
				continue
			}
			if len(ops) > 0 && ops[len(ops)-1].Kind == k {
				return nil, r.fail("two adjacent %v ops", k)
			}
			ops = append(ops, ByteOp{Kind: k, N: c})
		}
		return Binary{Ops: ops}, nil
	case sInvalid:
		n, err := r.count(1)
		if err != nil {
			return nil, err
		}
		p, err := r.bytes(n)
		if err != nil {
			return nil, err
		}
		return Invalid{Reason: string(p)}, nil
	}
	r.off--
	return nil, r.fail("unknown spec tag %d", tag)
}

func (r *reader) ops(depth int) ([]Op, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	ops := r.takeOps(n)
	for range n {
		k, c, err := r.opHeader(true)
		if err != nil {
			return nil, err
		}
		switch k {
		case OpRetain, OpDelete:
			if len(ops) > 0 && ops[len(ops)-1].Kind == k {
				return nil, r.fail("two adjacent %v ops", k)
			}
			ops = append(ops, Op{Kind: k, N: c})
		case OpInsert:
			values := make([]term.Term, c)
			for k := range values {
				if values[k], err = r.value(depth + 1); err != nil {
					return nil, err
				}
			}
			ops = append(ops, Op{Kind: OpInsert, Values: values})
		case OpEdit:
			s, err := r.spec(depth + 1)
			if err != nil {
				return nil, err
			}
			ops = append(ops, Edit(s))
		}
	}
	return ops, nil
}

// takeOps returns an empty op slice with room for n ops, cut from a slab
// shared by the spec being decoded: a delta of the reference workload has
// about a thousand small op lists (one per changed record and per nested
// tuple), and one allocation per list was most of Decode's cost.
func (r *reader) takeOps(n int) []Op {
	if n > cap(r.opSlab)-len(r.opSlab) {
		// Every op takes at least one byte, and a delta of records about
		// four: the slab is sized on the input left, so that a small spec
		// stays small and a large one costs a few allocations.
		r.opSlab = make([]Op, 0, max(n, min(4096, r.left()/4+8)))
	}
	k := len(r.opSlab)
	r.opSlab = r.opSlab[:k+n]
	return r.opSlab[k : k : k+n]
}
