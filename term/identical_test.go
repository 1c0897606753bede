package term

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIdentical(t *testing.T) {
	big := Int(1 << 40) // boxed on the heap, unlike small integers
	other := Int(1 << 40)
	tup := NewTuple(Int(1))
	cases := []struct {
		a, b Term
		want bool
	}{
		{big, big, true},
		{tup, tup, true},
		{tup, NewTuple(Int(1)), false},
		{Atom([]byte("a")), Atom([]byte("a")), false}, // two boxes: == decides
		{Int(1), Atom("a"), false},
		{nil, nil, true},
	}
	for k, c := range cases {
		got := Identical(c.a, c.b)
		require.Equal(t, c.want, got, k)
		if got {
			require.True(t, c.a == c.b, "identical implies ==: %d", k)
			if c.a != nil {
				require.True(t, Same(c.a, c.b), "identical implies Same: %d", k)
			}
		}
	}
	// Separately boxed equal scalars are == but need not be identical;
	// whatever identical says, it must not contradict ==.
	var x, y Term = big, other
	if Identical(x, y) {
		require.True(t, x == y)
	}
	l := NewList(big, tup, Atom("a"))
	l2 := l.Set(1, Int(2))
	for k := range l.Len() {
		if k != 1 {
			require.True(t, Identical(l.At(k), l2.At(k)), "an untouched element is copied as it is: %d", k)
		}
	}
}

func TestIdenticalRun(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pool := []Term{Int(1 << 40), NewTuple(Int(1)), Atom("a"), Int(3), Nil(), NewTuple()}
	for n := range 2000 {
		a := make([]Term, r.IntN(40))
		for k := range a {
			a[k] = pool[r.IntN(len(pool))]
		}
		b := slices.Clone(a)
		if r.IntN(3) > 0 {
			b = append(b, pool[r.IntN(len(pool))])
		}
		for range r.IntN(3) {
			if len(b) > 0 {
				b[r.IntN(len(b))] = NewTuple(Int(n)) // never identical to anything
			}
		}
		front, back := 0, 0
		for front < min(len(a), len(b)) && Identical(a[front], b[front]) {
			front++
		}
		for back < min(len(a), len(b)) && Identical(a[len(a)-1-back], b[len(b)-1-back]) {
			back++
		}
		require.Equal(t, front, identicalRun(a, b), n)
		require.Equal(t, back, identicalRunBack(a, b), n)
	}
}
