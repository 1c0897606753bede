package delta

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func TestWireGolden(t *testing.T) {
	tests := []struct {
		name string
		s    Spec
		want []byte
	}{
		{"keep", Keep{}, []byte{0xD1, sKeep}},
		{"replace int", Replace{i(-3)}, []byte{0xD1, sReplace, vInt, 5}},
		{"tuple", Tuple{Ops: []Op{Retain(2), Edit(Replace{a("x")}), Delete(1), Insert(i(1))}},
			[]byte{0xD1, sTuple, 4, 2 << 2, 3, sReplace, vAtom, 1, 'x', 1<<2 | 1, 1<<2 | 2, vInt, 2}},
		{"list with tail", List{Ops: []Op{Retain(300)}, Tail: Replace{term.Nil()}},
			[]byte{0xD1, sList, 1, 0xb0, 0x09, sReplace, vNil}},
		{"map", Map{Entries: []MapEntry{PutKey(a("k"), i(1)), RemoveKey(i(2)), EditKey(a("e"), Keep{})}},
			[]byte{0xD1, sMap, 3, byte(MapPut), vAtom, 1, 'k', vInt, 2, byte(MapRemove), vInt, 4, byte(MapEdit), vAtom, 1, 'e', sKeep}},
		{"binary", Binary{Ops: []ByteOp{RetainBytes(3), DeleteBytes(2), InsertBytes([]byte("hi"))}},
			[]byte{0xD1, sBinary, 3, 3 << 2, 2<<2 | 1, 2<<2 | 2, 'h', 'i'}},
		{"invalid", Invalid{Reason: "no"}, []byte{0xD1, sInvalid, 2, 'n', 'o'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.s)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			back, err := Decode(got)
			require.NoError(t, err)
			again, err := Encode(back)
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

func TestWireErrors(t *testing.T) {
	bad := [][]byte{
		nil,
		{0x00},
		{0xD1},
		{0xD1, 99},
		{0xD1, sKeep, 0},                   // trailing
		{0xD1, sTuple, 5},                  // count past input
		{0xD1, sTuple, 1, 0},               // retain 0
		{0xD1, sTuple, 2, 1 << 2, 1 << 2},  // adjacent retains
		{0xD1, sTuple, 1, 1<<2 | 3, sKeep}, // edit with a count
		{0xD1, sBinary, 1, 3},              // edit in a binary
		{0xD1, sReplace, vFloat, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0},  // +Inf
		{0xD1, sReplace, vAtom, 2, 0xff, 0xfe},                  // bad UTF-8
		{0xD1, sReplace, vList, 0, vAtom, 1, 'x'},               // tail without elements
		{0xD1, sReplace, vMap, 2, vInt, 2, vNil, vInt, 2, vNil}, // repeated key
		{0xD1, sReplace, vBitstring, 9, 1, 0},
		{0xD1, sMap, 1, 7, vInt, 2},
		{0xD1, sReplace, vRef, 1, 'n', 0, 6},
		{0xD1, sReplace, vInt, 0x80, 0x80},
	}
	for k, b := range bad {
		_, err := Decode(b)
		require.ErrorIs(t, err, ErrCorrupt, "case %d", k)
	}
	deep := []byte{0xD1}
	for range 1000 {
		deep = append(deep, sTuple, 1, 3)
	}
	_, err := Decode(append(deep, sKeep))
	require.ErrorIs(t, err, ErrCorrupt)

	for _, s := range []Spec{Tuple{Ops: []Op{Retain(0)}}, Replace{}, Map{Entries: []MapEntry{PutKey(i(1), nil)}},
		Replace{term.Float(0)}, Binary{Ops: []ByteOp{{Kind: OpEdit}}}} {
		if _, isFloat := s.(Replace); isFloat && s.(Replace).Value != nil {
			continue
		}
		_, err := Encode(s)
		require.ErrorIs(t, err, ErrInvalidSpec, "%#v", s)
	}
}

func TestPropertyWireRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 1500 {
		x := randTerm(r, 4)
		y := mutateN(r, x, 1+r.IntN(4))
		for _, s := range []Spec{Diff(x, y), randSpecFor(r, x, 3), Replace{x}} {
			enc, err := Encode(s)
			require.NoError(t, err)
			back, err := Decode(enc)
			require.NoError(t, err, "case %d", n)
			again, err := Encode(back)
			require.NoError(t, err)
			require.True(t, bytes.Equal(enc, again), "case %d", n)
			want, err1 := Apply(x, s)
			got, err2 := Apply(x, back)
			require.Equal(t, err1 == nil, err2 == nil)
			if err1 == nil {
				requireEqualTerms(t, want, got)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 30 {
		x := randTerm(r, 3)
		enc, err := Encode(Diff(x, mutateN(r, x, 2)))
		require.NoError(f, err)
		f.Add(enc)
	}
	f.Add([]byte{0xD1, sTuple, 4, 2 << 2, 3, sReplace, vAtom, 1, 'x', 1<<2 | 1, 1<<2 | 2, vInt, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := Encode(s)
		if err != nil {
			return // decoded, but not encodable (e.g. an insert in a binary spec op run)
		}
		back, err := Decode(enc)
		require.NoError(t, err)
		again, err := Encode(back)
		require.NoError(t, err)
		require.Equal(t, enc, again)
		_ = Merge(s, back)
	})
}

// FuzzApply applies fuzzed specs to fuzzed terms (both read from bytes) and
// merges them: no panic, and the input term is untouched.
func FuzzApply(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 30 {
		x := randTerm(r, 3)
		tv, err := appendValue(nil, x)
		require.NoError(f, err)
		enc, err := Encode(randSpecFor(r, x, 3))
		require.NoError(f, err)
		f.Add(tv, enc)
	}
	f.Fuzz(func(t *testing.T, tb, sb []byte) {
		rd := &reader{b: tb}
		x, err := rd.value(0)
		if err != nil {
			return
		}
		s, err := Decode(sb)
		if err != nil {
			return
		}
		before := deepCopy(x)
		y, err := Apply(x, s)
		requireEqualTerms(t, before, x)
		m := Merge(s, s)
		if err == nil {
			if z, err := Apply(y, s); err == nil {
				got, err := Apply(x, m)
				require.NoError(t, err)
				requireEqualTerms(t, z, got)
			}
		}
	})
}

// valueSize, which Diff's cost rule uses, is the exact size of the compact
// value form.
func TestValueSizeExact(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	extra := []term.Term{
		term.Port{Node: "n@h", ID: 1 << 40, Creation: 3},
		term.Ref{Node: "n@h", Creation: 1, Len: 3, ID: [5]uint32{1, 1 << 20, 3}},
		&term.Fun{Module: "m", Function: "f", Arity: 2, Exported: true},
		&term.Fun{Module: "m", Index: 7, OldIndex: term.Int(1), OldUniq: term.Int(2),
			Pid: term.Pid{Node: "a@b"}, FreeVars: []term.Term{term.Atom("x"), term.Int(300)}},
	}
	for k := range 2000 {
		v := randTerm(r, 4)
		if k < len(extra) {
			v = extra[k]
		}
		b, err := appendValue(nil, v)
		require.NoError(t, err)
		require.Equal(t, len(b), valueSize(v, infinite), "%#v", v)
		rd := &reader{b: b}
		back, err := rd.value(0)
		require.NoError(t, err)
		requireEqualTerms(t, v, back)
		if lim := len(b) / 2; lim > 0 {
			require.Greater(t, valueSize(v, lim), lim)
		}
	}
}
