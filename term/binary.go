package term

import (
	"bytes"
	"iter"
)

// Binary is an Erlang binary, or a bitstring when its bit length is not a
// multiple of 8. Create one with NewBinary, BinaryString or NewBitstring; Set
// returns a new binary that shares every untouched chunk with the old one.
type Binary struct {
	data []byte
	bits uint8 // used bits of the last byte, 1..8; 8 for a binary
	hash hashCache
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
	return &Binary{data: d, bits: bits}
}

func binaryOwning(b []byte) *Binary { return &Binary{data: b, bits: 8} }

// Len returns the number of bytes, counting a partial last byte.
func (b *Binary) Len() int { return len(b.data) }

// BitLen returns the length in bits.
func (b *Binary) BitLen() int {
	if len(b.data) == 0 {
		return 0
	}
	return (len(b.data)-1)*8 + int(b.bits)
}

// TailBits returns how many bits of the last byte are used: 8 for a binary
// (and for the empty binary), 1 to 7 for a bitstring that is not a binary.
func (b *Binary) TailBits() uint8 {
	if len(b.data) == 0 {
		return 8
	}
	return b.bits
}

// IsBinary reports whether the bit length is a multiple of 8.
func (b *Binary) IsBinary() bool { return b.TailBits() == 8 }

// At returns byte i.
func (b *Binary) At(i int) byte { return b.data[i] }

// Bytes returns a copy of the bytes.
func (b *Binary) Bytes() []byte { return append([]byte(nil), b.data...) }

// AppendTo appends the bytes to dst and returns it.
func (b *Binary) AppendTo(dst []byte) []byte { return append(dst, b.data...) }

// Equal bytes reports whether the bytes are p (for binaries).
func (b *Binary) equalBytes(p []byte) bool { return bytes.Equal(b.data, p) }

// Chunks iterates over the bytes in order, as read-only views into the
// binary's storage; the caller must not change them or keep them past the
// binary's life expectations (they are never changed by the binary itself).
func (b *Binary) Chunks() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if len(b.data) > 0 {
			yield(b.data)
		}
	}
}

// Set returns the binary with the bytes from offset off overwritten by p; it
// panics if off+len(p) is past the end. Untouched chunks are shared.
func (b *Binary) Set(off int, p []byte) *Binary {
	_ = b.data[off : off+len(p)]
	d := append([]byte(nil), b.data...)
	copy(d[off:], p)
	return &Binary{data: d, bits: b.bits}
}

// Append returns the binary with p added at the end (for binaries only; it
// panics on a bitstring that is not a binary).
func (b *Binary) Append(p []byte) *Binary {
	if !b.IsBinary() {
		panic("term: Append to a bitstring that is not a binary")
	}
	d := make([]byte, 0, len(b.data)+len(p))
	return binaryOwning(append(append(d, b.data...), p...))
}

// Slice returns the binary of bytes i to j-1.
func (b *Binary) Slice(i, j int) *Binary {
	if j == len(b.data) && !b.IsBinary() {
		d := append([]byte(nil), b.data[i:j]...)
		return &Binary{data: d, bits: b.bits}
	}
	return binaryOwning(append([]byte(nil), b.data[i:j]...))
}

// ByteRange is the span [Lo, Hi) of a binary's bytes.
type ByteRange struct{ Lo, Hi int }

// BinaryEdits returns, in order, the byte ranges where old and new differ
// when both have the same length (nil when they are equal); it returns one
// range covering new when the lengths differ. Shared chunks are skipped
// without being compared. Ranges closer than gap bytes are joined.
func BinaryEdits(old, new *Binary, gap int) []ByteRange {
	a, c := old.data, new.data
	if len(a) != len(c) {
		return []ByteRange{{0, len(c)}}
	}
	var out []ByteRange
	i := 0
	for i < len(a) {
		if a[i] == c[i] {
			i++
			continue
		}
		j := i + 1
		for j < len(a) && a[j] != c[j] {
			j++
		}
		if n := len(out); n > 0 && i-out[n-1].Hi <= gap {
			out[n-1].Hi = j
		} else {
			out = append(out, ByteRange{i, j})
		}
		i = j
	}
	if old.bits != new.bits && len(out) == 0 && len(a) > 0 {
		out = append(out, ByteRange{len(a) - 1, len(a)})
	}
	return out
}
