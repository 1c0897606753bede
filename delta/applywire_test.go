package delta

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// twoStep is the reference ApplyEncoded must agree with.
func twoStep(t term.Term, data []byte) (term.Term, error) {
	s, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return Apply(t, s)
}

// errClass names the sentinel an error wraps.
func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case errors.Is(err, ErrMismatch):
		return "mismatch"
	case errors.Is(err, ErrInvalidSpec):
		return "invalid"
	}
	return "other: " + err.Error()
}

// requireSameAsTwoStep checks that ApplyEncoded gives what Decode then
// Apply gives: an equal term, or an error of the same class (the very same
// error when the bytes do not decode), and leaves x untouched.
func requireSameAsTwoStep(t *testing.T, x term.Term, data []byte, msg ...any) {
	t.Helper()
	var before term.Term
	if x != nil {
		before = deepCopy(x)
	}
	want, werr := twoStep(x, data)
	got, gerr := ApplyEncoded(x, data)
	require.Equal(t, errClass(werr), errClass(gerr), msg...)
	if werr != nil {
		if errors.Is(werr, ErrCorrupt) {
			require.Equal(t, werr.Error(), gerr.Error(), msg...)
		}
		require.Nil(t, got, msg...)
	} else {
		requireEqualTerms(t, want, got, msg...)
	}
	if x != nil {
		requireEqualTerms(t, before, x, "input untouched")
	}
}

func mustEncode(t testing.TB, s Spec) []byte {
	t.Helper()
	b, err := Encode(s)
	require.NoError(t, err)
	return b
}

func TestApplyEncodedCases(t *testing.T) {
	rec := tup(a("session"), i(7), tup(a("ts"), i(100)), tup(a("loc"), tup(i(1), i(2)), a("na")))
	m := term.MapOf(term.Pair{Key: a("a"), Value: i(1)}, term.Pair{Key: a("b"), Value: tup(i(1), i(2))},
		term.Pair{Key: a("c"), Value: i(3)})
	l := term.NewList(i(0), i(1), tup(i(2), i(2)), i(3))
	improper := term.ImproperList([]term.Term{i(1), i(2)}, a("end"))
	tests := []struct {
		name string
		x    term.Term
		s    Spec
		want term.Term // nil: an error of class err
		err  string
	}{
		{"keep", rec, Keep{}, rec, ""},
		{"replace", rec, Replace{i(1)}, i(1), ""},
		{"nested record edits", rec, Tuple{Ops: []Op{Retain(2),
			Edit(Tuple{Ops: []Op{Retain(1), Edit(Replace{i(101)})}}), Edit(Tuple{Ops: []Op{Retain(1),
				Edit(Tuple{Ops: []Op{Edit(Replace{i(9)})}})}})}},
			tup(a("session"), i(7), tup(a("ts"), i(101)), tup(a("loc"), tup(i(9), i(2)), a("na"))), ""},
		{"tuple insert and delete", rec, Tuple{Ops: []Op{Delete(1), Insert(a("s2"), a("x")), Retain(1), Delete(1)}},
			tup(a("s2"), a("x"), i(7), tup(a("loc"), tup(i(1), i(2)), a("na"))), ""},
		{"tuple edit that changes nothing", rec, Tuple{Ops: []Op{Retain(1), Edit(Keep{})}}, rec, ""},
		{"tuple edit past the end", tup(i(1)), Tuple{Ops: []Op{Retain(1), Edit(Keep{})}}, nil, "mismatch"},
		{"tuple retain past the end", tup(i(1)), Tuple{Ops: []Op{Retain(2)}}, nil, "mismatch"},
		{"tuple spec on a list", l, Tuple{Ops: []Op{Retain(1)}}, nil, "mismatch"},
		{"list edits, insert, delete", l, List{Ops: []Op{Delete(1), Edit(Replace{i(10)}), Retain(1),
			Insert(i(5), i(6)), Edit(Replace{i(30)})}},
			term.NewList(i(10), tup(i(2), i(2)), i(5), i(6), i(30)), ""},
		{"list edit of a nested tuple", l, List{Ops: []Op{Retain(2), Edit(Tuple{Ops: []Op{Edit(Replace{i(0)})}})}},
			term.NewList(i(0), i(1), tup(i(0), i(2)), i(3)), ""},
		{"list tail", improper, List{Ops: []Op{Retain(1)}, Tail: Replace{a("fin")}},
			term.ImproperList([]term.Term{i(1), i(2)}, a("fin")), ""},
		{"list tail made proper", improper, List{Tail: Replace{term.Nil()}}, term.NewList(i(1), i(2)), ""},
		{"list tail becomes a list", improper, List{Tail: Replace{term.NewList(i(1))}}, nil, "mismatch"},
		{"empty tuple spec on a proper tail", l, List{Ops: []Op{Retain(1)}, Tail: Tuple{}}, l, ""},
		{"list delete past the end", l, List{Ops: []Op{Retain(3), Delete(2)}}, nil, "mismatch"},
		{"list spec on a map", m, List{Ops: []Op{Retain(1)}}, nil, "mismatch"},
		{"map batch", m, Map{Entries: []MapEntry{RemoveKey(a("a")), EditKey(a("b"),
			Tuple{Ops: []Op{Edit(Replace{i(5)})}}), PutKey(a("d"), i(4))}},
			term.MapOf(term.Pair{Key: a("b"), Value: tup(i(5), i(2))}, term.Pair{Key: a("c"), Value: i(3)},
				term.Pair{Key: a("d"), Value: i(4)}), ""},
		{"map keys out of order", m, Map{Entries: []MapEntry{PutKey(a("c"), i(30)), EditKey(a("c"),
			Replace{i(31)}), RemoveKey(a("a")), PutKey(a("a"), i(10)), EditKey(a("b"), Keep{})}},
			term.MapOf(term.Pair{Key: a("a"), Value: i(10)}, term.Pair{Key: a("b"), Value: tup(i(1), i(2))},
				term.Pair{Key: a("c"), Value: i(31)}), ""},
		{"map edit of a key removed earlier", m, Map{Entries: []MapEntry{RemoveKey(a("c")), EditKey(a("c"), Keep{})}},
			nil, "mismatch"},
		{"map edit of an absent key", m, Map{Entries: []MapEntry{EditKey(a("z"), Keep{})}}, nil, "mismatch"},
		{"map spec on an int", i(1), Map{Entries: []MapEntry{RemoveKey(a("z"))}}, nil, "mismatch"},
		{"binary overwrite", term.BinaryString("hello"), Binary{Ops: []ByteOp{RetainBytes(1), DeleteBytes(2),
			InsertBytes([]byte("EL"))}}, term.BinaryString("hELlo"), ""},
		{"invalid", rec, Invalid{Reason: "merged"}, nil, "mismatch"},
		{"nil term", nil, Keep{}, nil, "mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := mustEncode(t, tc.s)
			requireSameAsTwoStep(t, tc.x, data)
			got, err := ApplyEncoded(tc.x, data)
			if tc.want == nil {
				require.Equal(t, tc.err, errClass(err))
				return
			}
			require.NoError(t, err)
			requireEqualTerms(t, tc.want, got)
		})
	}
}

// A mismatch before a corruption further on is reported as the corruption,
// as Decode then Apply would.
func TestApplyEncodedCorruptAfterMismatch(t *testing.T) {
	data := mustEncode(t, Tuple{Ops: []Op{Retain(5), Edit(Keep{})}})
	data[len(data)-1] = 0x7F // an unknown spec tag after the retain past the end
	_, err := ApplyEncoded(tup(i(1)), data)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = ApplyEncoded(tup(i(1)), append(mustEncode(t, Keep{}), 0))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = ApplyEncoded(tup(i(1)), nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

// Unchanged parts are shared, and a spec that changes nothing gives the
// term itself.
func TestApplyEncodedShares(t *testing.T) {
	inner := tup(i(1), i(2))
	x := tup(a("r"), inner, tup(i(3)))
	got, err := ApplyEncoded(x, mustEncode(t, Tuple{Ops: []Op{Retain(2), Edit(Replace{tup(i(4))})}}))
	require.NoError(t, err)
	require.True(t, term.Same(inner, got.(*term.Tuple).At(1)))
	got, err = ApplyEncoded(x, mustEncode(t, Tuple{Ops: []Op{Retain(1), Edit(Tuple{Ops: []Op{Edit(Keep{})}})}}))
	require.NoError(t, err)
	require.True(t, term.Same(x, got))
}

func TestPropertyApplyEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for n := range 600 {
		x := randTerm(r, 4)
		var s Spec
		switch n % 3 {
		case 0:
			s = Diff(x, mutateN(r, x, 1+r.IntN(4)))
		case 1:
			s = randSpecFor(r, x, 4)
		default:
			s = randSpecFor(r, randTerm(r, 3), 4) // often does not fit
		}
		data, err := Encode(s)
		if err != nil {
			continue
		}
		requireSameAsTwoStep(t, x, data, "case %d", n)
		requireSameAsTwoStep(t, deepCopy(x), data, "case %d, unshared", n)
		// Damaged bytes: a flipped byte, a cut.
		bad := append([]byte(nil), data...)
		bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		requireSameAsTwoStep(t, x, bad, "case %d, flipped", n)
		requireSameAsTwoStep(t, x, data[:r.IntN(len(data))], "case %d, cut", n)
	}
}

// A replica that follows a workload stream with ApplyEncoded stays equal to
// the worker's state.
func TestApplyEncodedWorkload(t *testing.T) {
	cur := workload.State(workload.Small, 42)
	replica := deepCopy(cur)
	st := workload.NewStepper(workload.Small, 3)
	for k := range 60 {
		next := st.Step(cur, workload.InitialTimestampMs+int64(k+1)*1000)
		got, err := ApplyEncoded(replica, mustEncode(t, Diff(cur, next)))
		require.NoError(t, err)
		require.Equal(t, term.Hash(next), term.Hash(got), "step %d", k)
		replica, cur = got, next
	}
	requireEqualTerms(t, cur, replica)
}

// FuzzApplyEncoded checks the fused path against Decode then Apply on
// fuzzed terms and specs: same result or same error class, no panic, the
// input untouched.
func FuzzApplyEncoded(f *testing.F) {
	r := rand.New(rand.NewPCG(23, 24))
	for range 30 {
		x := randTerm(r, 3)
		tv, err := appendValue(nil, x)
		require.NoError(f, err)
		s := randSpecFor(r, x, 3)
		if r.IntN(2) == 0 {
			s = Diff(x, mutateN(r, x, 2))
		}
		f.Add(tv, mustEncode(f, s))
	}
	f.Fuzz(func(t *testing.T, tb, sb []byte) {
		rd := &reader{b: tb}
		x, err := rd.value(0)
		if err != nil {
			return
		}
		requireSameAsTwoStep(t, x, sb)
	})
}

// One Applier used for a run of deltas, good ones, ones that do not fit and
// damaged ones, in any order (including large lists, where it reads ahead),
// gives what a fresh ApplyEncoded gives every time: scratch space left by
// one call, even a failed one, never shows in the next. Between calls it
// holds no term.
func TestApplierReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	var ap Applier
	for n := range 300 {
		var x term.Term
		if n%10 == 0 {
			elems := make([]term.Term, minWarmLen+r.IntN(100))
			for i := range elems {
				elems[i] = term.NewTuple(term.Atom("rec"), term.Int(i), term.NewTuple(term.Atom("ts"), term.Int(1000+i)))
			}
			x = term.NewList(elems...)
		} else {
			x = randTerm(r, 4)
		}
		var data []byte
		var err error
		switch n % 4 {
		case 0, 1:
			data, err = Encode(Diff(x, mutateN(r, x, 1+r.IntN(minWarmEdits*2))))
		case 2:
			data, err = Encode(randSpecFor(r, randTerm(r, 3), 4)) // often does not fit
		default:
			data, err = Encode(randSpecFor(r, x, 4))
			if err == nil && len(data) > 1 {
				data = data[:1+r.IntN(len(data)-1)]
			}
		}
		if err != nil {
			continue
		}
		want, werr := ApplyEncoded(x, data)
		got, gerr := ap.Apply(x, data)
		require.Equal(t, errClass(werr), errClass(gerr), "case %d", n)
		if werr == nil {
			requireEqualTerms(t, want, got, "case %d", n)
		}
		a := &ap.a
		for _, s := range [][]term.Term{a.terms[:cap(a.terms)], a.warmOld[:cap(a.warmOld)], a.warmNext[:cap(a.warmNext)]} {
			for _, v := range s {
				require.Nil(t, v, "case %d: scratch holds a term", n)
			}
		}
		for _, v := range a.sets[:cap(a.sets)] {
			require.Nil(t, v.Value, "case %d: scratch holds a term", n)
		}
		for _, v := range a.pairs[:cap(a.pairs)] {
			require.Nil(t, v.Key, "case %d: scratch holds a term", n)
		}
	}
}
