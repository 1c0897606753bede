package ets

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// randomKey draws keys of every kind a compact table treats apart: short
// and long binaries and atoms, integers, floats equal in value to an
// integer (another key in a set), bitstrings and tuples.
func randomKey(r *rand.Rand) term.Term {
	i := r.IntN(40)
	switch r.IntN(7) {
	case 0:
		return term.NewBinary([]byte(fmt.Sprintf("10.0.0.%d", i)))
	case 1:
		return term.NewBinary([]byte(strings.Repeat("x", 20) + fmt.Sprint(i%3)))
	case 2:
		return term.Atom(fmt.Sprintf("a%d", i))
	case 3:
		return term.Int(i - 20)
	case 4:
		return term.Float(float64(i - 20))
	case 5:
		return term.NewBitstring([]byte{byte(i)}, 3)
	}
	return term.NewTuple(term.Int(i), term.Atom("t"))
}

// randomObject makes an object under key: mostly numbers, sometimes not.
func randomObject(r *rand.Rand, key term.Term) *term.Tuple {
	n := r.IntN(MaxNumbersArity + 2) // 0..6 elements besides the key
	elems := []term.Term{key}
	for range n {
		switch r.IntN(9) {
		case 0:
			elems = append(elems, term.Atom("x"))
		case 1, 2, 3, 4:
			elems = append(elems, term.Float(r.NormFloat64()))
		default:
			elems = append(elems, term.Int(r.Int64()))
		}
	}
	return term.NewTuple(elems...)
}

// A compact set answers every operation as a generic set does.
func TestCompactAgainstSet(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	c, err := New(Options{Compact: true})
	require.NoError(t, err)
	g, err := New(Options{})
	require.NoError(t, err)
	for step := range 20000 {
		key := randomKey(r)
		switch r.IntN(5) {
		case 0, 1:
			obj := randomObject(r, key)
			require.NoError(t, c.Insert(obj))
			require.NoError(t, g.Insert(obj))
		case 2:
			obj := randomObject(r, key)
			okc, err := c.InsertNew(obj)
			require.NoError(t, err)
			okg, _ := g.InsertNew(obj)
			require.Equal(t, okg, okc, "step %d", step)
		case 3:
			okc, err := c.Delete(key)
			require.NoError(t, err)
			okg, _ := g.Delete(key)
			require.Equal(t, okg, okc, "step %d", step)
		case 4:
			_, errc := c.UpdateCounter(key, 1, 3, term.NewTuple(term.Int(0), term.Int(0)))
			_, errg := g.UpdateCounter(key, 1, 3, term.NewTuple(term.Int(0), term.Int(0)))
			require.Equal(t, errg == nil, errc == nil, "step %d: %v vs %v", step, errc, errg)
		}
		objc, okc, err := c.Lookup(key)
		require.NoError(t, err)
		objg, okg, _ := g.Lookup(key)
		require.Equal(t, okg, okc, "step %d key %v", step, key)
		if okg {
			require.True(t, term.Equal(objg, objc), "step %d: %v vs %v", step, objc, objg)
		}
	}
	nc, _ := c.Size()
	ng, _ := g.Size()
	require.Equal(t, ng, nc)
	// Every object is reached by a traversal, once, in both forms.
	seen := map[uint64]int{}
	for obj := range c.All() {
		seen[term.Hash(obj)]++
	}
	for obj := range g.All() {
		seen[term.Hash(obj)]--
	}
	for h, n := range seen {
		require.Zero(t, n, "object hash %x", h)
	}
	count := 0
	for k, ok, _ := c.First(); ok; k, ok, _ = c.Next(k) {
		count++
	}
	require.Equal(t, ng, count)
}

func TestNumbers(t *testing.T) {
	{
		o, err := New(Options{KeyPos: 1})
		require.NoError(t, err)
		require.ErrorIs(t, o.UpdateNumbers("k", func(ns Numbers, _ bool) (Numbers, bool) { return ns, true }), ErrNotCompact)
		require.NoError(t, o.Insert(term.NewTuple(term.Float(2.5), term.NewBinary([]byte("k")), term.Int(-7))))
		var ns Numbers
		found, err := o.LookupNumbers("k", &ns)
		require.NoError(t, err)
		require.True(t, found)
		i, ok := ns.Int(2)
		require.True(t, ok)
		require.Equal(t, int64(-7), i)
	}
	for _, keyPos := range []int{1, 0} {
		t.Run(fmt.Sprint("keypos=", keyPos), func(t *testing.T) {
			if keyPos == 0 {
				o, err := New(Options{Compact: true})
				require.NoError(t, err)
				require.NoError(t, o.UpdateNumbers("k", func(ns Numbers, found bool) (Numbers, bool) {
					ok := ns.SetArity(2) && ns.SetInt(1, 4) && !ns.SetInt(0, 1)
					return ns, ok
				}))
				obj, _, _ := o.Lookup(term.NewBinary([]byte("k")))
				require.True(t, term.Equal(term.NewTuple(term.NewBinary([]byte("k")), term.Int(4)), obj), "%v", obj)
				return
			}
			o, err := New(Options{Compact: true, KeyPos: keyPos})
			require.NoError(t, err)
			key := "192.168.1.1"
			// Absent: f sees found false and an arity of 0.
			err = o.UpdateNumbers(key, func(ns Numbers, found bool) (Numbers, bool) {
				require.False(t, found)
				require.Zero(t, ns.Arity())
				require.False(t, ns.SetArity(1), "the key is at 1")
				require.True(t, ns.SetArity(3))
				require.True(t, ns.SetFloat(0, 2.5))
				require.False(t, ns.SetInt(1, 9), "the key is not a number")
				require.False(t, ns.SetInt(3, 9), "past the arity")
				require.True(t, ns.SetInt(2, -7))
				return ns, true
			})
			require.NoError(t, err)
			obj, ok, err := o.Lookup(term.NewBinary([]byte(key)))
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, term.Equal(term.NewTuple(term.Float(2.5), term.NewBinary([]byte(key)), term.Int(-7)), obj), "%v", obj)

			var ns Numbers
			found, err := o.LookupNumbers(key, &ns)
			require.NoError(t, err)
			require.True(t, found)
			f, ok := ns.Float(0)
			require.True(t, ok)
			require.Equal(t, 2.5, f)
			_, ok = ns.Int(0)
			require.False(t, ok, "a float is not an int")
			i, ok := ns.Int(2)
			require.True(t, ok)
			require.Equal(t, int64(-7), i)

			// Declining leaves the object; shrinking drops elements.
			require.NoError(t, o.UpdateNumbers(key, func(ns Numbers, found bool) (Numbers, bool) {
				require.True(t, found)
				require.True(t, ns.SetInt(0, 1))
				return ns, false
			}))
			require.NoError(t, o.UpdateNumbers(key, func(ns Numbers, found bool) (Numbers, bool) {
				ok := ns.SetArity(2)
				return ns, ok
			}))
			obj, _, _ = o.Lookup(term.NewBinary([]byte(key)))
			require.True(t, term.Equal(term.NewTuple(term.Float(2.5), term.NewBinary([]byte(key))), obj), "%v", obj)

			// An absent key that f does not insert stays absent; one
			// inserted without an arity is refused.
			require.NoError(t, o.UpdateNumbers("nobody", func(ns Numbers, _ bool) (Numbers, bool) { return ns, false }))
			require.ErrorIs(t, o.UpdateNumbers("nobody", func(ns Numbers, _ bool) (Numbers, bool) { return ns, true }), ErrBadObject)
			found, err = o.LookupNumbers("nobody", &ns)
			require.NoError(t, err)
			require.False(t, found)

			// An object with an element that is not a number.
			long := strings.Repeat("k", 40)
			require.NoError(t, o.Insert(term.NewTuple(term.Atom("x"), term.NewBinary([]byte(long)))))
			_, err = o.LookupNumbers(long, &ns)
			require.ErrorIs(t, err, ErrNotNumbers)
			require.ErrorIs(t, o.UpdateNumbers(long, func(ns Numbers, _ bool) (Numbers, bool) { return ns, true }), ErrNotNumbers)
			// A long key (kept whole) still takes numbers.
			require.NoError(t, o.Insert(term.NewTuple(term.Int(1), term.NewBinary([]byte(long)))))
			require.NoError(t, o.UpdateNumbers(long, func(ns Numbers, found bool) (Numbers, bool) {
				v, _ := ns.Int(0)
				ok := found && ns.SetInt(0, v+1)
				return ns, ok
			}))
			obj, _, _ = o.Lookup(term.NewBinary([]byte(long)))
			require.True(t, term.Equal(term.NewTuple(term.Int(2), term.NewBinary([]byte(long))), obj), "%v", obj)

			view, err := o.View()
			require.NoError(t, err)
			require.NoError(t, o.DeleteTable())
			require.ErrorIs(t, o.UpdateNumbers(key, func(ns Numbers, _ bool) (Numbers, bool) { return ns, true }), ErrDeleted)
			_, err = view.LookupNumbers(key, &ns)
			require.ErrorIs(t, err, ErrDeleted)
		})
	}
}

func TestCompactOptions(t *testing.T) {
	_, err := New(Options{Kind: Bag, Compact: true})
	require.ErrorIs(t, err, ErrBadOptions)
	_, err = New(Options{Kind: OrderedSet, Compact: true})
	require.NoError(t, err)
}

// Small objects of numbers take a record and a slot each, and the memory
// of deleted ones is given back.
func TestCompactMemory(t *testing.T) {
	o, err := New(Options{Compact: true})
	require.NoError(t, err)
	const n = 1 << 17
	for i := range n {
		require.NoError(t, o.Insert(term.NewTuple(term.NewBinary([]byte(fmt.Sprintf("10.1.%d.%d", i>>8, i&255))),
			term.Float(1.5), term.Int(int64(i)), term.Int(int64(-i)))))
	}
	info, err := o.Info()
	require.NoError(t, err)
	require.Equal(t, n, info.Size)
	perObj := float64(info.Memory) / n
	require.Less(t, perObj, 100.0)
	t.Logf("%.1f B per object", perObj)
	for i := range n - 10 {
		ok, err := o.Delete(term.NewBinary([]byte(fmt.Sprintf("10.1.%d.%d", i>>8, i&255))))
		require.NoError(t, err)
		require.True(t, ok)
	}
	info, _ = o.Info()
	require.Equal(t, 10, info.Size)
	require.Less(t, info.Memory, int64(setShards*(2*crecChunkSize*crecBytes+1024)), "memory given back")
	for i := n - 10; i < n; i++ {
		obj, ok, _ := o.Lookup(term.NewBinary([]byte(fmt.Sprintf("10.1.%d.%d", i>>8, i&255))))
		require.True(t, ok)
		require.Equal(t, term.Int(int64(-i)), obj.At(3))
	}
}

// Readers of a compact table run beside its writer (for the race
// detector) and see every object whole.
func TestCompactConcurrentReaders(t *testing.T) {
	o, err := New(Options{Compact: true})
	require.NoError(t, err)
	view, _ := o.View()
	const keys = 512
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			var ns Numbers
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("k%d", i%keys)
				if found, err := view.LookupNumbers(key, &ns); err != nil || (found && ns.Arity() != 3) {
					t.Errorf("%s: found %v arity %d err %v", key, found, ns.Arity(), err)
					return
				}
				if obj, ok, _ := view.Lookup(term.NewBinary([]byte(key))); ok {
					a, _ := obj.At(1).(term.Int)
					b, _ := obj.At(2).(term.Float)
					if float64(a) != -float64(b) {
						t.Errorf("%s: torn object %v", key, obj)
						return
					}
				}
			}
		})
	}
	for round := range 200 {
		for i := range keys {
			key := fmt.Sprintf("k%d", i)
			if (i+round)%7 == 0 {
				_, err := o.Delete(term.NewBinary([]byte(key)))
				require.NoError(t, err)
				continue
			}
			require.NoError(t, o.UpdateNumbers(key, func(ns Numbers, found bool) (Numbers, bool) {
				if !found {
					ns.SetArity(3)
				}
				v, _ := ns.Int(1)
				ns.SetInt(1, v+1)
				ns.SetFloat(2, -float64(v+1))
				return ns, true
			}))
		}
	}
	close(stop)
	wg.Wait()
}

// benchCompact returns n keys shaped like IPv4 addresses, in a random
// order, and an empty Compact table.
func benchCompact(b *testing.B, n int) ([]string, *Owner) {
	keys := make([]string, n)
	for i, p := range rand.New(rand.NewPCG(1, 1)).Perm(n) {
		keys[i] = fmt.Sprintf("10.%d.%d.%d", p>>16&255, p>>8&255, p&255)
	}
	o, err := New(Options{Compact: true})
	if err != nil {
		b.Fatal(err)
	}
	return keys, o
}

// BenchmarkCompactUpdateNumbers rewrites the numbers of objects among 1M
// keyed by short binaries, in a random order of keys.
func BenchmarkCompactUpdateNumbers(b *testing.B) {
	const n = 1 << 20
	keys, o := benchCompact(b, n)
	bump := func(ns Numbers, found bool) (Numbers, bool) {
		if !found {
			ns.SetArity(4)
		}
		v, _ := ns.Int(2)
		ok := ns.SetInt(2, v+1)
		return ns, ok
	}
	for _, k := range keys {
		if err := o.UpdateNumbers(k, bump); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := o.UpdateNumbers(keys[i&(n-1)], bump); err != nil {
			b.Fatal(err)
		}
	}
}

// A batch updates every key as one UpdateNumbers each would, a repeated
// key in the order given, and tells f each key's position.
func TestUpdateNumbersBatch(t *testing.T) {
	o, err := New(Options{Compact: true})
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(5, 6))
	want := map[string]int64{}
	lastPos := map[string]int64{}
	for round := range 20 {
		keys := make([]string, 300)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", r.IntN(400))
			if i%50 == 0 {
				keys[i] = strings.Repeat("long", 8) + keys[i] // kept whole
			}
			want[keys[i]]++
			lastPos[keys[i]] = int64(round*1000 + i)
		}
		require.NoError(t, o.UpdateNumbersBatch(keys, func(i int, ns Numbers, found bool) (Numbers, bool) {
			if !found {
				ns.SetArity(3)
			}
			n, _ := ns.Int(1)
			prev, _ := ns.Int(2)
			if cur := int64(round*1000 + i); cur > prev || !found {
				ns.SetInt(2, cur)
			} else {
				t.Errorf("%s: position %d after %d", keys[i], cur, prev)
			}
			ns.SetInt(1, n+1)
			return ns, true
		}))
	}
	var ns Numbers
	for k, n := range want {
		found, err := o.LookupNumbers(k, &ns)
		require.NoError(t, err)
		require.True(t, found)
		got, _ := ns.Int(1)
		require.Equal(t, n, got, k)
		pos, _ := ns.Int(2)
		require.Equal(t, lastPos[k], pos, k)
	}
	// A small batch goes key by key, with the same result.
	require.NoError(t, o.UpdateNumbersBatch([]string{"s", "s", "s"}, func(i int, ns Numbers, found bool) (Numbers, bool) {
		if !found {
			ns.SetArity(2)
		}
		n, _ := ns.Int(1)
		require.Equal(t, int64(i), n)
		ns.SetInt(1, n+1)
		return ns, true
	}))
	found, err := o.LookupNumbers("s", &ns)
	require.NoError(t, err)
	require.True(t, found)
	n, _ := ns.Int(1)
	require.Equal(t, int64(3), n)
	require.NoError(t, o.Insert(term.NewTuple(term.NewBinary([]byte("bad")), term.Atom("x"))))
	err = o.UpdateNumbersBatch([]string{"k1", "bad"}, func(i int, ns Numbers, found bool) (Numbers, bool) { return ns, true })
	require.ErrorIs(t, err, ErrNotNumbers)
	g, _ := New(Options{})
	require.ErrorIs(t, g.UpdateNumbersBatch([]string{"k"}, nil), ErrNotCompact)
}

// BenchmarkCompactUpdateNumbersBatch is BenchmarkCompactUpdateNumbers in
// batches of 512.
func BenchmarkCompactUpdateNumbersBatch(b *testing.B) {
	const n = 1 << 20
	keys, o := benchCompact(b, n)
	bump := func(_ int, ns Numbers, found bool) (Numbers, bool) {
		if !found {
			ns.SetArity(4)
		}
		v, _ := ns.Int(2)
		ok := ns.SetInt(2, v+1)
		return ns, ok
	}
	for i := 0; i < n; i += 512 {
		if err := o.UpdateNumbersBatch(keys[i:i+512], bump); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	at := 0
	for done := 0; done < b.N; {
		m := min(512, b.N-done, n-at)
		if err := o.UpdateNumbersBatch(keys[at:at+m], bump); err != nil {
			b.Fatal(err)
		}
		done += m
		at = (at + m) % n
	}
}
