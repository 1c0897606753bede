package ets

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func keysOf(objs []*term.Tuple) []string {
	var out []string
	for _, o := range objs {
		out = append(out, term.Format(o))
	}
	return out
}

func lookupAllFormatted(t *testing.T, v *Owner, key term.Term) []string {
	t.Helper()
	objs, err := v.LookupAll(key)
	require.NoError(t, err)
	return keysOf(objs)
}

// The expected lists are what OTP 25's ets:lookup/2 returned for the same
// operations on bag and duplicate_bag tables (run in escript).
func TestBagMatchesETS(t *testing.T) {
	k := term.Atom("k")
	b, err := New(Options{Kind: Bag})
	require.NoError(t, err)
	require.Equal(t, "bag", b.Kind().String())
	for _, v := range []term.Term{term.Int(1), term.Int(2), term.Int(1)} {
		require.NoError(t, b.Insert(tup(k, v)))
	}
	// [{k,1},{k,2}]: an equal object is not added again and keeps its place.
	require.Equal(t, []string{"{k,1}", "{k,2}"}, lookupAllFormatted(t, b, k))
	require.NoError(t, b.Insert(tup(k, term.Float(1))))
	// [{k,1},{k,2},{k,1.0}]: objects are equal only when =:=.
	require.Equal(t, []string{"{k,1}", "{k,2}", "{k,1.0}"}, lookupAllFormatted(t, b, k))
	require.NoError(t, b.Insert(tup(k, term.Int(3))))
	require.NoError(t, b.Insert(tup(k, term.Int(3))))
	require.Equal(t, []string{"{k,1}", "{k,2}", "{k,1.0}", "{k,3}"}, lookupAllFormatted(t, b, k))
	ok, err := b.InsertNew(tup(k, term.Int(9)))
	require.NoError(t, err)
	require.False(t, ok, "insert_new on a key with objects")
	// Keys are distinct by =:=: 1 and 1.0 are two keys.
	require.NoError(t, b.Insert(tup(term.Int(1), term.Atom("a"))))
	require.NoError(t, b.Insert(tup(term.Float(1), term.Atom("b"))))
	require.Equal(t, []string{"{1,a}"}, lookupAllFormatted(t, b, term.Int(1)))
	require.Equal(t, []string{"{1.0,b}"}, lookupAllFormatted(t, b, term.Float(1)))
	n, _ := b.Size()
	require.Equal(t, 6, n)
	first, ok, _ := b.Lookup(k)
	require.True(t, ok)
	require.Equal(t, "{k,1}", term.Format(first))
	ok, err = b.DeleteObject(tup(k, term.Int(1)))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"{k,2}", "{k,1.0}", "{k,3}"}, lookupAllFormatted(t, b, k))
	n, _ = b.Size()
	require.Equal(t, 5, n)

	d, _ := New(Options{Kind: DuplicateBag})
	require.Equal(t, "duplicate_bag", d.Kind().String())
	for _, v := range []term.Term{term.Int(1), term.Int(2), term.Int(1)} {
		require.NoError(t, d.Insert(tup(k, v)))
	}
	require.Equal(t, []string{"{k,1}", "{k,2}", "{k,1}"}, lookupAllFormatted(t, d, k))
	n, _ = d.Size()
	require.Equal(t, 3, n)
	ok, _ = d.DeleteObject(tup(k, term.Int(1)))
	require.True(t, ok)
	require.Equal(t, []string{"{k,2}"}, lookupAllFormatted(t, d, k), "delete_object removes every copy")
	_, err = d.UpdateCounter(k, 1, 1, nil)
	require.ErrorIs(t, err, ErrNotSet)
	ok, _ = d.Delete(k)
	require.True(t, ok)
	require.Empty(t, lookupAllFormatted(t, d, k))
	ok, _ = d.Delete(k)
	require.False(t, ok)
	n, _ = d.Size()
	require.Equal(t, 0, n)
	_, err = d.Range(nil, nil)
	require.ErrorIs(t, err, ErrNotOrdered)
}

// delete_object on sets and ordered_sets removes only an exactly equal
// object, key form included (OTP 25: {1.0,1} leaves {1,1} in an
// ordered_set).
func TestDeleteObjectOnSets(t *testing.T) {
	s, _ := New(Options{Kind: Set})
	require.NoError(t, s.Insert(tup(term.Atom("k"), term.Int(1))))
	for _, o := range []*term.Tuple{tup(term.Atom("k"), term.Int(2)), tup(term.Atom("k"), term.Float(1)), tup(term.Atom("x"), term.Int(1))} {
		ok, err := s.DeleteObject(o)
		require.NoError(t, err)
		require.False(t, ok)
	}
	n, _ := s.Size()
	require.Equal(t, 1, n)
	ok, _ := s.DeleteObject(tup(term.Atom("k"), term.Int(1)))
	require.True(t, ok)
	n, _ = s.Size()
	require.Equal(t, 0, n)

	o, _ := New(Options{Kind: OrderedSet})
	require.NoError(t, o.Insert(tup(term.Int(1), term.Int(1))))
	for _, x := range []*term.Tuple{tup(term.Float(1), term.Int(1)), tup(term.Int(1), term.Float(1))} {
		ok, err := o.DeleteObject(x)
		require.NoError(t, err)
		require.False(t, ok)
	}
	ok, _ = o.DeleteObject(tup(term.Int(1), term.Int(1)))
	require.True(t, ok)
	ok, _ = o.Member(term.Int(1))
	require.False(t, ok)
	_, err := o.DeleteObject(term.NewTuple())
	require.ErrorIs(t, err, ErrBadObject)

	c, err := New(Options{Kind: Set, Compact: true})
	require.NoError(t, err)
	require.NoError(t, c.Insert(tup(term.Atom("k"), term.Int(1))))
	ok, _ = c.DeleteObject(tup(term.Atom("k"), term.Int(2)))
	require.False(t, ok)
	ok, _ = c.DeleteObject(tup(term.Atom("k"), term.Int(1)))
	require.True(t, ok)
	n, _ = c.Size()
	require.Equal(t, 0, n)
	all, _ := o.LookupAll(term.Int(1))
	require.Empty(t, all)
}

// bagModel is a bag as a list of (key, objects) in key arrival order.
type bagModel struct {
	dup  bool
	keys []term.Term
	objs map[int][]*term.Tuple // by index in keys
}

func (m *bagModel) idx(k term.Term) int {
	return slices.IndexFunc(m.keys, func(x term.Term) bool { return term.Equal(x, k) })
}

// Random operations on bags and duplicate_bags against a model, with
// traversals, First/Next over keys, Select and Fold.
func TestBagAgainstModel(t *testing.T) {
	for _, kind := range []Kind{Bag, DuplicateBag} {
		t.Run(kind.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(21, uint64(kind)))
			o, _ := New(Options{Kind: kind, KeyPos: 1})
			m := &bagModel{dup: kind == DuplicateBag, objs: map[int][]*term.Tuple{}}
			obj := func() *term.Tuple {
				return term.NewTuple(term.Atom("r"), randKey(r), term.Int(int64(r.IntN(3))))
			}
			for step := range 6000 {
				x := obj()
				k := x.At(1)
				i := m.idx(k)
				switch op := r.IntN(10); {
				case op < 5:
					require.NoError(t, o.Insert(x))
					if i < 0 {
						m.keys = append(m.keys, k)
						i = len(m.keys) - 1
					}
					if m.dup || !slices.ContainsFunc(m.objs[i], func(y *term.Tuple) bool { return term.Equal(x, y) }) {
						m.objs[i] = append(m.objs[i], x)
					}
				case op < 6:
					ok, err := o.InsertNew(x)
					require.NoError(t, err)
					require.Equal(t, i < 0 || len(m.objs[i]) == 0, ok)
					if ok {
						if i < 0 {
							m.keys = append(m.keys, k)
							i = len(m.keys) - 1
						}
						m.objs[i] = []*term.Tuple{x}
					}
				case op < 7:
					ok, err := o.Delete(k)
					require.NoError(t, err)
					require.Equal(t, i >= 0 && len(m.objs[i]) > 0, ok)
					if i >= 0 {
						m.objs[i] = nil
					}
				case op < 8:
					ok, err := o.DeleteObject(x)
					require.NoError(t, err)
					had := i >= 0 && slices.ContainsFunc(m.objs[i], func(y *term.Tuple) bool { return term.Equal(x, y) })
					require.Equal(t, had, ok)
					if had {
						m.objs[i] = slices.DeleteFunc(m.objs[i], func(y *term.Tuple) bool { return term.Equal(x, y) })
					}
				default:
					var want []*term.Tuple
					if i >= 0 {
						want = m.objs[i]
					}
					got, err := o.LookupAll(k)
					require.NoError(t, err)
					require.Equal(t, keysOf(want), keysOf(got), "lookup %v", k)
				}
				if step%500 == 0 {
					checkBag(t, o, m)
				}
			}
			checkBag(t, o, m)
			require.NoError(t, o.DeleteAll())
			n, _ := o.Size()
			require.Equal(t, 0, n)
		})
	}
}

func checkBag(t *testing.T, o *Owner, m *bagModel) {
	t.Helper()
	var want []string
	wantKeys := 0
	for i := range m.keys {
		want = append(want, keysOf(m.objs[i])...)
		if len(m.objs[i]) > 0 {
			wantKeys++
		}
	}
	var got []string
	for obj := range o.All() {
		got = append(got, term.Format(obj))
	}
	require.ElementsMatch(t, want, got)
	n, _ := o.Size()
	require.Equal(t, len(want), n)
	// First/Next visits each key once, and a key's objects come together
	// in a traversal.
	keys := 0
	for k, ok, err := o.First(); ok; k, ok, err = o.Next(k) {
		require.NoError(t, err)
		keys++
		objs, _ := o.LookupAll(k)
		require.NotEmpty(t, objs)
	}
	require.Equal(t, wantKeys, keys)
	sel, err := o.Select(func(x *term.Tuple) bool { return x.At(2) == term.Int(0) }, 0)
	require.NoError(t, err)
	zeros := 0
	for _, s := range want {
		if s[len(s)-3:] == ",0}" {
			zeros++
		}
	}
	require.Len(t, sel, zeros)
	cnt, err := o.Fold(term.Int(0), func(_ *term.Tuple, acc term.Term) term.Term { return acc.(term.Int) + 1 })
	require.NoError(t, err)
	require.Equal(t, term.Int(int64(len(want))), cnt)
	info, _ := o.Info()
	require.Equal(t, len(want), info.Size)
}

// Readers of a bag see a key's objects as a whole group: with writers
// adding and removing objects of one key, a reader never sees a group
// with an object twice (in a bag) or out of insertion order.
func TestBagConcurrentGroups(t *testing.T) {
	o, _ := New(Options{Kind: Bag, Access: Public})
	w, _ := o.PublicWriter()
	k := term.Atom("k")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	bad := make(chan error, 1)
	readers(&wg, 1, stop, bad, func() error {
		objs, _ := w.LookupAll(k)
		for i := 1; i < len(objs); i++ {
			if objs[i-1].At(1).(term.Int) >= objs[i].At(1).(term.Int) {
				return errors.New(term.Format(term.NewTuple(objs[i-1], objs[i])))
			}
		}
		return nil
	})
	var writers sync.WaitGroup
	for p := range 2 {
		writers.Go(func() {
			for i := range 2000 {
				v := term.Int(int64(i))
				if p == 0 {
					_ = w.Insert(tup(k, v))
				} else {
					_, _ = w.DeleteObject(tup(k, term.Int(int64(i/2))))
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	select {
	case err := <-bad:
		t.Fatalf("a reader saw objects out of insertion order: %v", err)
	default:
	}
	objs, _ := o.LookupAll(k)
	n, _ := o.Size()
	require.Equal(t, len(objs), n)
}
