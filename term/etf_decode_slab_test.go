package term

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecodedBinariesFromSlab: binaries whose headers the decoder carves
// from one slab behave as binaries built with NewBinary, each on its own:
// equal, same hash, same bytes, and updates of one leave its neighbours in
// the slab alone.
func TestDecodedBinariesFromSlab(t *testing.T) {
	var want []*Binary
	var elems []Term
	for _, n := range []int{0, 1, 15, 16, 64, 65, 1000, binaryHashChunk, binaryHashChunk + 1, 3*binaryHashChunk + 7} {
		b := NewBinary(bytes.Repeat([]byte{byte(n)}, n))
		want = append(want, b)
		elems = append(elems, b, NewBitstring([]byte{0xF0}, 4))
	}
	enc, err := Encode(NewList(elems...))
	require.NoError(t, err)
	dec, err := Decode(enc)
	require.NoError(t, err)
	l := dec.(*List)
	got := make([]*Binary, 0, len(want))
	for i, e := range l.All() {
		if i%2 == 0 {
			got = append(got, e.(*Binary))
		}
	}
	for i, b := range got {
		require.True(t, Equal(want[i], b), "binary %d", i)
		require.Equal(t, Hash(want[i]), Hash(b), "hash of binary %d", i)
		require.Equal(t, want[i].Len(), b.Len())
		require.True(t, b.IsBinary())
	}
	// Change each decoded binary; none of the others moves.
	for i, b := range got {
		if b.Len() == 0 {
			continue
		}
		c := b.Set(0, []byte{0xAA}).Append([]byte(strings.Repeat("z", 3)))
		require.Equal(t, byte(0xAA), c.At(0))
		for j, o := range got {
			require.True(t, Equal(want[j], o), "changing binary %d moved binary %d", i, j)
		}
	}
}
