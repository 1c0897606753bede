package term

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The compact binary header: 40 bytes, and a decoded short binary with its
// bytes in one 64-byte slab slot (one cache line).
func TestBinaryLayout(t *testing.T) {
	require.EqualValues(t, 40, unsafe.Sizeof(Binary{}))
	require.EqualValues(t, 64, unsafe.Sizeof(binaryWith[[inlineBinary]byte]{}))
}

// refBinaryETF is the External Term Format of a bitstring by the
// definition: BINARY_EXT, or BIT_BINARY_EXT when the last byte is partial.
func refBinaryETF(p []byte, bits uint8) []byte {
	out := []byte{131}
	if bits == 8 || len(p) == 0 {
		out = append(out, extBinary)
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
	} else {
		out = append(out, extBitBinary)
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, bits)
	}
	return append(out, p...)
}

// binaryHashFingerprint is the wrapping sum of the hashes of the binaries
// TestBinaryRepresentations builds, computed with the representation
// before the compact header (a 72-byte header with the bit length and the
// chunks inline): Hash is stable across versions, so a new layout must
// not change it.
const binaryHashFingerprint = 0xc7b1c0d63c1873a8

// Every way of making a binary — constructors, the decoder's inline and
// slab headers, a long binary's chunks, Set, Slice, Append — gives terms
// that are Equal, Compare as 0 and Hash alike, whose ETF bytes are the
// format's, and that order by their bits as the definition says.
func TestBinaryRepresentations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	sizes := []int{0, 1, 7, 8, 15, 16, 17, 23, 24, 25, 63, 64, 65, 1000,
		binaryHashChunk - 1, binaryHashChunk, binaryHashChunk + 1, 2*binaryHashChunk + 5}
	var all []*Binary
	var models [][]byte
	var sum uint64
	for _, n := range sizes {
		for _, bits := range []uint8{8, 3} {
			if n == 0 && bits != 8 {
				continue
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(r.IntN(4)) // few values, so that orders tie often
			}
			if n > 0 {
				p[n-1] &= byte(0xFF << (8 - bits))
			}
			want := refBinaryETF(p, bits)
			var made []*Binary
			ref := NewBitstring(p, bits)
			if n == 0 {
				ref = NewBinary(nil)
			}
			made = append(made, ref)
			if bits == 8 {
				made = append(made, NewBinary(p), BinaryString(string(p)))
			}
			dec, err := Decode(want)
			require.NoError(t, err)
			made = append(made, dec.(*Binary))
			// Inside a list, decoded from a slab with other binaries.
			lst, err := Decode(append([]byte{131, extList, 0, 0, 0, 2}, append(append(want[1:], want[1:]...), extNil)...))
			require.NoError(t, err)
			made = append(made, lst.(*List).At(1).(*Binary))
			if n > 0 {
				made = append(made, ref.Set(n/2, p[n/2:n/2+1]))
				made = append(made, NewBitstring(append(append([]byte{9}, p...), 1), 8).Slice(1, n+1))
			}
			if bits == 8 && n > 2 {
				made = append(made, NewBinary(p[:2]).Append(p[2:]))
			}
			for k, b := range made {
				got, err := Encode(b)
				require.NoError(t, err)
				if k == len(made)-1 && bits != 8 && n > 0 {
					// The Slice above keeps all 8 bits of the last byte.
					continue
				}
				require.Equal(t, want, got, "size %d bits %d, construction %d", n, bits, k)
				require.True(t, Equal(ref, b), "size %d bits %d, construction %d", n, bits, k)
				require.Zero(t, Compare(ref, b))
				require.Equal(t, Hash(ref), Hash(b))
				require.Equal(t, n, b.Len())
				require.Equal(t, ref.BitLen(), b.BitLen())
				require.Equal(t, Format(ref), Format(b))
			}
			all = append(all, ref)
			models = append(models, p)
			sum += Hash(ref)
		}
	}
	require.Equal(t, uint64(binaryHashFingerprint), sum, "binary hashes changed")
	// Order: by bits, a prefix first (bit lengths break byte ties).
	for i, a := range all {
		for j, b := range all {
			want := bytes.Compare(models[i], models[j])
			m := min(len(models[i]), len(models[j]))
			if c := bytes.Compare(models[i][:m], models[j][:m]); c != 0 {
				want = c
			} else {
				want = cmp.Compare(a.BitLen(), b.BitLen())
			}
			require.Equal(t, want, Compare(a, b), "%d vs %d", i, j)
		}
	}
}
