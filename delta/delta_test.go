package delta

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func tup(es ...term.Term) *term.Tuple { return term.NewTuple(es...) }
func i(n int) term.Int                { return term.Int(n) }
func a(s string) term.Atom            { return term.Atom(s) }

func mustApply(t *testing.T, x term.Term, s Spec) term.Term {
	t.Helper()
	y, err := Apply(x, s)
	require.NoError(t, err)
	return y
}

func requireEqualTerms(t *testing.T, want, got term.Term, msg ...any) {
	t.Helper()
	require.Truef(t, term.Equal(want, got), "want %#v\n got %#v %v", want, got, msg)
}

// The examples of the original Erlang implementation.
func TestOriginalExamples(t *testing.T) {
	userInfo := func(ts, y int) term.Term {
		return tup(a("user_info"), tup(a("timestamp"), i(ts)), tup(a("tid"), i(1)),
			tup(a("loc"), tup(i(10), i(y)), a("na")))
	}
	tests := []struct {
		name  string
		steps []term.Term
		want  Spec // the merged spec of all steps
	}{
		{
			name:  "user_info",
			steps: []term.Term{userInfo(86996746, 11), userInfo(86996817, 12)},
			want: Tuple{Ops: []Op{Retain(1),
				Edit(Tuple{Ops: []Op{Retain(1), Edit(Replace{i(86996817)})}}),
				Retain(1),
				Edit(Tuple{Ops: []Op{Retain(1), Edit(Replace{tup(i(10), i(12))})}})}},
		},
		{
			name:  "hello merged",
			steps: []term.Term{tup(a("hello"), i(1), i(2), i(3)), tup(a("hello"), i(1), i(2), i(4)), tup(a("hello"), i(1), i(1), i(4))},
			want:  Tuple{Ops: []Op{Retain(2), Edit(Replace{i(1)}), Edit(Replace{i(4)})}},
		},
		{
			name:  "list inside a tuple",
			steps: []term.Term{tup(i(1), term.NewList(i(2), i(3)), i(4)), tup(i(1), term.NewList(i(12), i(3)), i(5))},
			// Too small for a nested spec to pay: the cost rule sends it whole.
			want: Replace{tup(i(1), term.NewList(i(12), i(3)), i(5))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var merged Spec = Keep{}
			for k := 1; k < len(tc.steps); k++ {
				s := Diff(tc.steps[k-1], tc.steps[k])
				requireEqualTerms(t, tc.steps[k], mustApply(t, tc.steps[k-1], s))
				merged = Merge(merged, s)
			}
			requireEqualSpecs(t, tc.want, merged)
			requireEqualTerms(t, tc.steps[len(tc.steps)-1], mustApply(t, tc.steps[0], merged))
		})
	}
}

// The limits of the original: no size limit, lists that grow and shrink at
// the cost of the change, maps, and specs that cannot be confused with data.
func TestNoOriginalLimits(t *testing.T) {
	long := make([]term.Term, 500)
	for k := range long {
		long[k] = tup(a("e"), i(k))
	}
	bigTuple := term.NewTuple(long...)
	bigList := term.NewList(long...)

	t.Run("tuple longer than 50", func(t *testing.T) {
		b := bigTuple.Set(321, a("x"))
		s := Diff(bigTuple, b)
		require.Equal(t, Tuple{Ops: []Op{Retain(321), Edit(Replace{a("x")})}}, s)
		requireEqualTerms(t, b, mustApply(t, bigTuple, s))
	})
	t.Run("list append", func(t *testing.T) {
		b := bigList.Append(a("new"))
		s := Diff(bigList, b)
		require.Equal(t, List{Ops: []Op{Retain(500), Insert(a("new"))}, Tail: Keep{}}, s)
	})
	t.Run("list head dropped", func(t *testing.T) {
		b := bigList.Delete(0, 1)
		require.Equal(t, List{Ops: []Op{Delete(1)}, Tail: Keep{}}, Diff(bigList, b))
		// The same without sharing (a decoded state): still just the drop.
		require.Equal(t, List{Ops: []Op{Delete(1)}, Tail: Keep{}}, Diff(deepCopy(bigList), deepCopy(b)))
	})
	t.Run("list middle insert and delete with edits", func(t *testing.T) {
		b := bigList.Set(10, a("x")).Insert(200, a("p"), a("q")).Delete(300, 303).Set(450, a("y"))
		s := Diff(bigList, b)
		requireEqualTerms(t, b, mustApply(t, bigList, s))
		ops := s.(List).Ops
		require.LessOrEqual(t, len(ops), 10, "%v", ops)
		d := differ{opts: DefaultDiffOptions()}
		_, size := d.diff(bigList, b, 0)
		require.Less(t, size, 80)
	})
	t.Run("head dropped and elements edited", func(t *testing.T) {
		b := bigList.Set(1, a("x")).Set(400, a("y")).Delete(0, 1)
		s := Diff(bigList, b)
		requireEqualTerms(t, b, mustApply(t, bigList, s))
		require.LessOrEqual(t, len(s.(List).Ops), 6, "%v", s)
	})
	t.Run("atoms that look like positions are data", func(t *testing.T) {
		x := tup(a("$1"), a("$2"))
		y := tup(a("$2"), a("$1"))
		requireEqualTerms(t, y, mustApply(t, x, Diff(x, y)))
	})
	t.Run("maps", func(t *testing.T) {
		m := term.MapOf(term.Pair{Key: a("a"), Value: tup(i(1), i(2), i(3), i(4), i(5), i(6))}, term.Pair{Key: a("b"), Value: i(2)})
		n := m.Remove(a("b")).Put(a("c"), i(3)).Put(a("a"), tup(i(1), i(2), i(3), i(4), i(5), i(7)))
		s := Diff(m, n)
		require.Equal(t, Map{Entries: []MapEntry{
			EditKey(a("a"), Tuple{Ops: []Op{Retain(5), Edit(Replace{i(7)})}}),
			RemoveKey(a("b")),
			PutKey(a("c"), i(3)),
		}}, s)
		requireEqualTerms(t, n, mustApply(t, m, s))
	})
	t.Run("arity change", func(t *testing.T) {
		x := tup(a("r"), i(1), i(2))
		y := tup(a("r"), i(1), i(2), i(3), i(4))
		requireEqualTerms(t, y, mustApply(t, x, Diff(x, y)))
		requireEqualTerms(t, x, mustApply(t, y, Diff(y, x)))
	})
	t.Run("merge of specs of different depths", func(t *testing.T) {
		x := tup(a("r"), tup(a("s"), tup(i(1), i(2), i(3), i(4), i(5), i(6), i(7))), i(0))
		y := x.Set(1, x.At(1).(*term.Tuple).Set(1, tup(i(1), i(2), i(3), i(4), i(5), i(6), i(8))))
		z := y.Set(1, a("flat")).Set(2, i(1))
		m := Merge(Diff(x, y), Diff(y, z))
		requireEqualTerms(t, z, mustApply(t, x, m))
		m2 := Merge(Diff(y, z), Diff(z, y))
		requireEqualTerms(t, y, mustApply(t, y, m2))
	})
	t.Run("binary byte ranges", func(t *testing.T) {
		blob := make([]byte, 1<<16)
		x := term.NewBinary(blob)
		y := x.Set(1000, []byte("hello")).Set(40000, []byte("world"))
		s := Diff(x, y)
		require.Equal(t, Binary{Ops: []ByteOp{RetainBytes(1000), DeleteBytes(5), InsertBytes([]byte("hello")),
			RetainBytes(38995), DeleteBytes(5), InsertBytes([]byte("world"))}}, s)
		requireEqualTerms(t, y, mustApply(t, x, s))
		z := y.Append([]byte("!"))
		requireEqualTerms(t, z, mustApply(t, y, Diff(y, z)))
		require.Equal(t, Binary{Ops: []ByteOp{RetainBytes(1 << 16), InsertBytes([]byte("!"))}}, Diff(y, z))
	})
}

func TestDepthControl(t *testing.T) {
	x := tup(a("r"), tup(a("s"), tup(a("t"), i(1), i(2), i(3), i(4), i(5), i(6), i(7), i(8))))
	y := tup(a("r"), tup(a("s"), tup(a("t"), i(1), i(2), i(3), i(4), i(5), i(6), i(7), i(9))))
	deep := Diff(x, y)
	require.Equal(t, Tuple{Ops: []Op{Retain(1), Edit(Tuple{Ops: []Op{Retain(1), Edit(Tuple{Ops: []Op{Retain(8), Edit(Replace{i(9)})}})}})}}, deep)
	one := DiffWith(x, y, DiffOptions{MaxDepth: 1})
	require.Equal(t, Tuple{Ops: []Op{Retain(1), Edit(Replace{y.At(1)})}}, one)
	none := DiffWith(x, y, DiffOptions{MaxDepth: -1})
	require.Equal(t, Replace{y}, none)
	for _, s := range []Spec{deep, one, none} {
		requireEqualTerms(t, y, mustApply(t, x, s))
	}
}

func TestApplyMismatch(t *testing.T) {
	l := term.NewList(i(1), i(2))
	tests := []struct {
		name string
		t    term.Term
		s    Spec
		want error
	}{
		{"tuple spec on list", l, Tuple{Ops: []Op{Retain(1)}}, ErrMismatch},
		{"list spec on tuple", tup(i(1)), List{Ops: []Op{Retain(1)}}, ErrMismatch},
		{"retain past end", l, List{Ops: []Op{Retain(3)}}, ErrMismatch},
		{"delete past end", l, List{Ops: []Op{Retain(1), Delete(2)}}, ErrMismatch},
		{"edit past end", tup(i(1)), Tuple{Ops: []Op{Retain(1), Edit(Replace{i(2)})}}, ErrMismatch},
		{"nested mismatch", tup(i(1)), Tuple{Ops: []Op{Edit(Map{})}}, ErrMismatch},
		{"nested mismatch 2", tup(i(1)), Tuple{Ops: []Op{Edit(Map{Entries: []MapEntry{RemoveKey(i(1))}})}}, ErrMismatch},
		{"edit of absent key", term.EmptyMap(), Map{Entries: []MapEntry{EditKey(i(1), Replace{i(2)})}}, ErrMismatch},
		{"binary spec on bitstring", term.NewBitstring([]byte{1}, 3), Binary{Ops: []ByteOp{RetainBytes(1)}}, ErrMismatch},
		{"binary past end", term.BinaryString("ab"), Binary{Ops: []ByteOp{RetainBytes(1), DeleteBytes(2), InsertBytes([]byte("xy"))}}, ErrMismatch},
		{"invalid", i(1), Invalid{Reason: "x"}, ErrMismatch},
		{"tail becomes list", l, List{Tail: Replace{term.NewList(i(1))}}, ErrMismatch},
		{"zero retain", l, List{Ops: []Op{Retain(0)}}, ErrInvalidSpec},
		{"negative delete", tup(i(1)), Tuple{Ops: []Op{Delete(-1)}}, ErrInvalidSpec},
		{"empty insert", l, List{Ops: []Op{Insert()}}, ErrInvalidSpec},
		{"nil insert", l, List{Ops: []Op{Insert(nil)}}, ErrInvalidSpec},
		{"nil replace", l, Replace{}, ErrInvalidSpec},
		{"nil put", term.EmptyMap(), Map{Entries: []MapEntry{PutKey(i(1), nil)}}, ErrInvalidSpec},
		{"nil key", term.EmptyMap(), Map{Entries: []MapEntry{RemoveKey(nil)}}, ErrInvalidSpec},
		{"bad op kind", l, List{Ops: []Op{{Kind: 9}}}, ErrInvalidSpec},
		{"edit in binary", term.BinaryString("ab"), Binary{Ops: []ByteOp{{Kind: OpEdit}}}, ErrInvalidSpec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := deepCopy(tc.t)
			_, err := Apply(tc.t, tc.s)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			requireEqualTerms(t, before, tc.t, "input untouched")
		})
	}
	_, err := Apply(nil, Keep{})
	require.ErrorIs(t, err, ErrMismatch)
}

func TestMergeMapKeys(t *testing.T) {
	m := term.MapOf(term.Pair{Key: a("k"), Value: tup(i(1), i(2))})
	tests := []struct {
		name   string
		s1, s2 Spec
		want   Spec
	}{
		{"remove then put", Map{Entries: []MapEntry{RemoveKey(a("k"))}}, Map{Entries: []MapEntry{PutKey(a("k"), i(5))}},
			Map{Entries: []MapEntry{PutKey(a("k"), i(5))}}},
		{"put then remove", Map{Entries: []MapEntry{PutKey(a("k"), i(5))}}, Map{Entries: []MapEntry{RemoveKey(a("k"))}},
			Map{Entries: []MapEntry{RemoveKey(a("k"))}}},
		{"put then edit", Map{Entries: []MapEntry{PutKey(a("k"), tup(i(7), i(8)))}},
			Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(9)})}})}},
			Map{Entries: []MapEntry{PutKey(a("k"), tup(i(9), i(8)))}}},
		{"edit then edit", Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(9)})}})}},
			Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Retain(1), Edit(Replace{i(3)})}})}},
			Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(9)}), Edit(Replace{i(3)})}})}}},
		{"edit then undo", Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(9)})}})}},
			Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(1)})}})}},
			Map{Entries: []MapEntry{EditKey(a("k"), Tuple{Ops: []Op{Edit(Replace{i(1)})}})}}},
		{"different keys", Map{Entries: []MapEntry{PutKey(a("z"), i(1))}}, Map{Entries: []MapEntry{PutKey(a("b"), i(2))}},
			Map{Entries: []MapEntry{PutKey(a("b"), i(2)), PutKey(a("z"), i(1))}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge(tc.s1, tc.s2)
			require.Equal(t, tc.want, got)
			step, err := Apply(m, tc.s1)
			require.NoError(t, err)
			step, err = Apply(step, tc.s2)
			require.NoError(t, err)
			requireEqualTerms(t, step, mustApply(t, m, got))
		})
	}
}

func TestMergeConflicts(t *testing.T) {
	tests := []struct {
		name   string
		s1, s2 Spec
	}{
		{"edit of removed key", Map{Entries: []MapEntry{RemoveKey(a("k"))}}, Map{Entries: []MapEntry{EditKey(a("k"), Replace{i(1)})}}},
		{"list after tuple", Tuple{Ops: []Op{Retain(1)}}, List{Ops: []Op{Retain(1)}}},
		{"map after replace by atom", Replace{a("x")}, Map{Entries: []MapEntry{RemoveKey(a("k"))}}},
		{"edit of inserted value", List{Ops: []Op{Insert(a("x"))}}, List{Ops: []Op{Edit(Tuple{Ops: []Op{Retain(1)}})}}},
		{"nested kinds", Tuple{Ops: []Op{Edit(Replace{a("x")})}}, Tuple{Ops: []Op{Edit(Binary{Ops: []ByteOp{RetainBytes(1)}})}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Merge(tc.s1, tc.s2)
			require.IsType(t, Invalid{}, m)
			_, err := Apply(tup(i(1)), m)
			require.ErrorIs(t, err, ErrMismatch)
			require.IsType(t, Invalid{}, Merge(m, Keep{}))
			require.IsType(t, Invalid{}, Merge(Keep{}, m))
		})
	}
	require.Equal(t, Keep{}, Merge(nil, nil))
	require.Equal(t, Replace{i(1)}, Merge(Tuple{Ops: []Op{Retain(1)}}, Replace{i(1)}))
}

func TestPropertyDiffApply(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 1500 {
		x := randTerm(r, 4)
		y := mutateN(r, x, 1+r.IntN(4))
		if n%5 == 0 {
			y = randTerm(r, 4) // unrelated terms
		}
		xCopy := deepCopy(x)
		for _, pair := range [][2]term.Term{{x, y}, {deepCopy(x), deepCopy(y)}} {
			s := Diff(pair[0], pair[1])
			got, err := Apply(pair[0], s)
			require.NoError(t, err, "case %d: %#v", n, s)
			requireEqualTerms(t, pair[1], got, n)
			requireEqualTerms(t, xCopy, x, "input untouched")
			require.True(t, Diff(pair[0], pair[0]).IsEmpty())
			require.True(t, Diff(pair[0], deepCopy(pair[0])).IsEmpty())
			if term.Equal(pair[0], pair[1]) {
				require.True(t, s.IsEmpty())
			}
		}
	}
}

func TestPropertyMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 2000 {
		ts := []term.Term{randTerm(r, 4)}
		for range 3 {
			ts = append(ts, mutateN(r, ts[len(ts)-1], 1+r.IntN(3)))
		}
		s1, s2, s3 := Diff(ts[0], ts[1]), Diff(ts[1], ts[2]), Diff(ts[2], ts[3])
		// Composition.
		requireEqualTerms(t, ts[2], mustApply(t, ts[0], Merge(s1, s2)), n)
		// Associativity: both groupings give the final state.
		left := Merge(Merge(s1, s2), s3)
		right := Merge(s1, Merge(s2, s3))
		requireEqualTerms(t, ts[3], mustApply(t, ts[0], left), n)
		requireEqualTerms(t, ts[3], mustApply(t, ts[0], right), n)
		// Merging with the inverse gives a spec that changes nothing.
		back := Merge(s1, Diff(ts[1], ts[0]))
		requireEqualTerms(t, ts[0], mustApply(t, ts[0], back), n)
	}
}

// Merge on random (not diff-made) specs: wherever the sequential application
// works, the merged spec gives the same result, in both groupings.
func TestPropertyMergeRandomSpecs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	checked := 0
	for range 20000 {
		x := randTerm(r, 3)
		specs := []Spec{randSpecFor(r, x, 3)}
		cur, err := Apply(x, specs[0])
		if err != nil {
			continue
		}
		for range 2 {
			specs = append(specs, randSpecFor(r, cur, 3))
			if cur, err = Apply(cur, specs[len(specs)-1]); err != nil {
				break
			}
		}
		if err != nil {
			continue
		}
		checked++
		for _, m := range []Spec{Merge(Merge(specs[0], specs[1]), specs[2]), Merge(specs[0], Merge(specs[1], specs[2]))} {
			got, err := Apply(x, m)
			require.NoError(t, err, "%#v", specs)
			requireEqualTerms(t, cur, got)
		}
	}
	require.Greater(t, checked, 5000)
}

// randSpecFor returns a random spec that usually fits t.
func randSpecFor(r *rand.Rand, t term.Term, depth int) Spec {
	if depth == 0 || r.IntN(6) == 0 {
		if r.IntN(2) == 0 {
			return Keep{}
		}
		return Replace{randTerm(r, 2)}
	}
	switch x := t.(type) {
	case *term.Tuple, *term.List:
		var elems []term.Term
		if tt, ok := x.(*term.Tuple); ok {
			elems = tt.Elems()
		} else {
			elems = x.(*term.List).Elems()
		}
		var b seqBuilder[term.Term]
		pos := 0
		for pos < len(elems) && r.IntN(4) != 0 {
			switch r.IntN(4) {
			case 0:
				k := 1 + r.IntN(len(elems)-pos)
				b.keep(k)
				pos += k
			case 1:
				k := 1 + r.IntN(min(2, len(elems)-pos))
				b.del(k)
				pos += k
			case 2:
				b.ins([]term.Term{randTerm(r, 2)})
			default:
				b.edit(randSpecFor(r, elems[pos], depth-1))
				pos++
			}
		}
		if r.IntN(5) == 0 {
			b.ins([]term.Term{randTerm(r, 1)})
		}
		ops := fromTermOps(b.ops)
		if _, ok := x.(*term.Tuple); ok {
			return Tuple{Ops: ops}
		}
		return List{Ops: ops, Tail: Keep{}}
	case *term.Map:
		var es []MapEntry
		for k, v := range x.All() {
			switch r.IntN(4) {
			case 0:
				es = append(es, RemoveKey(k))
			case 1:
				es = append(es, EditKey(k, randSpecFor(r, v, depth-1)))
			case 2:
				es = append(es, PutKey(k, randTerm(r, 1)))
			}
		}
		if r.IntN(2) == 0 {
			es = append(es, PutKey(randKey(r), randTerm(r, 1)))
		}
		if r.IntN(3) == 0 {
			es = append(es, RemoveKey(randKey(r)))
		}
		return Map{Entries: es}
	case *term.Binary:
		if !x.IsBinary() {
			return Replace{randBinary(r)}
		}
		var b seqBuilder[byte]
		pos := 0
		for pos < x.Len() && r.IntN(4) != 0 {
			switch r.IntN(3) {
			case 0:
				k := 1 + r.IntN(x.Len()-pos)
				b.keep(k)
				pos += k
			case 1:
				k := 1 + r.IntN(min(4, x.Len()-pos))
				b.del(k)
				pos += k
			default:
				b.ins([]byte("xyz")[:1+r.IntN(3)])
			}
		}
		return Binary{Ops: fromByteOps(b.ops)}
	}
	return Replace{randTerm(r, 1)}
}

func TestIsEmpty(t *testing.T) {
	for _, s := range []Spec{Keep{}, Tuple{}, List{}, List{Tail: Keep{}}, Map{}, Binary{}} {
		require.True(t, s.IsEmpty(), "%#v", s)
	}
	for _, s := range []Spec{Replace{i(1)}, Invalid{}, List{Tail: Replace{a("x")}}, Tuple{Ops: []Op{Retain(1)}}} {
		require.False(t, s.IsEmpty(), "%#v", s)
	}
	require.True(t, errors.Is(ErrMismatch, ErrMismatch))
}

// requireEqualSpecs compares specs by their encoding (terms carry hash
// caches that reflect.DeepEqual would see).
func requireEqualSpecs(t *testing.T, want, got Spec) {
	t.Helper()
	w, err := Encode(want)
	require.NoError(t, err)
	g, err := Encode(got)
	require.NoError(t, err)
	require.Equal(t, w, g, "want %#v\n got %#v", want, got)
}

// TestApplyMapBatch checks the batched map path (entries in increasing key
// order) against the one-at-a-time path (the same entries reversed): with
// distinct keys both must give the same map, or both fail.
func TestApplyMapBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	for range 300 {
		m := term.EmptyMap()
		for range r.IntN(300) {
			m = m.Put(term.Int(r.IntN(400)), term.NewTuple(term.Int(r.IntN(5))))
		}
		var entries []MapEntry
		for k := range 400 {
			switch r.IntN(12) {
			case 0:
				entries = append(entries, PutKey(term.Int(k), term.Int(r.IntN(9))))
			case 1:
				entries = append(entries, RemoveKey(term.Int(k)))
			case 2:
				entries = append(entries, EditKey(term.Int(k), Tuple{Ops: []Op{Edit(Replace{Value: term.Atom("e")})}}))
			}
		}
		batch, errB := applyMap(m, entries)
		rev := slices.Clone(entries)
		slices.Reverse(rev)
		if len(rev) < 2 {
			continue
		}
		seq, errS := applyMap(m, rev)
		require.Equal(t, errS == nil, errB == nil, "%v / %v", errS, errB)
		if errB == nil {
			require.True(t, term.Equal(seq, batch))
			require.Equal(t, term.Hash(seq), term.Hash(batch))
		}
	}
}
