package term

import (
	"cmp"
	"slices"
)

// Batched updates and hash carrying.
//
// SetMany and PutMany apply many changes to a list or a map in one pass:
// every node on the paths to the changes is copied once per batch instead of
// once per change, and the result is an ordinary immutable term that shares
// every untouched node with the input, exactly as the same changes made one
// at a time with Set or Put would give.
//
// The updates also carry content hashes: when a node being copied has its
// hash cached (the old term was hashed, as a replicated state is after
// every step), the copy gets its hash from the old one and the hashes of the
// changed elements, in O(1) per change and node, instead of rehashing all
// the elements of a 32-element leaf on the next Hash. Nodes whose old hash
// is not cached stay lazy, so terms that are never hashed never pay for it.

// cachedPoly returns the node's cached polynomial hash and P^n.
func (x *lnode) cachedPoly() (poly, pow uint64, ok bool) {
	p := x.poly.Load()
	if p&polyCached == 0 {
		return 0, 0, false
	}
	return p &^ polyCached, x.pow.Load(), true
}

// storePoly caches a polynomial hash on a node that is not shared yet.
func (x *lnode) storePoly(poly, pow uint64) {
	x.pow.Store(pow)
	x.poly.Store(poly | polyCached)
}

// polySub returns a-b mod 2^61-1 for a, b < 2^61-1.
func polySub(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + polyMod - b
}

// leafDelta returns what replacing element i of leaf x by element i of leaf
// nx adds to the leaf's polynomial hash: (h(new) - h(old))·P^(n-1-i).
func (x *lnode) leafDelta(nx *lnode, i int) uint64 {
	d := polySub(Hash(nx.elems[i])%polyMod, Hash(x.elems[i])%polyMod)
	return polyMulMod(d, polyPow(len(x.elems)-1-i))
}

// kidDelta returns what replacing child k of x by child k of nx (of the same
// length) adds to the polynomial hash of x: the difference of the children's
// hashes times P to the number of elements after the child.
func (x *lnode) kidDelta(nx *lnode, k int) uint64 {
	op, _ := x.kids[k].node.polyHash()
	np, _ := nx.kids[k].node.polyHash()
	return polyMulMod(polySub(np, op), polyPow(x.n-x.kids[k].end))
}

// cachedSum returns the node's cached sum of pair hashes.
func (x *mnode) cachedSum() (uint64, bool) {
	if !x.sumOK.Load() {
		return 0, false
	}
	return x.sum.Load(), true
}

// storeSum caches the sum of pair hashes on a node that is not shared yet.
func (x *mnode) storeSum(s uint64) {
	x.sum.Store(s)
	x.sumOK.Store(true)
}

// carrySum caches on nx, the copy of inner node x in which the children
// olds were replaced by the nodes news, its sum of pair hashes, when x has
// one cached.
func (nx *mnode) carrySum(x *mnode, olds, news []*mnode) {
	s, ok := x.cachedSum()
	if !ok {
		return
	}
	for _, c := range olds {
		s -= c.sumHash()
	}
	for _, c := range news {
		s += c.sumHash()
	}
	nx.storeSum(s)
}

// ListElem is an element of a list or tuple and its index, as List.SetMany
// and Tuple.SetMany take them.
type ListElem struct {
	Index int
	Value Term
}

// SetMany returns the list with element e.Index replaced by e.Value for
// every e in elems: the same list as calling Set for each in turn (when an
// index repeats, the last value wins), built in one pass that copies each
// node on the paths to the changes once. It panics if an index is out of
// range or a value is nil, as Set does. elems may be in any order; sorted
// by index it is not copied.
func (l *List) SetMany(elems []ListElem) *List {
	if len(elems) == 0 {
		return l
	}
	sorted := true
	for i, e := range elems {
		if e.Value == nil {
			panic("term: nil Term in List.SetMany")
		}
		l.checkIndex(e.Index)
		if i > 0 && elems[i-1].Index >= e.Index {
			sorted = false
		}
	}
	if !sorted {
		s := slices.Clone(elems)
		slices.SortStableFunc(s, func(a, b ListElem) int { return cmp.Compare(a.Index, b.Index) })
		elems = s[:0]
		for _, e := range s {
			if n := len(elems); n > 0 && elems[n-1].Index == e.Index {
				elems[n-1] = e
				continue
			}
			elems = append(elems, e)
		}
	}
	return &List{root: l.root.setMany(elems, 0), tail: l.tail}
}

// setMany returns x with the elements replaced; elems are sorted, distinct
// and all under x, whose first element has index base.
func (x *lnode) setMany(elems []ListElem, base int) *lnode {
	p, w, cached := x.cachedPoly()
	if x.h == 0 {
		nx := copyLeaf(x.elems)
		e := nx.elems
		for _, el := range elems {
			e[el.Index-base] = el.Value
		}
		if cached {
			for _, el := range elems {
				p = polyAdd(p, x.leafDelta(nx, el.Index-base))
			}
			nx.storePoly(p, w)
		}
		return nx
	}
	kids := make([]lchild, len(x.kids))
	copy(kids, x.kids)
	nx := &lnode{kids: kids, n: x.n, h: x.h}
	for len(elems) > 0 {
		k := x.find(elems[0].Index - base)
		end := base + x.kids[k].end
		j := 1
		for j < len(elems) && elems[j].Index < end {
			j++
		}
		kids[k].node = x.kids[k].node.setMany(elems[:j], base+x.start(k))
		if cached {
			p = polyAdd(p, x.kidDelta(nx, k))
		}
		elems = elems[j:]
	}
	if cached {
		nx.storePoly(p, w)
	}
	return nx
}

// PutMany returns the map with every pair put: the same map as calling Put
// for each in turn (when a key repeats, the last value wins), built in one
// pass that copies each node on the paths to the changes once. Pairs whose
// value is already the one under their key (Same) change nothing, and when
// none changes anything PutMany returns m. It panics if a key or value is
// nil, as Put does. pairs may be in any order; sorted by map-key order with
// distinct keys it is not copied.
func (m *Map) PutMany(pairs []Pair) *Map {
	if len(pairs) == 0 {
		return m
	}
	sorted := true
	for i, p := range pairs {
		if p.Key == nil || p.Value == nil {
			panic("term: nil Term in Map.PutMany")
		}
		if i > 0 && sorted && compareKeys(pairs[i-1].Key, p.Key) >= 0 {
			sorted = false
		}
	}
	if !sorted {
		s := slices.Clone(pairs)
		slices.SortStableFunc(s, func(a, b Pair) int { return compareKeys(a.Key, b.Key) })
		pairs = s[:0]
		for _, p := range s {
			// As with Put, the first key object stays and the last value
			// wins.
			if n := len(pairs); n > 0 && compareKeys(pairs[n-1].Key, p.Key) == 0 {
				pairs[n-1].Value = p.Value
				continue
			}
			pairs = append(pairs, p)
		}
	}
	if m.root == nil {
		keys := make([]Term, len(pairs))
		vals := make([]Term, len(pairs))
		for i, p := range pairs {
			keys[i], vals[i] = p.Key, p.Value
		}
		return mapFromSorted(keys, vals)
	}
	// The pairs' key prefixes, parallel to pairs.
	var buf [64]uint64
	kps := buf[:0]
	if len(pairs) > len(buf) {
		kps = make([]uint64, 0, len(pairs))
	}
	for _, p := range pairs {
		kps = append(kps, keyPrefix(p.Key))
	}
	if len(pairs) >= minWarmPairs && m.root.n >= minWarmMap {
		keep(m.root.warmPaths(pairs, kps))
	}
	parts := m.root.putMany(pairs, kps)
	if len(parts) == 1 && parts[0] == m.root {
		return m
	}
	for len(parts) > 1 {
		parts = btreeGroup(parts, btreeNodeMax)
	}
	return &Map{root: parts[0]}
}

// putMany returns x with the pairs (sorted, distinct, all routed to x,
// with their keys' prefixes in kps) put, as one node or several of x's
// height, each at least half full; it returns x itself when nothing
// changes.
func (x *mnode) putMany(pairs []Pair, kps []uint64) []*mnode {
	if x.h == 0 {
		return x.putManyLeaf(pairs, kps)
	}
	var kids []mchild // nil until a child changes
	var olds, news []*mnode
	next := 0 // the first child of x not yet in kids
	for c := 0; c < len(x.kids) && len(pairs) > 0; c++ {
		// The pairs routed to child c are those below the next bound.
		j := len(pairs)
		if c+1 < len(x.kids) {
			j = 0
			next := &x.kids[c+1]
			for j < len(pairs) && compareKeyAt(kps[j], pairs[j].Key, next.pfx, next.key) < 0 {
				j++
			}
		}
		if j == 0 {
			continue
		}
		old := x.kids[c]
		parts := old.node.putMany(pairs[:j], kps[:j])
		pairs, kps = pairs[j:], kps[j:]
		if len(parts) == 1 && parts[0] == old.node {
			continue
		}
		if kids == nil {
			kids = make([]mchild, 0, len(x.kids)+len(parts))
		}
		kids = append(kids, x.kids[next:c]...)
		next = c + 1
		bound := mchild{parts[0], old.key, old.pfx}
		if first := parts[0].bound(); c == 0 && compareKeyAt(first.pfx, first.key, old.pfx, old.key) < 0 {
			bound.key, bound.pfx = first.key, first.pfx
		}
		kids = append(kids, bound)
		for _, p := range parts[1:] {
			kids = append(kids, p.bound())
		}
		olds = append(olds, old.node)
		news = append(news, parts...)
	}
	if kids == nil {
		return []*mnode{x}
	}
	kids = append(kids, x.kids[next:]...)
	if len(kids) <= btreeNodeMax {
		nx := &mnode{kids: kids, n: mchildCount(kids), h: x.h}
		nx.carrySum(x, olds, news)
		return []*mnode{nx}
	}
	nodes := make([]*mnode, 0, len(kids)/btreeNodeMin)
	for _, g := range evenGroups(len(kids), btreeNodeMax) {
		part := kids[g[0]:g[1]:g[1]]
		nodes = append(nodes, &mnode{kids: part, n: mchildCount(part), h: x.h})
	}
	return nodes
}

// putManyLeaf merges sorted pairs (with their keys' prefixes in kps) into
// leaf x.
func (x *mnode) putManyLeaf(pairs []Pair, kps []uint64) []*mnode {
	// Where each pair goes, and whether the leaf keeps its keys.
	allThere := true
	for j, p := range pairs {
		if _, ok := x.search(kps[j], p.Key); !ok {
			allThere = false
			break
		}
	}
	if allThere {
		var nx *mnode
		s, cached := x.cachedSum()
		for j, p := range pairs {
			i, _ := x.search(kps[j], p.Key)
			if Same(x.vals[i], p.Value) {
				continue
			}
			if nx == nil {
				nx = x.withVals()
			}
			nx.vals[i] = p.Value
			if cached {
				s += pairHash(x.keys[i], p.Value) - pairHash(x.keys[i], x.vals[i])
			}
		}
		if nx == nil {
			return []*mnode{x}
		}
		if cached {
			nx.storeSum(s)
		}
		return []*mnode{nx}
	}
	n := len(x.keys) + len(pairs)
	keys := make([]Term, 0, n)
	pfx := make([]uint64, 0, n)
	vals := make([]Term, 0, n)
	i := 0
	for j, p := range pairs {
		kp := kps[j]
		for i < len(x.keys) && compareKeyAt(x.pfx[i], x.keys[i], kp, p.Key) < 0 {
			keys, pfx, vals = append(keys, x.keys[i]), append(pfx, x.pfx[i]), append(vals, x.vals[i])
			i++
		}
		if i < len(x.keys) && x.pfx[i] == kp && compareKeys(x.keys[i], p.Key) == 0 {
			keys, pfx, vals = append(keys, x.keys[i]), append(pfx, x.pfx[i]), append(vals, p.Value)
			i++
			continue
		}
		keys, pfx, vals = append(keys, p.Key), append(pfx, kp), append(vals, p.Value)
	}
	keys, pfx, vals = append(keys, x.keys[i:]...), append(pfx, x.pfx[i:]...), append(vals, x.vals[i:]...)
	groups := evenGroups(len(keys), btreeLeafMax)
	out := make([]*mnode, len(groups))
	for g, r := range groups {
		out[g] = btreeLeaf(keys[r[0]:r[1]:r[1]], pfx[r[0]:r[1]:r[1]], vals[r[0]:r[1]:r[1]])
	}
	return out
}

// A leaf copied to change some of its elements or values is allocated with
// them in one object: one allocation instead of two, and one place in
// memory for the next update (or Hash) of that leaf to load.
type (
	lleaf struct {
		x lnode
		a [ropeLeafMax]Term
	}
	mleaf struct {
		x mnode
		a [btreeLeafMax]Term
	}
)

// copyLeaf returns a new list leaf holding a copy of elems (at most
// ropeLeafMax).
func copyLeaf(elems []Term) *lnode {
	p := new(lleaf)
	e := p.a[:len(elems):len(elems)]
	copy(e, elems)
	p.x.elems, p.x.n = e, len(e)
	return &p.x
}

// withVals returns a copy of leaf x with its keys (shared) and a copy of
// its values, to be changed before the copy is shared.
func (x *mnode) withVals() *mnode {
	p := new(mleaf)
	v := p.a[:len(x.vals):len(x.vals)]
	copy(v, x.vals)
	p.x.keys, p.x.pfx, p.x.vals, p.x.n = x.keys, x.pfx, v, len(v)
	return &p.x
}

// evenGroups cuts n items into the fewest runs of at most max items, of
// sizes differing by at most one (so each holds at least max/2 when there
// are two or more), and returns their [lo, hi) bounds.
func evenGroups(n, max int) [][2]int {
	k := (n + max - 1) / max
	out := make([][2]int, k)
	for i := range out {
		out[i] = [2]int{i * n / k, (i + 1) * n / k}
	}
	return out
}

// btreeGroup puts nodes of one height under as few inner nodes of at most
// max children as it takes, spread evenly.
func btreeGroup(nodes []*mnode, max int) []*mnode {
	groups := evenGroups(len(nodes), max)
	out := make([]*mnode, len(groups))
	for g, r := range groups {
		out[g] = btreeInner(nodes[r[0]:r[1]])
	}
	return out
}
