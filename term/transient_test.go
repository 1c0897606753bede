package term

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// freshPoly recomputes the polynomial hash and P^n of the elements under x
// without any cache, and checks every cached value on the way against it.
func freshPoly(t testing.TB, x *lnode) (uint64, uint64) {
	t.Helper()
	var acc, pow uint64 = 0, 1
	if x.h == 0 {
		for _, e := range x.elems {
			acc = polyPush(acc, Hash(e))
		}
		pow = polyPow(len(x.elems))
	} else {
		for _, c := range x.kids {
			cp, cw := freshPoly(t, c.node)
			acc = polyAdd(polyMulMod(acc, cw), cp)
			pow = polyMulMod(pow, cw)
		}
	}
	if p, w, ok := x.cachedPoly(); ok {
		require.Equal(t, acc, p, "cached list hash of a node at height %d", x.h)
		require.Equal(t, pow, w, "cached P^n of a node at height %d", x.h)
	}
	return acc, pow
}

// freshSum recomputes the sum of pair hashes under x and checks every
// cached sum on the way against it.
func freshSum(t testing.TB, x *mnode) uint64 {
	t.Helper()
	var s uint64
	if x.h == 0 {
		for i, k := range x.keys {
			s += pairHash(k, x.vals[i])
		}
	} else {
		for _, c := range x.kids {
			s += freshSum(t, c.node)
		}
	}
	if c, ok := x.cachedSum(); ok {
		require.Equal(t, s, c, "cached map hash of a node at height %d", x.h)
	}
	return s
}

// TestListSetMany checks SetMany against Set one at a time (the model), for
// lists of one to four levels, batches in and out of order with repeated
// indexes, on hashed and unhashed lists; and that the hashes Set and
// SetMany carry from a hashed list are the ones computed from scratch.
func TestListSetMany(t *testing.T) {
	for seed, n := range []int{1, 40, 700, 5000, 70000} {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		model := tuples(n)
		l := NewList(model...)
		for round := range max(3, 12-n/1000) {
			hashed := round%3 != 2
			if hashed {
				Hash(l)
			}
			k := 1 + r.IntN(min(n, 150))
			batch := make([]ListElem, k)
			for i := range batch {
				batch[i] = ListElem{r.IntN(n), NewTuple(Atom("s"), Int(r.IntN(1000)))}
			}
			if round%2 == 0 {
				slices.SortFunc(batch, func(a, b ListElem) int { return cmp.Compare(a.Index, b.Index) })
				batch = slices.CompactFunc(batch, func(a, b ListElem) bool { return a.Index == b.Index })
			}
			one := l
			next := slices.Clone(model)
			for _, e := range batch {
				one = one.Set(e.Index, e.Value)
				next[e.Index] = e.Value
			}
			many := l.SetMany(batch)
			checkList(t, many, next, nil)
			checkList(t, one, next, nil)
			freshPoly(t, many.root)
			freshPoly(t, one.root)
			require.Equal(t, Hash(one), Hash(many))
			// Only leaves holding a changed index are new.
			touched := map[*lnode]bool{}
			for _, e := range batch {
				x := l.root
				i := e.Index
				for x.h > 0 {
					c := x.find(i)
					i -= x.start(c)
					x = x.kids[c].node
				}
				touched[x] = true
			}
			require.LessOrEqual(t, newLeaves(l, many), len(touched))
			if hashed {
				_, _, ok := many.root.cachedPoly()
				require.True(t, ok, "SetMany on a hashed list carries the hash")
			}
			l, model = many, next
		}
	}
}

func TestListSetManyEdges(t *testing.T) {
	l := NewList(ints(0, 100)...)
	require.Same(t, l, l.SetMany(nil))
	require.Panics(t, func() { l.SetMany([]ListElem{{100, Int(1)}}) })
	require.Panics(t, func() { l.SetMany([]ListElem{{-1, Int(1)}}) })
	require.Panics(t, func() { l.SetMany([]ListElem{{3, nil}}) })
	require.Panics(t, func() { Nil().SetMany([]ListElem{{0, Int(1)}}) })
	imp := ImproperList(ints(0, 3), Atom("t"))
	got := imp.SetMany([]ListElem{{2, Atom("x")}, {0, Atom("y")}, {2, Atom("z")}})
	require.Equal(t, "[y,1,z|t]", Format(got))
	// The caller's slice is not reordered.
	in := []ListElem{{5, Int(0)}, {1, Int(0)}}
	l.SetMany(in)
	require.Equal(t, 5, in[0].Index)
}

// TestMapPutMany checks PutMany against Put one at a time (the model), with
// batches of existing keys, of new keys (enough to split leaves and inner
// nodes and grow the tree), repeated keys and unchanged values, on hashed
// and unhashed maps; and that the hashes Put and PutMany carry are the ones
// computed from scratch.
func TestMapPutMany(t *testing.T) {
	for seed, n := range []int{0, 1, 60, 2000, 12000} {
		r := rand.New(rand.NewPCG(uint64(seed), 13))
		space := max(2*n, 100)
		m, model := EmptyMap(), mapModel(nil)
		for i := range n {
			k := Int(2 * i)
			m, model = m.Put(k, Int(i)), model.put(k, Int(i))
		}
		for round := range max(4, 14-n/1000) {
			hashed := round%3 != 2
			if hashed {
				Hash(m)
			}
			var batch []Pair
			switch round % 4 {
			case 0: // existing keys, as a counter update
				for range 1 + r.IntN(80) {
					if len(model) > 0 {
						p := model[r.IntN(len(model))]
						batch = append(batch, Pair{p.Key, Int(r.IntN(50))})
					}
				}
			case 1: // a mix, some values unchanged
				for range 1 + r.IntN(200) {
					if len(model) > 0 && r.IntN(3) == 0 {
						p := model[r.IntN(len(model))]
						batch = append(batch, p)
						continue
					}
					batch = append(batch, Pair{mapKey(r, space), Int(r.IntN(50))})
				}
			case 2: // many new keys
				for range 1 + r.IntN(3000) {
					batch = append(batch, Pair{Int(space + r.IntN(4*space)), Int(r.IntN(50))})
				}
			default: // new keys below every key, as the first child's bound
				for range 1 + r.IntN(100) {
					batch = append(batch, Pair{Int(-1 - r.IntN(1000)), Atom("neg")})
				}
			}
			if round%2 == 0 {
				slices.SortStableFunc(batch, func(a, b Pair) int { return compareKeys(a.Key, b.Key) })
			}
			one, next := m, model
			for _, p := range batch {
				one, next = one.Put(p.Key, p.Value), next.put(p.Key, p.Value)
			}
			many := m.PutMany(batch)
			checkMap(t, many, next)
			checkMap(t, one, next)
			if many.root != nil {
				freshSum(t, many.root)
				freshSum(t, one.root)
			}
			require.Equal(t, Hash(one), Hash(many))
			m, model = many, next
		}
		// A batch that changes nothing gives the map itself.
		if len(model) > 0 {
			require.Same(t, m, m.PutMany([]Pair{model[0], model[len(model)-1]}))
		}
	}
}

func TestMapPutManyEdges(t *testing.T) {
	m := MapOf(Pair{Atom("a"), Int(1)})
	require.Same(t, m, m.PutMany(nil))
	require.Panics(t, func() { m.PutMany([]Pair{{nil, Int(1)}}) })
	require.Panics(t, func() { m.PutMany([]Pair{{Atom("b"), nil}}) })
	got := EmptyMap().PutMany([]Pair{{Int(2), Atom("x")}, {Float(2), Atom("f")}, {Int(2), Atom("y")}})
	require.Equal(t, "#{2 => y,2.0 => f}", Format(got))
	// Keys stay the first key object, as with Put.
	k1, k2 := BinaryString("k"), BinaryString("k")
	got = m.Put(k1, Int(0)).PutMany([]Pair{{k2, Int(5)}})
	for k := range got.All() {
		if k.Kind() == KindBinary {
			require.True(t, Same(k1, k))
		}
	}
}

// Tuples of every small size (one allocation each, see makeTuple) and a
// larger one: the constructors and updates give the right elements, and
// what they give never sees a later update of another tuple.
func TestTupleSizes(t *testing.T) {
	eq := func(want, got []Term) {
		t.Helper()
		require.True(t, slices.Equal(want, got), "want %v, got %v", want, got)
	}
	for n := range 12 {
		elems := make([]Term, n)
		for i := range elems {
			elems[i] = Int(i)
		}
		tu := NewTuple(elems...)
		elems = append(elems[:0:0], elems...)
		require.Equal(t, n, tu.Len())
		eq(elems, tu.Elems())
		rec := Record("r", elems...)
		eq(append([]Term{Atom("r")}, elems...), rec.Elems())
		app := tu.Append(Atom("x"), Atom("y"))
		eq(append(append([]Term(nil), elems...), Atom("x"), Atom("y")), app.Elems())
		ins := tu.Insert(n/2, Atom("i"))
		want := append(append(append([]Term(nil), elems[:n/2]...), Atom("i")), elems[n/2:]...)
		eq(want, ins.Elems())
		if n > 0 {
			set := tu.Set(n-1, Atom("s"))
			require.Equal(t, Atom("s"), set.At(n-1))
			require.Equal(t, Int(n-1), tu.At(n-1), "Set leaves the old tuple alone")
			del := tu.Delete(0)
			eq(elems[1:], del.Elems())
			require.True(t, Equal(tu, NewTuple(elems...)))
			require.Equal(t, Hash(tu), Hash(set.Set(n-1, Int(n-1))))
		}
		require.Panics(t, func() { tu.Set(n, Int(0)) })
		require.Panics(t, func() { tu.Insert(n+1, Int(0)) })
	}
}

// polyPow (a table below 64, square-and-multiply above) is P^n.
func TestPolyPow(t *testing.T) {
	p := uint64(1)
	for n := range 300 {
		require.Equal(t, p, polyPow(n), n)
		p = polyMulMod(p, polyBase)
	}
}
