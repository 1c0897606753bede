package ets

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// checkTree checks the B+tree's invariants: separators and keys in order,
// every key inside its leaf's range (lo up to the next leaf's lo), the
// leaf chain in tree order both ways, prefixes that match their keys, no
// removed node reachable, no empty leaf but a lone one, and the counts.
func checkTree(t *testing.T, st store) {
	t.Helper()
	switch o := st.(type) {
	case *ptrTree:
		checkTreeOf(t, o)
	case *recTree:
		checkTreeOf(t, o)
	default:
		t.Fatalf("%T is not an ordered_set", st)
	}
}

// ptrTree and recTree are the ordered_sets of the two layouts.
type (
	ptrTree = ordered[ptrSlots, *ptrSlots]
	recTree = ordered[recSlots, *recSlots]
)

// nodeCounts returns the leaves and inner nodes of the ordered_set st.
func nodeCounts(st store) (leaves, inners int64) {
	switch o := st.(type) {
	case *ptrTree:
		return o.leaves.Load(), o.inners.Load()
	case *recTree:
		return o.leaves.Load(), o.inners.Load()
	}
	panic("not an ordered_set")
}

func checkTreeOf[S any, PS slots[S]](t *testing.T, o *ordered[S, PS]) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var leaves []*leaf[S, PS]
	inners := 0
	var walk func(nd *inner[S, PS], lo, hi term.Term)
	walk = func(nd *inner[S, PS], lo, hi term.Term) {
		inners++
		require.False(t, nd.dead.Load())
		require.Zero(t, nd.ver.Load()&1)
		n := int(nd.n.Load())
		require.True(t, n >= 1 && n <= innerCap, "inner with %d children", n)
		for i := range n {
			clo, chi := lo, hi
			if i > 0 {
				s := nd.seps[i].Load()
				require.NotNil(t, s)
				require.Equal(t, keyPrefix(s.key), nd.pre[i].Load())
				clo = s.key
				if lo != nil {
					require.Positive(t, term.Compare(s.key, lo))
				}
			}
			if i+1 < n {
				chi = nd.seps[i+1].Load().key
			}
			if hi != nil && i > 0 {
				require.Negative(t, term.Compare(clo, hi))
			}
			if nd.leafKids {
				l := nd.leaves[i].Load()
				require.NotNil(t, l)
				require.Nil(t, nd.kids[i].Load())
				leaves = append(leaves, l)
				for j := range int(l.n.Load()) {
					k := l.objAt(j).At(o.keyPos)
					require.Equal(t, keyPrefix(k), l.pre[l.at(j)].Load())
					if clo != nil {
						require.GreaterOrEqual(t, term.Compare(k, clo), 0, "key %v below its separator %v", k, clo)
					}
					if chi != nil {
						require.Negative(t, term.Compare(k, chi), "key %v not below the next separator %v", k, chi)
					}
				}
				continue
			}
			walk(nd.kids[i].Load(), clo, chi)
		}
	}
	walk(o.root.Load(), nil, nil)
	require.Equal(t, int64(inners), o.inners.Load())
	require.Equal(t, int64(len(leaves)), o.leaves.Load())
	total := 0
	var prevKey term.Term
	for i, l := range leaves {
		require.False(t, l.dead.Load())
		require.Zero(t, l.ver.Load()&1)
		n := int(l.n.Load())
		if len(leaves) > 1 {
			require.Positive(t, n, "an empty leaf stays in a tree of %d leaves", len(leaves))
		}
		total += n
		require.Equal(t, i == 0, l.loMin.Load(), "leaf %d", i)
		if i > 0 {
			require.Same(t, leaves[i-1], l.prev.Load())
			require.Same(t, l, leaves[i-1].next.Load())
		} else {
			require.Nil(t, l.prev.Load())
		}
		if i == len(leaves)-1 {
			require.Nil(t, l.next.Load())
		}
		for j := range n {
			obj := l.objAt(j)
			_, compact := encodeRec(obj)
			require.Equal(t, compact && o.inline, l.ptrAt(j) == nil, "object %v kept the wrong way", obj)
			k := obj.At(o.keyPos)
			if prevKey != nil {
				require.Negative(t, term.Compare(prevKey, k))
			}
			prevKey = k
			if !l.loMin.Load() {
				lo := l.lo.Load().key
				require.Equal(t, keyPrefix(lo), l.lop.Load())
				require.GreaterOrEqual(t, term.Compare(k, lo), 0, "key %v below its leaf's lo %v", k, lo)
			}
			if nx := l.next.Load(); nx != nil {
				require.Negative(t, term.Compare(k, nx.lo.Load().key))
			}
		}
		off := int(l.off.Load())
		require.LessOrEqual(t, off+n, leafCap)
		for j := range leafCap {
			if j < off || j >= off+n {
				require.Nil(t, PS(&l.s).ptr(j), "a free slot keeps an object alive")
			}
		}
	}
	require.Equal(t, total, o.size())
}

// propKey draws from a key space large enough for a tree several levels
// deep, with the comparisons that are hard for prefixes: integers and
// floats equal in term order, -0.0, integers beyond float precision and
// big integers, atoms that share their first seven bytes, tuples that
// differ after their first element, binaries.
func propKey(r *rand.Rand, span int) term.Term {
	switch r.IntN(12) {
	case 0:
		return term.Float(float64(r.IntN(span)))
	case 1:
		return term.Float(float64(r.IntN(span)) + 0.5)
	case 2:
		return term.Atom(fmt.Sprintf("session_%d", r.IntN(span/8+1)))
	case 3:
		return term.NewTuple(term.Int(int64(r.IntN(16))), term.Atom(fmt.Sprint(r.IntN(64))))
	case 4:
		return term.BinaryString(fmt.Sprint(r.IntN(span / 8)))
	case 5:
		return term.Int(math.MaxInt64 - int64(r.IntN(64)))
	case 6:
		v := new(big.Int).Lsh(big.NewInt(1), 70)
		return term.Integer(v.Add(v, big.NewInt(int64(r.IntN(64)))))
	case 7:
		if r.IntN(2) == 0 {
			return term.Float(math.Copysign(0, -1))
		}
		return term.Int(-int64(r.IntN(span)))
	default:
		return term.Int(int64(r.IntN(span)))
	}
}

// propValue draws an object's value, so that objects are kept both ways
// (inline records and whole tuples) and a replace may change the way: small
// and large integers, floats (1.0 beside 1, -0.0), atoms and binaries on
// both sides of the record's size limits, and terms no record holds.
func propValue(r *rand.Rand, step int) term.Term {
	switch r.IntN(9) {
	case 0:
		return term.Int(int64(r.IntN(3))) // boxed by the runtime without allocating
	case 1:
		return term.Float(float64(r.IntN(3)))
	case 2:
		return term.Float(math.Copysign(0, -1))
	case 3:
		return term.BinaryString(strings.Repeat("b", r.IntN(26)))
	case 4:
		return term.Atom(strings.Repeat("a", r.IntN(26)))
	case 5:
		return term.Integer(new(big.Int).Lsh(big.NewInt(int64(step)+1), 80))
	case 6:
		return term.NewTuple(term.Int(int64(step)), term.Atom("x"))
	case 7:
		return term.Float(float64(step) + 0.25)
	}
	return term.Int(int64(step) << 20)
}

// refModel is an ordered_set as a sorted slice.
type refModel struct{ objs []*term.Tuple }

func (m *refModel) search(k term.Term) (int, bool) {
	return slices.BinarySearchFunc(m.objs, k, func(o *term.Tuple, k term.Term) int { return term.Compare(o.At(0), k) })
}

func (m *refModel) keys(from, to int) []term.Term {
	var out []term.Term
	for _, o := range m.objs[from:to] {
		out = append(out, o.At(0))
	}
	return out
}

// Random operations against the sorted slice, in phases that grow the
// tree to several levels and shrink it to nothing, so that leaves and
// inner nodes split and go away.
func TestOrderedAgainstSortedSlice(t *testing.T) { forLayouts(t, testOrderedAgainstSortedSlice) }

func testOrderedAgainstSortedSlice(t *testing.T, compact bool) {
	steps, span := 120000, 40000
	if testing.Short() {
		steps, span = 30000, 10000
	}
	r := rand.New(rand.NewPCG(11, 12))
	ow, _ := New(Options{Kind: OrderedSet, Compact: compact})
	st := ow.t.st
	m := &refModel{}
	for step := range steps {
		grow := (step/(steps/4))%2 == 0
		k := propKey(r, span)
		i, found := m.search(k)
		op := r.IntN(20)
		if !grow && op < 10 {
			op += 10 // shrinking: deletes outnumber inserts
		}
		switch {
		case op < 8:
			obj := tup(k, propValue(r, step))
			require.NoError(t, ow.Insert(obj))
			if found {
				m.objs[i] = obj
			} else {
				m.objs = slices.Insert(m.objs, i, obj)
			}
		case op < 10:
			obj := tup(k, term.Int(int64(step)))
			ok, err := ow.InsertNew(obj)
			require.NoError(t, err)
			require.Equal(t, !found, ok)
			if ok {
				m.objs = slices.Insert(m.objs, i, obj)
			}
		case op < 16:
			// Delete a key that is there more often than not.
			if len(m.objs) > 0 && r.IntN(3) > 0 {
				i, found = r.IntN(len(m.objs)), true
				k = m.objs[i].At(0)
			}
			ok, err := ow.Delete(k)
			require.NoError(t, err)
			require.Equal(t, found, ok, "delete %v", k)
			if ok {
				m.objs = slices.Delete(m.objs, i, i+1)
			}
		case op < 17:
			got, ok, err := ow.Lookup(k)
			require.NoError(t, err)
			require.Equal(t, found, ok, "lookup %v", k)
			if ok {
				requireObject(t, compact, m.objs[i], got)
			}
		case op < 18:
			nk, ok, err := ow.Next(k)
			require.NoError(t, err)
			j := i
			if found {
				j++
			}
			require.Equal(t, j < len(m.objs), ok, "next %v", k)
			if ok {
				require.Equal(t, m.objs[j].At(0), nk)
			}
			pk, ok, err := ow.Prev(k)
			require.NoError(t, err)
			require.Equal(t, i > 0, ok, "prev %v", k)
			if ok {
				require.Equal(t, m.objs[i-1].At(0), pk)
			}
		default:
			hi := propKey(r, span)
			if term.Compare(hi, k) < 0 {
				k, hi = hi, k
			}
			lo, _ := m.search(k)
			end, in := m.search(hi)
			if in {
				end++
			}
			seq, err := ow.Range(k, hi)
			require.NoError(t, err)
			var got []term.Term
			for obj := range seq {
				got = append(got, obj.At(0))
			}
			require.Equal(t, m.keys(lo, end), got, "range %v..%v", k, hi)
		}
		if step%(steps/8) == 0 || step == steps-1 {
			checkTree(t, st)
			checkOrderedWalks(t, ow, m)
		}
	}
	// Empty it completely: one leaf remains, and it works.
	for _, obj := range m.objs {
		ok, err := ow.Delete(obj.At(0))
		require.NoError(t, err)
		require.True(t, ok)
	}
	m.objs = nil
	checkTree(t, st)
	checkOrderedWalks(t, ow, m)
	leaves, _ := nodeCounts(st)
	require.Equal(t, int64(1), leaves)
	require.NoError(t, ow.Insert(tup(term.Int(1), term.Int(1))))
	checkTree(t, st)
}

// checkOrderedWalks compares All, First/Next and Last/Prev with m.
func checkOrderedWalks(t *testing.T, ow *Owner, m *refModel) {
	t.Helper()
	want := m.keys(0, len(m.objs))
	var all []term.Term
	for obj := range ow.All() {
		all = append(all, obj.At(0))
	}
	require.Equal(t, want, all)
	var fwd []term.Term
	for k, ok, _ := ow.First(); ok; k, ok, _ = ow.Next(k) {
		fwd = append(fwd, k)
	}
	require.Equal(t, want, fwd)
	var back []term.Term
	for k, ok, _ := ow.Last(); ok; k, ok, _ = ow.Prev(k) {
		back = append(back, k)
	}
	slices.Reverse(back)
	require.Equal(t, want, back)
	n, _ := ow.Size()
	require.Equal(t, len(want), n)
}

// keyPrefix never contradicts term order: a < b implies prefix(a) <=
// prefix(b), and keys equal in term order (1 and 1.0) share a prefix.
func TestKeyPrefixFollowsTermOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	keys := []term.Term{term.Int(1), term.Float(1), term.Float(math.Copysign(0, -1)), term.Int(0),
		term.Int(math.MaxInt64), term.Int(math.MinInt64), term.Float(math.MaxFloat64), term.Float(-math.MaxFloat64),
		term.Atom(""), term.Atom("abcdefg"), term.Atom("abcdefgh"), term.Atom("abcdefg\x00"),
		term.NewTuple(), term.NewTuple(term.Int(1)), term.NewTuple(term.Float(1), term.Atom("a")), term.NewList(), term.NewList(term.Int(1))}
	for range 3000 {
		keys = append(keys, propKey(r, 1000), randKey(r))
	}
	for range 200000 {
		a, b := keys[r.IntN(len(keys))], keys[r.IntN(len(keys))]
		pa, pb := keyPrefix(a), keyPrefix(b)
		switch c := term.Compare(a, b); {
		case c < 0:
			require.LessOrEqual(t, pa, pb, "%v < %v", a, b)
		case c > 0:
			require.GreaterOrEqual(t, pa, pb, "%v > %v", a, b)
		default:
			require.Equal(t, pa, pb, "%v == %v", a, b)
		}
	}
}

// Readers race one writer that grows and shrinks the tree (splits and
// leaf removals), under -race: a key that is never deleted is always
// found, a key never inserted never is, traversals are sorted and hold
// every permanent key, and Next/Prev of a permanent key find its
// permanent neighbours or keys between them.
func TestOrderedConcurrentReadersStructure(t *testing.T) {
	forLayouts(t, testOrderedConcurrentReadersStructure)
}

func testOrderedConcurrentReadersStructure(t *testing.T, compact bool) {
	o, _ := New(Options{Kind: OrderedSet, Compact: compact})
	const perm = 400 // permanent keys 0, 100, 200, ...
	for i := range perm {
		require.NoError(t, o.Insert(tup(term.Int(int64(i*100)), term.Int(0))))
	}
	view, _ := o.View()
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	reader := func(seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		fail := func(format string, args ...any) { errs <- fmt.Errorf(format, args...) }
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := int64(r.IntN(perm))
			if ok, _ := view.Member(term.Int(i * 100)); !ok {
				fail("permanent key %d missing", i*100)
				return
			}
			if ok, _ := view.Member(term.Int(i*100 + 99)); ok {
				fail("key %d was never inserted", i*100+99)
				return
			}
			if nk, ok, _ := view.Next(term.Int(i * 100)); i < perm-1 && (!ok || compareKeys(nk, term.Int((i+1)*100)) > 0 || compareKeys(nk, term.Int(i*100)) <= 0) {
				fail("next of %d is %v", i*100, nk)
				return
			}
			if pk, ok, _ := view.Prev(term.Int(i * 100)); i > 0 && (!ok || compareKeys(pk, term.Int((i-1)*100)) < 0 || compareKeys(pk, term.Int(i*100)) >= 0) {
				fail("prev of %d is %v", i*100, pk)
				return
			}
			if r.IntN(50) == 0 {
				var prev term.Term
				seen := 0
				for obj := range view.All() {
					k := obj.At(0)
					if prev != nil && term.Compare(prev, k) >= 0 {
						fail("traversal out of order: %v then %v", prev, k)
						return
					}
					if v, ok := k.(term.Int); ok && v%100 == 0 {
						seen++
					}
					prev = k
				}
				if seen != perm {
					fail("traversal saw %d of %d permanent keys", seen, perm)
					return
				}
			}
		}
	}
	for s := range 2 {
		wg.Go(func() { reader(uint64(s)) })
	}
	r := rand.New(rand.NewPCG(9, 9))
	for round := range 6 {
		// Fill the gaps densely (splits), then empty them (removals).
		var ks []term.Term
		for i := range perm - 1 {
			for j := 1; j < 98; j += 1 + r.IntN(3) {
				ks = append(ks, term.Int(int64(i*100+j)))
			}
		}
		r.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		if round%2 == 1 {
			slices.SortFunc(ks, term.Compare) // in order: the append path
		}
		for _, k := range ks {
			require.NoError(t, o.Insert(tup(k, term.Int(1))))
		}
		r.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		for _, k := range ks {
			ok, err := o.Delete(k)
			require.NoError(t, err)
			require.True(t, ok)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkTree(t, o.t.st)
}

// A queue: keys inserted at the end and deleted from the front, as an
// expiry index by time does, must not leave leaves or inner nodes behind.
func TestOrderedQueueKeepsNoEmptyNodes(t *testing.T) {
	forLayouts(t, testOrderedQueueKeepsNoEmptyNodes)
}

func testOrderedQueueKeepsNoEmptyNodes(t *testing.T, compact bool) {
	o, _ := New(Options{Kind: OrderedSet, Compact: compact})
	st := o.t.st
	next, oldest := 0, 0
	for range 200000 {
		require.NoError(t, o.Insert(tup(term.Int(int64(next)), term.Int(0))))
		next++
		if next-oldest > 1000 {
			ok, err := o.Delete(term.Int(int64(oldest)))
			require.NoError(t, err)
			require.True(t, ok)
			oldest++
		}
	}
	checkTree(t, st)
	leaves, inners := nodeCounts(st)
	require.LessOrEqual(t, leaves, int64(1000/leafCap+2))
	require.Less(t, inners, int64(5))
	info, _ := o.Info()
	require.Less(t, info.Memory, int64(1000*200))
}

var errStop = errors.New("stop")

// UpdateCounter on an ordered_set goes through the same leaves.
func TestOrderedUpdateCounterManyKeys(t *testing.T) { forLayouts(t, testOrderedUpdateCounterManyKeys) }

func testOrderedUpdateCounterManyKeys(t *testing.T, compact bool) {
	o, _ := New(Options{Kind: OrderedSet, Compact: compact})
	for round := range 3 {
		for k := range 5000 {
			v, err := o.UpdateCounter(term.Int(int64(k*7%5000)), 1, 1, tup(term.Int(0), term.Int(0)))
			require.NoError(t, err)
			require.Equal(t, int64(round+1), v)
		}
	}
	err := o.t.st.update(term.Int(1), func(*term.Tuple) (*term.Tuple, error) { return nil, errStop })
	require.ErrorIs(t, err, errStop)
	checkTree(t, o.t.st)
}

// Writers of one public ordered_set work at once: each owns the keys k
// with k%writers == its number, so they share leaves, split them and
// empty them, while readers look on. At the end the table holds exactly
// the union of the writers' models, and the tree is sound.
func TestOrderedConcurrentWriters(t *testing.T) { forLayouts(t, testOrderedConcurrentWriters) }

func testOrderedConcurrentWriters(t *testing.T, compact bool) {
	const writers, span = 3, 6000
	ow, _ := New(Options{Kind: OrderedSet, Compact: compact, Access: Public})
	w, _ := ow.PublicWriter()
	models := make([]map[int64]*term.Tuple, writers)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	bad := make(chan string, 1)
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var prev term.Term
			for obj := range w.All() {
				if prev != nil && term.Compare(prev, obj.At(0)) >= 0 {
					select {
					case bad <- fmt.Sprintf("traversal out of order: %v then %v", prev, obj.At(0)):
					default:
					}
					return
				}
				prev = obj.At(0)
			}
		}
	})
	var wg sync.WaitGroup
	for id := range writers {
		m := map[int64]*term.Tuple{}
		models[id] = m
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(id), 77))
			for step := range 30000 {
				k := int64(r.IntN(span/writers)*writers + id)
				if step < 10000 {
					k = int64(step*writers + id) // in order first: the append path
				}
				switch op := r.IntN(10); {
				case op < 5 || step < 10000:
					obj := tup(term.Int(k), term.Int(int64(step)))
					if err := w.Insert(obj); err != nil {
						panic(err)
					}
					m[k] = obj
				case op < 8:
					ok, err := w.Delete(term.Int(k))
					if err != nil || ok != (m[k] != nil) {
						panic(fmt.Sprintf("delete %d: %v %v", k, ok, err))
					}
					delete(m, k)
				default:
					v, err := w.UpdateCounter(term.Int(k), 1, 1, tup(term.Int(0), term.Int(0)))
					if err != nil {
						panic(err)
					}
					var want int64 = 1
					if old := m[k]; old != nil {
						want = int64(old.At(1).(term.Int)) + 1
					}
					if v != want {
						panic(fmt.Sprintf("counter %d: %d, want %d", k, v, want))
					}
					m[k] = tup(term.Int(k), term.Int(v))
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	select {
	case s := <-bad:
		t.Fatal(s)
	default:
	}
	ref := &refModel{}
	for _, m := range models {
		for _, obj := range m {
			ref.objs = append(ref.objs, obj)
		}
	}
	slices.SortFunc(ref.objs, func(a, b *term.Tuple) int { return term.Compare(a.At(0), b.At(0)) })
	checkTree(t, ow.t.st)
	checkOrderedWalks(t, ow, ref)
	for _, obj := range ref.objs {
		got, ok, _ := ow.Lookup(obj.At(0))
		require.True(t, ok)
		require.True(t, term.Equal(obj, got), "%v: %v", obj, got)
	}
}

// A clear racing writers leaves the count equal to what the table holds.
func TestOrderedClearRacingWriters(t *testing.T) { forLayouts(t, testOrderedClearRacingWriters) }

func testOrderedClearRacingWriters(t *testing.T, compact bool) {
	ow, _ := New(Options{Kind: OrderedSet, Compact: compact, Access: Public})
	w, _ := ow.PublicWriter()
	var wg sync.WaitGroup
	for id := range 2 {
		wg.Go(func() {
			for k := range 20000 {
				_ = w.Insert(tup(term.Int(int64(k*2+id)), term.Int(0)))
				if k%3 == 0 {
					_, _ = w.Delete(term.Int(int64(k*2 + id - 4)))
				}
			}
		})
	}
	for range 5 {
		require.NoError(t, w.DeleteAll())
	}
	wg.Wait()
	n := 0
	for range w.All() {
		n++
	}
	size, _ := w.Size()
	require.Equal(t, n, size)
	checkTree(t, ow.t.st)
}
