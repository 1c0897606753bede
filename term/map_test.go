package term

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkBtree verifies the tree invariants under x and returns its pair
// count and its smallest and largest keys: keys strictly increasing in
// map-key order, every child's bound at most its smallest key and above the
// previous child's keys, one height per level, every non-root node at least
// half full.
func checkBtree(t testing.TB, x *mnode, root bool) (int, Term, Term) {
	t.Helper()
	if x.h == 0 {
		require.NotEmpty(t, x.keys)
		require.Len(t, x.vals, len(x.keys))
		require.Len(t, x.pfx, len(x.keys))
		for i, k := range x.keys {
			require.Equal(t, keyPrefix(k), x.pfx[i], "key prefix %d", i)
		}
		require.LessOrEqual(t, len(x.keys), btreeLeafMax)
		if !root {
			require.GreaterOrEqual(t, len(x.keys), btreeLeafMin, "underfull leaf")
		}
		for i := 1; i < len(x.keys); i++ {
			require.Negative(t, compareKeys(x.keys[i-1], x.keys[i]), "keys out of order")
		}
		require.Equal(t, len(x.keys), x.n)
		return x.n, x.keys[0], x.keys[len(x.keys)-1]
	}
	require.LessOrEqual(t, len(x.kids), btreeNodeMax)
	if root {
		require.GreaterOrEqual(t, len(x.kids), 2, "root with one child")
	} else {
		require.GreaterOrEqual(t, len(x.kids), btreeNodeMin, "underfull node")
	}
	n := 0
	var first, last Term
	for i, c := range x.kids {
		require.Equal(t, x.h-1, c.node.h)
		cn, lo, hi := checkBtree(t, c.node, false)
		require.Equal(t, keyPrefix(c.key), c.pfx, "bound prefix %d", i)
		require.LessOrEqual(t, compareKeys(c.key, lo), 0, "bound above the child's keys")
		if i > 0 {
			require.Negative(t, compareKeys(last, c.key), "bound not above the previous child")
		} else {
			first = lo
		}
		last = hi
		n += cn
	}
	require.Equal(t, n, x.n)
	return n, first, last
}

// checkBounds verifies that every node's first bound is above every key
// before the node in map order (MapEdits relies on it) and returns the
// largest key under x.
func checkBounds(t testing.TB, x *mnode, prevMax Term) Term {
	t.Helper()
	if prevMax != nil {
		require.Negative(t, compareKeys(prevMax, x.firstKey()), "bound not above the keys before the node")
	}
	if x.h == 0 {
		return x.keys[len(x.keys)-1]
	}
	for _, c := range x.kids {
		prevMax = checkBounds(t, c.node, prevMax)
	}
	return prevMax
}

// mapModel is the reference: pairs sorted by map-key order.
type mapModel []Pair

func (m mapModel) find(k Term) (int, bool) {
	return slices.BinarySearchFunc(m, k, func(p Pair, k Term) int { return compareKeys(p.Key, k) })
}

func (m mapModel) put(k, v Term) mapModel {
	i, ok := m.find(k)
	if ok {
		m = slices.Clone(m)
		m[i].Value = v
		return m
	}
	return slices.Insert(slices.Clone(m), i, Pair{k, v})
}

func (m mapModel) remove(k Term) mapModel {
	if i, ok := m.find(k); ok {
		return slices.Delete(slices.Clone(m), i, i+1)
	}
	return m
}

func checkMap(t testing.TB, m *Map, model mapModel) {
	t.Helper()
	require.Equal(t, len(model), m.Len())
	if len(model) == 0 {
		require.Same(t, EmptyMap(), m)
	} else {
		checkBtree(t, m.root, true)
		checkBounds(t, m.root, nil)
	}
	i := 0
	for k, v := range m.All() {
		require.True(t, Same(model[i].Key, k), "key %d", i)
		require.True(t, Same(model[i].Value, v), "value %d", i)
		i++
	}
	require.Equal(t, len(model), i)
	for _, p := range model {
		v, ok := m.Get(p.Key)
		require.True(t, ok)
		require.True(t, Same(p.Value, v))
	}
	keys, vals := make([]Term, len(model)), make([]Term, len(model))
	for i, p := range model {
		keys[i], vals[i] = p.Key, p.Value
	}
	ref := mapFromSorted(keys, vals)
	require.Equal(t, Hash(ref), Hash(m), "hash depends on construction")
	require.True(t, Equal(ref, m))
	require.Zero(t, Compare(ref, m))
}

// checkMapEdits compares MapEdits with a merge of the two models.
func checkMapEdits(t testing.TB, a, b *Map, ma, mb mapModel) int {
	t.Helper()
	type edit struct{ k, ov, nv Term }
	var want, got []edit
	i, j := 0, 0
	for i < len(ma) || j < len(mb) {
		c := 0
		switch {
		case i == len(ma):
			c = 1
		case j == len(mb):
			c = -1
		default:
			c = compareKeys(ma[i].Key, mb[j].Key)
		}
		switch {
		case c < 0:
			want = append(want, edit{ma[i].Key, ma[i].Value, nil})
			i++
		case c > 0:
			want = append(want, edit{mb[j].Key, nil, mb[j].Value})
			j++
		default:
			if !Same(ma[i].Value, mb[j].Value) {
				want = append(want, edit{mb[j].Key, ma[i].Value, mb[j].Value})
			}
			i, j = i+1, j+1
		}
	}
	MapEdits(a, b, func(k, ov, nv Term) bool {
		got = append(got, edit{k, ov, nv})
		return true
	})
	require.Len(t, got, len(want))
	for i := range want {
		require.Zero(t, compareKeys(want[i].k, got[i].k), "edit %d key", i)
		require.True(t, Same(want[i].ov, got[i].ov) || (want[i].ov == nil && got[i].ov == nil), "edit %d old", i)
		require.True(t, Same(want[i].nv, got[i].nv) || (want[i].nv == nil && got[i].nv == nil), "edit %d new", i)
	}
	if len(want) > 1 {
		n := 0
		MapEdits(a, b, func(_, _, _ Term) bool { n++; return false })
		require.Equal(t, 1, n, "MapEdits did not stop")
	}
	return len(got)
}

// mapKey returns a key of a mixed kind, so that map-key order across kinds
// (and an integer before an equal float) is exercised, and binaries whose
// 8-byte key prefixes tie (longer ones with a common start, bitstrings,
// one a prefix of another).
func mapKey(r *rand.Rand, space int) Term {
	i := r.IntN(space)
	switch r.IntN(6) {
	case 0:
		return Float(i)
	case 1:
		return Atom("a" + string(rune('a'+i%26)))
	case 2:
		return BinaryString("ctr-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)))
	case 3:
		b := []byte("ctr-long" + strconv.Itoa(i))
		b = b[:min(len(b), 6+i%8)]
		if i%5 == 0 {
			return NewBitstring(b, uint8(1+i%7))
		}
		return NewBinary(b)
	}
	return Int(i)
}

// keyPrefix orders as compareKeys does, ties aside: for keys a < b,
// keyPrefix(a) <= keyPrefix(b). Keys of every kind, binaries and
// bitstrings of every length around 8 bytes, long chunked binaries.
func TestKeyPrefixOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	var keys []Term
	for range 300 {
		keys = append(keys, randomTerm(r, 2), randomBinary(r), mapKey(r, 1000))
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = "ab\x00\xff"[r.IntN(4)]
		}
		if len(b) > 0 && r.IntN(3) == 0 {
			keys = append(keys, NewBitstring(b, uint8(1+r.IntN(8))))
		} else {
			keys = append(keys, NewBinary(b))
		}
	}
	long := make([]byte, 3*binaryHashChunk+5)
	for i := range long {
		long[i] = byte(i)
	}
	keys = append(keys, NewBinary(long), NewBinary(long[:7]), NewBinary(long[:8]), NewBinary(long[:9]), NewBitstring(long[:binaryHashChunk+1], 3))
	for _, a := range keys {
		for _, b := range keys {
			if compareKeys(a, b) < 0 {
				require.LessOrEqual(t, keyPrefix(a), keyPrefix(b), "%v < %v", a, b)
			}
		}
	}
	require.Equal(t, uint64(0x6374722d6c6f6e67), keyPrefix(BinaryString("ctr-long-key")))
	require.Equal(t, uint64(0x6162000000000000), keyPrefix(BinaryString("ab")))
	require.Zero(t, keyPrefix(Atom("ctr-long-key")))
}

func TestMapModel(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 7))
		space := []int{50, 400, 5000, 20000}[seed]
		m, model := EmptyMap(), mapModel(nil)
		for step := range 4000 {
			prev, prevModel := m, model
			switch op := r.IntN(10); {
			case op < 6:
				k, v := mapKey(r, space), Int(r.Int64())
				m, model = m.Put(k, v), model.put(k, v)
			case op < 9:
				var k Term
				if len(model) > 0 && r.IntN(4) > 0 {
					k = model[r.IntN(len(model))].Key
				} else {
					k = mapKey(r, space)
				}
				m, model = m.Remove(k), model.remove(k)
			default:
				k := mapKey(r, space)
				m = m.Update(k, func(v Term, ok bool) Term {
					if ok {
						return NewTuple(v)
					}
					return Int(0)
				})
				v, _ := m.Get(k)
				model = model.put(k, v)
			}
			if step%200 == 0 || len(model) < 100 {
				checkMap(t, m, model)
			}
			if step%10 == 0 {
				checkMapEdits(t, prev, m, prevModel, model)
			}
		}
		checkMap(t, m, model)
		// Removing everything, in random order, gives the empty map.
		for _, i := range r.Perm(len(model)) {
			m = m.Remove(model[i].Key)
		}
		require.Same(t, EmptyMap(), m)
	}
}

func TestMapBasics(t *testing.T) {
	m := MapOf(Pair{Int(1), Atom("a")}, Pair{Float(1), Atom("b")}, Pair{Int(1), Atom("c")})
	require.Equal(t, 2, m.Len())
	v, ok := m.Get(Int(1))
	require.True(t, ok)
	require.Equal(t, Atom("c"), v)
	_, ok = m.Get(Int(2))
	require.False(t, ok)
	_, ok = EmptyMap().Get(Int(2))
	require.False(t, ok)
	require.Same(t, m, m.Remove(Int(9)))
	require.Same(t, m, m.Put(Int(1), Atom("c")), "putting the same value keeps the map")
	require.Panics(t, func() { m.Put(nil, Int(1)) })
	require.Panics(t, func() { m.Put(Int(1), nil) })
	require.Same(t, EmptyMap(), mapFromSorted(nil, nil))
	require.Same(t, EmptyMap(), MapOf())
	require.Panics(t, func() { MapOf(Pair{Int(1), nil}) })
}

// TestMapOf checks MapOf against Put one pair at a time, with many
// repeated keys (the later pair wins).
func TestMapOf(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 10, 500, 5000} {
		pairs := make([]Pair, n)
		model := mapModel(nil)
		for i := range pairs {
			pairs[i] = Pair{mapKey(r, n/2+1), Int(i)}
			model = model.put(pairs[i].Key, pairs[i].Value)
		}
		checkMap(t, MapOf(pairs...), model)
	}
}

// TestMapSharing checks that Put and Remove copy one path and that MapEdits
// reports exactly the changed keys of a workload-like step.
func TestMapSharing(t *testing.T) {
	for _, n := range []int{10000, 100000} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		keys, vals := make([]Term, n), make([]Term, n)
		model := make(mapModel, n)
		for i := range keys {
			keys[i], vals[i] = Int(i), Int(i)
			model[i] = Pair{keys[i], vals[i]}
		}
		m := mapFromSorted(keys, vals)
		checkMap(t, m, model)
		for range 5 {
			next, nm := m, model
			for range 50 {
				k := Int(r.IntN(n))
				next, nm = next.Put(k, Int(-1)), nm.put(k, Int(-1))
			}
			k := Int(n + r.IntN(n))
			next, nm = next.Put(k, Int(0)), nm.put(k, Int(0))
			k = Int(r.IntN(n))
			next, nm = next.Remove(k), nm.remove(k)
			// Only the leaves on the changed paths are new.
			require.LessOrEqual(t, newMapLeaves(m, next), 52*2)
			require.LessOrEqual(t, checkMapEdits(t, m, next, model, nm), 52)
			m, model = next, nm
		}
		checkMap(t, m, model)
	}
}

func newMapLeaves(a, b *Map) int {
	seen := map[*mnode]bool{}
	a.root.leaves(func(x *mnode) bool { seen[x] = true; return true })
	n := 0
	b.root.leaves(func(x *mnode) bool {
		if !seen[x] {
			n++
		}
		return true
	})
	return n
}

// Decoded maps carry their keys' prefixes, from the input bytes of binary
// keys and from the keys otherwise, whether the input lists the keys in
// order or not (OTP writes maps of more than 32 keys in hash order).
func TestDecodedMapPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, n := range []int{1, 5, 40, 70, 3000} {
		var pairs []Pair
		for range n {
			pairs = append(pairs, Pair{mapKey(r, 5000), Int(r.IntN(1000))})
		}
		m := MapOf(pairs...)
		enc, err := Encode(m)
		require.NoError(t, err)
		got, err := Decode(enc)
		require.NoError(t, err)
		checkBtree(t, got.(*Map).root, true)

		// The same pairs in a shuffled order, written by hand.
		var sorted []Pair
		for k, v := range m.All() {
			sorted = append(sorted, Pair{k, v})
		}
		r.Shuffle(len(sorted), func(i, j int) { sorted[i], sorted[j] = sorted[j], sorted[i] })
		b := []byte{131, 't', 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[2:], uint32(len(sorted)))
		for _, p := range sorted {
			for _, x := range []Term{p.Key, p.Value} {
				e, err := Encode(x)
				require.NoError(t, err)
				b = append(b, e[1:]...)
			}
		}
		got, err = Decode(b)
		require.NoError(t, err)
		require.True(t, Equal(m, got))
		checkBtree(t, got.(*Map).root, true)
	}
}
