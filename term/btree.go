package term

import "sync/atomic"

// The map tree: a persistent B+-tree of pairs sorted by map-key order
// (compareKeys). Leaves are at height 0 and hold up to btreeLeafMax pairs in
// two parallel slices; an inner node holds up to btreeNodeMax children, each
// with a lower bound of its keys that is above every key of the child
// before it. Nodes other than the root are at least half full. Nodes are
// never changed once built (their hash caches aside): updates copy one path
// and share everything else.
const (
	btreeLeafMax = 64
	btreeLeafMin = btreeLeafMax / 2
	btreeNodeMax = 32
	btreeNodeMin = btreeNodeMax / 2
)

type mnode struct {
	keys []Term   // leaf: the keys, sorted
	vals []Term   // leaf: the values, parallel to keys
	kids []mchild // inner node: the children in key order
	n    int      // number of pairs under the node
	h    uint8    // height: 0 for a leaf

	// sum caches the wrapping sum of the pair hashes; sumOK is set after it.
	sum   atomic.Uint64
	sumOK atomic.Bool
}

// mchild is one child of an inner node with a lower bound of its keys.
type mchild struct {
	node *mnode
	key  Term
}

func btreeLeaf(keys, vals []Term) *mnode {
	return &mnode{keys: keys, vals: vals, n: len(keys)}
}

// btreeInner returns the inner node over nodes (at least one, all of one
// height), using each node's first key as its bound.
func btreeInner(nodes []*mnode) *mnode {
	kids := make([]mchild, len(nodes))
	n := 0
	for i, c := range nodes {
		kids[i] = mchild{c, c.firstKey()}
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

func (x *mnode) width() int {
	if x.h == 0 {
		return len(x.keys)
	}
	return len(x.kids)
}

// buildBtree returns a balanced tree over sorted keys and vals in O(n),
// taking ownership of both: leaves are capacity-capped subslices.
func buildBtree(keys, vals []Term) *mnode {
	n := len(keys)
	nl := (n + btreeLeafMax - 1) / btreeLeafMax
	leaves := make([]mnode, nl)
	level := make([]*mnode, nl)
	for i := range leaves {
		lo, hi := i*n/nl, (i+1)*n/nl
		leaves[i].keys = keys[lo:hi:hi]
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
				kids[k] = mchild{level[k], level[k].firstKey()}
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

// search returns the first index of the leaf whose key is not below k, and
// whether that key is k.
func (x *mnode) search(k Term) (int, bool) {
	lo, hi := 0, len(x.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareKeys(x.keys[m], k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(x.keys) && compareKeys(x.keys[lo], k) == 0
}

// route returns the child of an inner node where k belongs: the last one
// whose bound is not above k (the first when k is below them all).
func (x *mnode) route(k Term) int {
	lo, hi := 1, len(x.kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareKeys(x.kids[m].key, k) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (x *mnode) get(k Term) (Term, bool) {
	for x.h > 0 {
		x = x.kids[x.route(k)].node
	}
	if i, ok := x.search(k); ok {
		return x.vals[i], true
	}
	return nil, false
}

// put returns x with k associated to v as one node, or two when x
// overflowed; it returns x itself when v is already the value under k.
func (x *mnode) put(k, v Term) []*mnode {
	if x.h == 0 {
		i, ok := x.search(k)
		if ok {
			if Same(x.vals[i], v) {
				return []*mnode{x}
			}
			vals := make([]Term, len(x.vals))
			copy(vals, x.vals)
			vals[i] = v
			nx := btreeLeaf(x.keys, vals)
			if s, ok := x.cachedSum(); ok {
				nx.storeSum(s - pairHash(k, x.vals[i]) + pairHash(k, v))
			}
			return []*mnode{nx}
		}
		keys := make([]Term, 0, len(x.keys)+1)
		keys = append(append(append(keys, x.keys[:i]...), k), x.keys[i:]...)
		vals := make([]Term, 0, len(x.vals)+1)
		vals = append(append(append(vals, x.vals[:i]...), v), x.vals[i:]...)
		if len(keys) <= btreeLeafMax {
			nx := btreeLeaf(keys, vals)
			if s, ok := x.cachedSum(); ok {
				nx.storeSum(s + pairHash(k, v))
			}
			return []*mnode{nx}
		}
		h := len(keys) / 2
		return []*mnode{btreeLeaf(keys[:h:h], vals[:h:h]), btreeLeaf(keys[h:], vals[h:])}
	}
	c := x.route(k)
	old := x.kids[c]
	parts := old.node.put(k, v)
	if len(parts) == 1 && parts[0] == old.node {
		return []*mnode{x}
	}
	kids := make([]mchild, 0, len(x.kids)+1)
	kids = append(kids, x.kids[:c]...)
	// Routing sends k to a later child only when k is not below its bound,
	// so only the first child's bound can drop.
	bound := old.key
	if c == 0 && compareKeys(k, bound) < 0 {
		bound = k
	}
	kids = append(kids, mchild{parts[0], bound})
	n := x.n - old.node.n + parts[0].n
	if len(parts) == 2 {
		kids = append(kids, mchild{parts[1], parts[1].firstKey()})
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
	if x.h == 0 {
		i, ok := x.search(k)
		if !ok {
			return x, false
		}
		keys := make([]Term, 0, len(x.keys)-1)
		keys = append(append(keys, x.keys[:i]...), x.keys[i+1:]...)
		vals := make([]Term, 0, len(x.vals)-1)
		vals = append(append(vals, x.vals[:i]...), x.vals[i+1:]...)
		return btreeLeaf(keys, vals), true
	}
	c := x.route(k)
	child, ok := x.kids[c].node.remove(k)
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
		repl := []mchild{{merged[0], kids[lo].key}}
		if len(merged) == 2 {
			repl = append(repl, mchild{merged[1], merged[1].firstKey()})
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
		vals := append(append(make([]Term, 0, n), a.vals...), b.vals...)
		if n <= btreeLeafMax {
			return []*mnode{btreeLeaf(keys, vals)}
		}
		h := n / 2
		return []*mnode{btreeLeaf(keys[:h:h], vals[:h:h]), btreeLeaf(keys[h:], vals[h:])}
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
