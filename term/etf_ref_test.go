package term

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
)

// The encoder as it was first written, before it was tuned for speed: a
// plain recursive writer with one type switch per term, iterators over lists
// and maps, and appends of a byte at a time. Its output was checked against
// OTP 25 by the golden and Erlang tests, and it is kept here as the
// reference the tuned encoder must match byte for byte (etf_encode_test.go).

// refEncode is the reference encoding of t, version byte included.
func refEncode(t Term) ([]byte, error) {
	return refAppendTerm([]byte{etfVersion}, t, 0)
}

// refAppendTerm appends the encoding of t (without version byte); depth is
// the number of composites around t.
func refAppendTerm(b []byte, t Term, depth int) ([]byte, error) {
	switch x := t.(type) {
	case Atom:
		return refAppendAtom(b, x)
	case Int:
		return refAppendInt(b, int64(x)), nil
	case *Tuple:
		return refAppendTuple(b, x, depth)
	case *Binary:
		return refAppendBinary(b, x)
	case *List:
		return refAppendList(b, x, depth)
	case *Map:
		return refAppendMap(b, x, depth)
	case Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, etfEncodeErr(t, "%v has no Erlang representation", f)
		}
		b = append(b, extNewFloat)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f)), nil
	case BigInt:
		return refAppendBig(b, x)
	case Pid:
		return refAppendPid(b, x)
	case Port:
		return refAppendPort(b, x)
	case Ref:
		return refAppendRef(b, x)
	case *Fun:
		return refAppendFun(b, x, depth)
	case nil:
		return b, etfEncodeErr(nil, "nil Term")
	}
	return b, etfEncodeErr(t, "unknown term type %T", t)
}

func refAppendTuple(b []byte, x *Tuple, depth int) ([]byte, error) {
	n := len(x.elems)
	if n < 256 {
		b = append(b, extSmallTuple, byte(n))
	} else {
		if uint64(n) > math.MaxUint32 {
			return b, etfEncodeErr(x, "arity %d over the format's 32-bit limit", n)
		}
		b = append(b, extLargeTuple)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	if n > 0 && depth >= DefaultMaxDepth {
		return b, etfTooDeep(x)
	}
	var err error
	for _, e := range x.elems {
		// The common small elements are written here, saving a call.
		switch v := e.(type) {
		case Atom:
			if b, err = refAppendAtom(b, v); err != nil {
				return b, err
			}
		case Int:
			b = refAppendInt(b, int64(v))
		default:
			if b, err = refAppendTerm(b, e, depth+1); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// refAppendAtom writes a as OTP 25 does: ATOM_EXT with Latin-1 bytes when
// every character is in Latin-1, else the UTF-8 forms.
func refAppendAtom(b []byte, a Atom) ([]byte, error) {
	s := string(a)
	if len(s) <= maxAtomChars {
		ascii := true
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			b = append(b, extAtom, 0, byte(len(s)))
			return append(b, s...), nil
		}
	}
	return refAppendAtomSlow(b, a)
}

func refAppendAtomSlow(b []byte, a Atom) ([]byte, error) {
	s := string(a)
	if !utf8.ValidString(s) {
		return b, etfEncodeErr(a, "atom %q is not valid UTF-8", s)
	}
	n, latin1 := 0, true
	for _, r := range s {
		n++
		if r > 0xFF {
			latin1 = false
		}
	}
	if n > maxAtomChars {
		return b, etfEncodeErr(a, "atom of %d characters is over Erlang's limit of %d", n, maxAtomChars)
	}
	if latin1 {
		b = append(b, extAtom, 0, byte(n))
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b, nil
	}
	if len(s) <= 255 {
		b = append(b, extSmallAtom8, byte(len(s)))
	} else {
		b = append(b, extAtomUTF8)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	}
	return append(b, s...), nil
}

func refAppendInt(b []byte, v int64) []byte {
	if uint64(v) <= 255 {
		return append(b, extSmallInt, byte(v))
	}
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		b = append(b, extInt)
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	sign, mag := byte(0), uint64(v)
	if v < 0 {
		sign, mag = 1, -uint64(v)
	}
	n := (bits.Len64(mag) + 7) / 8
	b = append(b, extSmallBig, byte(n), sign)
	for i := 0; i < n; i++ {
		b = append(b, byte(mag>>(8*i)))
	}
	return b
}

func refAppendBig(b []byte, x BigInt) ([]byte, error) {
	v := x.v
	if v == nil {
		return b, etfEncodeErr(x, "zero BigInt value (make one with Integer)")
	}
	if v.IsInt64() {
		return refAppendInt(b, v.Int64()), nil
	}
	n := (v.BitLen() + 7) / 8
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "integer of %d bytes over the format's limit", n)
	}
	sign := byte(0)
	if v.Sign() < 0 {
		sign = 1
	}
	if n <= 255 {
		b = append(b, extSmallBig, byte(n), sign)
	} else {
		b = append(b, extLargeBig)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, sign)
	}
	// Little-endian magnitude, straight from the words.
	left := n
	for _, w := range v.Bits() {
		for i := 0; i < bits.UintSize/8 && left > 0; i++ {
			b = append(b, byte(w>>(8*i)))
			left--
		}
	}
	return b, nil
}

func refAppendBinary(b []byte, x *Binary) ([]byte, error) {
	n := x.Len()
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "binary of %d bytes over the format's 32-bit limit", n)
	}
	if tb := x.TailBits(); tb == 8 {
		b = append(b, extBinary)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	} else {
		b = append(b, extBitBinary)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, tb)
	}
	for c := range x.Chunks() {
		b = append(b, c...)
	}
	return b, nil
}

// refIsByteString reports whether l is written as STRING_EXT: a proper list of
// 1 to 65535 integers, all in 0..255.
func refIsByteString(l *List) bool {
	n := l.Len()
	if n == 0 || n > math.MaxUint16 || !l.IsProper() {
		return false
	}
	for _, e := range l.All() {
		if v, ok := e.(Int); !ok || uint64(v) > 255 {
			return false
		}
	}
	return true
}

func refAppendList(b []byte, x *List, depth int) ([]byte, error) {
	n := x.Len()
	if depth >= DefaultMaxDepth && (n > 0 || !x.IsProper()) {
		return b, etfTooDeep(x)
	}
	if n == 0 {
		if x.IsProper() {
			return append(b, extNil), nil
		}
		// [ | T] is T itself, as binary_to_term reads a LIST_EXT of no
		// elements.
		return refAppendTerm(b, x.Tail(), depth+1)
	}
	if refIsByteString(x) {
		b = append(b, extString)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		for _, e := range x.All() {
			b = append(b, byte(e.(Int)))
		}
		return b, nil
	}
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "list of %d elements over the format's 32-bit limit", n)
	}
	b = append(b, extList)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	var err error
	for _, e := range x.All() {
		switch v := e.(type) {
		case Atom:
			b, err = refAppendAtom(b, v)
		case Int:
			b = refAppendInt(b, int64(v))
		default:
			b, err = refAppendTerm(b, e, depth+1)
		}
		if err != nil {
			return b, err
		}
	}
	if x.IsProper() {
		return append(b, extNil), nil
	}
	return refAppendTerm(b, x.Tail(), depth+1)
}

func refAppendMap(b []byte, x *Map, depth int) ([]byte, error) {
	n := x.Len()
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "map of %d keys over the format's 32-bit limit", n)
	}
	if n > 0 && depth >= DefaultMaxDepth {
		return b, etfTooDeep(x)
	}
	b = append(b, extMap)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	var err error
	for k, v := range x.All() {
		if b, err = refAppendTerm(b, k, depth+1); err != nil {
			return b, err
		}
		if b, err = refAppendTerm(b, v, depth+1); err != nil {
			return b, err
		}
	}
	return b, nil
}

func refAppendPid(b []byte, x Pid) ([]byte, error) {
	b = append(b, extNewPid)
	b, err := refAppendAtom(b, x.Node)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, x.ID)
	b = binary.BigEndian.AppendUint32(b, x.Serial)
	return binary.BigEndian.AppendUint32(b, x.Creation), nil
}

func refAppendPort(b []byte, x Port) ([]byte, error) {
	// OTP 25 writes NEW_PORT_EXT only while the port number fits in 28
	// bits (the size of a local port number), V4_PORT_EXT beyond.
	tag := byte(extNewPort)
	if x.ID >= 1<<28 {
		tag = extV4Port
	}
	b = append(b, tag)
	b, err := refAppendAtom(b, x.Node)
	if err != nil {
		return b, err
	}
	if tag == extV4Port {
		b = binary.BigEndian.AppendUint64(b, x.ID)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(x.ID))
	}
	return binary.BigEndian.AppendUint32(b, x.Creation), nil
}

func refAppendRef(b []byte, x Ref) ([]byte, error) {
	if x.Len < 1 || int(x.Len) > len(x.ID) {
		return b, etfEncodeErr(x, "reference of %d ID words (want 1 to %d)", x.Len, len(x.ID))
	}
	b = append(b, extNewerRef)
	b = binary.BigEndian.AppendUint16(b, uint16(x.Len))
	b, err := refAppendAtom(b, x.Node)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, x.Creation)
	for _, w := range x.ID[:x.Len] {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b, nil
}

func refAppendFun(b []byte, f *Fun, depth int) ([]byte, error) {
	if err := etfCheckFun(f); err != nil {
		return b, err
	}
	if !f.Exported && depth >= DefaultMaxDepth {
		return b, etfTooDeep(f)
	}
	var err error
	if f.Exported {
		b = append(b, extExport)
		if b, err = refAppendAtom(b, f.Module); err != nil {
			return b, err
		}
		if b, err = refAppendAtom(b, f.Function); err != nil {
			return b, err
		}
		return append(b, extSmallInt, f.Arity), nil
	}
	b = append(b, extNewFun)
	start := len(b)
	b = append(b, 0, 0, 0, 0, f.Arity)
	b = append(b, f.Uniq[:]...)
	b = binary.BigEndian.AppendUint32(b, f.Index)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f.FreeVars)))
	if b, err = refAppendAtom(b, f.Module); err != nil {
		return b, err
	}
	for _, t := range [...]Term{f.OldIndex, f.OldUniq, f.Pid} {
		if b, err = refAppendTerm(b, t, depth+1); err != nil {
			return b, err
		}
	}
	for _, v := range f.FreeVars {
		if b, err = refAppendTerm(b, v, depth+1); err != nil {
			return b, err
		}
	}
	size := len(b) - start
	if uint64(size) > math.MaxUint32 {
		return b, etfEncodeErr(f, "fun of %d bytes over the format's 32-bit limit", size)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(size))
	return b, nil
}
