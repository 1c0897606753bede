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
