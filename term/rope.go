package term

import "sync/atomic"

// The list rope: a persistent B+-tree of element chunks. Every leaf is at
// height 0 and holds 1..ropeLeafMax elements; an inner node at height h
// holds 1..ropeNodeMax children of height h-1 with the running element count
// at the end of each. Nodes other than the root are at least half full, so
// the height stays about log32(n/24). Nodes are never changed once built
// (their hash caches aside); updates copy the path from the root to the
// change and share everything else, and concatenation and splitting work
// level by level along one spine, copying O(log n) nodes.
const (
	ropeLeafMax = 32
	ropeLeafMin = ropeLeafMax / 2
	ropeNodeMax = 32
	ropeNodeMin = ropeNodeMax / 2
)

type lnode struct {
	elems []Term   // leaf: the elements (an immutable, capacity-capped slice)
	kids  []lchild // inner node: the children in order
	n     int      // number of elements under the node
	h     uint8    // height: 0 for a leaf

	// poly caches the polynomial hash of the elements (with polyCached set
	// once computed) and pow caches P^n; pow is stored before poly.
	poly atomic.Uint64
	pow  atomic.Uint64
}

// lchild is one child of an inner node and the element count of the node's
// children up to and including it.
type lchild struct {
	node *lnode
	end  int
}

// polyCached marks a cached polynomial hash (which is below 2^61).
const polyCached = 1 << 63

func ropeLeaf(elems []Term) *lnode { return &lnode{elems: elems, n: len(elems)} }

// ropeInner returns the inner node over nodes (at least one, all of one
// height).
func ropeInner(nodes []*lnode) *lnode {
	kids := make([]lchild, len(nodes))
	end := 0
	for i, c := range nodes {
		end += c.n
		kids[i] = lchild{c, end}
	}
	return &lnode{kids: kids, n: end, h: nodes[0].h + 1}
}

// ropeRoot returns the tree over nodes: nil for none, the node itself for
// one, an inner node above them otherwise.
func ropeRoot(nodes []*lnode) *lnode {
	switch len(nodes) {
	case 0:
		return nil
	case 1:
		return nodes[0]
	}
	return ropeInner(nodes)
}

func (x *lnode) width() int {
	if x.h == 0 {
		return len(x.elems)
	}
	return len(x.kids)
}

func ropeMin(h uint8) int {
	if h == 0 {
		return ropeLeafMin
	}
	return ropeNodeMin
}

func ropeMax(h uint8) int {
	if h == 0 {
		return ropeLeafMax
	}
	return ropeNodeMax
}

// start returns the index of the first element under child k.
func (x *lnode) start(k int) int {
	if k == 0 {
		return 0
	}
	return x.kids[k-1].end
}

// find returns the child holding element i (0 <= i < x.n).
func (x *lnode) find(i int) int {
	lo, hi := 0, len(x.kids)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.kids[m].end > i {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// buildRope returns a balanced tree over elems in O(n), taking ownership of
// elems: leaves are capacity-capped subslices of it. Leaves and inner nodes
// are spread evenly, so every non-root node is at least half full.
func buildRope(elems []Term) *lnode {
	n := len(elems)
	if n == 0 {
		return nil
	}
	nl := (n + ropeLeafMax - 1) / ropeLeafMax
	leaves := make([]lnode, nl)
	level := make([]*lnode, nl)
	for i := range leaves {
		lo, hi := i*n/nl, (i+1)*n/nl
		leaves[i].elems = elems[lo:hi:hi]
		leaves[i].n = hi - lo
		level[i] = &leaves[i]
	}
	for len(level) > 1 {
		m := len(level)
		np := (m + ropeNodeMax - 1) / ropeNodeMax
		nodes := make([]lnode, np)
		kids := make([]lchild, m)
		for i := range nodes {
			lo, hi := i*m/np, (i+1)*m/np
			end := 0
			for k := lo; k < hi; k++ {
				end += level[k].n
				kids[k] = lchild{level[k], end}
			}
			nodes[i].kids = kids[lo:hi:hi]
			nodes[i].n = end
			nodes[i].h = level[lo].h + 1
			level[i] = &nodes[i]
		}
		level = level[:np]
	}
	return level[0]
}

func (x *lnode) at(i int) Term {
	for x.h > 0 {
		k := x.find(i)
		i -= x.start(k)
		x = x.kids[k].node
	}
	return x.elems[i]
}

// set returns x with element i replaced by v, copying the path to it.
func (x *lnode) set(i int, v Term) *lnode {
	if x.h == 0 {
		nx := copyLeaf(x.elems)
		nx.elems[i] = v
		if p, w, ok := x.cachedPoly(); ok {
			nx.storePoly(polyAdd(p, x.leafDelta(nx, i)), w)
		}
		return nx
	}
	k := x.find(i)
	kids := make([]lchild, len(x.kids))
	copy(kids, x.kids)
	kids[k].node = x.kids[k].node.set(i-x.start(k), v)
	nx := &lnode{kids: kids, n: x.n, h: x.h}
	if p, w, ok := x.cachedPoly(); ok {
		nx.storePoly(polyAdd(p, x.kidDelta(nx, k)), w)
	}
	return nx
}

// leaves calls fn with each leaf's elements in order until fn returns false;
// it reports whether it went through all of them.
func (x *lnode) leaves(fn func([]Term) bool) bool {
	if x.h == 0 {
		return fn(x.elems)
	}
	for _, c := range x.kids {
		if !c.node.leaves(fn) {
			return false
		}
	}
	return true
}

// polyHash returns the polynomial hash of the elements under x and P^n.
func (x *lnode) polyHash() (poly, pow uint64) {
	if p := x.poly.Load(); p&polyCached != 0 {
		return p &^ polyCached, x.pow.Load()
	}
	var acc uint64
	pow = 1
	if x.h == 0 {
		for _, e := range x.elems {
			acc = polyPush(acc, Hash(e))
		}
		pow = polyPow(len(x.elems))
	} else {
		for _, c := range x.kids {
			cp, cw := c.node.polyHash()
			acc = polyAdd(polyMulMod(acc, cw), cp)
			pow = polyMulMod(pow, cw)
		}
	}
	x.pow.Store(pow)
	x.poly.Store(acc | polyCached)
	return acc, pow
}

// ropeJoin returns the concatenation of trees a and b (either may be nil).
// It copies the nodes along the right spine of a and the left spine of b
// down to the lower tree's height, and nothing else.
func ropeJoin(a, b *lnode) *lnode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.h == b.h:
		return ropeRoot(ropeMergePair(a, b))
	case a.h > b.h:
		return ropeRoot(ropeJoinRight(a, b))
	default:
		return ropeRoot(ropeJoinLeft(a, b))
	}
}

// ropeJoinRight hangs the lower tree b at the right end of a and returns one
// or two nodes of a's height.
func ropeJoinRight(a, b *lnode) []*lnode {
	last := a.kids[len(a.kids)-1].node
	var repl []*lnode
	if last.h == b.h {
		repl = ropeMergePair(last, b)
	} else {
		repl = ropeJoinRight(last, b)
	}
	nodes := make([]*lnode, 0, len(a.kids)-1+len(repl))
	for _, c := range a.kids[:len(a.kids)-1] {
		nodes = append(nodes, c.node)
	}
	return ropeSplitWide(append(nodes, repl...))
}

// ropeJoinLeft hangs the lower tree a at the left end of b and returns one
// or two nodes of b's height.
func ropeJoinLeft(a, b *lnode) []*lnode {
	first := b.kids[0].node
	var repl []*lnode
	if first.h == a.h {
		repl = ropeMergePair(a, first)
	} else {
		repl = ropeJoinLeft(a, first)
	}
	nodes := make([]*lnode, 0, len(b.kids)-1+len(repl))
	nodes = append(nodes, repl...)
	for _, c := range b.kids[1:] {
		nodes = append(nodes, c.node)
	}
	return ropeSplitWide(nodes)
}

// ropeSplitWide returns the inner node over nodes, or two half-full ones
// when nodes are more than a node holds.
func ropeSplitWide(nodes []*lnode) []*lnode {
	if len(nodes) <= ropeNodeMax {
		return []*lnode{ropeInner(nodes)}
	}
	h := len(nodes) / 2
	return []*lnode{ropeInner(nodes[:h:h]), ropeInner(nodes[h:])}
}

// ropeMergePair returns neighbours a and b (of one height) as nodes that are
// at least half full: both unchanged when they already are, else merged into
// one node or spread evenly over two.
func ropeMergePair(a, b *lnode) []*lnode {
	h := a.h
	wa, wb := a.width(), b.width()
	if wa >= ropeMin(h) && wb >= ropeMin(h) {
		return []*lnode{a, b}
	}
	if h == 0 {
		e := make([]Term, 0, wa+wb)
		e = append(append(e, a.elems...), b.elems...)
		if len(e) <= ropeLeafMax {
			return []*lnode{ropeLeaf(e)}
		}
		m := len(e) / 2
		return []*lnode{ropeLeaf(e[:m:m]), ropeLeaf(e[m:])}
	}
	nodes := make([]*lnode, 0, wa+wb)
	for _, c := range a.kids {
		nodes = append(nodes, c.node)
	}
	for _, c := range b.kids {
		nodes = append(nodes, c.node)
	}
	return ropeSplitWide(nodes)
}

// ropePrefix returns the tree of the first i elements of x (nil when x is).
func ropePrefix(x *lnode, i int) *lnode {
	if x == nil || i <= 0 {
		return nil
	}
	if i >= x.n {
		return x
	}
	if x.h == 0 {
		return ropeLeaf(x.elems[:i:i])
	}
	k := x.find(i)
	s := x.start(k)
	var left *lnode
	switch k {
	case 0:
	case 1:
		left = x.kids[0].node
	default:
		// The running counts of a prefix of the children stay valid.
		left = &lnode{kids: x.kids[:k:k], n: s, h: x.h}
	}
	if i == s {
		return left
	}
	return ropeJoin(left, ropePrefix(x.kids[k].node, i-s))
}

// ropeSuffix returns the tree of the elements of x from i on.
func ropeSuffix(x *lnode, i int) *lnode {
	if x == nil || i <= 0 {
		return x
	}
	if i >= x.n {
		return nil
	}
	if x.h == 0 {
		return ropeLeaf(x.elems[i:])
	}
	k := x.find(i)
	s := x.start(k)
	from := k + 1
	if i == s {
		from = k
	}
	nodes := make([]*lnode, 0, len(x.kids)-from)
	for _, c := range x.kids[from:] {
		nodes = append(nodes, c.node)
	}
	right := ropeRoot(nodes)
	if i == s {
		return right
	}
	return ropeJoin(ropeSuffix(x.kids[k].node, i-s), right)
}

// lspan is a node of a list's tree and the index of its first element.
type lspan struct {
	x   *lnode
	off int
}

// listDiffer finds the edits between two trees. It walks both top down,
// level by level: in two sequences of sibling subtrees it pairs identical
// subtrees (the anchors) and goes down only into the runs between anchors,
// so the work follows the number of changed paths. buf is a stack of
// expanded runs; ea and eb are scratch space for runs of leaves.
type listDiffer struct {
	out    []ListEdit
	buf    []lspan
	ea, eb []Term
}

func (d *listDiffer) emit(e ListEdit) {
	if n := len(d.out); n > 0 && d.out[n-1].OldHi == e.OldLo && d.out[n-1].NewHi == e.NewLo {
		d.out[n-1].OldHi, d.out[n-1].NewHi = e.OldHi, e.NewHi
		return
	}
	d.out = append(d.out, e)
}

// expand pushes the children of the spans onto the stack and returns them.
func (d *listDiffer) expand(s []lspan) []lspan {
	mark := len(d.buf)
	for _, p := range s {
		for k, c := range p.x.kids {
			d.buf = append(d.buf, lspan{c.node, p.off + p.x.start(k)})
		}
	}
	return d.buf[mark:]
}

// seq diffs the contiguous subtree sequences xs (covering old[oLo:oHi]) and
// ys (covering new[nLo:nHi]).
func (d *listDiffer) seq(xs, ys []lspan, oLo, oHi, nLo, nHi int) {
	if len(xs) == 0 || len(ys) == 0 {
		if oLo < oHi || nLo < nHi {
			d.emit(ListEdit{oLo, oHi, nLo, nHi})
		}
		return
	}
	if hx, hy := xs[0].x.h, ys[0].x.h; hx != hy {
		mark := len(d.buf)
		if hx > hy {
			d.seq(d.expand(xs), ys, oLo, oHi, nLo, nHi)
		} else {
			d.seq(xs, d.expand(ys), oLo, oHi, nLo, nHi)
		}
		d.buf = d.buf[:mark]
		return
	}
	var idx map[*lnode]int
	i, j, ri, rj := 0, 0, 0, 0
	for i < len(xs) && j < len(ys) {
		x, y := xs[i], ys[j]
		switch {
		case x.x == y.x:
			// An anchor: what lies between it and the last one differs.
			d.run(xs[ri:i], ys[rj:j], x.off, y.off)
		case ri == i && rj == j && x.x.n == y.x.n && lspansNextAligned(xs, ys, i, j):
			// A subtree changed in place, the shape Set leaves: open it
			// against its counterpart.
			d.run(xs[i:i+1], ys[j:j+1], x.off+x.x.n, y.off+y.x.n)
		default:
			k, l, ok := lspanSync(xs, ys, i, j, &idx)
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
	d.run(xs[ri:], ys[rj:], oHi, nHi)
}

// lspansNextAligned reports whether what follows xs[i] and ys[j] lines up
// as what follows a subtree changed in place does: nothing on both sides,
// the same subtree, or subtrees of one size. Two subtrees of one size can
// also be a coincidence of a split or merge that moved elements across
// their ends (an insert that overflows a full leaf leaves it full and
// splits its neighbour); opened against each other they would show the
// moved elements as changed, so they are then diffed as part of the run.
func lspansNextAligned(xs, ys []lspan, i, j int) bool {
	lastX, lastY := i+1 == len(xs), j+1 == len(ys)
	if lastX || lastY {
		return lastX && lastY
	}
	nx, ny := xs[i+1].x, ys[j+1].x
	return nx == ny || nx.n == ny.n
}

// run diffs the unmatched runs xs and ys (of one height), which end where
// old index oEnd and new index nEnd begin. Runs of leaves are compared
// element by element; runs of nodes that line up one to one (same count,
// same sizes: the shape left by Set) are opened pair by pair, others as a
// whole.
func (d *listDiffer) run(xs, ys []lspan, oEnd, nEnd int) {
	if len(xs) == 0 && len(ys) == 0 {
		return
	}
	oLo, nLo := oEnd, nEnd
	if len(xs) > 0 {
		oLo = xs[0].off
	}
	if len(ys) > 0 {
		nLo = ys[0].off
	}
	if len(xs) == 0 || len(ys) == 0 {
		d.emit(ListEdit{oLo, oEnd, nLo, nEnd})
		return
	}
	if len(xs) == 1 && len(ys) == 1 && d.pair(xs[0], ys[0]) {
		return
	}
	if len(xs) > 1 && lspansAligned(xs, ys) {
		for k := range xs {
			d.run(xs[k:k+1], ys[k:k+1], xs[k].off+xs[k].x.n, ys[k].off+ys[k].x.n)
		}
		return
	}
	if xs[0].x.h == 0 {
		d.leaves(xs, ys, oLo, oEnd, nLo, nEnd)
		return
	}
	mark := len(d.buf)
	d.seq(d.expand(xs), d.expand(ys), oLo, oEnd, nLo, nEnd)
	d.buf = d.buf[:mark]
}

// pair diffs two inner nodes of one shape (the same running counts, as Set
// leaves them) child by child, without expanding them; it reports false,
// having done nothing, when the shapes differ.
func (d *listDiffer) pair(x, y lspan) bool {
	a, b := x.x, y.x
	if a.h == 0 || a.h != b.h || len(a.kids) != len(b.kids) {
		return false
	}
	for k := range a.kids {
		if a.kids[k].end != b.kids[k].end {
			return false
		}
	}
	for k, c := range a.kids {
		if c.node == b.kids[k].node {
			continue
		}
		s := a.start(k)
		cx, cy := lspan{c.node, x.off + s}, lspan{b.kids[k].node, y.off + s}
		if c.node.h == 0 {
			d.leaves([]lspan{cx}, []lspan{cy}, cx.off, cx.off+c.node.n, cy.off, cy.off+c.node.n)
		} else if !d.pair(cx, cy) {
			d.run([]lspan{cx}, []lspan{cy}, cx.off+c.node.n, cy.off+c.node.n)
		}
	}
	return true
}

// lspansAligned reports whether two runs have as many subtrees of the same
// sizes, so that their positions correspond subtree by subtree.
func lspansAligned(xs, ys []lspan) bool {
	if len(xs) != len(ys) {
		return false
	}
	for k := range xs {
		if xs[k].x.n != ys[k].x.n {
			return false
		}
	}
	return true
}

func spanStart(s []lspan, i, end int) int {
	if i < len(s) {
		return s[i].off
	}
	return end
}

// lspanSync finds the next anchor at or after xs[i], ys[j]: first the
// nearest pair in a small window (a changed child, a few inserted or dropped
// ones), then through an index of xs.
func lspanSync(xs, ys []lspan, i, j int, idx *map[*lnode]int) (int, int, bool) {
	const window = 8
	for s := 1; s <= window; s++ {
		for a := 0; a <= s; a++ {
			k, l := i+a, j+s-a
			if k < len(xs) && l < len(ys) && xs[k].x == ys[l].x {
				return k, l, true
			}
		}
	}
	if *idx == nil {
		*idx = make(map[*lnode]int, len(xs)-i)
		for k := len(xs) - 1; k >= i; k-- {
			(*idx)[xs[k].x] = k
		}
	}
	for l := j; l < len(ys); l++ {
		if k, ok := (*idx)[ys[l].x]; ok && k >= i {
			return k, l, true
		}
	}
	return 0, 0, false
}

// leaves diffs two runs of leaves element by element: common ends by
// identity, then position by position when the middles have one length, or
// one edit for the middle. Identity is tested with == on the interfaces,
// which is Same for every term type (all are comparable, and Same compares
// the values of non-composite terms and the pointers of composite ones) and
// much cheaper than its type switch.
func (d *listDiffer) leaves(xs, ys []lspan, oLo, oHi, nLo, nHi int) {
	a, b := d.gather(xs, &d.ea), d.gather(ys, &d.eb)
	// Runs of identical elements (what the leaves share) are skipped a
	// block at a time (identicalRun); == decides the others.
	p := 0
	for p < len(a) && p < len(b) {
		if p += identicalRun(a[p:], b[p:]); p < len(a) && p < len(b) && a[p] == b[p] {
			p++
			continue
		}
		break
	}
	s := 0
	for s < len(a)-p && s < len(b)-p {
		if s += identicalRunBack(a[p:len(a)-s], b[p:len(b)-s]); s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
			s++
			continue
		}
		break
	}
	if len(a) != len(b) {
		if p < len(a)-s || p < len(b)-s {
			d.emit(ListEdit{oLo + p, oHi - s, nLo + p, nHi - s})
		}
		return
	}
	for q, end := p, len(a)-s; q < end; q++ {
		if q += identicalRun(a[q:end], b[q:end]); q < end && a[q] != b[q] {
			d.emit(ListEdit{oLo + q, oLo + q + 1, nLo + q, nLo + q + 1})
		}
	}
}

func (d *listDiffer) gather(s []lspan, scratch *[]Term) []Term {
	if len(s) == 1 {
		return s[0].x.elems
	}
	e := (*scratch)[:0]
	for _, p := range s {
		e = append(e, p.x.elems...)
	}
	*scratch = e
	return e
}

// ropeCursor walks a tree's leaves in order from any position.
type ropeCursor struct {
	stack []ropeFrame
	leaf  []Term // the rest of the current leaf from the cursor on
}

type ropeFrame struct {
	x *lnode
	k int
}

// seek places the cursor at element i of the tree x.
func (c *ropeCursor) seek(x *lnode, i int) {
	c.stack = c.stack[:0]
	c.leaf = nil
	if x == nil || i >= x.n {
		return
	}
	for x.h > 0 {
		k := x.find(i)
		i -= x.start(k)
		c.stack = append(c.stack, ropeFrame{x, k})
		x = x.kids[k].node
	}
	c.leaf = x.elems[i:]
}

// skip moves the cursor n elements on within the current leaf, going to the
// next leaf when it is used up.
func (c *ropeCursor) skip(n int) {
	c.leaf = c.leaf[n:]
	if len(c.leaf) > 0 {
		return
	}
	for len(c.stack) > 0 {
		f := &c.stack[len(c.stack)-1]
		if f.k+1 < len(f.x.kids) {
			f.k++
			x := f.x.kids[f.k].node
			for x.h > 0 {
				c.stack = append(c.stack, ropeFrame{x, 0})
				x = x.kids[0].node
			}
			c.leaf = x.elems
			return
		}
		c.stack = c.stack[:len(c.stack)-1]
	}
}

// ropeZip calls fn for the elements of x and y at the same positions, from
// position i up to j (both trees must be that long), until fn returns false;
// it skips stretches of leaf storage the two trees share. It reports whether
// it went through to the end.
func ropeZip(x, y *lnode, i, j int, fn func(a, b Term) bool) bool {
	var cx, cy ropeCursor
	cx.seek(x, i)
	cy.seek(y, i)
	for i < j && len(cx.leaf) > 0 && len(cy.leaf) > 0 {
		n := min(len(cx.leaf), len(cy.leaf), j-i)
		i += n
		if &cx.leaf[0] != &cy.leaf[0] {
			for q := 0; q < n; q++ {
				if !fn(cx.leaf[q], cy.leaf[q]) {
					return false
				}
			}
		}
		cx.skip(n)
		cy.skip(n)
	}
	return true
}
