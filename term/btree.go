package term

import (
	"encoding/binary"
	"sync/atomic"
)

// The map tree: a persistent B+-tree of pairs sorted by map-key order
// (compareKeys). Leaves are at height 0 and hold up to btreeLeafMax pairs in
// two parallel slices; an inner node holds up to btreeNodeMax children, each
// with a lower bound of its keys that is above every key of the child
// before it. Nodes other than the root are at least half full. Nodes are
// never changed once built (their hash caches aside): updates copy one path
// and share everything else.
//
// Every key in a node (a leaf's keys, an inner node's bounds) is kept with
// its order-preserving 8-byte prefix (keyPrefix), so that searches compare
// the prefixes, stored in the node, and read a key object only when two
// prefixes tie. Most map keys are binaries, whose prefix is their first 8
// bytes: in a map that is not in the caches, a search then costs the node's
// own lines instead of a miss on every key it compares.
const (
	btreeLeafMax = 32
	btreeLeafMin = btreeLeafMax / 2
	btreeNodeMax = 32
	btreeNodeMin = btreeNodeMax / 2
)

type mnode struct {
	keys []Term   // leaf: the keys, sorted
	pfx  []uint64 // leaf: keyPrefix of each key, parallel to keys
	vals []Term   // leaf: the values, parallel to keys
	kids []mchild // inner node: the children in key order
	n    int      // number of pairs under the node
	h    uint8    // height: 0 for a leaf

	// sum caches the wrapping sum of the pair hashes; sumOK is set after it.
	sum   atomic.Uint64
	sumOK atomic.Bool
}

// mchild is one child of an inner node with a lower bound of its keys and
// the bound's keyPrefix.
type mchild struct {
	node *mnode
	key  Term
	pfx  uint64
}

// keyPrefix returns a summary of map key k that orders as k does, without
// deciding ties: whenever compareKeys(a, b) < 0, keyPrefix(a) <=
// keyPrefix(b). A binary's is its first 8 bytes, big-endian, zero-padded
// (binaries are the last kind in map-key order, and compareBinaries orders
// their bytes lexicographically, a prefix first); every other key's is 0.
// Keys with different prefixes therefore compare as their prefixes do,
// and only a tie needs compareKeys.
func keyPrefix(k Term) uint64 {
	b, ok := k.(*Binary)
	if !ok || b.spans() == 0 {
		return 0
	}
	return bytesPrefix(b.span(0))
}

// bytesPrefix returns the first 8 bytes of s, big-endian, zero-padded.
func bytesPrefix(s []byte) uint64 {
	if len(s) >= 8 {
		return binary.BigEndian.Uint64(s)
	}
	var p uint64
	for i, c := range s {
		p |= uint64(c) << (56 - 8*i)
	}
	return p
}

// keyPrefixes returns the keyPrefix of each of keys.
func keyPrefixes(keys []Term) []uint64 {
	p := make([]uint64, len(keys))
	for i, k := range keys {
		p[i] = keyPrefix(k)
	}
	return p
}

// compareKeyAt orders the key a (with prefix pa) and the key b (with
// prefix pb) as compareKeys does, reading a and b only when the prefixes
// tie.
func compareKeyAt(pa uint64, a Term, pb uint64, b Term) int {
	if pa != pb {
		if pa < pb {
			return -1
		}
		return 1
	}
	return compareKeys(a, b)
}

// btreeLeaf returns the leaf of keys, their prefixes and vals (parallel
// slices, which it takes).
func btreeLeaf(keys []Term, pfx []uint64, vals []Term) *mnode {
	return &mnode{keys: keys, pfx: pfx, vals: vals, n: len(keys)}
}

// btreeInner returns the inner node over nodes (at least one, all of one
// height), using each node's first key as its bound.
func btreeInner(nodes []*mnode) *mnode {
	kids := make([]mchild, len(nodes))
	n := 0
	for i, c := range nodes {
		kids[i] = c.bound()
		n += c.n
	}
	return &mnode{kids: kids, n: n, h: nodes[0].h + 1}
}

func (x *mnode) firstKey() Term {
	if x.h == 0 {
		return x.keys[0]
	}
	return x.kids[0].key
}

// bound returns x as a child bounded by its first key.
func (x *mnode) bound() mchild {
	if x.h == 0 {
		return mchild{x, x.keys[0], x.pfx[0]}
	}
	return mchild{x, x.kids[0].key, x.kids[0].pfx}
}

func (x *mnode) width() int {
	if x.h == 0 {
		return len(x.keys)
	}
	return len(x.kids)
}

// buildBtree returns a balanced tree over sorted keys, their prefixes
// (computed here when pfx is nil) and vals in O(n), taking ownership of
// all three: leaves are capacity-capped subslices.
func buildBtree(keys []Term, pfx []uint64, vals []Term) *mnode {
	n := len(keys)
	nl := (n + btreeLeafMax - 1) / btreeLeafMax
	leaves := make([]mnode, nl)
	level := make([]*mnode, nl)
	if pfx == nil {
		pfx = keyPrefixes(keys)
	}
	for i := range leaves {
		lo, hi := i*n/nl, (i+1)*n/nl
		leaves[i].keys = keys[lo:hi:hi]
		leaves[i].pfx = pfx[lo:hi:hi]
		leaves[i].vals = vals[lo:hi:hi]
		leaves[i].n = hi - lo
		level[i] = &leaves[i]
	}
	for len(level) > 1 {
		m := len(level)
		np := (m + btreeNodeMax - 1) / btreeNodeMax
		nodes := make([]mnode, np)
		kids := make([]mchild, m)
		for i := range nodes {
			lo, hi := i*m/np, (i+1)*m/np
			cnt := 0
			for k := lo; k < hi; k++ {
				kids[k] = level[k].bound()
				cnt += level[k].n
			}
			nodes[i].kids = kids[lo:hi:hi]
			nodes[i].n = cnt
			nodes[i].h = level[lo].h + 1
			level[i] = &nodes[i]
		}
		level = level[:np]
	}
	return level[0]
}

// search returns the first index of the leaf whose key is not below k
// (whose prefix is kp), and whether that key is k.
func (x *mnode) search(kp uint64, k Term) (int, bool) {
	lo, hi := 0, len(x.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareKeyAt(x.pfx[m], x.keys[m], kp, k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(x.keys) && x.pfx[lo] == kp && compareKeys(x.keys[lo], k) == 0
}

// route returns the child of an inner node where k (whose prefix is kp)
// belongs: the last one whose bound is not above k (the first when k is
// below them all).
func (x *mnode) route(kp uint64, k Term) int {
	lo, hi := 1, len(x.kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c := &x.kids[m]; compareKeyAt(c.pfx, c.key, kp, k) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (x *mnode) get(k Term) (Term, bool) {
	kp := keyPrefix(k)
	for x.h > 0 {
		x = x.kids[x.route(kp, k)].node
	}
	if i, ok := x.search(kp, k); ok {
		return x.vals[i], true
	}
	return nil, false
}

// put returns x with k associated to v as one node, or two when x
// overflowed; it returns x itself when v is already the value under k.
func (x *mnode) put(k, v Term) []*mnode {
	return x.putPrefixed(keyPrefix(k), k, v)
}

// putPrefixed is put of k, whose prefix is kp.
func (x *mnode) putPrefixed(kp uint64, k, v Term) []*mnode {
	if x.h == 0 {
		i, ok := x.search(kp, k)
		if ok {
			if Same(x.vals[i], v) {
				return []*mnode{x}
			}
			nx := x.withVals()
			nx.vals[i] = v
			if s, ok := x.cachedSum(); ok {
				nx.storeSum(s - pairHash(k, x.vals[i]) + pairHash(k, v))
			}
			return []*mnode{nx}
		}
		keys := make([]Term, 0, len(x.keys)+1)
		keys = append(append(append(keys, x.keys[:i]...), k), x.keys[i:]...)
		pfx := make([]uint64, 0, len(x.pfx)+1)
		pfx = append(append(append(pfx, x.pfx[:i]...), kp), x.pfx[i:]...)
		vals := make([]Term, 0, len(x.vals)+1)
		vals = append(append(append(vals, x.vals[:i]...), v), x.vals[i:]...)
		if len(keys) <= btreeLeafMax {
			nx := btreeLeaf(keys, pfx, vals)
			if s, ok := x.cachedSum(); ok {
				nx.storeSum(s + pairHash(k, v))
			}
			return []*mnode{nx}
		}
		h := len(keys) / 2
		return []*mnode{btreeLeaf(keys[:h:h], pfx[:h:h], vals[:h:h]), btreeLeaf(keys[h:], pfx[h:], vals[h:])}
	}
	c := x.route(kp, k)
	old := x.kids[c]
	parts := old.node.putPrefixed(kp, k, v)
	if len(parts) == 1 && parts[0] == old.node {
		return []*mnode{x}
	}
	kids := make([]mchild, 0, len(x.kids)+1)
	kids = append(kids, x.kids[:c]...)
	// Routing sends k to a later child only when k is not below its bound,
	// so only the first child's bound can drop.
	bound := mchild{parts[0], old.key, old.pfx}
	if c == 0 && compareKeyAt(kp, k, old.pfx, old.key) < 0 {
		bound.key, bound.pfx = k, kp
	}
	kids = append(kids, bound)
	n := x.n - old.node.n + parts[0].n
	if len(parts) == 2 {
		kids = append(kids, parts[1].bound())
		n += parts[1].n
	}
	kids = append(kids, x.kids[c+1:]...)
	if len(kids) <= btreeNodeMax {
		nx := &mnode{kids: kids, n: n, h: x.h}
		nx.carrySum(x, []*mnode{old.node}, parts)
		return []*mnode{nx}
	}
	return btreeSplitKids(kids, x.h)
}

// btreeSplitKids spreads kids evenly over two inner nodes of height h.
func btreeSplitKids(kids []mchild, h uint8) []*mnode {
	m := len(kids) / 2
	a, b := kids[:m:m], kids[m:]
	return []*mnode{{kids: a, n: mchildCount(a), h: h}, {kids: b, n: mchildCount(b), h: h}}
}

func mchildCount(kids []mchild) int {
	n := 0
	for _, c := range kids {
		n += c.node.n
	}
	return n
}

// remove returns x without k and whether k was there. The result may be
// less than half full; the caller merges it with a sibling.
func (x *mnode) remove(k Term) (*mnode, bool) {
	return x.removePrefixed(keyPrefix(k), k)
}

// removePrefixed is remove of k, whose prefix is kp.
func (x *mnode) removePrefixed(kp uint64, k Term) (*mnode, bool) {
	if x.h == 0 {
		i, ok := x.search(kp, k)
		if !ok {
			return x, false
		}
		keys := make([]Term, 0, len(x.keys)-1)
		keys = append(append(keys, x.keys[:i]...), x.keys[i+1:]...)
		pfx := make([]uint64, 0, len(x.pfx)-1)
		pfx = append(append(pfx, x.pfx[:i]...), x.pfx[i+1:]...)
		vals := make([]Term, 0, len(x.vals)-1)
		vals = append(append(vals, x.vals[:i]...), x.vals[i+1:]...)
		return btreeLeaf(keys, pfx, vals), true
	}
	c := x.route(kp, k)
	child, ok := x.kids[c].node.removePrefixed(kp, k)
	if !ok {
		return x, false
	}
	kids := make([]mchild, len(x.kids))
	copy(kids, x.kids)
	kids[c].node = child
	min := btreeNodeMin
	if child.h == 0 {
		min = btreeLeafMin
	}
	if child.width() < min && len(kids) > 1 {
		lo := c
		if c+1 == len(kids) {
			lo = c - 1
		}
		merged := btreeMergePair(kids[lo].node, kids[lo+1].node)
		repl := []mchild{{merged[0], kids[lo].key, kids[lo].pfx}}
		if len(merged) == 2 {
			repl = append(repl, merged[1].bound())
		}
		kids = append(append(kids[:lo:lo], repl...), kids[lo+2:]...)
	}
	return &mnode{kids: kids, n: x.n - 1, h: x.h}, true
}

// btreeMergePair merges neighbours a and b (of one height, one of them less
// than half full) into one node, or spreads their contents evenly over two.
func btreeMergePair(a, b *mnode) []*mnode {
	if a.h == 0 {
		n := len(a.keys) + len(b.keys)
		keys := append(append(make([]Term, 0, n), a.keys...), b.keys...)
		pfx := append(append(make([]uint64, 0, n), a.pfx...), b.pfx...)
		vals := append(append(make([]Term, 0, n), a.vals...), b.vals...)
		if n <= btreeLeafMax {
			return []*mnode{btreeLeaf(keys, pfx, vals)}
		}
		h := n / 2
		return []*mnode{btreeLeaf(keys[:h:h], pfx[:h:h], vals[:h:h]), btreeLeaf(keys[h:], pfx[h:], vals[h:])}
	}
	kids := append(append(make([]mchild, 0, len(a.kids)+len(b.kids)), a.kids...), b.kids...)
	if len(kids) <= btreeNodeMax {
		return []*mnode{{kids: kids, n: a.n + b.n, h: a.h}}
	}
	return btreeSplitKids(kids, a.h)
}

// leaves calls fn with each leaf in key order until fn returns false; it
// reports whether it went through all of them.
func (x *mnode) leaves(fn func(*mnode) bool) bool {
	if x.h == 0 {
		return fn(x)
	}
	for _, c := range x.kids {
		if !c.node.leaves(fn) {
			return false
		}
	}
	return true
}

func (x *mnode) sumHash() uint64 {
	if x.sumOK.Load() {
		return x.sum.Load()
	}
	var s uint64
	if x.h == 0 {
		for i, k := range x.keys {
			s += pairHash(k, x.vals[i])
		}
	} else {
		for _, c := range x.kids {
			s += c.node.sumHash()
		}
	}
	x.sum.Store(s)
	x.sumOK.Store(true)
	return s
}

// mapDiffer walks two trees top down in parallel, pairing identical
// subtrees and opening only the runs between them (as listDiffer does), and
// merges differing leaves by key. buf is a stack of expanded runs; the
// other slices are scratch space for runs of leaves.
type mapDiffer struct {
	fn             func(key, oldV, newV Term) bool
	stop           bool
	buf            []*mnode
	ka, va, kb, vb []Term
}

func (d *mapDiffer) expand(s []*mnode) []*mnode {
	mark := len(d.buf)
	for _, x := range s {
		for _, c := range x.kids {
			d.buf = append(d.buf, c.node)
		}
	}
	return d.buf[mark:]
}

func (d *mapDiffer) call(k, ov, nv Term) {
	if !d.stop && !d.fn(k, ov, nv) {
		d.stop = true
	}
}

// oneSided reports every pair under s as only in old (or only in new).
func (d *mapDiffer) oneSided(s []*mnode, inOld bool) {
	for _, x := range s {
		x.leaves(func(l *mnode) bool {
			for i, k := range l.keys {
				if inOld {
					d.call(k, l.vals[i], nil)
				} else {
					d.call(k, nil, l.vals[i])
				}
				if d.stop {
					return false
				}
			}
			return true
		})
	}
}

// seq diffs the subtree sequences xs and ys, which cover the same range of
// keys.
func (d *mapDiffer) seq(xs, ys []*mnode) {
	if d.stop {
		return
	}
	if len(xs) == 0 || len(ys) == 0 {
		d.oneSided(xs, true)
		d.oneSided(ys, false)
		return
	}
	if hx, hy := xs[0].h, ys[0].h; hx != hy {
		mark := len(d.buf)
		if hx > hy {
			d.seq(d.expand(xs), ys)
		} else {
			d.seq(xs, d.expand(ys))
		}
		d.buf = d.buf[:mark]
		return
	}
	var idx map[*mnode]int
	i, j, ri, rj := 0, 0, 0, 0
	for i < len(xs) && j < len(ys) && !d.stop {
		switch {
		case xs[i] == ys[j]:
			// An anchor: what lies between it and the last one differs.
			d.run(xs[ri:i], ys[rj:j])
		case ri == i && rj == j && sameKeyRange(xs, ys, i, j):
			// A subtree changed in place, the shape Put of an existing key
			// leaves: open it against its counterpart.
			d.run(xs[i:i+1], ys[j:j+1])
		default:
			k, l, ok := mnodeSync(xs, ys, i, j, &idx)
			if !ok {
				i, j = len(xs), len(ys)
				continue
			}
			i, j = k, l
			continue
		}
		i, j = i+1, j+1
		ri, rj = i, j
	}
	d.run(xs[ri:], ys[rj:])
}

// sameKeyRange reports whether xs[i] and ys[j] hold the keys of one range:
// they start at the same bound, and so do the nodes after them (or both are
// last). Every key before a node is below its bound, so no other node of
// either sequence has keys in that range.
func sameKeyRange(xs, ys []*mnode, i, j int) bool {
	if !keysEqual(xs[i].firstKey(), ys[j].firstKey()) {
		return false
	}
	lastX, lastY := i+1 == len(xs), j+1 == len(ys)
	if lastX || lastY {
		return lastX && lastY
	}
	return keysEqual(xs[i+1].firstKey(), ys[j+1].firstKey())
}

func keysEqual(a, b Term) bool { return a == b || compareKeys(a, b) == 0 }

func (d *mapDiffer) run(xs, ys []*mnode) {
	if d.stop || (len(xs) == 0 && len(ys) == 0) {
		return
	}
	if len(xs) == 0 || len(ys) == 0 {
		d.seq(xs, ys)
		return
	}
	if xs[0].h == 0 {
		d.leaves(xs, ys)
		return
	}
	if len(xs) == 1 && len(ys) == 1 && d.pair(xs[0], ys[0]) {
		return
	}
	mark := len(d.buf)
	d.seq(d.expand(xs), d.expand(ys))
	d.buf = d.buf[:mark]
}

// pair diffs two inner nodes of one shape (the same children bounds, as Put
// of existing keys leaves them) child by child, without expanding them; it
// reports false, having done nothing, when the shapes differ.
func (d *mapDiffer) pair(x, y *mnode) bool {
	if x.h != y.h || len(x.kids) != len(y.kids) {
		return false
	}
	for k := range x.kids {
		if x.kids[k].key != y.kids[k].key { // Same, cheaply
			return false
		}
	}
	for k, c := range x.kids {
		if d.stop {
			break
		}
		if c.node == y.kids[k].node {
			continue
		}
		cx, cy := c.node, y.kids[k].node
		switch {
		case cx.h == 0 && cy.h == 0:
			d.leaves([]*mnode{cx}, []*mnode{cy})
		case !d.pair(cx, cy):
			d.run([]*mnode{cx}, []*mnode{cy})
		}
	}
	return true
}

// mnodeSync finds the next pair of identical subtrees at or after xs[i],
// ys[j] (see lspanSync).
func mnodeSync(xs, ys []*mnode, i, j int, idx *map[*mnode]int) (int, int, bool) {
	const window = 8
	for s := 1; s <= window; s++ {
		for a := 0; a <= s; a++ {
			k, l := i+a, j+s-a
			if k < len(xs) && l < len(ys) && xs[k] == ys[l] {
				return k, l, true
			}
		}
	}
	if *idx == nil {
		*idx = make(map[*mnode]int, len(xs)-i)
		for k := len(xs) - 1; k >= i; k-- {
			(*idx)[xs[k]] = k
		}
	}
	for l := j; l < len(ys); l++ {
		if k, ok := (*idx)[ys[l]]; ok && k >= i {
			return k, l, true
		}
	}
	return 0, 0, false
}

// leaves merges two runs of leaves by key. Keys that are the same object
// need no comparison, which is the common case for a leaf copied by Put.
func (d *mapDiffer) leaves(xs, ys []*mnode) {
	ka, va := gatherLeaves(xs, &d.ka, &d.va)
	kb, vb := gatherLeaves(ys, &d.kb, &d.vb)
	i, j := 0, 0
	for (i < len(ka) || j < len(kb)) && !d.stop {
		// Entries the leaves share are skipped a block at a time: the
		// values first, which stop at a changed one; the keys up to there.
		if k := identicalRun(va[i:], vb[j:]); k > 0 {
			if k = identicalRun(ka[i:i+k], kb[j:j+k]); k > 0 {
				i, j = i+k, j+k
				continue
			}
		}
		var c int
		switch {
		case i == len(ka):
			c = 1
		case j == len(kb):
			c = -1
		case Identical(ka[i], kb[j]) || ka[i] == kb[j]: // Same, cheaply (see listDiffer.leaves)
			c = 0
		default:
			c = compareKeys(ka[i], kb[j])
		}
		switch {
		case c < 0:
			d.call(ka[i], va[i], nil)
			i++
		case c > 0:
			d.call(kb[j], nil, vb[j])
			j++
		default:
			if !Identical(va[i], vb[j]) && va[i] != vb[j] {
				d.call(kb[j], va[i], vb[j])
			}
			i++
			j++
		}
	}
}

func gatherLeaves(s []*mnode, ks, vs *[]Term) ([]Term, []Term) {
	if len(s) == 1 {
		return s[0].keys, s[0].vals
	}
	k, v := (*ks)[:0], (*vs)[:0]
	for _, x := range s {
		k = append(k, x.keys...)
		v = append(v, x.vals...)
	}
	*ks, *vs = k, v
	return k, v
}
