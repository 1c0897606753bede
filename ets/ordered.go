package ets

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/enode-dev/enode/term"
)

// maxLevel bounds the skip list's towers: 2^24 objects per level-one node
// on average is far beyond what a table holds in memory.
const maxLevel = 24

// ordered is an ordered_set: a skip list in Erlang term order. Readers
// follow atomic pointers and take no lock; writers take mu. A node's
// links are set before the node is published, bottom level first, so a
// reader that meets a node at any level finds it at level 0 too.
type ordered struct {
	keyPos int
	head   skipNode // sentinel; its key is never looked at

	mu  sync.Mutex // writers
	n   atomic.Int64
	mem atomic.Int64
	top atomic.Int32 // levels in use; readers start there
	// tails[l] is the last node at level l (or &head), under mu: inserting
	// past the end, the common case of keys that grow (timestamps,
	// sequence numbers), needs no search.
	tails [maxLevel]*skipNode
	rng   uint64 // tower heights, under mu
	// insFingers are the predecessors left by recent inserts, under mu: a
	// writer that inserts keys in order in the middle of the table (one
	// of several time-ordered streams) finds its place without a search.
	// insSlot is the finger the current insert uses; insNext the next to
	// replace.
	insFingers [2][maxLevel]*skipNode
	insSlot    int
	insNext    int

	// fingers remembers, per P, where the last search ended, so that a
	// search near it (the next key of a scan, keys that arrive in order)
	// walks a few links instead of descending from the top. A finger is
	// used only while its node is still in the list and the table has not
	// been cleared since (epoch).
	fingers sync.Pool
	epoch   atomic.Uint64
}

// finger is a remembered search position.
type finger struct {
	n     *skipNode
	epoch uint64
}

// fingerSteps bounds the walk from a finger before a search gives up on it.
const fingerSteps = 8

type skipNode struct {
	key term.Term // never changes; a replace with a different key form replaces the node
	// ik is the key when it is an integer (isInt), so that comparing
	// integer keys reads nothing outside the node.
	ik    int64
	isInt bool
	obj   atomic.Pointer[term.Tuple]
	// removed is set, before it is unlinked, when the node leaves the list.
	removed atomic.Bool
	next    []atomic.Pointer[skipNode]
	// inline holds the tower of short nodes (15 in 16 with a fan-out of
	// four), saving an allocation.
	inline [2]atomic.Pointer[skipNode]
}

// nodeBytes is a node with its inline tower, for memory info.
const nodeBytes = 80

// towerBytes is what a node's tower adds when it is not inline.
func towerBytes(n *skipNode) int64 {
	if len(n.next) <= len(n.inline) {
		return 0
	}
	return 8 * int64(len(n.next))
}

func newOrdered(keyPos int) *ordered {
	o := &ordered{keyPos: keyPos, rng: 0x9E3779B97F4A7C15}
	o.top.Store(1)
	o.head.next = make([]atomic.Pointer[skipNode], maxLevel)
	o.resetTails()
	return o
}

// compareKeys is term.Compare with integer and atom keys decided inline.
func compareKeys(a, b term.Term) int {
	switch x := a.(type) {
	case term.Int:
		if y, ok := b.(term.Int); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case term.Atom:
		if y, ok := b.(term.Atom); ok {
			return strings.Compare(string(x), string(y))
		}
	}
	return term.Compare(a, b)
}

// probe is a key being searched for, with its integer value unboxed.
type probe struct {
	key   term.Term
	ik    int64
	isInt bool
}

func newProbe(key term.Term) probe {
	i, ok := key.(term.Int)
	return probe{key: key, ik: int64(i), isInt: ok}
}

// cmp compares n's key with p's in term order.
func (n *skipNode) cmp(p *probe) int {
	if n.isInt && p.isInt {
		switch {
		case n.ik < p.ik:
			return -1
		case n.ik > p.ik:
			return 1
		}
		return 0
	}
	return compareKeys(n.key, p.key)
}

// randomLevel draws a tower height with P(level > k) = 4^-k (a fan-out of
// four keeps towers short: 1.33 links per node). Under mu.
func (o *ordered) randomLevel() int {
	o.rng ^= o.rng << 13
	o.rng ^= o.rng >> 7
	o.rng ^= o.rng << 17
	lvl := 1 + bits.TrailingZeros64(o.rng|1<<(2*(maxLevel-1)))/2
	return min(lvl, maxLevel)
}

// findGE returns the first node with key >= key, lock-free. It returns
// the node that ended the level-0 walk, not a second load of the link,
// which a writer may have changed in between.
//
// It first tries the finger of the last search on this P: if that node is
// still in the list and at or before key, the answer is usually a few
// links on. Walking on from a node that is unlinked meanwhile is safe: its
// links still lead forward to every key that stays in the table, which is
// what a lock-free search promises.
func (o *ordered) findGE(key term.Term) *skipNode {
	p := newProbe(key)
	f, _ := o.fingers.Get().(*finger)
	if f == nil {
		f = &finger{}
	}
	if n, ok := o.fromFinger(f, &p); ok {
		o.putFinger(f, n)
		return n
	}
	x := &o.head
	var nx *skipNode
	for l := int(o.top.Load()) - 1; l >= 0; l-- {
		for {
			nx = x.next[l].Load()
			if nx == nil || nx.cmp(&p) >= 0 {
				break
			}
			x = nx
		}
	}
	o.putFinger(f, nx)
	return nx
}

// fromFinger returns the first node >= p found by walking from f, and
// false when f cannot answer.
func (o *ordered) fromFinger(f *finger, p *probe) (*skipNode, bool) {
	x := f.n
	if x == nil || f.epoch != o.epoch.Load() || x.removed.Load() {
		return nil, false
	}
	c := x.cmp(p)
	if c == 0 {
		return x, true
	}
	if c > 0 {
		return nil, false
	}
	for range fingerSteps {
		nx := x.next[0].Load()
		if nx == nil || nx.cmp(p) >= 0 {
			return nx, true
		}
		x = nx
	}
	return nil, false
}

func (o *ordered) putFinger(f *finger, n *skipNode) {
	if n == nil {
		return // past the end: keep the old finger
	}
	f.n, f.epoch = n, o.epoch.Load()
	o.fingers.Put(f)
}

// findLT returns the last node with key < key, or nil, lock-free.
func (o *ordered) findLT(key term.Term) *skipNode {
	p := newProbe(key)
	x := &o.head
	for l := int(o.top.Load()) - 1; l >= 0; l-- {
		for {
			nx := x.next[l].Load()
			if nx == nil || nx.cmp(&p) >= 0 {
				break
			}
			x = nx
		}
	}
	if x == &o.head {
		return nil
	}
	return x
}

// fingerFits reports whether fp holds, at every level, the last node
// before p; under mu.
func (o *ordered) fingerFits(fp *[maxLevel]*skipNode, p *probe) bool {
	if fp[0] == nil {
		return false
	}
	for l, x := range fp {
		if x != &o.head && (x.removed.Load() || x.cmp(p) >= 0) {
			return false
		}
		if nx := x.next[l].Load(); nx != nil && nx.cmp(p) < 0 {
			return false
		}
	}
	return true
}

func (o *ordered) resetTails() {
	for l := range o.tails {
		o.tails[l] = &o.head
	}
}

// predecessors fills preds with the last node before key at each level
// and returns the node after them; under mu.
func (o *ordered) predecessors(key term.Term, preds *[maxLevel]*skipNode) *skipNode {
	p := newProbe(key)
	if last := o.tails[0]; last != &o.head && last.cmp(&p) < 0 {
		*preds = o.tails
		o.insSlot = -1
		return nil
	}
	for i := range o.insFingers {
		if o.fingerFits(&o.insFingers[i], &p) {
			*preds = o.insFingers[i]
			o.insSlot = i
			return preds[0].next[0].Load()
		}
	}
	o.insSlot = o.insNext
	o.insNext = (o.insNext + 1) % len(o.insFingers)
	top := int(o.top.Load())
	for l := top; l < maxLevel; l++ {
		preds[l] = &o.head
	}
	x := &o.head
	for l := top - 1; l >= 0; l-- {
		for {
			nx := x.next[l].Load()
			if nx == nil || nx.cmp(&p) >= 0 {
				break
			}
			x = nx
		}
		preds[l] = x
	}
	return x.next[0].Load()
}

func (o *ordered) lookup(key term.Term) *term.Tuple {
	p := newProbe(key)
	n := o.findGE(key)
	if n == nil || n.cmp(&p) != 0 {
		return nil
	}
	return n.obj.Load()
}

func (o *ordered) insert(obj *term.Tuple, onlyNew bool) bool {
	key := obj.At(o.keyPos)
	p := newProbe(key)
	o.mu.Lock()
	defer o.mu.Unlock()
	var preds [maxLevel]*skipNode
	n := o.predecessors(key, &preds)
	if n != nil && n.cmp(&p) == 0 {
		if onlyNew {
			return false
		}
		o.replace(n, obj, key, termBytesDelta(n.obj.Load(), obj), &preds)
		return true
	}
	o.link(obj, key, termBytes(obj), &preds)
	return true
}

// replace stores obj in n's place; grow is termBytes(obj) minus the
// replaced object's. A key of another form (1.0 replacing 1) gets a new
// node, since a node's key never changes under readers.
func (o *ordered) replace(n *skipNode, obj *term.Tuple, key term.Term, grow int64, preds *[maxLevel]*skipNode) {
	o.mem.Add(grow)
	if keyEqual(n.key, key) {
		n.obj.Store(obj)
		return
	}
	o.unlink(n, preds)
	nn := o.newNode(obj, key)
	o.publish(nn, preds)
	o.n.Add(1)
	o.mem.Add(towerBytes(nn) - towerBytes(n))
}

func (o *ordered) newNode(obj *term.Tuple, key term.Term) *skipNode {
	n := &skipNode{key: key}
	if i, ok := key.(term.Int); ok {
		n.ik, n.isInt = int64(i), true
	}
	if lvl := o.randomLevel(); lvl <= len(n.inline) {
		n.next = n.inline[:lvl]
	} else {
		n.next = make([]atomic.Pointer[skipNode], lvl)
	}
	n.obj.Store(obj)
	return n
}

func (o *ordered) link(obj *term.Tuple, key term.Term, size int64, preds *[maxLevel]*skipNode) {
	n := o.newNode(obj, key)
	o.publish(n, preds)
	if o.insSlot >= 0 {
		// The next key of the same stream goes right after n.
		fp := &o.insFingers[o.insSlot]
		*fp = *preds
		for l := range n.next {
			fp[l] = n
		}
	}
	o.n.Add(1)
	o.mem.Add(size + nodeBytes + towerBytes(n))
}

// publish links n after preds, bottom level first; under mu.
func (o *ordered) publish(n *skipNode, preds *[maxLevel]*skipNode) {
	for l := range n.next {
		n.next[l].Store(preds[l].next[l].Load())
	}
	for l := range n.next {
		preds[l].next[l].Store(n)
		if o.tails[l] == preds[l] {
			o.tails[l] = n
		}
	}
	if len(n.next) > int(o.top.Load()) {
		o.top.Store(int32(len(n.next)))
	}
}

// unlink removes n, top level first, so a reader never reaches n at level
// 0 after missing it above; a reader standing on n still walks on from it.
// Under mu.
func (o *ordered) unlink(n *skipNode, preds *[maxLevel]*skipNode) {
	n.removed.Store(true)
	for l := len(n.next) - 1; l >= 0; l-- {
		if preds[l].next[l].Load() == n {
			preds[l].next[l].Store(n.next[l].Load())
		}
		if o.tails[l] == n {
			o.tails[l] = preds[l]
		}
	}
	// A removed node keeps its links for readers standing on it, so a
	// finger left on it would keep every node removed after it alive.
	for i := range o.insFingers {
		if slices.Contains(o.insFingers[i][:len(n.next)], n) {
			o.insFingers[i] = [maxLevel]*skipNode{}
		}
	}
	o.n.Add(-1)
}

func (o *ordered) delete(key term.Term) bool {
	p := newProbe(key)
	o.mu.Lock()
	defer o.mu.Unlock()
	var preds [maxLevel]*skipNode
	n := o.predecessors(key, &preds)
	if n == nil || n.cmp(&p) != 0 {
		return false
	}
	o.mem.Add(-termBytes(n.obj.Load()) - nodeBytes - 8*int64(len(n.next)))
	o.unlink(n, &preds)
	return true
}

func (o *ordered) update(key term.Term, f func(old *term.Tuple) (*term.Tuple, error)) error {
	p := newProbe(key)
	o.mu.Lock()
	defer o.mu.Unlock()
	var preds [maxLevel]*skipNode
	n := o.predecessors(key, &preds)
	found := n != nil && n.cmp(&p) == 0
	var old *term.Tuple
	if found {
		old = n.obj.Load()
	}
	obj, err := f(old)
	if err != nil {
		return err
	}
	if found {
		o.mem.Add(termBytesDelta(old, obj))
		n.obj.Store(obj)
		return nil
	}
	o.link(obj, obj.At(o.keyPos), termBytes(obj), &preds)
	return nil
}

func (o *ordered) first() term.Term {
	if n := o.head.next[0].Load(); n != nil {
		return n.key
	}
	return nil
}

func (o *ordered) last() term.Term {
	x := &o.head
	for l := int(o.top.Load()) - 1; l >= 0; l-- {
		for nx := x.next[l].Load(); nx != nil; nx = x.next[l].Load() {
			x = nx
		}
	}
	if x == &o.head {
		return nil
	}
	return x.key
}

func (o *ordered) next(key term.Term) (term.Term, error) {
	p := newProbe(key)
	n := o.findGE(key)
	for n != nil && n.cmp(&p) == 0 {
		n = n.next[0].Load()
	}
	if n == nil {
		return nil, nil
	}
	return n.key, nil
}

func (o *ordered) prev(key term.Term) (term.Term, error) {
	if n := o.findLT(key); n != nil {
		return n.key, nil
	}
	return nil, nil
}

func (o *ordered) all(yield func(*term.Tuple) bool) { o.rangeObjs(nil, nil, yield) }

// rangeObjs yields the objects with lo <= key <= hi (nil bounds are open)
// in order, lock-free.
func (o *ordered) rangeObjs(lo, hi term.Term, yield func(*term.Tuple) bool) {
	var n *skipNode
	if lo == nil {
		n = o.head.next[0].Load()
	} else {
		n = o.findGE(lo)
	}
	for ; n != nil; n = n.next[0].Load() {
		if hi != nil && compareKeys(n.key, hi) > 0 {
			return
		}
		obj := n.obj.Load()
		if obj != nil && !yield(obj) {
			return
		}
	}
}

func (o *ordered) size() int     { return int(o.n.Load()) }
func (o *ordered) memory() int64 { return o.mem.Load() + int64(maxLevel)*8 + 128 }

func (o *ordered) clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.epoch.Add(1)
	for l := range o.head.next {
		o.head.next[l].Store(nil)
	}
	o.n.Store(0)
	o.mem.Store(0)
	o.top.Store(1)
	o.resetTails()
	o.insFingers = [2][maxLevel]*skipNode{}
}
