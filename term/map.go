package term

import (
	"iter"
	"slices"
)

// Map is an Erlang map. Keys are distinct by exact equality (1 and 1.0 are
// two keys) and kept in Erlang's map-key order (term order, except that
// every integer sorts before every float). Put and Remove return a new map that
// shares every untouched part with the old one.
//
// The pairs live in a persistent B+-tree sorted by map-key order (see
// btree.go): leaves of up to 32 pairs, inner nodes of up to 32 children, so
// Get, Put and Remove cost O(log n) and copy one path of the tree.
type Map struct {
	root *mnode // nil for #{}
	hash hashCache
}

// Pair is one key/value association of a map.
type Pair struct{ Key, Value Term }

var emptyMap = &Map{}

// EmptyMap returns #{}.
func EmptyMap() *Map { return emptyMap }

// MapOf returns the map of pairs; a later pair wins over an earlier one with
// the same key, as in #{k => 1, k => 2}.
//
// It sorts a copy of the pairs and builds the tree in one pass, so building
// a large map costs O(n log n) comparisons and O(n) memory.
func MapOf(pairs ...Pair) *Map {
	for _, p := range pairs {
		if p.Key == nil || p.Value == nil {
			panic("term: nil Term in MapOf")
		}
	}
	sorted := slices.Clone(pairs)
	slices.SortStableFunc(sorted, func(a, b Pair) int { return compareKeys(a.Key, b.Key) })
	keys := make([]Term, 0, len(sorted))
	vals := make([]Term, 0, len(sorted))
	for i := 0; i < len(sorted); {
		// The first key object stays, as with Put; the last value wins.
		j := i + 1
		for j < len(sorted) && compareKeys(sorted[i].Key, sorted[j].Key) == 0 {
			j++
		}
		keys, vals = append(keys, sorted[i].Key), append(vals, sorted[j-1].Value)
		i = j
	}
	return mapFromSorted(keys, vals)
}

// mapFromSorted takes ownership of keys and vals, which must be sorted by
// map-key order with no duplicates. It builds the tree in O(n), with leaves
// that are subslices of keys and vals.
func mapFromSorted(keys, vals []Term) *Map {
	return mapFromSortedPrefixed(keys, nil, vals)
}

// mapFromSortedPrefixed is mapFromSorted with the keys' prefixes
// (keyPrefix) given, or computed when pfx is nil; it takes pfx too.
func mapFromSortedPrefixed(keys []Term, pfx []uint64, vals []Term) *Map {
	if len(keys) == 0 {
		return emptyMap
	}
	return &Map{root: buildBtree(keys, pfx, vals)}
}

func mapOfRoot(root *mnode) *Map {
	if root == nil {
		return emptyMap
	}
	return &Map{root: root}
}

// Len returns the number of keys.
func (m *Map) Len() int {
	if m.root == nil {
		return 0
	}
	return m.root.n
}

// Get returns the value under k.
func (m *Map) Get(k Term) (Term, bool) {
	if m.root == nil || k == nil {
		return nil, false
	}
	return m.root.get(k)
}

// Put returns the map with k associated to v.
func (m *Map) Put(k, v Term) *Map {
	if k == nil || v == nil {
		panic("term: nil Term in Map.Put")
	}
	if m.root == nil {
		return &Map{root: btreeLeaf([]Term{k}, []uint64{keyPrefix(k)}, []Term{v})}
	}
	parts := m.root.put(k, v)
	if len(parts) == 1 {
		if parts[0] == m.root {
			return m
		}
		return &Map{root: parts[0]}
	}
	return &Map{root: btreeInner(parts)}
}

// Update returns the map with the value under k replaced by f(value); f gets
// nil and false when k is absent.
func (m *Map) Update(k Term, f func(v Term, ok bool) Term) *Map {
	v, ok := m.Get(k)
	return m.Put(k, f(v, ok))
}

// Remove returns the map without k (the same map when k is absent).
func (m *Map) Remove(k Term) *Map {
	if m.root == nil || k == nil {
		return m
	}
	root, ok := m.root.remove(k)
	if !ok {
		return m
	}
	for root != nil && root.kids != nil && len(root.kids) == 1 {
		root = root.kids[0].node
	}
	if root != nil && root.kids == nil && len(root.keys) == 0 {
		root = nil
	}
	return mapOfRoot(root)
}

// All iterates over the pairs in map-key order.
func (m *Map) All() iter.Seq2[Term, Term] {
	return func(yield func(Term, Term) bool) {
		if m.root == nil {
			return
		}
		m.root.leaves(func(x *mnode) bool {
			for i, k := range x.keys {
				if !yield(k, x.vals[i]) {
					return false
				}
			}
			return true
		})
	}
}

// sumHash is the wrapping sum of the pair hashes (see hash.go), assembled
// from the per-node caches.
func (m *Map) sumHash() uint64 {
	if m.root == nil {
		return 0
	}
	return m.root.sumHash()
}

// MapEdits calls fn, in map-key order, for every key whose value is not the
// same in old and new: oldV is nil for a key only in new, newV is nil for a
// key only in old. Shared structure is skipped without being looked at.
// It stops early when fn returns false.
//
// The two trees are walked top down in parallel: identical subtrees are
// skipped, and only the runs of differing subtrees between them are opened,
// down to a merge by key of the differing leaves.
func MapEdits(old, new *Map, fn func(key, oldV, newV Term) bool) {
	if old.root == new.root {
		return
	}
	d := mapDiffer{fn: fn, buf: make([]*mnode, 0, 256)}
	var xs, ys []*mnode
	if old.root != nil {
		xs = []*mnode{old.root}
	}
	if new.root != nil {
		ys = []*mnode{new.root}
	}
	d.seq(xs, ys)
}
