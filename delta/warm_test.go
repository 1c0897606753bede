package delta

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// Lists of minWarmLen or more records and random terms, edited in many
// places (so that ApplyEncoded reads ahead and warms before applying): the
// result is Decode then Apply's, for good specs, specs that do not fit, and damaged
// bytes. Warming only reads, so none of this may change a result or panic.
func TestApplyEncodedWarmedLists(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for n := range 40 {
		elems := make([]term.Term, minWarmLen+r.IntN(300))
		for i := range elems {
			if r.IntN(2) == 0 {
				elems[i] = term.NewTuple(term.Atom("rec"), term.Int(i),
					term.NewTuple(term.Atom("ts"), term.Int(1000+i)),
					term.NewTuple(term.Atom("loc"), term.NewTuple(term.Int(i%7), term.Int(300+i)), term.Atom("na")))
			} else {
				elems[i] = randTerm(r, 3)
			}
		}
		x := term.Term(term.NewList(elems...))
		if n%4 == 3 {
			x = term.NewTuple(term.Atom("state"), x) // the list one level down
		}
		var s Spec
		switch n % 3 {
		case 0:
			s = Diff(x, mutateN(r, x, minWarmEdits+r.IntN(30)))
		case 1:
			s = randSpecFor(r, x, 5)
		default:
			y := mutateN(r, x, 20)
			s = Diff(y, mutateN(r, y, 20)) // often does not fit x
		}
		data, err := Encode(s)
		if err != nil {
			continue
		}
		requireSameAsTwoStep(t, x, data, "case %d", n)
		bad := append([]byte(nil), data...)
		bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		requireSameAsTwoStep(t, x, bad, "case %d, flipped", n)
		requireSameAsTwoStep(t, x, data[:r.IntN(len(data))], "case %d, cut", n)
	}
}

// skipSpec and skipValue move past exactly what Decode reads, for every
// kind of spec and value the generators make.
func TestSkipMatchesDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for n := range 500 {
		x := randTerm(r, 4)
		data, err := Encode(randSpecFor(r, x, 4))
		require.NoError(t, err)
		rd := reader{b: data, off: 1}
		require.True(t, rd.skipSpec(0), "case %d", n)
		require.Equal(t, len(data), rd.off, "case %d", n)
		v, err := appendValue(nil, x)
		require.NoError(t, err)
		rd = reader{b: v}
		require.True(t, rd.skipValue(0), "case %d", n)
		require.Equal(t, len(v), rd.off, "case %d", n)
	}
}

// The read-ahead's one-pass index of a list spec holds, level by level,
// the edits a walk of the decoded spec finds: the list's edits, then the
// edits of the tuple specs nested in them, down to maxWarmLevels, each
// with the index of its parent edit in the level above.
func TestWarmIndexMatchesDecodedSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	pad := term.NewBinary(make([]byte, 40)) // so that a nested spec costs less than the record
	rec := func(i int) term.Term {
		return term.NewTuple(term.Atom("rec"), term.Int(i), pad,
			term.NewTuple(term.Atom("ts"), term.Int(1000+i), pad),
			term.NewTuple(term.Atom("loc"), term.NewTuple(term.Int(i%7), term.NewTuple(term.Int(i), term.Int(300+i), pad)), term.Atom("na")))
	}
	// edit changes one field of a record, one to five levels below the list.
	edit := func(e term.Term) term.Term {
		x, ok := e.(*term.Tuple)
		if !ok || x.Len() != 5 || x.At(0) != term.Atom("rec") {
			return term.Int(r.IntN(9))
		}
		v := term.Int(1_000_000 + r.IntN(1000))
		switch r.IntN(3) {
		case 0:
			return x.Set(1, v)
		case 1:
			return x.Set(3, x.At(3).(*term.Tuple).Set(1, v))
		}
		loc := x.At(4).(*term.Tuple)
		in := loc.At(1).(*term.Tuple)
		return x.Set(4, loc.Set(1, in.Set(1, in.At(1).(*term.Tuple).Set(1, v))))
	}
	for n := range 60 {
		elems := make([]term.Term, 50+r.IntN(200))
		for i := range elems {
			if r.IntN(4) > 0 {
				elems[i] = rec(i)
			} else {
				elems[i] = randTerm(r, 4)
			}
		}
		x := term.NewList(elems...)
		var s Spec
		if n%3 == 1 {
			s = randSpecFor(r, x, 6)
		} else {
			y := x
			for range 1 + r.IntN(30) {
				i := r.IntN(y.Len())
				y = y.Set(i, edit(y.At(i)))
			}
			if n%3 == 2 {
				if m, ok := mutateN(r, y, 1+r.IntN(3)).(*term.List); ok {
					y = m // inserts and deletes too
				}
			}
			s = Diff(x, y)
		}
		ls, ok := s.(List)
		if !ok {
			continue // the whole list replaced, or kept
		}
		data, err := Encode(s)
		require.NoError(t, err)

		var want [maxWarmLevels][]warmEdit
		var walk func(ops []Op, level, parent int)
		walk = func(ops []Op, level, parent int) {
			pos := 0
			for _, op := range ops {
				switch op.Kind {
				case OpRetain, OpDelete:
					pos += op.N
				case OpEdit:
					want[level] = append(want[level], warmEdit{pos: pos, parent: parent})
					if ts, ok := op.Spec.(Tuple); ok && level+1 < maxWarmLevels {
						walk(ts.Ops, level+1, len(want[level])-1)
					}
					pos++
				}
			}
		}
		walk(ls.Ops, 0, -1)

		var a applier
		require.Equal(t, []byte{specVersion, sList}, data[:2])
		rd := reader{b: data, off: 2} // past the version and the list spec's tag
		cnt, err := rd.count(1)
		require.NoError(t, err)
		require.True(t, a.indexEdits(&rd, cnt, x.Len(), 0, 0, -1), "case %d", n)
		for level := range maxWarmLevels {
			require.Equal(t, len(want[level]), len(a.warmLevels[level]), "case %d, level %d", n, level)
			for i, e := range want[level] {
				require.Equal(t, e, a.warmLevels[level][i], "case %d, level %d, edit %d", n, level, i)
			}
		}
		require.True(t, rd.skipSpec(0), "case %d: the tail spec follows the ops", n)
		require.Equal(t, len(data), rd.off, "case %d", n)
	}
}
