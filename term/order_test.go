package term

import (
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Properties that tie Equal, Compare and Hash together, over random terms of
// every kind: Equal is an equivalence that implies equal hashes and Compare
// 0; Compare is a total order (antisymmetric, transitive, consistent with
// sorting); decoding a term's encoding gives an Equal term with the same
// hash (the hash does not depend on how a term was built).
func TestEqualCompareHashProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	terms := make([]Term, 0, 600)
	for len(terms) < 600 {
		x := randomTerm(r, 3)
		terms = append(terms, x)
		if r.IntN(4) == 0 {
			terms = append(terms, x) // the same object twice
		}
	}
	for i, a := range terms {
		require.True(t, Equal(a, a), "term %d not equal to itself: %s", i, Format(a))
		require.Zero(t, Compare(a, a), "term %d", i)
		if _, isFun := a.(*Fun); isFun {
			continue
		}
		b, err := Encode(a)
		if err != nil {
			continue // NaN, infinities and the like have no encoding
		}
		c, err := Decode(b)
		require.NoError(t, err)
		require.True(t, Equal(a, c), "decode of %s", Format(a))
		require.Equal(t, Hash(a), Hash(c), "hash changed through the codec: %s", Format(a))
		require.Zero(t, Compare(a, c))
	}
	for i := 0; i < 20000; i++ {
		a, b := terms[r.IntN(len(terms))], terms[r.IntN(len(terms))]
		ab, ba := Compare(a, b), Compare(b, a)
		require.Equal(t, -ab, ba, "antisymmetry: %s vs %s", Format(a), Format(b))
		if Equal(a, b) {
			require.Equal(t, Hash(a), Hash(b))
			require.Zero(t, ab)
		}
		if ab != 0 && (a.Kind() != KindInt && a.Kind() != KindFloat) {
			require.False(t, Equal(a, b))
		}
	}
	// Transitivity through a sort: after sorting, every pair is in order.
	sorted := slices.Clone(terms)
	slices.SortStableFunc(sorted, Compare)
	for i := 1; i < len(sorted); i++ {
		require.LessOrEqual(t, Compare(sorted[i-1], sorted[i]), 0)
	}
	for i := 0; i < 5000; i++ {
		x, y := r.IntN(len(sorted)), r.IntN(len(sorted))
		if x > y {
			x, y = y, x
		}
		require.LessOrEqual(t, Compare(sorted[x], sorted[y]), 0, "sorted[%d] > sorted[%d]", x, y)
	}
}

// The kinds sort in Erlang's term order, and numbers compare by value across
// integers and floats (but are never Equal across the two).
func TestTermOrderTable(t *testing.T) {
	bigInt := Integer(new(big.Int).Lsh(big.NewInt(1), 70))
	ordered := []Term{
		Int(-5), Float(-0.5), Int(0), Float(1.0), Int(2), bigInt, Atom("a"), Atom("b"),
		Ref{Node: "n@h", Len: 1, ID: [5]uint32{1}},
		&Fun{Exported: true, Module: "m", Function: "f", Arity: 1},
		Port{Node: "n@h", ID: 1}, Pid{Node: "n@h", ID: 1},
		NewTuple(), NewTuple(Int(9)), NewTuple(Int(1), Int(2)),
		EmptyMap(), MapOf(Pair{Atom("k"), Int(1)}),
		Nil(), NewList(Int(1)), NewList(Int(1), Int(2)), NewList(Int(2)),
		BinaryString(""), NewBitstring([]byte{0x60}, 3), BinaryString("a"), BinaryString("ab"), NewBitstring([]byte{0x80}, 1),
	}
	for i := range ordered {
		for j := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			require.Equal(t, want, Compare(ordered[i], ordered[j]), "%s vs %s", Format(ordered[i]), Format(ordered[j]))
		}
	}
	require.Zero(t, Compare(Int(1), Float(1.0)))
	require.False(t, Equal(Int(1), Float(1.0)))
	require.NotEqual(t, Hash(Int(1)), Hash(Float(1.0)))
	// In map keys every integer sorts before every float.
	m := MapOf(Pair{Float(0.5), Atom("a")}, Pair{Int(85), Atom("b")}, Pair{Float(1.0), Atom("c")}, Pair{Int(2), Atom("d")})
	var keys []string
	for k := range m.All() {
		keys = append(keys, Format(k))
	}
	require.Equal(t, []string{"2", "85", "0.5", "1.0"}, keys)
}

// The update helpers share every untouched subterm with the old term and
// leave the old term as it was.
func TestUpdateHelpersShare(t *testing.T) {
	inner := NewTuple(Atom("loc"), NewTuple(Int(10), Int(11)), Atom("na"))
	other := NewList(Int(1), Int(2))
	t0 := NewTuple(Atom("user_info"), inner, other)
	before := Format(t0)
	t1 := t0.Set(1, inner.Set(1, inner.At(1).(*Tuple).Set(1, Int(12))))
	require.Equal(t, before, Format(t0), "old tuple changed")
	require.Same(t, other, t1.At(2).(*List))
	require.Same(t, inner.At(1).(*Tuple), t0.At(1).(*Tuple).At(1).(*Tuple), "old inner tuple kept")
	require.Equal(t, "{user_info,{loc,{10,12},na},[1,2]}", Format(t1))

	m0 := MapOf(Pair{Atom("a"), other}, Pair{Atom("b"), Int(1)})
	m1 := m0.Put(Atom("b"), Int(2)).Remove(Atom("zz"))
	v, _ := m1.Get(Atom("a"))
	require.Same(t, other, v.(*List))
	old, _ := m0.Get(Atom("b"))
	require.Equal(t, Int(1), old)
}

// Parse reads the text OTP wrote for every golden case (except funs, whose
// text is not Erlang syntax) to a term Equal to the decoded bytes.
func TestGoldenParse(t *testing.T) {
	cases, _, err := readGolden(filepath.Join(goldenDir, goldenFiles[0]))
	require.NoError(t, err)
	n := 0
	for _, c := range cases {
		if strings.HasPrefix(c.name, "fun_") || strings.Contains(c.text, "#Fun<") || c.name == "opaque_in_tuple" {
			continue
		}
		want, err := Decode(c.bytes)
		require.NoError(t, err, c.name)
		got, err := Parse(c.text)
		require.NoError(t, err, "%s: %s", c.name, c.text)
		require.True(t, Equal(want, got), "%s: Parse(%s) = %s, bytes decode to %s", c.name, c.text, Format(got), Format(want))
		n++
	}
	require.Greater(t, n, 100, "golden cases parsed")
}
