package term

import (
	"bytes"
	"cmp"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Decode reads the one term that b encodes, as binary_to_term/1 does, with
// the default DecodeOptions. Bytes after the term are an error
// (ErrTrailingBytes); use DecodePrefix to read a term from the front of a
// longer buffer. Every failure is a *DecodeError. The term shares no memory
// with b.
//
// For speed the decoder allocates the parts of the term in batches (tuple
// and binary headers, element slices, small binaries' bytes, integers and
// atoms), so keeping one small part of a decoded term alive keeps its batch
// alive too, at most some tens of kilobytes per batch.
func Decode(b []byte) (Term, error) { return DecodeOptions{}.Decode(b) }

// DecodePrefix reads the term at the front of b and returns it with the
// number of bytes it took, leaving whatever follows (for framing).
func DecodePrefix(b []byte) (Term, int, error) { return DecodeOptions{}.DecodePrefix(b) }

// Decode is Decode with the limits of o.
func (o DecodeOptions) Decode(b []byte) (Term, error) {
	t, n, err := o.DecodePrefix(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, &DecodeError{Offset: n, Err: fmt.Errorf("%w: %d bytes", ErrTrailingBytes, len(b)-n)}
	}
	return t, nil
}

// DecodePrefix is DecodePrefix with the limits of o.
//
// It reads every form binary_to_term/1 of OTP 25 reads: the current ones
// that term_to_binary/1 writes, the older atom, float, pid, port and
// reference forms, and compressed terms (tag 80), whose claimed size must be
// at most o.MaxSize and equal the inflated size. Forms that only occur
// between connected nodes (atom cache references, distribution headers) fail
// with ErrDistribution. Unlike binary_to_term/1, which ignores them, bytes
// after the term are refused by Decode, and a map with a duplicate key and a
// reference of zero ID words are refused as OTP 25 does with the first but
// not the second.
func (o DecodeOptions) DecodePrefix(b []byte) (Term, int, error) {
	if len(b) == 0 {
		return nil, 0, &DecodeError{Offset: 0, Err: fmt.Errorf("%w: empty input", ErrTruncated)}
	}
	if b[0] != etfVersion {
		return nil, 0, &DecodeError{Offset: 0, Err: fmt.Errorf("%w: first byte is %d", ErrVersion, b[0])}
	}
	if len(b) >= 2 {
		switch b[1] {
		case extCompressed:
			return o.decodeCompressed(b)
		case extDistHeader, extDistFragHdr:
			return nil, 0, &DecodeError{Offset: 1, Tag: b[1], Err: ErrDistribution}
		}
	}
	d := newDecoder(b, o)
	d.pos = 1
	t, err := d.term(0)
	if err != nil {
		return nil, 0, err
	}
	return t, d.pos, nil
}

// maxDeflateRatio bounds how many bytes one byte of a deflate stream can
// inflate to (the format's best case is 258 bytes per two bits, 1032:1).
const maxDeflateRatio = 1032

func (o DecodeOptions) decodeCompressed(b []byte) (Term, int, error) {
	fail := func(off int, err error) (Term, int, error) {
		return nil, 0, &DecodeError{Offset: off, Tag: extCompressed, Err: err}
	}
	if len(b) < 6 {
		return fail(len(b), fmt.Errorf("%w: compressed term header", ErrTruncated))
	}
	size := uint64(binary.BigEndian.Uint32(b[2:]))
	if size > uint64(o.maxSize()) {
		return fail(2, fmt.Errorf("%w: compressed term claims %d bytes, limit %d", ErrTooLarge, size, o.maxSize()))
	}
	zdata := b[6:]
	if size > uint64(len(zdata))*maxDeflateRatio+64 {
		return fail(2, fmt.Errorf("%w: %d compressed bytes cannot inflate to the claimed %d", ErrInvalid, len(zdata), size))
	}
	r := bytes.NewReader(zdata)
	zr, err := zlib.NewReader(r)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail(len(b), fmt.Errorf("%w: zlib header", ErrTruncated))
		}
		return fail(6, fmt.Errorf("%w: %v", ErrInvalid, err))
	}
	raw := make([]byte, size)
	filled := 0
	zfail := func(err error) (Term, int, error) {
		off := len(b) - r.Len()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(off, fmt.Errorf("%w: zlib stream", ErrTruncated))
		}
		return fail(off, fmt.Errorf("%w: zlib stream: %v", ErrInvalid, err))
	}
	for filled < len(raw) {
		n, err := zr.Read(raw[filled:])
		filled += n
		if err == io.EOF {
			if filled < len(raw) {
				return fail(2, fmt.Errorf("%w: compressed term inflates to %d bytes, claims %d", ErrInvalid, filled, size))
			}
			break
		}
		if err != nil {
			return zfail(err)
		}
	}
	// Read on to the end of the stream, which checks the checksum and
	// catches a stream longer than claimed.
	var extra [1]byte
	for {
		n, err := zr.Read(extra[:])
		if n > 0 {
			return fail(2, fmt.Errorf("%w: compressed term inflates to more than the claimed %d bytes", ErrInvalid, size))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return zfail(err)
		}
	}
	consumed := len(b) - r.Len()
	if len(raw) == 0 {
		return fail(2, fmt.Errorf("%w: compressed term of 0 bytes", ErrInvalid))
	}
	d := newDecoder(raw, o)
	d.inflated = true
	t, err := d.term(0)
	if err != nil {
		return nil, 0, err
	}
	if d.pos != len(raw) {
		return nil, 0, &DecodeError{Offset: d.pos, Inflated: true,
			Err: fmt.Errorf("%w: %d bytes inside the compressed term", ErrTrailingBytes, len(raw)-d.pos)}
	}
	return t, consumed, nil
}

// maxOldCreation is the largest creation the old pid, port and reference
// forms carry: two significant bits, as binary_to_term checks.
const maxOldCreation = 3

// The number of slots of the per-call atom cache (a power of two): small
// for small inputs, so that decoding a small term stays cheap.
const (
	atomCacheSmall = 8
	atomCacheLarge = 256
)

type atomSlot struct {
	raw  string // the atom's bytes as encoded
	utf8 bool   // encoded in a UTF-8 form (else Latin-1)
	atom Term   // the decoded Atom, boxed once
}

// decoder is the state of one decode call. Decoded terms are carved out of
// per-call slabs (tuple and binary structs, element slices, small binaries'
// bytes, boxed integers and atoms) and repeated atoms are made once, which
// is most of the speed; a slab lives as long as any term carved from it.
type decoder struct {
	b        []byte
	pos      int
	maxDepth int
	inflated bool

	atoms     []atomSlot
	atomBoxes []Atom
	ints      []Int
	pfx       []uint64 // map key prefixes (see prefixes)
	terms     []Term
	tuples    []Tuple // headers of tuples over 8 elements, and of {}
	// Tuples of 1 to 8 elements, each with its elements (smallTuple).
	tuple1   []tupleWith[[1]Term]
	tuple2   []tupleWith[[2]Term]
	tuple3   []tupleWith[[3]Term]
	tuple4   []tupleWith[[4]Term]
	tuple5   []tupleWith[[5]Term]
	tuple6   []tupleWith[[6]Term]
	tuple7   []tupleWith[[7]Term]
	tuple8   []tupleWith[[8]Term]
	binaries []Binary
	// Binaries of 1 to inlineBinary bytes, each with its bytes.
	inlined []binaryWith[[inlineBinary]byte]
	bytes   []byte
	// keyRaw holds, while maps are being read, the content bytes of their
	// binary keys (nil for other keys): a stack shared by nested maps.
	keyRaw [][]byte
}

func newDecoder(b []byte, o DecodeOptions) *decoder {
	return &decoder{b: b, maxDepth: o.maxDepth()}
}

func (d *decoder) fail(off int, tag byte, err error) error {
	return &DecodeError{Offset: off, Tag: tag, Inflated: d.inflated, Err: err}
}

func (d *decoder) truncated(off int, tag byte, what string) error {
	return d.fail(off, tag, fmt.Errorf("%w: %s", ErrTruncated, what))
}

func (d *decoder) invalid(off int, tag byte, format string, args ...any) error {
	return d.fail(off, tag, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func (d *decoder) tooDeep(off int, tag byte) error {
	return d.fail(off, tag, fmt.Errorf("%w: more than %d levels", ErrTooDeep, d.maxDepth))
}

// rest is the number of input bytes not read yet.
func (d *decoder) rest() int { return len(d.b) - d.pos }

// Slab sizes: enough to amortize allocation on large terms, scaled down by
// the input left so that decoding a small term stays small.
const (
	maxTermSlab   = 4096
	maxTupleSlab  = 512
	maxBinarySlab = 256
	maxByteSlab   = 32 << 10
	smallBinary   = 64 // binaries up to this size share slab memory
	smallElemSpan = 64 // element slices up to this length come from the slab
)

// elems returns a slice for n elements (n ≤ d.rest(), checked by the
// caller), from the slab when n is small. Its capacity is n, so that an
// append never writes into a neighbour.
func (d *decoder) elems(n int) []Term { return carveSpan(&d.terms, n, d.rest()) }

// carveSpan returns n elements of *slab (n ≤ rest, the input bytes left),
// refilling it when too few are left, or a slice of their own past
// smallElemSpan elements. Its capacity is n.
func carveSpan[T any](slab *[]T, n, rest int) []T {
	if n > smallElemSpan {
		return make([]T, n)
	}
	if len(*slab) < n {
		*slab = make([]T, max(n, min(maxTermSlab, rest/4)))
	}
	e := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return e
}

func (d *decoder) tuple(e []Term) *Tuple {
	if len(d.tuples) == 0 {
		d.tuples = make([]Tuple, max(1, min(maxTupleSlab, d.rest()/12)))
	}
	t := &d.tuples[0]
	d.tuples = d.tuples[1:]
	t.elems = e
	return t
}

// maxSmallTuple is the largest arity smallTuple handles.
const maxSmallTuple = 8

// smallTuple returns a tuple of n elements (1 to maxSmallTuple), all nil,
// with its elements next to its header as makeTuple lays them out, carved
// from the slab of that arity. Reading a decoded record, as the receiver of
// a delta does on a cold replica, then touches one place instead of two.
func (d *decoder) smallTuple(n int) *Tuple {
	// A tuple of n elements takes at least n+2 bytes of input.
	size := max(1, min(maxTupleSlab, d.rest()/(n+2)))
	switch n {
	case 1:
		p := carve(&d.tuple1, size)
		p.t.elems = p.a[:]
		return &p.t
	case 2:
		p := carve(&d.tuple2, size)
		p.t.elems = p.a[:]
		return &p.t
	case 3:
		p := carve(&d.tuple3, size)
		p.t.elems = p.a[:]
		return &p.t
	case 4:
		p := carve(&d.tuple4, size)
		p.t.elems = p.a[:]
		return &p.t
	case 5:
		p := carve(&d.tuple5, size)
		p.t.elems = p.a[:]
		return &p.t
	case 6:
		p := carve(&d.tuple6, size)
		p.t.elems = p.a[:]
		return &p.t
	case 7:
		p := carve(&d.tuple7, size)
		p.t.elems = p.a[:]
		return &p.t
	}
	p := carve(&d.tuple8, size)
	p.t.elems = p.a[:]
	return &p.t
}

// carve returns the next element of *slab, refilling it with size new
// elements when it is used up.
func carve[T any](slab *[]T, size int) *T {
	if len(*slab) == 0 {
		*slab = make([]T, size)
	}
	p := &(*slab)[0]
	*slab = (*slab)[1:]
	return p
}

// binary returns the binary of data (taking ownership, as binaryOwning
// does), its header from the slab when data is short enough to be one
// slice.
func (d *decoder) binary(data []byte) *Binary {
	if len(data) > binaryHashChunk {
		return binaryOwning(data)
	}
	if len(d.binaries) == 0 {
		// A binary takes at least 5 bytes of input.
		d.binaries = make([]Binary, max(1, min(maxBinarySlab, d.rest()/5)))
	}
	x := &d.binaries[0]
	d.binaries = d.binaries[1:]
	x.data = data
	return x
}

// inlineBinary is the longest binary the decoder stores right after its
// header (map keys and short strings, the binaries a state is searched by):
// header and bytes take 64 bytes, one cache line of the slab, so comparing
// such a key on a search path costs one miss.
const inlineBinary = 24

// binaryWith is a binary together with the array its bytes live in, so
// that comparing it with another (a map key on a search path) reads one
// place instead of two.
type binaryWith[A any] struct {
	b Binary
	a A
}

// inlineBinary returns the binary of a copy of p (1 to inlineBinary bytes),
// carved with its bytes from a slab.
func (d *decoder) inlineBinary(p []byte) *Binary {
	// A binary takes at least 5 bytes of input besides its bytes.
	x := carve(&d.inlined, max(1, min(maxBinarySlab, d.rest()/(5+len(p)))))
	n := copy(x.a[:], p)
	x.b.data = x.a[:n:n]
	return &x.b
}

// binaryBytes returns a copy of p, in the byte slab when p is small.
func (d *decoder) binaryBytes(p []byte) []byte {
	n := len(p)
	if n == 0 {
		return nil
	}
	if n > smallBinary {
		return append([]byte(nil), p...)
	}
	if len(d.bytes) < n {
		d.bytes = make([]byte, max(n, min(maxByteSlab, d.rest()+n)))
	}
	c := d.bytes[:n:n]
	d.bytes = d.bytes[n:]
	copy(c, p)
	return c
}

// maxIntSlab is the most Ints boxed from one slab allocation.
const maxIntSlab = 1024

// boxInt returns v as a Term without a heap allocation of its own: the
// value is stored in a per-call slab and the interface points at it.
//
// Converting an Int to a Term copies the value to a new 8-byte heap object
// (for values over 255) and stores a pointer to it in the interface's data
// word; that allocation per integer is most of the garbage a decode makes.
// Here the interface is built by hand with its data word pointing into the
// slab instead, which is the same representation: the data word of an
// interface holding a non-pointer type is always a pointer to the value,
// the garbage collector treats it as one (keeping the slab alive), and the
// value is never written again. TestBoxedInt checks the result behaves as
// an ordinary Int.
func (d *decoder) boxInt(v Int) Term {
	if uint64(v) < 256 {
		return v // the runtime boxes these without allocating
	}
	if len(d.ints) == 0 {
		d.ints = make([]Int, max(1, min(maxIntSlab, d.rest()/5)))
	}
	p := &d.ints[0]
	d.ints = d.ints[1:]
	*p = v
	var t Term = Int(0)
	(*eface)(unsafe.Pointer(&t)).data = unsafe.Pointer(p)
	return t
}

// eface is the layout of an interface value: a type (or itab) word and a
// data word.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// term reads one term at d.pos; depth is the number of composites around
// it.
func (d *decoder) term(depth int) (Term, error) {
	b := d.b
	p := d.pos
	if p >= len(b) {
		return nil, d.truncated(p, 0, "term expected")
	}
	tag := b[p]
	switch tag {
	case extSmallInt:
		if p+2 > len(b) {
			return nil, d.truncated(p, tag, "integer")
		}
		d.pos = p + 2
		return Int(b[p+1]), nil
	case extInt:
		if p+5 > len(b) {
			return nil, d.truncated(p, tag, "integer")
		}
		d.pos = p + 5
		return d.boxInt(Int(int32(binary.BigEndian.Uint32(b[p+1:])))), nil
	case extAtom, extSmallAtom, extAtomUTF8, extSmallAtom8:
		return d.atom()
	case extSmallTuple, extLargeTuple:
		return d.tupleTerm(depth)
	case extNil:
		d.pos = p + 1
		return emptyList, nil
	case extString, extList:
		return d.list(depth)
	case extBinary:
		if p+5 > len(b) {
			return nil, d.truncated(p, tag, "binary length")
		}
		n := uint64(binary.BigEndian.Uint32(b[p+1:]))
		if n > uint64(len(b)-p-5) {
			return nil, d.truncated(p, tag, fmt.Sprintf("binary of %d bytes", n))
		}
		start := p + 5
		d.pos = start + int(n)
		if n > 0 && n <= inlineBinary {
			return d.inlineBinary(b[start:d.pos]), nil
		}
		return d.binary(d.binaryBytes(b[start:d.pos])), nil
	case extBitBinary:
		return d.bitBinary()
	case extMap:
		return d.mapTerm(depth)
	case extNewFloat:
		if p+9 > len(b) {
			return nil, d.truncated(p, tag, "float")
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(b[p+1:]))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, d.invalid(p, tag, "%v is not an Erlang float", f)
		}
		d.pos = p + 9
		return Float(f), nil
	case extFloat:
		return d.oldFloat()
	case extSmallBig, extLargeBig:
		return d.bigInt()
	case extNewPid, extPid:
		return d.pid()
	case extNewPort, extPort, extV4Port:
		return d.port()
	case extNewerRef, extNewRef, extRef:
		return d.ref()
	case extNewFun:
		return d.newFun(depth)
	case extExport:
		return d.export()
	case extAtomCacheRef:
		return nil, d.fail(p, tag, ErrDistribution)
	case extCompressed:
		return nil, d.invalid(p, tag, "a compressed term can only come right after the version byte")
	}
	return nil, d.fail(p, tag, fmt.Errorf("%w %d", ErrUnknownTag, tag))
}

// atomBytes reads an atom's header at d.pos and returns its bytes and
// whether they are UTF-8 (else Latin-1), leaving d.pos after them.
func (d *decoder) atomBytes() ([]byte, bool, error) {
	b, p := d.b, d.pos
	if p >= len(b) {
		return nil, false, d.truncated(p, 0, "atom expected")
	}
	tag := b[p]
	var n, hdr int
	switch tag {
	case extAtom, extAtomUTF8:
		if p+3 > len(b) {
			return nil, false, d.truncated(p, tag, "atom length")
		}
		n, hdr = int(binary.BigEndian.Uint16(b[p+1:])), 3
	case extSmallAtom, extSmallAtom8:
		if p+2 > len(b) {
			return nil, false, d.truncated(p, tag, "atom length")
		}
		n, hdr = int(b[p+1]), 2
	case extAtomCacheRef:
		return nil, false, d.fail(p, tag, ErrDistribution)
	default:
		return nil, false, d.invalid(p, tag, "atom expected, found tag %d", tag)
	}
	if n > len(b)-p-hdr {
		return nil, false, d.truncated(p, tag, fmt.Sprintf("atom of %d bytes", n))
	}
	isUTF8 := tag == extAtomUTF8 || tag == extSmallAtom8
	if !isUTF8 && n > maxAtomChars {
		return nil, false, d.invalid(p, tag, "atom of %d characters, over %d", n, maxAtomChars)
	}
	d.pos = p + hdr + n
	return b[p+hdr : d.pos], isUTF8, nil
}

// atom reads an atom term, boxing each distinct atom once per call.
func (d *decoder) atom() (Term, error) {
	p := d.pos
	raw, isUTF8, err := d.atomBytes()
	if err != nil {
		return nil, err
	}
	if d.atoms == nil {
		n := atomCacheSmall
		if len(d.b) >= 16<<10 {
			n = atomCacheLarge
		}
		d.atoms = make([]atomSlot, n)
	}
	slot := &d.atoms[atomHash(raw)&uint(len(d.atoms)-1)]
	if slot.atom != nil && slot.utf8 == isUTF8 && slot.raw == string(raw) {
		return slot.atom, nil
	}
	a, err := d.makeAtom(p, raw, isUTF8)
	if err != nil {
		return nil, err
	}
	key := string(a)
	if len(key) != len(raw) {
		key = string(raw) // a Latin-1 atom, re-encoded as UTF-8
	}
	t := d.boxAtom(a)
	*slot = atomSlot{raw: key, utf8: isUTF8, atom: t}
	return t, nil
}

// atomHash picks an atom's cache slot from its length and three of its
// bytes.
func atomHash(raw []byte) uint {
	h := uint(len(raw)) * 0x9E3779B1
	if len(raw) > 0 {
		h ^= uint(raw[0])<<3 ^ uint(raw[len(raw)-1])<<9 ^ uint(raw[len(raw)/2])<<14
	}
	return h ^ h>>15
}

// cachedAtom returns the atom an ATOM_EXT at d.pos encodes when it is in
// the cache, advancing past it; otherwise it returns nil and leaves d.pos.
// It is the hot path for the record tags that make up most atoms of a
// state.
func (d *decoder) cachedAtom() Term {
	b, q := d.b, d.pos
	if d.atoms == nil || q+3 > len(b) {
		return nil
	}
	n := int(b[q+1])<<8 | int(b[q+2])
	if n > len(b)-q-3 {
		return nil
	}
	raw := b[q+3 : q+3+n]
	slot := &d.atoms[atomHash(raw)&uint(len(d.atoms)-1)]
	if slot.atom == nil || slot.utf8 || slot.raw != string(raw) {
		return nil
	}
	d.pos = q + 3 + n
	return slot.atom
}

// boxAtom returns a as a Term, boxed in a per-call slab as boxInt does.
func (d *decoder) boxAtom(a Atom) Term {
	if len(d.atomBoxes) == 0 {
		d.atomBoxes = make([]Atom, max(1, min(len(d.atoms), d.rest()/3)))
	}
	p := &d.atomBoxes[0]
	d.atomBoxes = d.atomBoxes[1:]
	*p = a
	var t Term = Atom("")
	(*eface)(unsafe.Pointer(&t)).data = unsafe.Pointer(p)
	return t
}

// arenaString returns a string holding a copy of p, carved out of the byte
// slab (whose bytes are never written again once handed out).
func (d *decoder) arenaString(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	c := d.binaryBytes(p)
	return unsafe.String(&c[0], len(c))
}

// atomValue reads an atom where the format requires one (a node name, a
// module).
func (d *decoder) atomValue() (Atom, error) {
	t, err := d.atom()
	if err != nil {
		return "", err
	}
	return t.(Atom), nil
}

func (d *decoder) makeAtom(p int, raw []byte, isUTF8 bool) (Atom, error) {
	ascii := true
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		if len(raw) > maxAtomChars {
			return "", d.invalid(p, d.b[p], "atom of %d characters, over %d", len(raw), maxAtomChars)
		}
		return Atom(d.arenaString(raw)), nil
	}
	if !isUTF8 {
		var sb strings.Builder
		sb.Grow(2 * len(raw))
		for _, c := range raw {
			sb.WriteRune(rune(c))
		}
		return Atom(sb.String()), nil
	}
	if !utf8.Valid(raw) {
		return "", d.invalid(p, d.b[p], "atom is not valid UTF-8")
	}
	if n := utf8.RuneCount(raw); n > maxAtomChars {
		return "", d.invalid(p, d.b[p], "atom of %d characters, over %d", n, maxAtomChars)
	}
	return Atom(d.arenaString(raw)), nil
}

func (d *decoder) tupleTerm(depth int) (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	var n int
	if tag == extSmallTuple {
		if p+2 > len(b) {
			return nil, d.truncated(p, tag, "tuple arity")
		}
		n = int(b[p+1])
		d.pos = p + 2
	} else {
		if p+5 > len(b) {
			return nil, d.truncated(p, tag, "tuple arity")
		}
		a := uint64(binary.BigEndian.Uint32(b[p+1:]))
		if a > uint64(len(b)-p-5) {
			return nil, d.truncated(p, tag, fmt.Sprintf("tuple of %d elements", a))
		}
		n = int(a)
		d.pos = p + 5
	}
	if n > d.rest() {
		return nil, d.truncated(p, tag, fmt.Sprintf("tuple of %d elements", n))
	}
	if n == 0 {
		return d.tuple(nil), nil
	}
	if depth >= d.maxDepth {
		return nil, d.tooDeep(p, tag)
	}
	var t *Tuple
	if n <= maxSmallTuple {
		t = d.smallTuple(n)
	} else {
		t = d.tuple(d.elems(n))
	}
	e := t.elems
	for i := range e {
		// Small integers and atoms are read here, saving a call.
		q := d.pos
		if q < len(b) {
			switch b[q] {
			case extSmallInt:
				if q+2 <= len(b) {
					e[i] = Int(b[q+1])
					d.pos = q + 2
					continue
				}
			case extInt:
				if q+5 <= len(b) {
					e[i] = d.boxInt(Int(int32(binary.BigEndian.Uint32(b[q+1:]))))
					d.pos = q + 5
					continue
				}
			case extAtom:
				a := d.cachedAtom()
				if a == nil {
					var err error
					if a, err = d.atom(); err != nil {
						return nil, err
					}
				}
				e[i] = a
				continue
			}
		}
		v, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		e[i] = v
	}
	return t, nil
}

// list reads a LIST_EXT or STRING_EXT, and goes on through tails that are
// themselves lists without recursion, so the whole run becomes one List
// however its cons cells were written.
func (d *decoder) list(depth int) (Term, error) {
	p := d.pos
	tag := d.b[p]
	if depth >= d.maxDepth {
		return nil, d.tooDeep(p, tag)
	}
	var e []Term
	for {
		b, q := d.b, d.pos
		if q >= len(b) {
			return nil, d.truncated(q, 0, "list tail expected")
		}
		switch tag = b[q]; tag {
		case extNil:
			d.pos = q + 1
			if len(e) == 0 {
				return emptyList, nil
			}
			return listOwning(e, nil), nil
		case extString:
			if q+3 > len(b) {
				return nil, d.truncated(q, tag, "string length")
			}
			n := int(binary.BigEndian.Uint16(b[q+1:]))
			if n > len(b)-q-3 {
				return nil, d.truncated(q, tag, fmt.Sprintf("string of %d bytes", n))
			}
			if n == 0 {
				// An empty STRING_EXT is [], ending the list.
				d.pos = q + 3
				if len(e) == 0 {
					return emptyList, nil
				}
				return listOwning(e, nil), nil
			}
			e = d.grow(e, n)
			for _, c := range b[q+3 : q+3+n] {
				e = append(e, Int(c))
			}
			d.pos = q + 3 + n
			// A STRING_EXT is a proper list: the run ends here.
			return listOwning(e, nil), nil
		case extList:
			if q+5 > len(b) {
				return nil, d.truncated(q, tag, "list length")
			}
			n := uint64(binary.BigEndian.Uint32(b[q+1:]))
			// Each element and the tail take at least one byte.
			if n >= uint64(len(b)-q-5) {
				return nil, d.truncated(q, tag, fmt.Sprintf("list of %d elements", n))
			}
			d.pos = q + 5
			e = d.grow(e, int(n))
			for range int(n) {
				t, err := d.term(depth + 1)
				if err != nil {
					return nil, err
				}
				e = append(e, t)
			}
		default:
			// An improper tail.
			t, err := d.term(depth + 1)
			if err != nil {
				return nil, err
			}
			if len(e) == 0 {
				return t, nil // [ | T] is T, as binary_to_term reads it
			}
			return listOwning(e, t), nil
		}
	}
}

// grow returns e with room for n more elements.
func (d *decoder) grow(e []Term, n int) []Term {
	if e == nil {
		return d.elems(n)[:0]
	}
	return slices.Grow(e, n)
}

func (d *decoder) bitBinary() (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	if p+6 > len(b) {
		return nil, d.truncated(p, tag, "bitstring header")
	}
	n := uint64(binary.BigEndian.Uint32(b[p+1:]))
	bitsUsed := b[p+5]
	if n > uint64(len(b)-p-6) {
		return nil, d.truncated(p, tag, fmt.Sprintf("bitstring of %d bytes", n))
	}
	data := b[p+6 : p+6+int(n)]
	switch {
	case n == 0 && bitsUsed != 0:
		return nil, d.invalid(p, tag, "empty bitstring with %d bits in its last byte", bitsUsed)
	case n > 0 && (bitsUsed < 1 || bitsUsed > 8):
		return nil, d.invalid(p, tag, "%d bits in the last byte (want 1 to 8)", bitsUsed)
	}
	d.pos = p + 6 + int(n)
	if n == 0 || bitsUsed == 8 {
		return d.binary(d.binaryBytes(data)), nil
	}
	return NewBitstring(data, bitsUsed), nil
}

func (d *decoder) mapTerm(depth int) (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	if p+5 > len(b) {
		return nil, d.truncated(p, tag, "map size")
	}
	n64 := uint64(binary.BigEndian.Uint32(b[p+1:]))
	// Each key and value take at least one byte.
	if n64 > uint64(len(b)-p-5)/2 {
		return nil, d.truncated(p, tag, fmt.Sprintf("map of %d pairs", n64))
	}
	d.pos = p + 5
	n := int(n64)
	if n == 0 {
		return emptyMap, nil
	}
	if depth >= d.maxDepth {
		return nil, d.tooDeep(p, tag)
	}
	keys, vals := d.elems(n), d.elems(n)
	rawBase := len(d.keyRaw)
	d.keyRaw = slices.Grow(d.keyRaw, n)
	defer func() { d.keyRaw = d.keyRaw[:rawBase] }()
	for i := range n {
		q := d.pos
		k, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		var raw []byte
		if b[q] == extBinary {
			raw = b[q+5 : d.pos]
		}
		d.keyRaw = append(d.keyRaw, raw)
		v, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		keys[i], vals[i] = k, v
	}
	raws := d.keyRaw[rawBase:]
	sorted := true
	for i := 1; i < n; i++ {
		c := keyOrder(keys[i-1], keys[i], raws[i-1], raws[i])
		if c == 0 {
			return nil, d.invalid(p, tag, "duplicate map key")
		}
		if c > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		keys, pfx, vals, err := sortMapPairs(keys, vals, raws)
		if err != nil {
			return nil, d.invalid(p, tag, "%v", err)
		}
		return mapFromSortedPrefixed(keys, pfx, vals), nil
	}
	pfx := d.prefixes(n)
	for i, raw := range raws {
		pfx[i] = rawKeyPrefix(keys[i], raw)
	}
	return mapFromSortedPrefixed(keys, pfx, vals), nil
}

// rawKeyPrefix returns keyPrefix(k), from raw, the content bytes of k when
// it was read as a binary (nil otherwise), so that a binary key's object
// is not read again.
func rawKeyPrefix(k Term, raw []byte) uint64 {
	if raw != nil {
		return bytesPrefix(raw)
	}
	return keyPrefix(k)
}

// prefixes returns a slice for n map key prefixes (n ≤ d.rest(), checked
// by the caller), from the slab when n is small, as elems does.
func (d *decoder) prefixes(n int) []uint64 { return carveSpan(&d.pfx, n, d.rest()) }

// keyOrder is compareKeys with fast paths for the common key types; rawA
// and rawB are the content bytes of binary keys (nil for other keys).
func keyOrder(a, b Term, rawA, rawB []byte) int {
	if rawA != nil && rawB != nil {
		return bytes.Compare(rawA, rawB)
	}
	switch x := a.(type) {
	case Atom:
		if y, ok := b.(Atom); ok {
			return strings.Compare(string(x), string(y))
		}
	case Int:
		if y, ok := b.(Int); ok {
			return cmp.Compare(int64(x), int64(y))
		}
	}
	return compareKeys(a, b)
}

var errDuplicateKey = errors.New("duplicate map key")

// sortMapPairs sorts keys (and vals with them) by map-key order, returning
// the sorted keys, their prefixes (keyPrefix) and the values, and fails
// on a duplicate key. It sorts a permutation of indexes, which moves no
// pointers (no write barriers) until the final placement.
func sortMapPairs(keys, vals []Term, raws [][]byte) ([]Term, []uint64, []Term, error) {
	var idx []int32
	if allBinaries(raws) {
		idx = sortBinaryKeys(raws)
	} else {
		idx = make([]int32, len(keys))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(i, j int32) int { return keyOrder(keys[i], keys[j], raws[i], raws[j]) })
	}
	for n := 1; n < len(idx); n++ {
		i, j := idx[n-1], idx[n]
		if keyOrder(keys[i], keys[j], raws[i], raws[j]) == 0 {
			return nil, nil, nil, errDuplicateKey
		}
	}
	sk, sv, sp := make([]Term, len(keys)), make([]Term, len(vals)), make([]uint64, len(keys))
	for n, i := range idx {
		sk[n], sv[n], sp[n] = keys[i], vals[i], rawKeyPrefix(keys[i], raws[i])
	}
	return sk, sp, sv, nil
}

func allBinaries(raws [][]byte) bool {
	for _, r := range raws {
		if r == nil {
			return false
		}
	}
	return true
}

// sortBinaryKeys returns the permutation that sorts binary keys by their
// bytes. Each key's first 8 bytes, big-endian in an integer, decide most
// comparisons without touching the bytes.
func sortBinaryKeys(raws [][]byte) []int32 {
	type entry struct {
		prefix uint64
		i      int32
	}
	es := make([]entry, len(raws))
	for i, r := range raws {
		var p [8]byte
		copy(p[:], r)
		es[i] = entry{binary.BigEndian.Uint64(p[:]), int32(i)}
	}
	slices.SortFunc(es, func(x, y entry) int {
		if x.prefix != y.prefix {
			if x.prefix < y.prefix {
				return -1
			}
			return 1
		}
		return bytes.Compare(raws[x.i], raws[y.i])
	})
	idx := make([]int32, len(es))
	for n, e := range es {
		idx[n] = e.i
	}
	return idx
}

// oldFloat reads FLOAT_EXT: a float printed with "%.20e" in 31 bytes,
// NUL-padded.
func (d *decoder) oldFloat() (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	if p+32 > len(b) {
		return nil, d.truncated(p, tag, "float string")
	}
	s := b[p+1 : p+32]
	end := bytes.IndexByte(s, 0)
	if end <= 0 {
		return nil, d.invalid(p, tag, "float string not NUL-terminated or empty")
	}
	s = s[:end]
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return nil, d.invalid(p, tag, "bad float string %q", s)
		}
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, d.invalid(p, tag, "bad float string %q", s)
	}
	d.pos = p + 32
	return Float(f), nil
}

func (d *decoder) bigInt() (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	var n uint64
	var hdr int
	if tag == extSmallBig {
		if p+3 > len(b) {
			return nil, d.truncated(p, tag, "integer header")
		}
		n, hdr = uint64(b[p+1]), 2
	} else {
		if p+6 > len(b) {
			return nil, d.truncated(p, tag, "integer header")
		}
		n, hdr = uint64(binary.BigEndian.Uint32(b[p+1:])), 5
	}
	neg := b[p+hdr] != 0 // binary_to_term takes any non-zero sign as minus
	start := p + hdr + 1
	if n > uint64(len(b)-start) {
		return nil, d.truncated(p, tag, fmt.Sprintf("integer of %d bytes", n))
	}
	mag := b[start : start+int(n)]
	d.pos = start + int(n)
	// Up to 8 bytes (past leading zero bytes): no big.Int.
	m := len(mag)
	for m > 0 && mag[m-1] == 0 {
		m--
	}
	if m <= 8 {
		var u uint64
		for i := m - 1; i >= 0; i-- {
			u = u<<8 | uint64(mag[i])
		}
		switch {
		case !neg && u <= math.MaxInt64:
			return Int(int64(u)), nil
		case neg && u <= 1<<63:
			return Int(-int64(u-1) - 1), nil
		}
	}
	be := make([]byte, m)
	for i := range m {
		be[m-1-i] = mag[i]
	}
	v := new(big.Int).SetBytes(be)
	if neg {
		v.Neg(v)
	}
	return BigInt{v}, nil
}

func (d *decoder) pid() (Term, error) {
	p := d.pos
	tag := d.b[p]
	d.pos++
	node, err := d.atomValue()
	if err != nil {
		return nil, err
	}
	b, q := d.b, d.pos
	creationLen := 4
	if tag == extPid {
		creationLen = 1
	}
	if q+8+creationLen > len(b) {
		return nil, d.truncated(p, tag, "pid")
	}
	x := Pid{Node: node, ID: binary.BigEndian.Uint32(b[q:]), Serial: binary.BigEndian.Uint32(b[q+4:])}
	if tag == extPid {
		if b[q+8] > maxOldCreation {
			return nil, d.invalid(p, tag, "creation %d over %d in an old-style pid", b[q+8], maxOldCreation)
		}
		x.Creation = uint32(b[q+8])
	} else {
		x.Creation = binary.BigEndian.Uint32(b[q+8:])
	}
	d.pos = q + 8 + creationLen
	return x, nil
}

func (d *decoder) port() (Term, error) {
	p := d.pos
	tag := d.b[p]
	d.pos++
	node, err := d.atomValue()
	if err != nil {
		return nil, err
	}
	b, q := d.b, d.pos
	idLen, creationLen := 4, 4
	switch tag {
	case extPort:
		creationLen = 1
	case extV4Port:
		idLen = 8
	}
	if q+idLen+creationLen > len(b) {
		return nil, d.truncated(p, tag, "port")
	}
	x := Port{Node: node}
	if idLen == 8 {
		x.ID = binary.BigEndian.Uint64(b[q:])
	} else {
		x.ID = uint64(binary.BigEndian.Uint32(b[q:]))
	}
	if creationLen == 1 {
		if b[q+idLen] > maxOldCreation {
			return nil, d.invalid(p, tag, "creation %d over %d in an old-style port", b[q+idLen], maxOldCreation)
		}
		x.Creation = uint32(b[q+idLen])
	} else {
		x.Creation = binary.BigEndian.Uint32(b[q+idLen:])
	}
	d.pos = q + idLen + creationLen
	return x, nil
}

func (d *decoder) ref() (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	words := 1
	if tag != extRef {
		if p+3 > len(b) {
			return nil, d.truncated(p, tag, "reference length")
		}
		words = int(binary.BigEndian.Uint16(b[p+1:]))
		if words < 1 || words > 5 {
			return nil, d.invalid(p, tag, "reference of %d ID words (want 1 to 5)", words)
		}
		d.pos = p + 3
	} else {
		d.pos = p + 1
	}
	node, err := d.atomValue()
	if err != nil {
		return nil, err
	}
	q := d.pos
	x := Ref{Node: node, Len: uint8(words)}
	if tag == extRef {
		// REFERENCE_EXT: one ID word, then a one-byte creation.
		if q+5 > len(b) {
			return nil, d.truncated(p, tag, "reference")
		}
		if b[q+4] > maxOldCreation {
			return nil, d.invalid(p, tag, "creation %d over %d in an old-style reference", b[q+4], maxOldCreation)
		}
		x.ID[0] = binary.BigEndian.Uint32(b[q:])
		x.Creation = uint32(b[q+4])
		d.pos = q + 5
		return x, nil
	}
	creationLen := 4
	if tag == extNewRef {
		creationLen = 1
	}
	if q+creationLen+4*words > len(b) {
		return nil, d.truncated(p, tag, "reference")
	}
	if creationLen == 1 {
		if b[q] > maxOldCreation {
			return nil, d.invalid(p, tag, "creation %d over %d in an old-style reference", b[q], maxOldCreation)
		}
		x.Creation = uint32(b[q])
	} else {
		x.Creation = binary.BigEndian.Uint32(b[q:])
	}
	q += creationLen
	for i := range words {
		x.ID[i] = binary.BigEndian.Uint32(b[q+4*i:])
	}
	d.pos = q + 4*words
	return x, nil
}

// newFun reads NEW_FUN_EXT. Its size field is not checked, as
// binary_to_term does not check it; re-encoding writes the right one.
func (d *decoder) newFun(depth int) (Term, error) {
	b, p := d.b, d.pos
	tag := b[p]
	const fixed = 1 + 4 + 1 + 16 + 4 + 4
	if p+fixed > len(b) {
		return nil, d.truncated(p, tag, "fun header")
	}
	if depth >= d.maxDepth {
		return nil, d.tooDeep(p, tag)
	}
	f := &Fun{Arity: b[p+5], Index: binary.BigEndian.Uint32(b[p+22:])}
	copy(f.Uniq[:], b[p+6:p+22])
	numFree := uint64(binary.BigEndian.Uint32(b[p+26:]))
	d.pos = p + fixed
	var err error
	if f.Module, err = d.atomValue(); err != nil {
		return nil, err
	}
	q := d.pos
	if f.OldIndex, err = d.term(depth + 1); err != nil {
		return nil, err
	}
	if _, ok := f.OldIndex.(Int); !ok {
		return nil, d.invalid(q, tag, "fun OldIndex is a %v, not an integer", f.OldIndex.Kind())
	}
	q = d.pos
	if f.OldUniq, err = d.term(depth + 1); err != nil {
		return nil, err
	}
	if _, ok := f.OldUniq.(Int); !ok {
		return nil, d.invalid(q, tag, "fun OldUniq is a %v, not an integer", f.OldUniq.Kind())
	}
	q = d.pos
	if f.Pid, err = d.term(depth + 1); err != nil {
		return nil, err
	}
	if _, ok := f.Pid.(Pid); !ok {
		return nil, d.invalid(q, tag, "fun Pid is a %v, not a pid", f.Pid.Kind())
	}
	if numFree > uint64(d.rest()) {
		return nil, d.truncated(p, tag, fmt.Sprintf("fun with %d free variables", numFree))
	}
	if numFree > 0 {
		f.FreeVars = make([]Term, numFree)
		for i := range f.FreeVars {
			if f.FreeVars[i], err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

func (d *decoder) export() (Term, error) {
	p := d.pos
	tag := d.b[p]
	d.pos++
	f := &Fun{Exported: true}
	var err error
	if f.Module, err = d.atomValue(); err != nil {
		return nil, err
	}
	if f.Function, err = d.atomValue(); err != nil {
		return nil, err
	}
	q := d.pos
	if q >= len(d.b) {
		return nil, d.truncated(q, tag, "fun arity")
	}
	if t := d.b[q]; t != extSmallInt && t != extInt {
		return nil, d.invalid(q, tag, "fun arity must be a small integer, found tag %d", t)
	}
	a, err := d.term(0)
	if err != nil {
		return nil, err
	}
	if v := a.(Int); v < 0 || v > 255 {
		return nil, d.invalid(q, tag, "fun arity %d out of range 0..255", v)
	}
	f.Arity = uint8(a.(Int))
	return f, nil
}
