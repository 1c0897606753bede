package delta

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/enode-dev/enode/term"
)

// The compact value form embeds terms in an encoded spec: a tag byte, then
// varints for integers, lengths and counts. It is smaller than the External
// Term Format for the small values specs carry (an integer of the reference
// workload is 1 to 5 bytes instead of 2 to 5 plus a version byte, a tuple
// header 2 bytes instead of 2 to 5), and it needs no version byte per value.
const (
	vNil byte = iota + 1
	vInt
	vBigInt
	vFloat
	vAtom
	vBinary
	vBitstring
	vTuple
	vList
	vMap
	vPid
	vPort
	vRef
	vFun
)

// maxValueDepth bounds the nesting of a decoded value (and of a decoded
// spec), so that hostile input cannot exhaust the stack.
const maxValueDepth = 512

func appendValue(b []byte, t term.Term) ([]byte, error) {
	switch x := t.(type) {
	case term.Int:
		return binary.AppendVarint(append(b, vInt), int64(x)), nil
	case term.BigInt:
		v := x.Big()
		sign := byte(0)
		if v.Sign() < 0 {
			sign = 1
		}
		mag := v.Bytes()
		b = append(b, vBigInt, sign)
		b = binary.AppendUvarint(b, uint64(len(mag)))
		return append(b, mag...), nil
	case term.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: float %v is not an Erlang float", ErrInvalidSpec, f)
		}
		return binary.BigEndian.AppendUint64(append(b, vFloat), math.Float64bits(f)), nil
	case term.Atom:
		return appendAtom(append(b, vAtom), x), nil
	case *term.Binary:
		if x.IsBinary() {
			b = binary.AppendUvarint(append(b, vBinary), uint64(x.Len()))
		} else {
			b = binary.AppendUvarint(append(b, vBitstring, x.TailBits()), uint64(x.Len()))
		}
		return x.AppendTo(b), nil
	case *term.Tuple:
		b = binary.AppendUvarint(append(b, vTuple), uint64(x.Len()))
		var err error
		for k := range x.Len() {
			if b, err = appendValue(b, x.At(k)); err != nil {
				return nil, err
			}
		}
		return b, nil
	case *term.List:
		if x.Len() == 0 {
			if !x.IsProper() {
				return nil, fmt.Errorf("%w: list of no elements with a tail", ErrInvalidSpec)
			}
			return append(b, vNil), nil
		}
		b = binary.AppendUvarint(append(b, vList), uint64(x.Len()))
		var err error
		for _, e := range x.All() {
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return appendValue(b, x.Tail())
	case *term.Map:
		b = binary.AppendUvarint(append(b, vMap), uint64(x.Len()))
		var err error
		for k, v := range x.All() {
			if b, err = appendValue(b, k); err != nil {
				return nil, err
			}
			if b, err = appendValue(b, v); err != nil {
				return nil, err
			}
		}
		return b, nil
	case term.Pid:
		b = appendAtom(append(b, vPid), x.Node)
		b = binary.AppendUvarint(b, uint64(x.ID))
		b = binary.AppendUvarint(b, uint64(x.Serial))
		return binary.AppendUvarint(b, uint64(x.Creation)), nil
	case term.Port:
		b = appendAtom(append(b, vPort), x.Node)
		b = binary.AppendUvarint(b, x.ID)
		return binary.AppendUvarint(b, uint64(x.Creation)), nil
	case term.Ref:
		b = appendAtom(append(b, vRef), x.Node)
		b = binary.AppendUvarint(b, uint64(x.Creation))
		w := x.Words()
		b = append(b, byte(len(w)))
		for _, v := range w {
			b = binary.AppendUvarint(b, uint64(v))
		}
		return b, nil
	case *term.Fun:
		return appendFun(b, x)
	case nil:
		return nil, fmt.Errorf("%w: nil term", ErrInvalidSpec)
	}
	return nil, fmt.Errorf("%w: unknown term type %T", ErrInvalidSpec, t)
}

func appendAtom(b []byte, a term.Atom) []byte {
	return append(binary.AppendUvarint(b, uint64(len(a))), a...)
}

func appendFun(b []byte, f *term.Fun) ([]byte, error) {
	var flags byte
	if f.Exported {
		flags |= 1
	}
	opt := []term.Term{f.OldIndex, f.OldUniq, f.Pid}
	for k, v := range opt {
		if v != nil {
			flags |= 2 << k
		}
	}
	b = append(b, vFun, flags)
	b = appendAtom(b, f.Module)
	b = appendAtom(b, f.Function)
	b = append(b, f.Arity)
	b = append(b, f.Uniq[:]...)
	b = binary.AppendUvarint(b, uint64(f.Index))
	var err error
	for _, v := range opt {
		if v != nil {
			if b, err = appendValue(b, v); err != nil {
				return nil, err
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(f.FreeVars)))
	for _, v := range f.FreeVars {
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// reader reads an encoding and reports errors with the byte offset.
type reader struct {
	b      []byte
	off    int
	opSlab []Op // slab for the op lists of the spec (see takeOps)
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrCorrupt, r.off, fmt.Sprintf(format, args...))
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail("unexpected end of input")
	}
	r.off++
	return r.b[r.off-1], nil
}

// uvarint reads an unsigned varint. Most of a delta's varints (op headers,
// counts, small lengths) are one byte, read here; longer ones go to
// uvarintLong.
func (r *reader) uvarint() (uint64, error) {
	if off := r.off; off < len(r.b) {
		if c := r.b[off]; c < 0x80 {
			r.off = off + 1
			return uint64(c), nil
		}
	}
	return r.uvarintLong()
}

func (r *reader) uvarintLong() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, r.fail("bad varint")
	}
	r.off += n
	return v, nil
}

func (r *reader) varint() (int64, error) {
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		return 0, r.fail("bad varint")
	}
	r.off += n
	return v, nil
}

// count reads a count of items that take at least min bytes each, so that
// it can be checked against the remaining input before anything is
// allocated.
func (r *reader) count(min int) (int, error) {
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(r.left()/min) {
		return 0, r.fail("count %d larger than the remaining input", v)
	}
	return int(v), nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.fail("length %d larger than the remaining input", n)
	}
	r.off += n
	return r.b[r.off-n : r.off], nil
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, r.fail("value %d out of range", v)
	}
	return uint32(v), nil
}

func (r *reader) atom() (term.Atom, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	p, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) || utf8.RuneCount(p) > 255 {
		return "", r.fail("atom is not valid UTF-8 of at most 255 characters")
	}
	return term.Atom(p), nil
}

func (r *reader) value(depth int) (term.Term, error) {
	if depth > maxValueDepth {
		return nil, r.fail("nesting deeper than %d", maxValueDepth)
	}
	tag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case vNil:
		return term.Nil(), nil
	case vInt:
		v, err := r.varint()
		return term.Int(v), err
	case vBigInt:
		sign, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.count(1)
		if err != nil {
			return nil, err
		}
		mag, err := r.bytes(n)
		if err != nil {
			return nil, err
		}
		v := new(big.Int).SetBytes(mag)
		if sign > 1 {
			return nil, r.fail("bad big integer sign %d", sign)
		}
		if sign == 1 {
			v.Neg(v)
		}
		return term.Integer(v), nil
	case vFloat:
		p, err := r.bytes(8)
		if err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(p))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, r.fail("float is not finite")
		}
		return term.Float(f), nil
	case vAtom:
		return r.atom()
	case vBinary, vBitstring:
		bits := byte(8)
		if tag == vBitstring {
			if bits, err = r.byte(); err != nil {
				return nil, err
			}
			if bits < 1 || bits > 7 {
				return nil, r.fail("bitstring tail bits %d", bits)
			}
		}
		n, err := r.count(1)
		if err != nil {
			return nil, err
		}
		p, err := r.bytes(n)
		if err != nil {
			return nil, err
		}
		if tag == vBitstring {
			if n == 0 {
				return nil, r.fail("empty bitstring with tail bits")
			}
			return term.NewBitstring(p, bits), nil
		}
		return term.NewBinary(p), nil
	case vTuple, vList:
		n, err := r.count(1)
		if err != nil {
			return nil, err
		}
		elems := make([]term.Term, n)
		for k := range elems {
			if elems[k], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		if tag == vTuple {
			return term.NewTuple(elems...), nil
		}
		tail, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if tl, ok := tail.(*term.List); ok && tl.Len() > 0 {
			return nil, r.fail("list tail is a non-empty list")
		}
		if n == 0 {
			return nil, r.fail("list of no elements with a tail")
		}
		return term.ImproperList(elems, tail), nil
	case vMap:
		n, err := r.count(2)
		if err != nil {
			return nil, err
		}
		pairs := make([]term.Pair, n)
		for k := range pairs {
			if pairs[k].Key, err = r.value(depth + 1); err != nil {
				return nil, err
			}
			if pairs[k].Value, err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		m := term.MapOf(pairs...)
		if m.Len() != n {
			return nil, r.fail("map with a repeated key")
		}
		return m, nil
	case vPid:
		var p term.Pid
		if p.Node, err = r.atom(); err != nil {
			return nil, err
		}
		if p.ID, err = r.u32(); err != nil {
			return nil, err
		}
		if p.Serial, err = r.u32(); err != nil {
			return nil, err
		}
		p.Creation, err = r.u32()
		return p, err
	case vPort:
		var p term.Port
		if p.Node, err = r.atom(); err != nil {
			return nil, err
		}
		if p.ID, err = r.uvarint(); err != nil {
			return nil, err
		}
		p.Creation, err = r.u32()
		return p, err
	case vRef:
		var ref term.Ref
		if ref.Node, err = r.atom(); err != nil {
			return nil, err
		}
		if ref.Creation, err = r.u32(); err != nil {
			return nil, err
		}
		if ref.Len, err = r.byte(); err != nil {
			return nil, err
		}
		if ref.Len < 1 || int(ref.Len) > len(ref.ID) {
			return nil, r.fail("reference of %d words", ref.Len)
		}
		for k := range int(ref.Len) {
			if ref.ID[k], err = r.u32(); err != nil {
				return nil, err
			}
		}
		return ref, nil
	case vFun:
		return r.fun(depth)
	}
	r.off--
	return nil, r.fail("unknown value tag %d", tag)
}

func (r *reader) fun(depth int) (term.Term, error) {
	flags, err := r.byte()
	if err != nil {
		return nil, err
	}
	if flags > 15 {
		return nil, r.fail("bad fun flags %#x", flags)
	}
	f := &term.Fun{Exported: flags&1 != 0}
	if f.Module, err = r.atom(); err != nil {
		return nil, err
	}
	if f.Function, err = r.atom(); err != nil {
		return nil, err
	}
	if f.Arity, err = r.byte(); err != nil {
		return nil, err
	}
	u, err := r.bytes(16)
	if err != nil {
		return nil, err
	}
	copy(f.Uniq[:], u)
	if f.Index, err = r.u32(); err != nil {
		return nil, err
	}
	for k, dst := range []*term.Term{&f.OldIndex, &f.OldUniq, &f.Pid} {
		if flags&(2<<k) != 0 {
			if *dst, err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
	}
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		f.FreeVars = make([]term.Term, n)
		for k := range f.FreeVars {
			if f.FreeVars[k], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}
