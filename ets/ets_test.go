package ets

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func tup(k, v term.Term) *term.Tuple { return term.NewTuple(k, v) }

func kinds() []Kind { return []Kind{Set, OrderedSet} }

func TestBasicOps(t *testing.T) {
	for _, kind := range kinds() {
		t.Run(kind.String(), func(t *testing.T) {
			o, err := New(Options{Kind: kind})
			require.NoError(t, err)
			require.NoError(t, o.Insert(tup(term.Atom("a"), term.Int(1))))
			require.NoError(t, o.Insert(tup(term.Atom("b"), term.Int(2))))
			require.NoError(t, o.Insert(tup(term.Atom("a"), term.Int(3))))

			obj, ok, err := o.Lookup(term.Atom("a"))
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, term.Equal(tup(term.Atom("a"), term.Int(3)), obj))

			ok, err = o.InsertNew(tup(term.Atom("a"), term.Int(9)))
			require.NoError(t, err)
			require.False(t, ok)
			ok, err = o.InsertNew(tup(term.Atom("c"), term.Int(9)))
			require.NoError(t, err)
			require.True(t, ok)

			n, err := o.Size()
			require.NoError(t, err)
			require.Equal(t, 3, n)

			ok, err = o.Member(term.Atom("zz"))
			require.NoError(t, err)
			require.False(t, ok)

			el, ok, err := o.LookupElement(term.Atom("b"), 1)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, term.Int(2), el)

			ok, err = o.Delete(term.Atom("b"))
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = o.Delete(term.Atom("b"))
			require.NoError(t, err)
			require.False(t, ok)

			require.ErrorIs(t, o.Insert(term.NewTuple()), ErrBadObject)
			require.ErrorIs(t, o.Insert(nil), ErrBadObject)
			_, _, err = o.Lookup(nil)
			require.ErrorIs(t, err, ErrBadKey)

			require.NoError(t, o.DeleteAll())
			n, _ = o.Size()
			require.Equal(t, 0, n)
			_, ok, _ = o.First()
			require.False(t, ok)
		})
	}
}

func TestKeyPos(t *testing.T) {
	o, err := New(Options{KeyPos: 1})
	require.NoError(t, err)
	require.NoError(t, o.Insert(term.NewTuple(term.Atom("user"), term.Int(7), term.Atom("x"))))
	obj, ok, _ := o.Lookup(term.Int(7))
	require.True(t, ok)
	require.Equal(t, term.Atom("x"), obj.At(2))
	require.ErrorIs(t, o.Insert(term.NewTuple(term.Atom("short"))), ErrBadObject)
	_, err = New(Options{KeyPos: -1})
	require.ErrorIs(t, err, ErrBadOptions)
	_, err = New(Options{Kind: 9})
	require.ErrorIs(t, err, ErrBadOptions)
}

// In an ordered_set 1 and 1.0 are one key (term order); in a set they are
// two (=:=), as in ETS.
func TestIntegerFloatKeys(t *testing.T) {
	ord, _ := New(Options{Kind: OrderedSet})
	require.NoError(t, ord.Insert(tup(term.Int(1), term.Atom("int"))))
	require.NoError(t, ord.Insert(tup(term.Float(1.0), term.Atom("float"))))
	n, _ := ord.Size()
	require.Equal(t, 1, n)
	obj, ok, _ := ord.Lookup(term.Int(1))
	require.True(t, ok)
	require.Equal(t, term.Atom("float"), obj.At(1))
	require.Equal(t, term.Float(1.0), obj.At(0))
	k, _, _ := ord.First()
	require.Equal(t, term.Float(1.0), k)
	ok, _ = ord.Member(term.Float(1.0))
	require.True(t, ok)

	set, _ := New(Options{Kind: Set})
	require.NoError(t, set.Insert(tup(term.Int(1), term.Atom("int"))))
	require.NoError(t, set.Insert(tup(term.Float(1.0), term.Atom("float"))))
	n, _ = set.Size()
	require.Equal(t, 2, n)
	obj, _, _ = set.Lookup(term.Int(1))
	require.Equal(t, term.Atom("int"), obj.At(1))
}

// randKey draws keys of several kinds, with integers and floats that
// collide in term order.
func randKey(r *rand.Rand) term.Term {
	switch r.IntN(6) {
	case 0:
		return term.Float(float64(r.IntN(40)))
	case 1:
		return term.Atom(string(rune('a' + r.IntN(20))))
	case 2:
		return term.NewTuple(term.Int(int64(r.IntN(5))), term.Atom("t"))
	case 3:
		return term.BinaryString(string(rune('A' + r.IntN(20))))
	default:
		return term.Int(int64(r.IntN(200)))
	}
}

// model is the reference: a slice of objects, searched linearly with the
// kind's key equality.
type model struct {
	kind Kind
	objs []*term.Tuple
}

func (m *model) same(a, b term.Term) bool {
	if m.kind == OrderedSet {
		return term.Compare(a, b) == 0
	}
	return term.Equal(a, b)
}

func (m *model) find(k term.Term) int {
	for i, o := range m.objs {
		if m.same(o.At(0), k) {
			return i
		}
	}
	return -1
}

func TestAgainstModel(t *testing.T) {
	for _, opts := range configs() {
		kind := opts.Kind
		t.Run(configName(opts), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(kind)))
			o, _ := New(opts)
			m := &model{kind: kind}
			for step := range 20000 {
				k := randKey(r)
				switch op := r.IntN(10); {
				case op < 4:
					obj := tup(k, term.Int(int64(step)))
					require.NoError(t, o.Insert(obj))
					if i := m.find(k); i >= 0 {
						m.objs[i] = obj
					} else {
						m.objs = append(m.objs, obj)
					}
				case op < 5:
					obj := tup(k, term.Int(int64(step)))
					ok, err := o.InsertNew(obj)
					require.NoError(t, err)
					i := m.find(k)
					require.Equal(t, i < 0, ok)
					if ok {
						m.objs = append(m.objs, obj)
					}
				case op < 8:
					ok, err := o.Delete(k)
					require.NoError(t, err)
					i := m.find(k)
					require.Equal(t, i >= 0, ok, "delete %v", k)
					if ok {
						m.objs = slices.Delete(m.objs, i, i+1)
					}
				default:
					got, ok, err := o.Lookup(k)
					require.NoError(t, err)
					i := m.find(k)
					require.Equal(t, i >= 0, ok)
					if ok {
						requireObject(t, opts.Compact, m.objs[i], got)
					}
				}
				if step%1000 == 999 {
					checkTraversal(t, o, m)
				}
			}
			checkTraversal(t, o, m)
		})
	}
}

func checkTraversal(t *testing.T, o *Owner, m *model) {
	t.Helper()
	n, _ := o.Size()
	require.Equal(t, len(m.objs), n)
	var all []*term.Tuple
	for obj := range o.All() {
		all = append(all, obj)
	}
	require.Len(t, all, len(m.objs))
	// First/Next visits the same keys as All, in the same order.
	var walked []term.Term
	k, ok, err := o.First()
	for ; ok; k, ok, err = o.Next(k) {
		require.NoError(t, err)
		walked = append(walked, k)
	}
	require.NoError(t, err)
	require.Len(t, walked, len(all))
	for i := range all {
		require.True(t, term.Equal(all[i].At(0), walked[i]))
		require.GreaterOrEqual(t, m.find(walked[i]), 0)
	}
	if m.kind != OrderedSet {
		return
	}
	for i := 1; i < len(walked); i++ {
		require.Negative(t, term.Compare(walked[i-1], walked[i]))
	}
	// Last/Prev walks it backwards.
	var back []term.Term
	k, ok, _ = o.Last()
	for ; ok; k, ok, _ = o.Prev(k) {
		back = append(back, k)
	}
	slices.Reverse(back)
	require.Len(t, back, len(walked))
	for i := range back {
		require.True(t, term.Equal(back[i], walked[i]))
	}
}

func TestNextOnSetNeedsKey(t *testing.T) {
	o, _ := New(Options{})
	require.NoError(t, o.Insert(tup(term.Int(1), term.Int(1))))
	_, _, err := o.Next(term.Int(2))
	require.ErrorIs(t, err, ErrNotFound)
	ord, _ := New(Options{Kind: OrderedSet})
	require.NoError(t, ord.Insert(tup(term.Int(5), term.Int(1))))
	k, ok, err := ord.Next(term.Int(2))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, term.Int(5), k)
	_, ok, _ = ord.Next(term.Int(5))
	require.False(t, ok)
	_, ok, _ = ord.Prev(term.Int(5))
	require.False(t, ok)
}

func TestRangeSelectFold(t *testing.T) {
	ord, _ := New(Options{Kind: OrderedSet})
	for i := range 100 {
		require.NoError(t, ord.Insert(tup(term.Int(int64(i)), term.Int(int64(i*i)))))
	}
	seq, err := ord.Range(term.Float(9.5), term.Int(20))
	require.NoError(t, err)
	var keys []int64
	for obj := range seq {
		keys = append(keys, int64(obj.At(0).(term.Int)))
	}
	require.Equal(t, []int64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, keys)

	seq, _ = ord.Range(nil, term.Int(2))
	n := 0
	for range seq {
		n++
	}
	require.Equal(t, 3, n)

	set, _ := New(Options{})
	_, err = set.Range(nil, nil)
	require.ErrorIs(t, err, ErrNotOrdered)

	sel, err := ord.Select(func(o *term.Tuple) bool { return o.At(1).(term.Int)%2 == 1 }, 5)
	require.NoError(t, err)
	require.Len(t, sel, 5)
	require.Equal(t, term.Int(9), sel[4].At(0))

	sum, err := ord.Fold(term.Int(0), func(o *term.Tuple, acc term.Term) term.Term {
		return acc.(term.Int) + o.At(0).(term.Int)
	})
	require.NoError(t, err)
	require.Equal(t, term.Int(4950), sum)
}

func TestUpdateCounter(t *testing.T) {
	for _, opts := range configs() {
		t.Run(configName(opts), func(t *testing.T) {
			o, _ := New(opts)
			key := term.Atom("hits")
			_, err := o.UpdateCounter(key, 1, 1, nil)
			require.ErrorIs(t, err, ErrNotFound)
			v, err := o.UpdateCounter(key, 1, 5, term.NewTuple(term.Atom("ignored"), term.Int(10)))
			require.NoError(t, err)
			require.Equal(t, int64(15), v)

			const workers, each = 8, 2000
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range each {
						if _, err := o.UpdateCounter(key, 1, 1, nil); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			obj, _, _ := o.Lookup(key)
			require.Equal(t, term.Int(15+workers*each), obj.At(1))

			_, err = o.UpdateCounter(key, 0, 1, nil)
			require.ErrorIs(t, err, ErrBadCounter)
			_, err = o.UpdateCounter(key, 2, 1, nil)
			require.ErrorIs(t, err, ErrBadCounter)
			require.NoError(t, o.Insert(tup(term.Atom("s"), term.Atom("x"))))
			_, err = o.UpdateCounter(term.Atom("s"), 1, 1, nil)
			require.ErrorIs(t, err, ErrBadCounter)
			require.NoError(t, o.Insert(tup(term.Atom("big"), term.Int(1<<62))))
			_, err = o.UpdateCounter(term.Atom("big"), 1, 1<<62, nil)
			require.ErrorIs(t, err, ErrBadCounter)
			obj, _, _ = o.Lookup(term.Atom("big"))
			require.Equal(t, term.Int(1<<62), obj.At(1), "a failed update leaves the object")
		})
	}
}

func TestProtection(t *testing.T) {
	reg := NewRegistry()
	prot, err := reg.New("prot", Options{})
	require.NoError(t, err)
	priv, err := reg.New("priv", Options{Access: Private})
	require.NoError(t, err)
	pub, err := reg.New("pub", Options{Access: Public, Kind: OrderedSet})
	require.NoError(t, err)
	_, err = reg.New("prot", Options{})
	require.ErrorIs(t, err, ErrNameTaken)
	require.Equal(t, []term.Atom{"priv", "prot", "pub"}, reg.Names())

	require.NoError(t, prot.Insert(tup(term.Int(1), term.Int(1))))
	v, err := reg.View("prot")
	require.NoError(t, err)
	ok, _ := v.Member(term.Int(1))
	require.True(t, ok)
	_, err = reg.Writer("prot")
	require.ErrorIs(t, err, ErrAccess)
	_, err = prot.PublicWriter()
	require.ErrorIs(t, err, ErrAccess)

	_, err = reg.View("priv")
	require.ErrorIs(t, err, ErrAccess)
	_, err = priv.View()
	require.ErrorIs(t, err, ErrAccess)
	_, err = reg.Writer("priv")
	require.ErrorIs(t, err, ErrAccess)

	w, err := reg.Writer("pub")
	require.NoError(t, err)
	require.NoError(t, w.Insert(tup(term.Int(2), term.Int(2))))
	ok, _ = pub.Member(term.Int(2))
	require.True(t, ok)

	_, err = reg.View("nope")
	require.ErrorIs(t, err, ErrNoTable)

	require.NoError(t, prot.DeleteTable())
	_, _, err = v.Lookup(term.Int(1))
	require.ErrorIs(t, err, ErrDeleted)
	require.ErrorIs(t, prot.Insert(tup(term.Int(1), term.Int(1))), ErrDeleted)
	_, err = reg.View("prot")
	require.ErrorIs(t, err, ErrNoTable)
	_, err = reg.New("prot", Options{})
	require.NoError(t, err, "a deleted table's name is free")
}

func TestHeirAndGiveAway(t *testing.T) {
	reg := NewRegistry()
	var got []Transfer
	heir := func(tr Transfer) { got = append(got, tr) }
	o, err := reg.New("replicas", Options{Heir: heir, HeirData: term.Atom("hd")})
	require.NoError(t, err)
	require.NoError(t, o.Insert(tup(term.Int(1), term.Int(1))))
	view, err := o.View()
	require.NoError(t, err)

	o.Exit()
	require.Len(t, got, 1)
	require.Equal(t, ByHeir, got[0].Reason)
	require.Equal(t, term.Atom("hd"), got[0].Data)
	require.ErrorIs(t, o.Insert(tup(term.Int(2), term.Int(2))), ErrNotOwner)
	o.Exit() // a stale owner's exit does nothing

	next := got[0].Table
	require.NoError(t, next.Insert(tup(term.Int(2), term.Int(2))))
	n, err := view.Size()
	require.NoError(t, err, "views survive the transfer")
	require.Equal(t, 2, n)

	var gift []Transfer
	require.NoError(t, next.GiveAway(func(tr Transfer) { gift = append(gift, tr) }, term.Atom("gift")))
	require.Len(t, gift, 1)
	require.Equal(t, ByGiveAway, gift[0].Reason)
	require.ErrorIs(t, next.Insert(tup(term.Int(3), term.Int(3))), ErrNotOwner)
	third := gift[0].Table

	// The heir stays in force: clear it, and the next exit deletes.
	require.NoError(t, third.SetHeir(nil, nil))
	third.Exit()
	_, err = view.Size()
	require.ErrorIs(t, err, ErrDeleted)
	_, err = reg.View("replicas")
	require.ErrorIs(t, err, ErrNoTable)
	require.Len(t, got, 1)
}

func TestMemoryInfo(t *testing.T) {
	for _, kind := range kinds() {
		o, _ := New(Options{Kind: kind})
		empty, err := o.Info()
		require.NoError(t, err)
		for i := range 10000 {
			require.NoError(t, o.Insert(tup(term.Int(int64(i)), term.BinaryString("some value"))))
		}
		full, _ := o.Info()
		require.Equal(t, 10000, full.Size)
		require.Greater(t, full.Memory, empty.Memory+10000*64)
		for i := range 10000 {
			_, err := o.Delete(term.Int(int64(i)))
			require.NoError(t, err)
		}
		after, _ := o.Info()
		require.Equal(t, 0, after.Size)
		require.Less(t, after.Memory, full.Memory/10, "%v gives memory back", kind)
	}
}

// Readers run while one writer inserts and deletes; keys that are never
// deleted must always be found, and an ordered traversal is always sorted.
func TestConcurrentReaders(t *testing.T) {
	for _, opts := range configs() {
		kind := opts.Kind
		t.Run(configName(opts), func(t *testing.T) {
			o, _ := New(opts)
			for i := 0; i < 1000; i += 2 {
				require.NoError(t, o.Insert(tup(term.Int(int64(i)), term.Int(0))))
			}
			view, _ := o.View()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			readers(&wg, 2, stop, errs, func() error {
				for i := 0; i < 1000; i += 2 {
					if ok, _ := view.Member(term.Int(int64(i))); !ok {
						return errors.New("a permanent key went missing")
					}
				}
				if kind == OrderedSet {
					var prev term.Term
					for obj := range view.All() {
						if prev != nil && term.Compare(prev, obj.At(0)) >= 0 {
							return errors.New("traversal out of order")
						}
						prev = obj.At(0)
					}
				}
				return nil
			})
			r := rand.New(rand.NewPCG(1, 2))
			for range 20000 {
				k := term.Int(int64(1 + 2*r.IntN(500)))
				if r.IntN(2) == 0 {
					require.NoError(t, o.Insert(tup(k, k)))
				} else {
					_, err := o.Delete(k)
					require.NoError(t, err)
				}
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// Writers start from the leaf of the last insert when it fits; reads and
// writes must never find what a delete or a clear removed, nor miss what
// is there.
func TestOrderedNeverStale(t *testing.T) { forLayouts(t, testOrderedNeverStale) }

func testOrderedNeverStale(t *testing.T, compact bool) {
	o, _ := New(Options{Kind: OrderedSet, Compact: compact})
	for i := range 100 {
		require.NoError(t, o.Insert(tup(term.Int(int64(i)), term.Int(0))))
	}
	ok, _ := o.Member(term.Int(50))
	require.True(t, ok)
	_, err := o.Delete(term.Int(50))
	require.NoError(t, err)
	ok, _ = o.Member(term.Int(50))
	require.False(t, ok, "a deleted key is not found")
	ok, _ = o.Member(term.Int(51))
	require.True(t, ok)

	require.NoError(t, o.Insert(tup(term.Int(52), term.Atom("replaced"))))
	obj, ok, _ := o.Lookup(term.Int(52))
	require.True(t, ok)
	require.Equal(t, term.Atom("replaced"), obj.At(1))

	require.NoError(t, o.DeleteAll())
	require.NoError(t, o.Insert(tup(term.Int(1000), term.Int(0))))
	for _, k := range []int64{51, 52, 53, 99} {
		ok, _ = o.Member(term.Int(k))
		require.False(t, ok, "key %d survived a clear", k)
	}
	k, ok, _ := o.Next(term.Int(52))
	require.True(t, ok)
	require.Equal(t, term.Int(1000), k)

	// Keys inserted after and before the last one are found.
	require.NoError(t, o.Insert(tup(term.Int(1002), term.Int(0))))
	ok, _ = o.Member(term.Int(1000))
	require.True(t, ok)
	require.NoError(t, o.Insert(tup(term.Int(1001), term.Int(0))))
	ok, _ = o.Member(term.Int(1001))
	require.True(t, ok)
}

// Interleaved ascending streams with deletes between them: the writers'
// leaf hints must keep the tree in order.
func TestOrderedInterleavedStreams(t *testing.T) { forLayouts(t, testOrderedInterleavedStreams) }

func testOrderedInterleavedStreams(t *testing.T, compact bool) {
	r := rand.New(rand.NewPCG(5, 6))
	o, _ := New(Options{Kind: OrderedSet, Compact: compact})
	m := &model{kind: OrderedSet}
	next := []int64{0, 100000, 200000}
	check := func() {
		want := make([]term.Term, len(m.objs))
		for i, obj := range m.objs {
			want[i] = obj.At(0)
		}
		slices.SortFunc(want, term.Compare)
		var got []term.Term
		for obj := range o.All() {
			got = append(got, obj.At(0))
		}
		require.Equal(t, want, got)
	}
	for step := range 10000 {
		s := r.IntN(len(next))
		k := term.Int(next[s])
		next[s] += 1 + int64(r.IntN(3))
		obj := tup(k, term.Int(int64(step)))
		require.NoError(t, o.Insert(obj))
		m.objs = append(m.objs, obj)
		if r.IntN(4) == 0 && len(m.objs) > 0 {
			i := r.IntN(len(m.objs))
			ok, err := o.Delete(m.objs[i].At(0))
			require.NoError(t, err)
			require.True(t, ok)
			m.objs = slices.Delete(m.objs, i, i+1)
		}
		if step%2500 == 0 {
			check()
		}
	}
	check()
	for _, obj := range m.objs {
		got, ok, _ := o.Lookup(obj.At(0))
		require.True(t, ok)
		requireObject(t, compact, obj, got)
	}
	checkTree(t, o.t.st)
}

// requireObject checks that got is want, or (from a Compact ordered_set,
// which keeps small objects as records and builds them again on a read) a
// tuple exactly equal to it: 1 and 1.0 differ.
func requireObject(t *testing.T, compact bool, want, got *term.Tuple) {
	t.Helper()
	if !compact {
		require.Same(t, want, got)
		return
	}
	require.True(t, term.Equal(want, got), "got %v, want %v", got, want)
}

// readers starts n goroutines that call read until stop is closed or
// read fails; its error goes to errs, which has room for n.
func readers(wg *sync.WaitGroup, n int, stop <-chan struct{}, errs chan<- error, read func() error) {
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := read(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
}

// configs are the tables the model and concurrency tests run on: a set,
// and an ordered_set of each leaf layout.
func configs() []Options {
	return []Options{{Kind: Set}, {Kind: OrderedSet}, {Kind: OrderedSet, Compact: true}}
}

func configName(o Options) string {
	if o.Compact {
		return o.Kind.String() + "/compact"
	}
	return o.Kind.String()
}

// forLayouts runs test on an ordered_set of each leaf layout.
func forLayouts(t *testing.T, test func(t *testing.T, compact bool)) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) { test(t, compact) })
	}
}
