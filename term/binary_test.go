package term

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func checkBinary(t testing.TB, b *Binary, model []byte, bits uint8) {
	t.Helper()
	require.Equal(t, len(model), b.Len())
	require.True(t, bytes.Equal(model, b.Bytes()))
	if len(model) > 0 {
		require.Equal(t, model[len(model)-1], b.At(len(model)-1))
		for k := range 16 {
			i := (k * 7919) % len(model)
			require.Equal(t, model[i], b.At(i))
		}
	}
	var got []byte
	n := 0
	for c := range b.Chunks() {
		n++
		got = append(got, c...)
		if len(got) < len(model) {
			require.Len(t, c, binaryHashChunk, "storage chunk not 64 KiB")
		}
	}
	require.True(t, bytes.Equal(model, got))
	require.Equal(t, (len(model)+binaryHashChunk-1)/binaryHashChunk, n)
	require.Equal(t, len(model) > binaryHashChunk, b.chunks() != nil, "representation")
	ref := NewBitstring(model, bits)
	if len(model) == 0 {
		ref = NewBinary(nil)
	}
	require.Equal(t, ref.BitLen(), b.BitLen())
	require.Equal(t, Hash(ref), Hash(b), "hash depends on construction")
	require.True(t, Equal(ref, b))
	require.Zero(t, Compare(ref, b))
	require.True(t, b.equalBytes(model) || !b.IsBinary())
}

// refByteEdits is BinaryEdits by the definition: maximal differing byte
// runs, joined when closer than gap.
func refByteEdits(a, c []byte, gap int) []ByteRange {
	var out []ByteRange
	for i := 0; i < len(a); i++ {
		if a[i] == c[i] {
			continue
		}
		j := i
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
	return out
}

func TestBinaryModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, size := range []int{0, 10, binaryHashChunk, binaryHashChunk + 1, 5*binaryHashChunk + 77} {
		model := make([]byte, size)
		for i := range model {
			model[i] = byte(i % 16)
		}
		b := NewBinary(model)
		checkBinary(t, b, model, 8)
		for step := range 300 {
			prev, prevModel := b, bytes.Clone(model)
			switch op := r.IntN(8); {
			case op < 5 && len(model) > 0:
				off := r.IntN(len(model))
				p := make([]byte, min(len(model)-off, r.IntN(100)+1))
				for i := range p {
					p[i] = byte(r.Uint32())
				}
				if r.IntN(10) == 0 { // a write across a chunk boundary
					off = max(0, min(len(model)-len(p), binaryHashChunk-len(p)/2))
				}
				b = b.Set(off, p)
				copy(model[off:], p)
				for k := range prev.spans() {
					if k*binaryHashChunk+binaryHashChunk <= off || k*binaryHashChunk >= off+len(p) {
						require.True(t, sameSpan(prev, b, k), "untouched chunk %d copied", k)
					}
				}
				for _, gap := range []int{0, 3, 200} {
					require.Equal(t, refByteEdits(prevModel, model, gap), BinaryEdits(prev, b, gap))
				}
			case op == 5:
				p := bytes.Repeat([]byte{byte(step)}, r.IntN(3*binaryHashChunk/2))
				b, model = b.Append(p), append(model, p...)
				require.Equal(t, []ByteRange{{0, len(model)}}, BinaryEdits(prev, b, 0)[:min(1, len(p))])
			case op == 6 && len(model) > 0:
				i := r.IntN(len(model))
				if r.IntN(2) == 0 {
					i = i / binaryHashChunk * binaryHashChunk
				}
				j := i + r.IntN(len(model)-i+1)
				b, model = b.Slice(i, j), bytes.Clone(model[i:j])
			case op == 7 && len(model) > 2*binaryHashChunk:
				// Keep sizes bounded.
				b, model = b.Slice(0, len(model)/2), bytes.Clone(model[:len(model)/2])
			}
			checkBinary(t, b, model, 8)
			if step%50 == 0 {
				require.True(t, bytes.Equal(prevModel, prev.Bytes()), "old binary changed")
			}
		}
	}
}

func TestBitstring(t *testing.T) {
	long := bytes.Repeat([]byte{0xFF}, binaryHashChunk+3)
	for _, d := range [][]byte{{0xFF}, {1, 2, 0xFF}, long} {
		b := NewBitstring(d, 3)
		want := bytes.Clone(d)
		want[len(want)-1] = 0xE0
		checkBinary(t, b, want, 3)
		require.False(t, b.IsBinary())
		require.Equal(t, (len(d)-1)*8+3, b.BitLen())
		require.Panics(t, func() { b.Append([]byte{1}) })
		// Set keeps the unused bits clear.
		s := b.Set(len(d)-1, []byte{0xFF})
		checkBinary(t, s, want, 3)
		require.Equal(t, uint8(3), b.Slice(0, len(d)).TailBits())
		require.Equal(t, uint8(8), b.Slice(0, len(d)-1).TailBits())
		full := NewBinary(want)
		require.Equal(t, []ByteRange{{len(d) - 1, len(d)}}, BinaryEdits(full, b, 0))
		require.Equal(t, 1, Compare(full, b), "a bitstring prefix sorts first")
	}
	require.Panics(t, func() { NewBitstring([]byte{1}, 9) })
}

func TestBinaryCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for range 300 {
		a := make([]byte, r.IntN(3)*binaryHashChunk+r.IntN(40))
		c := make([]byte, r.IntN(3)*binaryHashChunk+r.IntN(40))
		if r.IntN(2) == 0 && len(a) > 0 {
			c = bytes.Clone(a[:r.IntN(len(a))])
		}
		if len(c) > 0 && r.IntN(2) == 0 {
			c[r.IntN(len(c))] = byte(r.Uint32())
		}
		x, y := NewBinary(a), NewBinary(c)
		require.Equal(t, bytes.Compare(a, c), Compare(x, y))
		require.Equal(t, bytes.Equal(a, c), Equal(x, y))
	}
	require.Panics(t, func() { NewBinary([]byte{1}).At(1) })
	require.Panics(t, func() { NewBinary([]byte{1}).Set(1, []byte{2}) })
	require.Panics(t, func() { NewBinary([]byte{1}).Slice(1, 0) })
}
