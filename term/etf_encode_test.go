package term

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tuned encoder (etf_encode.go) against the reference encoder
// (etf_ref_test.go): the same bytes for every term, whatever the capacity of
// the buffer it writes into, and the same failures.

// encodeAllWays encodes t with Encode and with AppendEncode into buffers of
// every spare capacity from 0 to 40 bytes behind a prefix, and checks that
// each gives the reference bytes (or fails when the reference fails).
func encodeAllWays(t *testing.T, x Term) {
	t.Helper()
	want, wantErr := refEncode(x)
	got, err := Encode(x)
	if wantErr != nil {
		require.Error(t, err, "reference fails with %v", wantErr)
		require.ErrorIs(t, err, ErrUnencodable)
	} else {
		require.NoError(t, err)
		require.Equal(t, want, got, "Encode(%v)", x)
	}
	prefix := []byte("prefix")
	for spare := 0; spare <= 40; spare++ {
		dst := make([]byte, len(prefix), len(prefix)+len(want)+spare)
		copy(dst, prefix)
		out, err := AppendEncode(dst, x)
		if wantErr != nil {
			require.Error(t, err)
			require.Equal(t, prefix, out, "AppendEncode returns dst on error")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, prefix, out[:len(prefix)])
		require.Equal(t, want, out[len(prefix):], "AppendEncode(%v) with %d bytes spare", x, spare)
		require.Same(t, &dst[:1][0], &out[:1][0], "AppendEncode reallocated a buffer that was large enough")
	}
	if wantErr == nil {
		n, err := EncodedSize(x)
		require.NoError(t, err)
		require.Equal(t, len(want), n, "EncodedSize(%v)", x)
	}
}

// TestEncodeShortScalars covers the in-line writers of the hot loop: atoms
// and binaries of 0 to 20 bytes (around the 2-, 4-, 8- and 16-byte word
// paths), with a non-ASCII character at every position, and integers at
// the format's boundaries, alone and as tuple and list elements.
func TestEncodeShortScalars(t *testing.T) {
	var terms []Term
	for n := 0; n <= 20; n++ {
		ascii := strings.Repeat("abcdefghij", 3)[:n]
		terms = append(terms, Atom(ascii), BinaryString(ascii))
		for i := 0; i < n; i++ {
			latin1 := ascii[:i] + "é" + ascii[i+1:]        // 2 bytes, Latin-1
			wide := ascii[:i] + "\u0100" + ascii[i+1:]     // 2 bytes, not Latin-1
			high := ascii[:i] + "\U0001F600" + ascii[i+1:] // 4 bytes
			terms = append(terms, Atom(latin1), Atom(wide), Atom(high), BinaryString(latin1))
			bad := []byte(ascii)
			bad[i] = 0xFF // not UTF-8: the atom is refused
			terms = append(terms, Atom(bad), NewBinary(bad))
		}
	}
	terms = append(terms, Atom(strings.Repeat("a", 255)), Atom(strings.Repeat("a", 256)),
		Atom(strings.Repeat("é", 255)), Atom(strings.Repeat("é", 256)))
	for _, v := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, 65535,
		math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1,
		1 << 40, -(1 << 40), math.MaxInt64, math.MinInt64} {
		terms = append(terms, Int(v))
	}
	for _, x := range terms {
		encodeAllWays(t, x)
		encodeAllWays(t, NewTuple(x, x, OK))
		encodeAllWays(t, NewList(Int(1), x, NewTuple(x)))
		encodeAllWays(t, MapOf(Pair{x, x}))
	}
}

// TestEncodeMatchesReference: random terms of every kind, nested a few
// levels.
func TestEncodeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 400 {
		x := randomTerm(r, 1+i%5)
		t.Run(fmt.Sprint(i), func(t *testing.T) { encodeAllWays(t, x) })
	}
}

// TestEncodeNestedTuples goes through the small-tuple stack of the hot loop
// and past its height, where the loop recurses.
func TestEncodeNestedTuples(t *testing.T) {
	for _, depth := range []int{1, etfStackHeight - 1, etfStackHeight, etfStackHeight + 1, 3*etfStackHeight + 2, 200} {
		var x Term = Atom("leaf")
		for i := range depth {
			switch i % 3 {
			case 0:
				x = NewTuple(Int(i), x, BinaryString("b"))
			case 1:
				x = NewList(x, Atom("a"))
			default:
				x = NewTuple(x)
			}
		}
		encodeAllWays(t, x)
	}
}

// TestEncodeTooDeep: the depth bound holds inside the hot loop's stack as
// it did in the recursive writer.
func TestEncodeTooDeep(t *testing.T) {
	var x Term = OK
	for range DefaultMaxDepth {
		x = NewTuple(x)
	}
	_, err := Encode(x)
	require.NoError(t, err)
	_, err = Encode(NewTuple(x))
	require.ErrorIs(t, err, ErrUnencodable)
	require.Contains(t, err.Error(), "nested deeper")
	_, err = refEncode(NewTuple(x))
	require.Error(t, err)
}

// TestEncodeEstimate: Encode sizes its buffer from a sample of each long
// list and map; a sample that is too small or too large changes neither the
// bytes nor, beyond a quarter, the capacity of the result.
func TestEncodeEstimate(t *testing.T) {
	long := BinaryString(strings.Repeat("x", 1000))
	small := make([]Term, 0, 2000)
	for range 64 {
		small = append(small, Int(1))
	}
	for len(small) < 2000 {
		small = append(small, long)
	}
	big := make([]Term, 0, 2000)
	for range 64 {
		big = append(big, long)
	}
	for len(big) < 2000 {
		big = append(big, Int(1))
	}
	pairs := make([]Pair, 0, 1000)
	for i := range 1000 {
		var v Term = Int(i)
		if i >= 64 {
			v = long
		}
		pairs = append(pairs, Pair{Int(i), v})
	}
	for name, x := range map[string]Term{
		"underestimated list": NewList(small...),
		"overestimated list":  NewList(big...),
		"underestimated map":  MapOf(pairs...),
		"improper":            ImproperList(small, long),
		"empty":               Nil(),
		"deep":                NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(NewTuple(long)))))))))))))))))),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := refEncode(x)
			require.NoError(t, err)
			got, err := Encode(x)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got))
			require.LessOrEqual(t, cap(got)-len(got), len(got)/4, "capacity %d for %d bytes", cap(got), len(got))
		})
	}
}

// FuzzEncodeMatchesReference: whatever decodes encodes to the reference
// bytes, into a fresh buffer and into one with little room to spare.
func FuzzEncodeMatchesReference(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 40 {
		enc, err := refEncode(randomTerm(r, 3))
		if err == nil {
			f.Add(enc)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := Decode(in)
		if err != nil {
			return
		}
		want, err := refEncode(x)
		if err != nil {
			t.Fatalf("%x decodes but the reference cannot encode it: %v", in, err)
		}
		got, err := Encode(x)
		if err != nil || !bytes.Equal(want, got) {
			t.Fatalf("%x: Encode gives %x, %v; reference %x", in, got, err, want)
		}
		for spare := range 24 {
			out, err := AppendEncode(make([]byte, 0, len(want)+spare), x)
			if err != nil || !bytes.Equal(want, out) {
				t.Fatalf("%x: AppendEncode with %d spare gives %x, %v; reference %x", in, spare, out, err, want)
			}
		}
	})
}
