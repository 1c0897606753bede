package term

import (
	"iter"
	"sort"
)

// Map is an Erlang map. Keys are distinct by exact equality (1 and 1.0 are
// two keys) and kept in Erlang's map-key order (term order, except that
// every integer sorts before every float). Put and Remove return a new map that
// shares every untouched part with the old one.
type Map struct {
	keys []Term
	vals []Term
	hash hashCache
}

// Pair is one key/value association of a map.
type Pair struct{ Key, Value Term }

var emptyMap = &Map{}

// EmptyMap returns #{}.
func EmptyMap() *Map { return emptyMap }

// MapOf returns the map of pairs; a later pair wins over an earlier one with
// the same key, as in #{k => 1, k => 2}.
func MapOf(pairs ...Pair) *Map {
	m := emptyMap
	for _, p := range pairs {
		m = m.Put(p.Key, p.Value)
	}
	return m
}

// mapFromSorted takes ownership of keys and vals, which must be sorted by
// map-key order with no duplicates.
func mapFromSorted(keys, vals []Term) *Map {
	if len(keys) == 0 {
		return emptyMap
	}
	return &Map{keys: keys, vals: vals}
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.keys) }

func (m *Map) find(k Term) (int, bool) {
	i := sort.Search(len(m.keys), func(i int) bool { return compareKeys(m.keys[i], k) >= 0 })
	return i, i < len(m.keys) && compareKeys(m.keys[i], k) == 0
}

// Get returns the value under k.
func (m *Map) Get(k Term) (Term, bool) {
	if i, ok := m.find(k); ok {
		return m.vals[i], true
	}
	return nil, false
}

// Put returns the map with k associated to v.
func (m *Map) Put(k, v Term) *Map {
	if k == nil || v == nil {
		panic("term: nil Term in Map.Put")
	}
	i, ok := m.find(k)
	keys := append([]Term(nil), m.keys...)
	vals := append([]Term(nil), m.vals...)
	if ok {
		vals[i] = v
	} else {
		keys = append(keys[:i], append([]Term{k}, keys[i:]...)...)
		vals = append(vals[:i], append([]Term{v}, vals[i:]...)...)
	}
	return &Map{keys: keys, vals: vals}
}

// Update returns the map with the value under k replaced by f(value); f gets
// nil and false when k is absent.
func (m *Map) Update(k Term, f func(v Term, ok bool) Term) *Map {
	v, ok := m.Get(k)
	return m.Put(k, f(v, ok))
}

// Remove returns the map without k (the same map when k is absent).
func (m *Map) Remove(k Term) *Map {
	i, ok := m.find(k)
	if !ok {
		return m
	}
	keys := append(append([]Term(nil), m.keys[:i]...), m.keys[i+1:]...)
	vals := append(append([]Term(nil), m.vals[:i]...), m.vals[i+1:]...)
	return mapFromSorted(keys, vals)
}

// All iterates over the pairs in map-key order.
func (m *Map) All() iter.Seq2[Term, Term] {
	return func(yield func(Term, Term) bool) {
		for i, k := range m.keys {
			if !yield(k, m.vals[i]) {
				return
			}
		}
	}
}

// MapEdits calls fn, in map-key order, for every key whose value is not the
// same in old and new: oldV is nil for a key only in new, newV is nil for a
// key only in old. Shared structure is skipped without being looked at.
// It stops early when fn returns false.
func MapEdits(old, new *Map, fn func(key, oldV, newV Term) bool) {
	i, j := 0, 0
	for i < len(old.keys) || j < len(new.keys) {
		var c int
		switch {
		case i == len(old.keys):
			c = 1
		case j == len(new.keys):
			c = -1
		default:
			c = compareKeys(old.keys[i], new.keys[j])
		}
		switch {
		case c < 0:
			if !fn(old.keys[i], old.vals[i], nil) {
				return
			}
			i++
		case c > 0:
			if !fn(new.keys[j], nil, new.vals[j]) {
				return
			}
			j++
		default:
			if !Same(old.vals[i], new.vals[j]) && !fn(new.keys[j], old.vals[i], new.vals[j]) {
				return
			}
			i++
			j++
		}
	}
}
