package term

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Binary is an Erlang binary, or a bitstring when its bit length is not a
// multiple of 8. Create one with NewBinary, BinaryString or NewBitstring; Set
// returns a new binary that shares every untouched chunk with the old one.
//
// A binary of up to 64 KiB is one slice; a longer one is stored in chunks of
// exactly 64 KiB (the last one may be shorter), aligned on the spans the
// hash is defined over, so each chunk caches its span's hash and Set copies
// only the chunks it writes to.
//
// The header is kept small (40 bytes) because states hold many short
// binaries (map keys, names) that searches and comparisons read: a plain
// binary of up to 64 KiB is its slice and its hash cache, and what only long
// binaries and bitstrings need (the chunks, the bit length) lives in ext.
// The decoder stores a short binary's bytes right after its header, in one
// 64-byte cache line.
type Binary struct {
	data []byte     // the bytes, when there are at most binaryHashChunk
	ext  *binaryExt // nil for a binary (not a bitstring) of at most binaryHashChunk bytes
	hash hashCache
}

// binaryExt is the rest of a long binary or a bitstring. It is never
// changed after construction.
type binaryExt struct {
	chunks []*bchunk // the bytes in binaryHashChunk pieces, when there are more
	n      int       // number of bytes
	bits   uint8     // used bits of the last byte, 1..8
}

// makeBinary returns the binary of n bytes held in data (when chunks is
// nil) or chunks, whose last byte holds bits bits; the representation is
// normalized, so a plain short binary never has an ext.
func makeBinary(data []byte, chunks []*bchunk, n int, bits uint8) *Binary {
	if chunks == nil && (bits == 8 || n == 0) {
		return &Binary{data: data}
	}
	return &Binary{data: data, ext: &binaryExt{chunks: chunks, n: n, bits: bits}}
}

// chunks returns the storage chunks of a long binary, nil for a short one.
func (b *Binary) chunks() []*bchunk {
	if b.ext == nil {
		return nil
	}
	return b.ext.chunks
}

// bits returns the used bits of the last byte: 8 for a binary.
func (b *Binary) bits() uint8 {
	if b.ext == nil {
		return 8
	}
	return b.ext.bits
}

// flat returns the bytes as one slice: the storage itself for a binary of
// up to 64 KiB, a copy for a longer one. The caller must not change it.
func (b *Binary) flat() []byte {
	if b.chunks() == nil {
		return b.data
	}
	return b.Bytes()
}

// bchunk is one 64 KiB storage chunk of a long binary. Its bytes are never
// changed; h caches their xxhash reduced mod 2^61-1, with polyCached set.
type bchunk struct {
	b []byte
	h atomic.Uint64
}

func (c *bchunk) hash() uint64 {
	if h := c.h.Load(); h&polyCached != 0 {
		return h &^ polyCached
	}
	h := xxhash.Sum64(c.b) % polyMod
	c.h.Store(h | polyCached)
	return h
}

// NewBinary returns the binary holding a copy of b.
func NewBinary(b []byte) *Binary { return binaryOwning(append([]byte(nil), b...)) }

// BinaryString returns the binary holding the bytes of s (<<"s">>).
func BinaryString(s string) *Binary { return binaryOwning([]byte(s)) }

// NewBitstring returns the bitstring of b's bytes whose last byte holds only
// bits (1 to 8) bits, in its high-order end as in Erlang. The unused
// low-order bits are cleared. An empty b gives the empty binary.
func NewBitstring(b []byte, bits uint8) *Binary {
	if len(b) == 0 {
		return binaryOwning(nil)
	}
	if bits < 1 || bits > 8 {
		panic("term: NewBitstring bits out of range 1..8")
	}
	d := append([]byte(nil), b...)
	d[len(d)-1] &= byte(0xFF << (8 - bits))
	return binaryFrom(d, bits)
}

// binaryOwning returns the binary of b, taking ownership of b: a long b is
// cut into chunks that are subslices of it, without copying.
func binaryOwning(b []byte) *Binary { return binaryFrom(b, 8) }

func binaryFrom(b []byte, bits uint8) *Binary {
	if len(b) <= binaryHashChunk {
		return makeBinary(b, nil, len(b), bits)
	}
	return makeBinary(nil, chunksOf(b, nil), len(b), bits)
}

// chunksOf appends to dst the chunks of b, which must start on a chunk
// boundary of the binary; the chunks are subslices of b.
func chunksOf(b []byte, dst []*bchunk) []*bchunk {
	k := (len(b) + binaryHashChunk - 1) / binaryHashChunk
	store := make([]bchunk, k)
	for i := range store {
		lo, hi := i*binaryHashChunk, min((i+1)*binaryHashChunk, len(b))
		store[i].b = b[lo:hi:hi]
		dst = append(dst, &store[i])
	}
	return dst
}

// spans returns how many 64 KiB spans the bytes cover.
func (b *Binary) spans() int {
	if cs := b.chunks(); cs != nil {
		return len(cs)
	}
	if len(b.data) == 0 {
		return 0
	}
	return 1
}

// span returns the bytes of span k.
func (b *Binary) span(k int) []byte {
	if cs := b.chunks(); cs != nil {
		return cs[k].b
	}
	return b.data
}

// sameSpan reports whether span k of b and c is the same storage.
func sameSpan(b, c *Binary, k int) bool {
	if bc, cc := b.chunks(), c.chunks(); bc != nil && cc != nil {
		return bc[k] == cc[k]
	}
	x, y := b.span(k), c.span(k)
	return len(x) == len(y) && len(x) > 0 && &x[0] == &y[0]
}

// Len returns the number of bytes, counting a partial last byte.
func (b *Binary) Len() int {
	if b.ext == nil {
		return len(b.data)
	}
	return b.ext.n
}

// BitLen returns the length in bits.
func (b *Binary) BitLen() int {
	if b.ext == nil {
		return len(b.data) * 8
	}
	if b.ext.n == 0 {
		return 0
	}
	return (b.ext.n-1)*8 + int(b.ext.bits)
}

// TailBits returns how many bits of the last byte are used: 8 for a binary
// (and for the empty binary), 1 to 7 for a bitstring that is not a binary.
func (b *Binary) TailBits() uint8 {
	if b.Len() == 0 {
		return 8
	}
	return b.bits()
}

// IsBinary reports whether the bit length is a multiple of 8.
func (b *Binary) IsBinary() bool { return b.TailBits() == 8 }

// At returns byte i.
func (b *Binary) At(i int) byte {
	if n := b.Len(); i < 0 || i >= n {
		panic(fmt.Sprintf("term: binary index %d out of range [0:%d]", i, n))
	}
	if cs := b.chunks(); cs != nil {
		return cs[i/binaryHashChunk].b[i%binaryHashChunk]
	}
	return b.data[i]
}

// Bytes returns a copy of the bytes.
func (b *Binary) Bytes() []byte { return b.AppendTo(make([]byte, 0, b.Len())) }

// AppendTo appends the bytes to dst and returns it.
func (b *Binary) AppendTo(dst []byte) []byte {
	cs := b.chunks()
	if cs == nil {
		return append(dst, b.data...)
	}
	for _, c := range cs {
		dst = append(dst, c.b...)
	}
	return dst
}

// equalBytes reports whether the bytes are p (for binaries).
func (b *Binary) equalBytes(p []byte) bool {
	if len(p) != b.Len() {
		return false
	}
	for k := range b.spans() {
		s := b.span(k)
		if !bytes.Equal(s, p[:len(s)]) {
			return false
		}
		p = p[len(s):]
	}
	return true
}

// Chunks iterates over the bytes in order, as read-only views into the
// binary's storage; the caller must not change them or keep them past the
// binary's life expectations (they are never changed by the binary itself).
// A binary longer than 64 KiB yields chunks of exactly 64 KiB but the last.
func (b *Binary) Chunks() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for k := range b.spans() {
			if !yield(b.span(k)) {
				return
			}
		}
	}
}

func (b *Binary) checkRange(i, j int) {
	if n := b.Len(); i < 0 || j < i || j > n {
		panic(fmt.Sprintf("term: binary range [%d:%d] out of range [0:%d]", i, j, n))
	}
}

// Set returns the binary with the bytes from offset off overwritten by p; it
// panics if off+len(p) is past the end. Untouched chunks are shared. On a
// bitstring, the unused bits of the last byte stay clear.
func (b *Binary) Set(off int, p []byte) *Binary {
	b.checkRange(off, off+len(p))
	n, bits := b.Len(), b.bits()
	touchesEnd := len(p) > 0 && off+len(p) == n
	var nb *Binary
	if b.chunks() == nil {
		d := append([]byte(nil), b.data...)
		copy(d[off:], p)
		nb = makeBinary(d, nil, n, bits)
	} else {
		cs := append([]*bchunk(nil), b.chunks()...)
		for len(p) > 0 {
			k, at := off/binaryHashChunk, off%binaryHashChunk
			d := append([]byte(nil), cs[k].b...)
			w := copy(d[at:], p)
			cs[k] = &bchunk{b: d}
			p, off = p[w:], off+w
		}
		nb = makeBinary(nil, cs, n, bits)
	}
	if bits != 8 && touchesEnd {
		last := nb.span(nb.spans() - 1)
		last[len(last)-1] &= byte(0xFF << (8 - bits))
	}
	return nb
}

// Append returns the binary with p added at the end (for binaries only; it
// panics on a bitstring that is not a binary). Every full chunk is shared.
func (b *Binary) Append(p []byte) *Binary {
	if !b.IsBinary() {
		panic("term: Append to a bitstring that is not a binary")
	}
	if len(p) == 0 {
		return b
	}
	n := b.Len() + len(p)
	bc := b.chunks()
	if bc == nil {
		d := make([]byte, 0, n)
		return binaryOwning(append(append(d, b.data...), p...))
	}
	last := bc[len(bc)-1].b
	d := make([]byte, 0, len(last)+len(p))
	d = append(append(d, last...), p...)
	cs := make([]*bchunk, 0, len(bc)+(len(d)+binaryHashChunk-1)/binaryHashChunk)
	cs = chunksOf(d, append(cs, bc[:len(bc)-1]...))
	return makeBinary(nil, cs, n, 8)
}

// Slice returns the binary of bytes i to j-1. A long slice that starts on a
// 64 KiB boundary shares the chunks it covers.
func (b *Binary) Slice(i, j int) *Binary {
	b.checkRange(i, j)
	bits := uint8(8)
	if j == b.Len() && !b.IsBinary() && j > i {
		bits = b.bits()
	}
	if bc := b.chunks(); j-i > binaryHashChunk && i%binaryHashChunk == 0 && bc != nil {
		lo, hi := i/binaryHashChunk, (j+binaryHashChunk-1)/binaryHashChunk
		cs := append([]*bchunk(nil), bc[lo:hi]...)
		if r := j % binaryHashChunk; r != 0 {
			cs[len(cs)-1] = &bchunk{b: cs[len(cs)-1].b[:r:r]}
		}
		return makeBinary(nil, cs, j-i, bits)
	}
	d := make([]byte, 0, j-i)
	for k := range b.spans() {
		lo := k * binaryHashChunk
		s := b.span(k)
		a, z := max(i-lo, 0), min(j-lo, len(s))
		if a < z {
			d = append(d, s[a:z]...)
		}
	}
	return binaryFrom(d, bits)
}

// polyHash is the polynomial over the xxhash of each 64 KiB span (see
// hash.go), from the per-chunk caches.
func (b *Binary) polyHash() uint64 {
	cs := b.chunks()
	if cs == nil {
		if len(b.data) == 0 {
			return 0
		}
		return polyPush(0, xxhash.Sum64(b.data))
	}
	var acc uint64
	for _, c := range cs {
		acc = polyPush(acc, c.hash())
	}
	return acc
}

// ByteRange is the span [Lo, Hi) of a binary's bytes.
type ByteRange struct{ Lo, Hi int }

// BinaryEdits returns, in order, the byte ranges where old and new differ
// when both have the same length (nil when they are equal); it returns one
// range covering new when the lengths differ. Shared chunks are skipped
// without being compared. Ranges closer than gap bytes are joined.
func BinaryEdits(old, new *Binary, gap int) []ByteRange {
	if old.Len() != new.Len() {
		return []ByteRange{{0, new.Len()}}
	}
	var out []ByteRange
	add := func(lo, hi int) {
		if n := len(out); n > 0 && lo-out[n-1].Hi <= gap {
			out[n-1].Hi = hi
			return
		}
		out = append(out, ByteRange{lo, hi})
	}
	for k := range old.spans() {
		if sameSpan(old, new, k) {
			continue
		}
		a, c := old.span(k), new.span(k)
		base := k * binaryHashChunk
		i := 0
		for {
			i += firstDiff(a[i:], c[i:])
			if i == len(a) {
				break
			}
			j := i + 1
			for j < len(a) && a[j] != c[j] {
				j++
			}
			add(base+i, base+j)
			i = j
		}
	}
	if n := old.Len(); old.bits() != new.bits() && len(out) == 0 && n > 0 {
		out = append(out, ByteRange{n - 1, n})
	}
	return out
}

// firstDiff returns the first index where a and b (of one length) differ,
// or their length: a block at a time, then a word, then a byte.
func firstDiff(a, b []byte) int {
	const block = 256
	n, i := len(a), 0
	for i+block <= n && bytes.Equal(a[i:i+block], b[i:i+block]) {
		i += block
	}
	for i+8 <= n && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
