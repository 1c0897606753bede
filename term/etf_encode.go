package term

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
)

// Encode returns the External Term Format encoding of t, byte for byte what
// OTP 25's term_to_binary/1 writes, with one allowed difference: maps of
// more than 32 keys are written in map-key order, where OTP writes its
// internal hash order (binary_to_term/1 reads both). It fails with an
// *EncodeError (wrapping ErrUnencodable) when t holds something the format
// cannot carry.
//
// Encode walks t once, into a buffer sized from an estimate that looks at
// a sample of each long list and map (their first leaf of up to 64
// elements); when the estimate falls short the buffer grows as append
// grows it. The result's capacity can exceed its length by about an
// eighth, a quarter at most; a result much shorter than the estimate is
// copied to fit. On a hot path, AppendEncode into a reused buffer
// allocates nothing.
func Encode(t Term) ([]byte, error) {
	est := etfEstimate(t, 0)
	b := make([]byte, 1, 1+est+est/8)
	b[0] = etfVersion
	b, err := etfPutTerm(b, t, 0)
	if err != nil {
		return nil, err
	}
	if cap(b)-len(b) > len(b)/4 {
		b = append(make([]byte, 0, len(b)), b...)
	}
	return b, nil
}

// AppendEncode appends the encoding of t, version byte included, to dst and
// returns the extended slice, as Encode would write it. Encoding into a
// buffer that is already large enough allocates nothing, so a caller that
// reuses its buffer (dst[:0]) encodes without garbage. On error it returns
// dst unchanged and an *EncodeError.
func AppendEncode(dst []byte, t Term) ([]byte, error) {
	b, err := etfPutTerm(append(dst, etfVersion), t, 0)
	if err != nil {
		return dst, err
	}
	return b, nil
}

// EncodedSize returns len(Encode(t)) without encoding: a walk over t that
// copies nothing, for sizing buffers. It fails as Encode does.
func EncodedSize(t Term) (int, error) {
	n, err := etfSizeTerm(t, 0)
	if err != nil {
		return 0, err
	}
	return n + 1, nil
}

// EncodeCompressed returns the encoding of t compressed with zlib at level
// (0 to 9), as term_to_binary(T, [{compressed, Level}]): tag 80, the
// uncompressed size, then the zlib stream. As OTP does, it returns the plain
// encoding instead when compressing does not make it smaller (always so at
// level 0). The zlib stream is Go's, so its bytes may differ from OTP's
// while decoding to the same term on both sides.
func EncodeCompressed(t Term, level int) ([]byte, error) {
	if level < 0 || level > 9 {
		return nil, fmt.Errorf("%w: %d", ErrCompressionLevel, level)
	}
	plain, err := Encode(t)
	if err != nil {
		return nil, err
	}
	if level == 0 {
		return plain, nil
	}
	raw := plain[1:]
	if uint64(len(raw)) > math.MaxUint32 {
		return plain, nil
	}
	var out bytes.Buffer
	out.Grow(len(plain))
	out.Write([]byte{etfVersion, extCompressed})
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(raw))))
	zw, err := zlib.NewWriterLevel(&out, level)
	if err != nil {
		return nil, fmt.Errorf("%w: %d", ErrCompressionLevel, level)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	// OTP gives the compressor len(raw)-5 bytes of room and falls back to
	// the plain form when the stream does not fit, so the compressed form is
	// used when it is no longer than the plain one.
	if out.Len() > len(plain) {
		return plain, nil
	}
	return out.Bytes(), nil
}

func etfEncodeErr(t Term, format string, args ...any) error {
	return &EncodeError{Term: t, Reason: fmt.Sprintf(format, args...)}
}

func etfTooDeep(t Term) error {
	return etfEncodeErr(t, "nested deeper than %d levels", DefaultMaxDepth)
}

// The writer below is shaped by the profile of encoding the reference state
// (shared/workload.md): about half a million small terms, tuples of a few
// atoms and integers and short binaries, in one long list, then a map and a
// 1 MiB binary. Lists and maps are walked leaf by leaf over their trees
// (plain slice loops, not iterator callbacks), and the elements of tuples
// and list leaves go through one loop, etfPutElems, that writes the common
// kinds in line. On that state the encoder is bound by memory more than by
// its own work: a walk that only reads what it reads takes about 80% of its
// time, as the parts of each session lie in different places of the heap.
// (Software prefetching of the coming elements was measured and did not
// pay for itself.)

// etfPutTerm appends the encoding of t (without version byte); depth is the
// number of composites around t.
func etfPutTerm(b []byte, t Term, depth int) ([]byte, error) {
	switch x := t.(type) {
	case Atom:
		return etfPutAtom(b, x)
	case Int:
		return etfPutInt(b, int64(x)), nil
	case *Tuple:
		return etfPutTuple(b, x, depth)
	case *Binary:
		return etfPutBinary(b, x)
	case *List:
		return etfPutList(b, x, depth)
	case *Map:
		return etfPutMap(b, x, depth)
	}
	return etfPutRare(b, t, depth)
}

// etfPutRare appends the terms that are seldom in bulk.
func etfPutRare(b []byte, t Term, depth int) ([]byte, error) {
	switch x := t.(type) {
	case Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, etfEncodeErr(t, "%v has no Erlang representation", f)
		}
		b = append(b, extNewFloat)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f)), nil
	case BigInt:
		return etfAppendBig(b, x)
	case Pid:
		return etfAppendPid(b, x)
	case Port:
		return etfAppendPort(b, x)
	case Ref:
		return etfAppendRef(b, x)
	case *Fun:
		return etfAppendFun(b, x, depth)
	case nil:
		return b, etfEncodeErr(nil, "nil Term")
	}
	return b, etfEncodeErr(t, "unknown term type %T", t)
}

// etfPutElems appends the encodings of elems, which lie at depth: the
// elements of a tuple or of one leaf of a list. It is the encoder's hot
// loop:
//
//   - The common kinds are tested one by one with type assertions (each a
//     compare of the itab with a constant) rather than a type switch (which
//     first loads the type's hash and searches it).
//   - Short ASCII atoms, integers and short binaries are written in line,
//     and small tuples are entered without a call, so the loop makes no
//     call for the common shapes.
//   - Atoms and binaries of up to 16 bytes are checked and copied a word at
//     a time: two overlapping 8-, 4- or 2-byte loads and stores instead of
//     a byte loop and a memmove call. This needs etfShortRoom bytes of
//     capacity left; otherwise the plain append path is taken, so the
//     output never depends on the capacity.
//   - The depth bound is checked at composites only.
func etfPutElems(b []byte, elems []Term, depth int) ([]byte, error) {
	// Small tuples are entered without a call: the rest of the enclosing
	// run of elements waits on this stack, and the loop goes on inside the
	// tuple. Past the stack's height, etfPutTuple recurses.
	var stack [etfStackHeight][]Term
	sp := 0
	var err error
	for {
		for len(elems) > 0 {
			e := elems[0]
			elems = elems[1:]
			if a, ok := e.(Atom); ok {
				s := string(a)
				n, l := len(s), len(b)
				if n <= 16 && cap(b)-l >= etfShortRoom {
					w := b[l : l+etfShortRoom : l+etfShortRoom]
					switch {
					case n >= 8:
						lo, hi := le64(s, 0), le64(s, n-8)
						if (lo|hi)&hiBits != 0 {
							break
						}
						w[0], w[1], w[2] = extAtom, 0, byte(n)
						binary.LittleEndian.PutUint64(w[3:], lo)
						binary.LittleEndian.PutUint64(w[n-5:], hi)
						b = b[:l+3+n]
						continue
					case n >= 4:
						lo, hi := le32(s, 0), le32(s, n-4)
						if (lo|hi)&hiBits32 != 0 {
							break
						}
						w[0], w[1], w[2] = extAtom, 0, byte(n)
						binary.LittleEndian.PutUint32(w[3:], lo)
						binary.LittleEndian.PutUint32(w[n-1:], hi)
						b = b[:l+3+n]
						continue
					case n >= 2:
						lo, hi := le16(s, 0), le16(s, n-2)
						if (lo|hi)&hiBits16 != 0 {
							break
						}
						w[0], w[1], w[2] = extAtom, 0, byte(n)
						binary.LittleEndian.PutUint16(w[3:], lo)
						binary.LittleEndian.PutUint16(w[n+1:], hi)
						b = b[:l+3+n]
						continue
					}
				}
				if b, err = etfPutAtomSlow(b, a); err != nil {
					return b, err
				}
				continue
			}
			if v, ok := e.(Int); ok {
				l := len(b)
				if cap(b)-l >= 5 {
					w := b[l : l+5 : l+5]
					if uint64(v) <= 255 {
						w[0], w[1] = extSmallInt, byte(v)
						b = b[:l+2]
						continue
					}
					if int64(int32(v)) == int64(v) {
						w[0] = extInt
						binary.BigEndian.PutUint32(w[1:], uint32(v))
						b = b[:l+5]
						continue
					}
				}
				b = etfPutInt(b, int64(v))
				continue
			}
			if x, ok := e.(*Tuple); ok {
				if n := len(x.elems); n < 256 && depth < DefaultMaxDepth && sp < len(stack) {
					b = append(b, extSmallTuple, byte(n))
					stack[sp] = elems
					sp++
					elems = x.elems
					depth++
					continue
				}
				if b, err = etfPutTuple(b, x, depth); err != nil {
					return b, err
				}
				continue
			}
			if x, ok := e.(*Binary); ok {
				d, l := x.data, len(b)
				if x.ext == nil && len(d) <= 16 && cap(b)-l >= etfShortRoom {
					w := b[l : l+etfShortRoom : l+etfShortRoom]
					w[0] = extBinary
					binary.BigEndian.PutUint32(w[1:], uint32(len(d)))
					etfPutBytes(w[5:], d)
					b = b[:l+5+len(d)]
					continue
				}
				b, err = etfPutBinaryLong(b, x)
			} else {
				b, err = etfPutTerm(b, e, depth)
			}
			if err != nil {
				return b, err
			}
		}
		if sp == 0 {
			return b, nil
		}
		sp--
		elems = stack[sp]
		depth--
	}
}

// etfStackHeight is how many levels of small tuples etfPutElems enters
// without recursing.
const etfStackHeight = 8

// etfShortRoom is the capacity the in-line writers of etfPutElems need: a
// header of up to 5 bytes and 16 bytes of data.
const etfShortRoom = 5 + 16

func etfPutTuple(b []byte, x *Tuple, depth int) ([]byte, error) {
	if n := len(x.elems); n < 256 && depth < DefaultMaxDepth {
		b = append(b, extSmallTuple, byte(n))
		return etfPutElems(b, x.elems, depth+1)
	}
	return etfPutTupleSlow(b, x, depth)
}

// etfPutTupleSlow writes the tuples etfPutTuple leaves: large ones, and
// those at the depth bound.
func etfPutTupleSlow(b []byte, x *Tuple, depth int) ([]byte, error) {
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
	return etfPutElems(b, x.elems, depth+1)
}

// hiBits has the high bit of every byte of a word set: a word of bytes
// anded with it is zero when all of them are ASCII.
const (
	hiBits   = 0x8080808080808080
	hiBits32 = 0x80808080
	hiBits16 = 0x8080
)

// le64 and le32 load the little-endian word at s[i:]; the compiler turns the
// byte loads into one load.
func le64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le16(s string, i int) uint16 {
	s = s[i : i+2]
	return uint16(s[0]) | uint16(s[1])<<8
}

func le32(s string, i int) uint32 {
	s = s[i : i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// etfPutShort writes s (at most 16 bytes) at w[0:len(s)], where len(w) >=
// 16, and reports whether all of its bytes are ASCII. It writes nothing
// past len(s), and nothing at all for a non-ASCII s of 4 bytes or more.
func etfPutShort(w []byte, s string) bool {
	n := len(s)
	switch {
	case n >= 8:
		lo, hi := le64(s, 0), le64(s, n-8)
		if (lo|hi)&hiBits != 0 {
			return false
		}
		binary.LittleEndian.PutUint64(w, lo)
		binary.LittleEndian.PutUint64(w[n-8:], hi)
	case n >= 4:
		lo, hi := le32(s, 0), le32(s, n-4)
		if (lo|hi)&hiBits32 != 0 {
			return false
		}
		binary.LittleEndian.PutUint32(w, lo)
		binary.LittleEndian.PutUint32(w[n-4:], hi)
	default:
		var or byte
		for i := 0; i < n; i++ {
			w[i] = s[i]
			or |= s[i]
		}
		return or < utf8.RuneSelf
	}
	return true
}

// etfPutAtom writes a as OTP 25 does: ATOM_EXT with Latin-1 bytes when
// every character is in Latin-1, else the UTF-8 forms.
func etfPutAtom(b []byte, a Atom) ([]byte, error) {
	s := string(a)
	l := len(b)
	if len(s) <= 16 && cap(b)-l >= 3+16 {
		w := b[l : l+3+16]
		if etfPutShort(w[3:], s) {
			w[0], w[1], w[2] = extAtom, 0, byte(len(s))
			return b[:l+3+len(s)], nil
		}
	}
	return etfPutAtomSlow(b, a)
}

// isASCII reports whether every byte of s is below 0x80, a word at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if le64(s, i)&hiBits != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func etfPutAtomSlow(b []byte, a Atom) ([]byte, error) {
	s := string(a)
	if len(s) <= maxAtomChars && isASCII(s) {
		b = append(b, extAtom, 0, byte(len(s)))
		return append(b, s...), nil
	}
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

// etfAtomSize is the encoded size of a, or an error as etfPutAtom gives.
func etfAtomSize(a Atom) (int, error) {
	s := string(a)
	if len(s) <= maxAtomChars && isASCII(s) {
		return 3 + len(s), nil
	}
	if !utf8.ValidString(s) {
		return 0, etfEncodeErr(a, "atom %q is not valid UTF-8", s)
	}
	n, latin1 := 0, true
	for _, r := range s {
		n++
		if r > 0xFF {
			latin1 = false
		}
	}
	switch {
	case n > maxAtomChars:
		return 0, etfEncodeErr(a, "atom of %d characters is over Erlang's limit of %d", n, maxAtomChars)
	case latin1:
		return 3 + n, nil
	case len(s) <= 255:
		return 2 + len(s), nil
	}
	return 3 + len(s), nil
}

func etfPutInt(b []byte, v int64) []byte {
	if uint64(v) <= 255 {
		return append(b, extSmallInt, byte(v))
	}
	if int64(int32(v)) == v {
		return append(b, extInt, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return etfPutInt64(b, v)
}

// etfPutInt64 writes an integer outside the int32 range as SMALL_BIG_EXT.
func etfPutInt64(b []byte, v int64) []byte {
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

func etfIntSize(v int64) int {
	if uint64(v) <= 255 {
		return 2
	}
	if int64(int32(v)) == v {
		return 5
	}
	mag := uint64(v)
	if v < 0 {
		mag = -uint64(v)
	}
	return 3 + (bits.Len64(mag)+7)/8
}

func etfAppendBig(b []byte, x BigInt) ([]byte, error) {
	v := x.v
	if v == nil {
		return b, etfEncodeErr(x, "zero BigInt value (make one with Integer)")
	}
	if v.IsInt64() {
		return etfPutInt(b, v.Int64()), nil
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

func etfBigSize(x BigInt) (int, error) {
	v := x.v
	if v == nil {
		return 0, etfEncodeErr(x, "zero BigInt value (make one with Integer)")
	}
	if v.IsInt64() {
		return etfIntSize(v.Int64()), nil
	}
	n := (v.BitLen() + 7) / 8
	if uint64(n) > math.MaxUint32 {
		return 0, etfEncodeErr(x, "integer of %d bytes over the format's limit", n)
	}
	if n <= 255 {
		return 3 + n, nil
	}
	return 6 + n, nil
}

// etfPutBinary writes x as BINARY_EXT, or BIT_BINARY_EXT for a bitstring.
func etfPutBinary(b []byte, x *Binary) ([]byte, error) {
	d := x.data
	l := len(b)
	if x.ext == nil && len(d) <= 16 && cap(b)-l >= 5+16 {
		w := b[l : l+5+16]
		w[0] = extBinary
		binary.BigEndian.PutUint32(w[1:], uint32(len(d)))
		etfPutBytes(w[5:], d)
		return b[:l+5+len(d)], nil
	}
	return etfPutBinaryLong(b, x)
}

// etfPutBytes copies d (at most 16 bytes) to w (at least 16 bytes long) a
// word at a time, writing nothing past len(d).
func etfPutBytes(w, d []byte) {
	n := len(d)
	switch {
	case n >= 8:
		lo, hi := binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint64(d[n-8:])
		binary.LittleEndian.PutUint64(w, lo)
		binary.LittleEndian.PutUint64(w[n-8:], hi)
	case n >= 4:
		lo, hi := binary.LittleEndian.Uint32(d), binary.LittleEndian.Uint32(d[n-4:])
		binary.LittleEndian.PutUint32(w, lo)
		binary.LittleEndian.PutUint32(w[n-4:], hi)
	default:
		copy(w, d)
	}
}

func etfPutBinaryLong(b []byte, x *Binary) ([]byte, error) {
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
	return x.AppendTo(b), nil
}

// etfByteLeaves reports whether every element under x is an Int in 0..255,
// stopping at the first that is not.
func etfByteLeaves(x *lnode) bool {
	if x.h == 0 {
		for _, e := range x.elems {
			if v, ok := e.(Int); !ok || uint64(v) > 255 {
				return false
			}
		}
		return true
	}
	for _, c := range x.kids {
		if !etfByteLeaves(c.node) {
			return false
		}
	}
	return true
}

// etfPutByteLeaves writes the elements under x, all Ints in 0..255, as bytes.
func etfPutByteLeaves(b []byte, x *lnode) []byte {
	if x.h == 0 {
		for _, e := range x.elems {
			b = append(b, byte(e.(Int)))
		}
		return b
	}
	for _, c := range x.kids {
		b = etfPutByteLeaves(b, c.node)
	}
	return b
}

// etfIsByteString reports whether l is written as STRING_EXT: a proper list
// of 1 to 65535 integers, all in 0..255.
func etfIsByteString(l *List) bool {
	n := l.Len()
	return n > 0 && n <= math.MaxUint16 && l.tail == nil && etfByteLeaves(l.root)
}

// etfPutLeaves writes the elements under x, which lie at depth.
func etfPutLeaves(b []byte, x *lnode, depth int) ([]byte, error) {
	if x.h == 0 {
		return etfPutElems(b, x.elems, depth)
	}
	var err error
	for _, c := range x.kids {
		if b, err = etfPutLeaves(b, c.node, depth); err != nil {
			return b, err
		}
	}
	return b, nil
}

func etfPutList(b []byte, x *List, depth int) ([]byte, error) {
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
		return etfPutTerm(b, x.Tail(), depth+1)
	}
	if etfIsByteString(x) {
		b = append(b, extString, byte(n>>8), byte(n))
		return etfPutByteLeaves(b, x.root), nil
	}
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "list of %d elements over the format's 32-bit limit", n)
	}
	b = append(b, extList, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	b, err := etfPutLeaves(b, x.root, depth+1)
	if err != nil {
		return b, err
	}
	if x.IsProper() {
		return append(b, extNil), nil
	}
	return etfPutTerm(b, x.Tail(), depth+1)
}

// etfPutPairs writes the pairs under x, which lie at depth.
func etfPutPairs(b []byte, x *mnode, depth int) ([]byte, error) {
	var err error
	if x.h == 0 {
		vals := x.vals[:len(x.keys)]
		for i, k := range x.keys {
			if b, err = etfPutTerm(b, k, depth); err != nil {
				return b, err
			}
			if v, ok := vals[i].(Int); ok {
				b = etfPutInt(b, int64(v))
			} else if b, err = etfPutTerm(b, vals[i], depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	for _, c := range x.kids {
		if b, err = etfPutPairs(b, c.node, depth); err != nil {
			return b, err
		}
	}
	return b, nil
}

func etfPutMap(b []byte, x *Map, depth int) ([]byte, error) {
	n := x.Len()
	if uint64(n) > math.MaxUint32 {
		return b, etfEncodeErr(x, "map of %d keys over the format's 32-bit limit", n)
	}
	if n > 0 && depth >= DefaultMaxDepth {
		return b, etfTooDeep(x)
	}
	b = append(b, extMap, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	if n == 0 {
		return b, nil
	}
	return etfPutPairs(b, x.root, depth+1)
}

func etfAppendPid(b []byte, x Pid) ([]byte, error) {
	b = append(b, extNewPid)
	b, err := etfPutAtom(b, x.Node)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, x.ID)
	b = binary.BigEndian.AppendUint32(b, x.Serial)
	return binary.BigEndian.AppendUint32(b, x.Creation), nil
}

func etfAppendPort(b []byte, x Port) ([]byte, error) {
	// OTP 25 writes NEW_PORT_EXT only while the port number fits in 28
	// bits (the size of a local port number), V4_PORT_EXT beyond.
	tag := byte(extNewPort)
	if x.ID >= 1<<28 {
		tag = extV4Port
	}
	b = append(b, tag)
	b, err := etfPutAtom(b, x.Node)
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

func etfAppendRef(b []byte, x Ref) ([]byte, error) {
	if x.Len < 1 || int(x.Len) > len(x.ID) {
		return b, etfEncodeErr(x, "reference of %d ID words (want 1 to %d)", x.Len, len(x.ID))
	}
	b = append(b, extNewerRef)
	b = binary.BigEndian.AppendUint16(b, uint16(x.Len))
	b, err := etfPutAtom(b, x.Node)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, x.Creation)
	for _, w := range x.ID[:x.Len] {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b, nil
}

// etfCheckFun reports what makes f unencodable, if anything.
func etfCheckFun(f *Fun) error {
	if f.Exported {
		return nil
	}
	if _, ok := f.OldIndex.(Int); !ok {
		return etfEncodeErr(f, "local fun needs an Int OldIndex, has %T", f.OldIndex)
	}
	if _, ok := f.OldUniq.(Int); !ok {
		return etfEncodeErr(f, "local fun needs an Int OldUniq, has %T", f.OldUniq)
	}
	if _, ok := f.Pid.(Pid); !ok {
		return etfEncodeErr(f, "local fun needs a Pid, has %T", f.Pid)
	}
	if uint64(len(f.FreeVars)) > math.MaxUint32 {
		return etfEncodeErr(f, "%d free variables over the format's 32-bit limit", len(f.FreeVars))
	}
	return nil
}

func etfAppendFun(b []byte, f *Fun, depth int) ([]byte, error) {
	if err := etfCheckFun(f); err != nil {
		return b, err
	}
	if !f.Exported && depth >= DefaultMaxDepth {
		return b, etfTooDeep(f)
	}
	var err error
	if f.Exported {
		b = append(b, extExport)
		if b, err = etfPutAtom(b, f.Module); err != nil {
			return b, err
		}
		if b, err = etfPutAtom(b, f.Function); err != nil {
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
	if b, err = etfPutAtom(b, f.Module); err != nil {
		return b, err
	}
	for _, t := range [...]Term{f.OldIndex, f.OldUniq, f.Pid} {
		if b, err = etfPutTerm(b, t, depth+1); err != nil {
			return b, err
		}
	}
	for _, v := range f.FreeVars {
		if b, err = etfPutTerm(b, v, depth+1); err != nil {
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

// etfSizeTerm returns the encoded size of t (without version byte), with the
// same checks as etfAppendTerm.
func etfSizeTerm(t Term, depth int) (int, error) {
	switch x := t.(type) {
	case Atom:
		return etfAtomSize(x)
	case Int:
		return etfIntSize(int64(x)), nil
	case *Tuple:
		if len(x.elems) > 0 && depth >= DefaultMaxDepth {
			return 0, etfTooDeep(x)
		}
		n := 2
		if len(x.elems) >= 256 {
			if uint64(len(x.elems)) > math.MaxUint32 {
				return 0, etfEncodeErr(x, "arity %d over the format's 32-bit limit", len(x.elems))
			}
			n = 5
		}
		s, err := etfElemsSize(x.elems, depth+1)
		return n + s, err
	case *Binary:
		if uint64(x.Len()) > math.MaxUint32 {
			return 0, etfEncodeErr(x, "binary of %d bytes over the format's 32-bit limit", x.Len())
		}
		if x.TailBits() == 8 {
			return 5 + x.Len(), nil
		}
		return 6 + x.Len(), nil
	case *List:
		return etfListSize(x, depth)
	case *Map:
		if uint64(x.Len()) > math.MaxUint32 {
			return 0, etfEncodeErr(x, "map of %d keys over the format's 32-bit limit", x.Len())
		}
		if x.Len() > 0 && depth >= DefaultMaxDepth {
			return 0, etfTooDeep(x)
		}
		if x.root == nil {
			return 5, nil
		}
		n, err := etfPairsSize(x.root, depth+1)
		return 5 + n, err
	case Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, etfEncodeErr(t, "%v has no Erlang representation", f)
		}
		return 9, nil
	case BigInt:
		return etfBigSize(x)
	case Pid:
		n, err := etfAtomSize(x.Node)
		return 13 + n, err
	case Port:
		n, err := etfAtomSize(x.Node)
		if x.ID >= 1<<28 {
			return 13 + n, err
		}
		return 9 + n, err
	case Ref:
		if x.Len < 1 || int(x.Len) > len(x.ID) {
			return 0, etfEncodeErr(x, "reference of %d ID words (want 1 to %d)", x.Len, len(x.ID))
		}
		n, err := etfAtomSize(x.Node)
		return 7 + n + 4*int(x.Len), err
	case *Fun:
		return etfFunSize(x, depth)
	case nil:
		return 0, etfEncodeErr(nil, "nil Term")
	}
	return 0, etfEncodeErr(t, "unknown term type %T", t)
}

func etfListSize(x *List, depth int) (int, error) {
	n := x.Len()
	if depth >= DefaultMaxDepth && (n > 0 || !x.IsProper()) {
		return 0, etfTooDeep(x)
	}
	if n == 0 {
		if x.IsProper() {
			return 1, nil
		}
		return etfSizeTerm(x.Tail(), depth+1)
	}
	if etfIsByteString(x) {
		return 3 + n, nil
	}
	if uint64(n) > math.MaxUint32 {
		return 0, etfEncodeErr(x, "list of %d elements over the format's 32-bit limit", n)
	}
	size, err := etfLeavesSize(x.root, depth+1)
	if err != nil {
		return 0, err
	}
	size += 5
	if x.IsProper() {
		return size + 1, nil
	}
	s, err := etfSizeTerm(x.Tail(), depth+1)
	return size + s, err
}

func etfFunSize(f *Fun, depth int) (int, error) {
	if err := etfCheckFun(f); err != nil {
		return 0, err
	}
	if !f.Exported && depth >= DefaultMaxDepth {
		return 0, etfTooDeep(f)
	}
	if f.Exported {
		m, err := etfAtomSize(f.Module)
		if err != nil {
			return 0, err
		}
		fn, err := etfAtomSize(f.Function)
		return 1 + m + fn + 2, err
	}
	n := 1 + 4 + 1 + 16 + 4 + 4
	m, err := etfAtomSize(f.Module)
	if err != nil {
		return 0, err
	}
	n += m
	for _, t := range [...]Term{f.OldIndex, f.OldUniq, f.Pid} {
		s, err := etfSizeTerm(t, depth+1)
		if err != nil {
			return 0, err
		}
		n += s
	}
	for _, v := range f.FreeVars {
		s, err := etfSizeTerm(v, depth+1)
		if err != nil {
			return 0, err
		}
		n += s
	}
	return n, nil
}

// etfElemsSize is the encoded size of elems, which lie at depth.
func etfElemsSize(elems []Term, depth int) (int, error) {
	n := 0
	for _, e := range elems {
		if a, ok := e.(Atom); ok {
			if len(a) <= maxAtomChars && isASCII(string(a)) {
				n += 3 + len(a)
				continue
			}
			s, err := etfAtomSize(a)
			if err != nil {
				return 0, err
			}
			n += s
			continue
		}
		if v, ok := e.(Int); ok {
			n += etfIntSize(int64(v))
			continue
		}
		s, err := etfSizeTerm(e, depth)
		if err != nil {
			return 0, err
		}
		n += s
	}
	return n, nil
}

// etfLeavesSize is the encoded size of the elements under x, at depth.
func etfLeavesSize(x *lnode, depth int) (int, error) {
	if x.h == 0 {
		return etfElemsSize(x.elems, depth)
	}
	n := 0
	for _, c := range x.kids {
		s, err := etfLeavesSize(c.node, depth)
		if err != nil {
			return 0, err
		}
		n += s
	}
	return n, nil
}

// etfPairsSize is the encoded size of the pairs under x, at depth.
func etfPairsSize(x *mnode, depth int) (int, error) {
	n := 0
	if x.h == 0 {
		ks, err := etfElemsSize(x.keys, depth)
		if err != nil {
			return 0, err
		}
		vs, err := etfElemsSize(x.vals, depth)
		return ks + vs, err
	}
	for _, c := range x.kids {
		s, err := etfPairsSize(c.node, depth)
		if err != nil {
			return 0, err
		}
		n += s
	}
	return n, nil
}

// etfEstimateDepth bounds how deep etfEstimate looks; below it a term
// counts as etfEstimateDeep bytes.
const (
	etfEstimateDepth = 16
	etfEstimateDeep  = 16
)

// etfEstimate guesses the encoded size of t cheaply, for sizing Encode's
// buffer: exactly for scalars and short composites, and for a long list or
// map by scaling the size of its first leaf (up to 32 elements or pairs) to
// its length. It never fails; what Encode would refuse is counted as a few
// bytes.
func etfEstimate(t Term, depth int) int {
	if depth >= etfEstimateDepth {
		return etfEstimateDeep
	}
	switch x := t.(type) {
	case Atom:
		return 3 + len(x)
	case Int:
		return etfIntSize(int64(x))
	case *Tuple:
		n := 2
		if len(x.elems) >= 256 {
			n = 5
		}
		return n + etfEstimateRun(x.elems, len(x.elems), depth+1)
	case *Binary:
		if x.IsBinary() {
			return 5 + x.Len()
		}
		return 6 + x.Len()
	case *List:
		if x.root == nil {
			return etfEstimateTail(x, depth)
		}
		leaf := x.root
		for leaf.h > 0 {
			leaf = leaf.kids[0].node
		}
		return 5 + etfEstimateRun(leaf.elems, x.Len(), depth+1) + etfEstimateTail(x, depth)
	case *Map:
		if x.root == nil {
			return 5
		}
		leaf := x.root
		for leaf.h > 0 {
			leaf = leaf.kids[0].node
		}
		return 5 + etfEstimateRun(leaf.keys, x.Len(), depth+1) + etfEstimateRun(leaf.vals, x.Len(), depth+1)
	case *Fun:
		n := 64
		for _, v := range x.FreeVars {
			n += etfEstimate(v, depth+1)
		}
		return n
	}
	return etfEstimateDeep
}

// etfEstimateTail is etfEstimate of an improper list's tail, 1 (NIL_EXT)
// for a proper list.
func etfEstimateTail(x *List, depth int) int {
	if x.tail == nil {
		return 1
	}
	return etfEstimate(x.tail, depth+1)
}

// etfEstimateRun estimates n terms from sample, the first of them: the
// sample's first 64 are sized and scaled to n.
func etfEstimateRun(sample []Term, n, depth int) int {
	if len(sample) > ropeLeafMax {
		sample = sample[:ropeLeafMax]
	}
	if len(sample) == 0 {
		return 0
	}
	sum := 0
	for _, e := range sample {
		sum += etfEstimate(e, depth)
	}
	return int(int64(sum) * int64(n) / int64(len(sample)))
}
