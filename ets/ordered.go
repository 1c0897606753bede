package ets

import (
	"cmp"
	"math"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/enode-dev/enode/term"
)

// An ordered_set is a B+tree in Erlang term order. Objects sit in the
// leaves' slots, so the table adds no heap object per entry: a slot is a
// 64-bit order prefix of its key (keyPrefix), which decides most
// comparisons without reading the object, and the object in the leaf's
// layout (slots): a pointer to it (ptrSlots, 16 bytes a slot with the
// prefix), or, in a Compact table, the object inline as a record when it
// is small (recSlots, 40 bytes a slot; see ordrec.go). The tree is
// generic over the layout, so a table pays for the one it uses and a
// leaf's code knows its layout without a test per slot.
//
// Every node carries a version that is odd while a writer holds the node.
// Readers take no lock: they read a node's version, its fields (all
// atomic, so a racing writer leaves old or new values, never torn words),
// and the version again, and start from the root when it moved or the
// node left the tree. Writers of one leaf's slots (a key that fits in its
// leaf, a replace, a delete that leaves the leaf non-empty) take only that
// leaf, by moving its version from the even value they read to odd; two
// writers in different leaves do not meet. Changes to the tree's shape
// (splitting a full leaf, removing an empty one, clearing) take mu as
// well, and lock every node they change. A leaf's range (lo up to its next
// leaf's lo) changes only while the leaf is locked, so a writer that
// locked the leaf at the version it read knows its key belongs there.
const (
	leafCap  = 32
	innerCap = 64
	// innerBytes is an inner node's size, for memory info.
	innerBytes = 48 + innerCap*32
	// statStripes spreads the object count and size over cache lines, so
	// writers in different leaves do not share one.
	statStripes = 8
	// hintSlots is how many leaves writers remember.
	hintSlots = 4
)

// slots is how a leaf keeps its objects, one of two layouts chosen once
// per table: ptrSlots (a pointer per object, the default) or recSlots
// (small objects inline, Options.Compact). The tree reaches them only
// through these methods, a call per operation on a leaf; i is an index
// into the layout's arrays (leaf.at), not an object's rank. Readers call
// cmpKey and read, which may see a slot mid-change and then report false;
// writers call the others with the leaf locked. Probes, items and entries
// go by value: a pointer passed through a type parameter's method would
// make each operation allocate them. Such a method is an indirect call the
// compiler does not inline, so the readers' two (cmpKey and read) call
// ptrSlots directly when the table has that layout: a lookup of the
// default ordered_set was 15% slower through the indirect calls.
type slots[S any] interface {
	*S
	// cmpKey compares p with the key of the object in slot i.
	cmpKey(p probe, i, keyPos int) (int, bool)
	// read copies the object of slot i out.
	read(i int) (item, bool)
	// set stores e in slot i; grew reports that the layout allocated
	// its pointer slots for it.
	set(i int, e entry) (grew bool)
	// move copies slot i of f to slot j.
	move(j int, f *S, i int) (grew bool)
	// free lets go of the object of slot i.
	free(i int)
	// ptr returns the object of slot i when it is kept as a pointer
	// (its termBytes are counted in the table's memory), else nil.
	ptr(i int) *term.Tuple
	// grown reports whether the layout allocated its pointer slots.
	grown() bool
}

// ordered is an ordered_set of layout S.
type ordered[S any, PS slots[S]] struct {
	keyPos int
	inline bool // small objects are kept as records (Options.Compact)
	root   atomic.Pointer[inner[S, PS]]

	mu sync.Mutex // writers that change the tree's shape
	// hints are the leaves writers descended to last: keys that arrive in
	// order (timestamps, sequence numbers, a few such streams) find their
	// leaf without a descent. They change once per leaf a stream fills,
	// so writers mostly read them. hintNext picks the one to replace.
	hints    [hintSlots]atomic.Pointer[leaf[S, PS]]
	hintNext atomic.Uint32

	stats      [statStripes]stripe
	nextStripe uint8 // under mu
	leaves     atomic.Int64
	inners     atomic.Int64
	bigs       atomic.Int64 // leaves whose layout allocated pointer slots
}

// stripe is a part of the object count and of their termBytes; each leaf
// adds to one, under the leaf's lock.
type stripe struct {
	n, mem atomic.Int64
	_      [48]byte
}

// leaf holds up to leafCap objects in key order at pre and s's slots
// off to off+n-1; pre[i] is the prefix of slot i's key. Objects removed
// from the front move off on, rather than every other object back (an
// expiry index is deleted from its first key on); an insert with no room
// after the last object moves them back to 0.
type leaf[S any, PS slots[S]] struct {
	ver        atomic.Uint64
	dead       atomic.Bool // removed from the tree
	n          atomic.Int32
	next, prev atomic.Pointer[leaf[S, PS]]
	// lo is the least key the leaf's range admits (none when loMin, for
	// the leftmost leaf), with its prefix lop: writers starting from a
	// hint check that their key belongs here. The range ends where next's
	// begins.
	lo     atomic.Pointer[sepKey]
	lop    atomic.Uint64
	loMin  atomic.Bool
	stripe uint8 // never changes
	// last is the slot of the last key put here, under the leaf's lock: a
	// full leaf whose next key goes right after it splits there.
	last atomic.Int32
	off  atomic.Int32
	pre  [leafCap]atomic.Uint64
	s    S
}

// ptrSlots is the default layout: a pointer to each object, 16 bytes a
// slot with its prefix.
type ptrSlots struct {
	objs [leafCap]atomic.Pointer[term.Tuple]
}

func (s *ptrSlots) cmpKey(p probe, i, keyPos int) (int, bool) {
	obj := s.objs[i].Load()
	if obj == nil {
		return 0, false
	}
	return compareKeys(p.key, obj.At(keyPos)), true
}

func (s *ptrSlots) read(i int) (item, bool) {
	obj := s.objs[i].Load()
	return item{obj: obj}, obj != nil
}

func (s *ptrSlots) set(i int, e entry) bool {
	s.objs[i].Store(e.obj)
	return false
}

func (s *ptrSlots) move(j int, f *ptrSlots, i int) bool {
	s.objs[j].Store(f.objs[i].Load())
	return false
}

func (s *ptrSlots) free(i int)            { s.objs[i].Store(nil) }
func (s *ptrSlots) ptr(i int) *term.Tuple { return s.objs[i].Load() }
func (s *ptrSlots) grown() bool           { return false }

// inner routes to n children: child i holds the keys k with seps[i] <= k
// < seps[i+1] (seps[0] is not used). Children are leaves when leafKids,
// inner nodes otherwise.
type inner[S any, PS slots[S]] struct {
	ver      atomic.Uint64
	dead     atomic.Bool
	n        atomic.Int32
	leafKids bool // never changes
	pre      [innerCap]atomic.Uint64
	seps     [innerCap]atomic.Pointer[sepKey]
	kids     [innerCap]atomic.Pointer[inner[S, PS]]
	leaves   [innerCap]atomic.Pointer[leaf[S, PS]]
}

type sepKey struct{ key term.Term }

// orderedSet is an ordered_set of either layout.
type orderedSet interface {
	store
	rangeObjs(lo, hi term.Term, yield func(*term.Tuple) bool)
	objBytes() int64
}

// newOrdered returns an empty ordered_set keyed at keyPos, with small
// objects inline when inline (Options.Compact).
func newOrdered(keyPos int, inline bool) orderedSet {
	if inline {
		return newOrderedOf[recSlots](keyPos, true)
	}
	return newOrderedOf[ptrSlots](keyPos, false)
}

func newOrderedOf[S any, PS slots[S]](keyPos int, inline bool) *ordered[S, PS] {
	o := &ordered[S, PS]{keyPos: keyPos, inline: inline}
	o.reset()
	return o
}

// leafBytes is a leaf's size, for memory info.
func (o *ordered[S, PS]) leafBytes() int64 {
	var l leaf[S, PS]
	return int64(unsafe.Sizeof(l))
}

// reset installs an empty tree: a root with one empty leaf; under mu (or
// before the table is shared). Counts start from zero.
func (o *ordered[S, PS]) reset() {
	r := &inner[S, PS]{leafKids: true}
	l := &leaf[S, PS]{}
	l.loMin.Store(true)
	r.leaves[0].Store(l)
	r.n.Store(1)
	for i := range o.stats {
		o.stats[i].n.Store(0)
		o.stats[i].mem.Store(0)
	}
	o.leaves.Store(1)
	o.inners.Store(1)
	o.bigs.Store(0)
	o.root.Store(r)
}

// Key order prefixes. keyPrefix maps a key to 64 bits so that a < b in
// term order implies keyPrefix(a) <= keyPrefix(b): keys whose prefixes
// differ compare by prefix alone, and only equal prefixes need term order.
// The top four bits are the key's class in term order (numbers are one
// class, so 1 and 1.0 get one prefix); below them are a number's value as
// an order-preserving float64 (-0.0 as 0.0), an atom's first seven bytes,
// or a tuple's arity and its first element's prefix.
func keyPrefix(k term.Term) uint64 {
	var low uint64
	var f float64
	switch x := k.(type) {
	case term.Int:
		f = float64(x)
	case term.Float:
		f = float64(x)
	case term.BigInt:
		f, _ = new(big.Float).SetInt(x.Big()).Float64()
	case term.Atom:
		for i := range 7 {
			low <<= 8
			if i < len(x) {
				low |= uint64(x[i])
			}
		}
		return classOf(k)<<60 | low<<4
	case *term.Tuple:
		const maxArity = 1<<12 - 1
		if a := x.Len(); a >= maxArity {
			low = maxArity << 48
		} else {
			low = uint64(a) << 48
			if a > 0 {
				low |= keyPrefix(x.At(0)) >> 12
			}
		}
		return classOf(k)<<60 | low
	default:
		return classOf(k) << 60
	}
	if f == 0 {
		f = 0 // -0.0 sorts with 0.0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return classOf(k)<<60 | b>>4
}

// classOf is the place of k's type in term order, integers and floats one
// class, in 4 bits.
func classOf(k term.Term) uint64 {
	kd := k.Kind()
	if kd == term.KindFloat {
		kd = term.KindInt
	}
	return uint64(kd) & 15
}

// probe is a key being searched for, with its prefix, and the key as
// cmpRecKey compares it with a record's.
type probe struct {
	key  term.Term
	pre  uint64
	iv   int64
	kind uint8
	tag  uint8
	kl   uint8
	kb   [recWords * 8]byte
}

func newProbe(key term.Term) probe { return probe{key: key, pre: keyPrefix(key)} }

// probe returns key as a probe of o: with the form cmpRecKey compares
// when o keeps records.
func (o *ordered[S, PS]) probe(key term.Term) probe {
	p := newProbe(key)
	if o.inline {
		p.probeKind()
	}
	return p
}

// cmpPre compares p with a key of prefix pre by prefix alone; tie is
// true when the prefixes are equal and the keys must be compared.
func (p *probe) cmpPre(pre uint64) (c int, tie bool) {
	switch {
	case p.pre < pre:
		return -1, false
	case p.pre > pre:
		return 1, false
	}
	return 0, true
}

// cmp compares p with key, of prefix pre.
func (p *probe) cmp(pre uint64, key term.Term) int {
	if c, tie := p.cmpPre(pre); !tie {
		return c
	}
	return compareKeys(p.key, key)
}

// compareKeys is term.Compare with integer and atom keys decided inline.
func compareKeys(a, b term.Term) int {
	switch x := a.(type) {
	case term.Int:
		if y, ok := b.(term.Int); ok {
			return cmp.Compare(x, y)
		}
	case term.Atom:
		if y, ok := b.(term.Atom); ok {
			return cmp.Compare(x, y)
		}
	}
	return term.Compare(a, b)
}

// stable returns a version no writer holds, waiting for the writer.
func stable(v *atomic.Uint64) uint64 {
	for i := 0; ; i++ {
		x := v.Load()
		if x&1 == 0 {
			return x
		}
		if i > 32 {
			runtime.Gosched()
		}
	}
}

// lockW and unlockW bracket a change to an inner node, which only mu's
// holder changes, so the version is never contended.
func lockW(v *atomic.Uint64)   { v.Add(1) }
func unlockW(v *atomic.Uint64) { v.Add(1) }

// tryLock takes l if its version is still lv.
func (l *leaf[S, PS]) tryLock(lv uint64) bool { return lv&1 == 0 && l.ver.CompareAndSwap(lv, lv+1) }

// lock takes l, waiting out a writer of its slots; under mu.
func (l *leaf[S, PS]) lock() {
	for {
		if v := stable(&l.ver); l.ver.CompareAndSwap(v, v+1) {
			return
		}
	}
}

func (l *leaf[S, PS]) unlock() { l.ver.Add(1) }

// at returns the index in slots of object i; clamped, for a reader that
// may see off and n from different writes.
func (l *leaf[S, PS]) at(i int) int { return min(int(l.off.Load())+i, leafCap-1) }

// cmpKey compares p with the key of object i; ok is false when the slot
// could not be read.
func (l *leaf[S, PS]) cmpKey(p *probe, i, keyPos int) (int, bool) {
	if s, ok := any(&l.s).(*ptrSlots); ok {
		return s.cmpKey(*p, l.at(i), keyPos)
	}
	return PS(&l.s).cmpKey(*p, l.at(i), keyPos)
}

// item is an object as a reader copies it out of a slot: a record, or
// the tuple when obj is set. It is trusted once the leaf's version is
// checked.
type item struct {
	r   rec
	obj *term.Tuple
}

// read copies slot i into it; false when the slot could not be read.
func (l *leaf[S, PS]) read(i int, it *item) bool {
	var ok bool
	if s, isPtr := any(&l.s).(*ptrSlots); isPtr {
		*it, ok = s.read(l.at(i))
		return ok
	}
	*it, ok = PS(&l.s).read(l.at(i))
	return ok
}

// object returns the object it holds.
func (it *item) object() *term.Tuple {
	if it.obj != nil {
		return it.obj
	}
	obj, _ := it.r.tuple()
	return obj
}

// key returns the key of the object it holds.
func (it *item) key(keyPos int) term.Term {
	if it.obj != nil {
		return it.obj.At(keyPos)
	}
	k, _ := it.r.elem(keyPos)
	return k
}

// count is n clamped to the slots, for readers that may see it mid-change.
func (l *leaf[S, PS]) count() int { return min(max(int(l.n.Load()), 0), leafCap) }

// search returns the first slot in [0, n) whose key is >= p, and whether
// it equals p; ok is false when a slot could not be read.
func (l *leaf[S, PS]) search(p *probe, n, keyPos int) (i int, eq, ok bool) {
	lo, hi := 0, n
	off := int(l.off.Load()) // l.at's, read once
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c, tie := p.cmpPre(l.pre[min(off+mid, leafCap-1)].Load())
		if tie {
			var ok bool
			if c, ok = l.cmpKey(p, mid, keyPos); !ok {
				return 0, false, false
			}
		}
		switch {
		case c > 0:
			lo = mid + 1
		case c == 0:
			return mid, true, true
		default:
			hi = mid
		}
	}
	return lo, false, true
}

// route returns the child of nd whose range holds p; ok is false when a
// separator could not be read.
func (nd *inner[S, PS]) route(p *probe) (int, bool) {
	n := min(max(int(nd.n.Load()), 1), innerCap)
	// The first separator in [1, n) greater than p; the child before it.
	lo, hi := 1, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c, tie := p.cmpPre(nd.pre[mid].Load())
		if tie {
			s := nd.seps[mid].Load()
			if s == nil {
				return 0, false
			}
			c = compareKeys(p.key, s.key)
		}
		if c >= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1, true
}

// Which child a reader descends to: the one for a key, or an end.
const (
	toKey = iota
	toFirst
	toLast
)

// descend returns the leaf for p (or the first or last leaf) with its
// version, lock-free: each child is entered only after its parent is seen
// unchanged since the child pointer was read.
func (o *ordered[S, PS]) descend(p *probe, to int) (*leaf[S, PS], uint64) {
restart:
	for {
		nd := o.root.Load()
		v := stable(&nd.ver)
		// A root that has split since it was loaded covers only the lower
		// half: it is replaced before it is unlocked, so once its version
		// is stable the root pointer tells.
		if o.root.Load() != nd {
			continue restart
		}
		for {
			i := 0
			switch to {
			case toKey:
				var ok bool
				if i, ok = nd.route(p); !ok {
					continue restart
				}
			case toLast:
				i = min(max(int(nd.n.Load()), 1), innerCap) - 1
			}
			if nd.leafKids {
				l := nd.leaves[i].Load()
				if l == nil {
					continue restart
				}
				lv := stable(&l.ver)
				if nd.ver.Load() != v || nd.dead.Load() || l.dead.Load() {
					continue restart
				}
				return l, lv
			}
			c := nd.kids[i].Load()
			if c == nil {
				continue restart
			}
			cv := stable(&c.ver)
			if nd.ver.Load() != v || nd.dead.Load() {
				continue restart
			}
			nd, v = c, cv
		}
	}
}

// valid reports whether l is unchanged since version lv and still in the
// tree.
func (l *leaf[S, PS]) valid(lv uint64) bool { return l.ver.Load() == lv && !l.dead.Load() }

func (o *ordered[S, PS]) lookup(key term.Term) *term.Tuple {
	p := o.probe(key)
	for {
		l, lv := o.descend(&p, toKey)
		i, eq, ok := l.search(&p, l.count(), o.keyPos)
		var it item
		if ok && eq {
			ok = l.read(i, &it)
		}
		if ok && l.valid(lv) {
			if !eq {
				return nil
			}
			return it.object()
		}
	}
}

// collect appends to buf, lock-free, up to max objects in key order from
// the first key >= p (> p when after; from the first key when p is nil)
// onwards, all from one leaf (or from the next ones when a leaf has none
// left), and reports whether leaves follow.
func (o *ordered[S, PS]) collect(p *probe, after bool, max int, buf []item) ([]item, bool) {
	for {
		var l *leaf[S, PS]
		var lv uint64
		if p == nil {
			l, lv = o.descend(nil, toFirst)
		} else {
			l, lv = o.descend(p, toKey)
		}
		out, more, ok := o.collectFrom(l, lv, p, after, max, buf)
		if ok {
			return out, more
		}
	}
}

func (o *ordered[S, PS]) collectFrom(l *leaf[S, PS], lv uint64, p *probe, after bool, max int, buf []item) ([]item, bool, bool) {
	for {
		n := l.count()
		i := 0
		if p != nil {
			var eq, ok bool
			if i, eq, ok = l.search(p, n, o.keyPos); !ok {
				return buf, false, false
			}
			if eq && after {
				i++
			}
		}
		out := buf[:0]
		for j := i; j < n && len(out) < max; j++ {
			out = append(out, item{})
			if !l.read(j, &out[len(out)-1]) {
				return buf, false, false
			}
		}
		nx := l.next.Load()
		if !l.valid(lv) {
			return buf, false, false
		}
		if len(out) > 0 || nx == nil {
			return out, nx != nil, true
		}
		// Nothing here at or after p: every key of the next leaf is.
		l, lv, p = nx, stable(&nx.ver), nil
		if l.dead.Load() {
			return buf, false, false
		}
	}
}

func (o *ordered[S, PS]) first() term.Term {
	var buf [1]item
	if out, _ := o.collect(nil, false, 1, buf[:0]); len(out) > 0 {
		return out[0].key(o.keyPos)
	}
	return nil
}

func (o *ordered[S, PS]) next(key term.Term) (term.Term, error) {
	p := o.probe(key)
	var buf [1]item
	if out, _ := o.collect(&p, true, 1, buf[:0]); len(out) > 0 {
		return out[0].key(o.keyPos), nil
	}
	return nil, nil
}

func (o *ordered[S, PS]) last() term.Term {
	for {
		l, lv := o.descend(nil, toLast)
		if k, ok := o.lastBefore(l, lv, nil); ok {
			return k
		}
	}
}

func (o *ordered[S, PS]) prev(key term.Term) (term.Term, error) {
	p := o.probe(key)
	for {
		l, lv := o.descend(&p, toKey)
		if k, ok := o.lastBefore(l, lv, &p); ok {
			return k, nil
		}
	}
}

// lastBefore returns the last key < p (the last key when p is nil) from l
// or the leaves before it; ok is false when the search must start again.
func (o *ordered[S, PS]) lastBefore(l *leaf[S, PS], lv uint64, p *probe) (term.Term, bool) {
	var from *leaf[S, PS] // the leaf l was reached from, going back
	for {
		n := l.count()
		i := n
		if p != nil {
			var ok bool
			if i, _, ok = l.search(p, n, o.keyPos); !ok {
				return nil, false
			}
		}
		var it item
		if i > 0 && !l.read(i-1, &it) {
			return nil, false
		}
		pl, nx := l.prev.Load(), l.next.Load()
		// A leaf reached going back must still be next to the one left:
		// had it split since, its last keys would be in a leaf between.
		if !l.valid(lv) || (from != nil && nx != from) {
			return nil, false
		}
		if i > 0 {
			return it.key(o.keyPos), true
		}
		if pl == nil {
			return nil, true
		}
		// Every key of the previous leaf is before p.
		from, l, lv, p = l, pl, stable(&pl.ver), nil
		if l.dead.Load() {
			return nil, false
		}
	}
}

func (o *ordered[S, PS]) all(yield func(*term.Tuple) bool) { o.rangeObjs(nil, nil, yield) }

// rangeObjs yields the objects with lo <= key <= hi (nil bounds are open)
// in order, lock-free, a leaf at a time: after each leaf it looks for the
// first key after the last one it yielded.
func (o *ordered[S, PS]) rangeObjs(lo, hi term.Term, yield func(*term.Tuple) bool) {
	var p *probe
	if lo != nil {
		lp := o.probe(lo)
		p = &lp
	}
	after := false
	buf := make([]item, 0, leafCap)
	for {
		out, more := o.collect(p, after, leafCap, buf)
		for i := range out {
			obj := out[i].object()
			if hi != nil && compareKeys(obj.At(o.keyPos), hi) > 0 {
				return
			}
			if !yield(obj) {
				return
			}
		}
		if !more || len(out) == 0 {
			return
		}
		np := o.probe(out[len(out)-1].key(o.keyPos))
		p, after, buf = &np, true, out
	}
}

func (o *ordered[S, PS]) size() int {
	n := int64(0)
	for i := range o.stats {
		n += o.stats[i].n.Load()
	}
	return int(n)
}

// objBytes is the termBytes of the objects held.
func (o *ordered[S, PS]) objBytes() int64 {
	m := int64(0)
	for i := range o.stats {
		m += o.stats[i].mem.Load()
	}
	return m
}

func (o *ordered[S, PS]) memory() int64 {
	return o.objBytes() + o.leaves.Load()*o.leafBytes() + o.bigs.Load()*bigBytes + o.inners.Load()*innerBytes + 128
}

// Writers.

// inRange reports whether p belongs in l's range; l's fields are read as
// a reader reads them, so the answer holds only if l is then locked at the
// version read before.
func (l *leaf[S, PS]) inRange(p *probe) bool {
	if !l.loMin.Load() {
		lo := l.lo.Load()
		if lo == nil || p.cmp(l.lop.Load(), lo.key) < 0 {
			return false
		}
	}
	if nx := l.next.Load(); nx != nil {
		lo := nx.lo.Load()
		if lo == nil || p.cmp(nx.lop.Load(), lo.key) >= 0 {
			return false
		}
	}
	return true
}

// lockedLeaf returns p's leaf, locked: a hint when p belongs there, or
// the leaf a descent finds, which becomes a hint.
func (o *ordered[S, PS]) lockedLeaf(p *probe) *leaf[S, PS] {
	for i := range o.hints {
		if l := o.hints[i].Load(); l != nil {
			if lv := l.ver.Load(); !l.dead.Load() && l.inRange(p) && l.tryLock(lv) {
				return l
			}
		}
	}
	for {
		l, lv := o.descend(p, toKey)
		if l.tryLock(lv) {
			o.hints[o.hintNext.Add(1)%hintSlots].Store(l)
			return l
		}
	}
}

// stat adds to the counts of l's stripe; l is locked.
func (o *ordered[S, PS]) stat(l *leaf[S, PS], n, mem int64) {
	st := &o.stats[l.stripe]
	if n != 0 {
		st.n.Add(n)
	}
	if mem != 0 {
		st.mem.Add(mem)
	}
}

// entry is an object as a writer stores it: its key's prefix and either
// its record (obj nil) or the object itself.
type entry struct {
	pre uint64
	r   rec
	obj *term.Tuple
}

// newEntry prepares obj, of key prefix pre, for a slot: as a record when
// the table keeps records and it fits.
func (o *ordered[S, PS]) newEntry(pre uint64, obj *term.Tuple) entry {
	e := entry{pre: pre}
	if o.inline {
		if r, ok := encodeRec(obj); ok {
			e.r = r
			return e
		}
	}
	e.obj = obj
	return e
}

// ptrAt returns the object slot i of the locked l holds as a pointer; nil
// for a record.
func (l *leaf[S, PS]) ptrAt(i int) *term.Tuple { return PS(&l.s).ptr(l.at(i)) }

// objAt returns the object of slot i of the locked l.
func (l *leaf[S, PS]) objAt(i int) *term.Tuple {
	var it item
	l.read(i, &it)
	return it.object()
}

// setSlot stores e in slot i of the locked l.
func (o *ordered[S, PS]) setSlot(l *leaf[S, PS], i int, e *entry) {
	i = l.at(i)
	l.pre[i].Store(e.pre)
	if PS(&l.s).set(i, *e) {
		o.bigs.Add(1)
	}
}

// moveSlot copies object i of the locked f to object j of the locked l.
func (o *ordered[S, PS]) moveSlot(l *leaf[S, PS], j int, f *leaf[S, PS], i int) {
	o.movePhys(l, l.at(j), f, f.at(i))
}

// movePhys copies slot i of the locked f to slot j of the locked l.
func (o *ordered[S, PS]) movePhys(l *leaf[S, PS], j int, f *leaf[S, PS], i int) {
	l.pre[j].Store(f.pre[i].Load())
	if PS(&l.s).move(j, &f.s, i) {
		o.bigs.Add(1)
	}
}

// freeSlot lets go of the object slot i of the locked l held.
func (l *leaf[S, PS]) freeSlot(i int) { PS(&l.s).free(l.at(i)) }

// replaceAt stores e in slot i of the locked l, in place of an object
// with an equal key.
func (o *ordered[S, PS]) replaceAt(l *leaf[S, PS], i int, e *entry) {
	if old := l.ptrAt(i); old != nil && e.obj != nil {
		o.stat(l, 0, termBytesDelta(old, e.obj))
	} else {
		o.stat(l, 0, objSize(e.obj)-objSize(old))
	}
	o.setSlot(l, i, e)
}

// objSize is termBytes of an object kept as a pointer, 0 for none.
func objSize(obj *term.Tuple) int64 {
	if obj == nil {
		return 0
	}
	return termBytes(obj)
}

// putAt adds e at slot i of the locked l, which has room.
func (o *ordered[S, PS]) putAt(l *leaf[S, PS], i int, e *entry) {
	n := int(l.n.Load())
	if off := int(l.off.Load()); off > 0 && off+n == leafCap {
		for j := range n {
			o.movePhys(l, j, l, off+j)
		}
		for j := n; j < off+n; j++ {
			PS(&l.s).free(j)
		}
		l.off.Store(0)
	}
	for j := n; j > i; j-- {
		o.moveSlot(l, j, l, j-1)
	}
	o.setSlot(l, i, e)
	l.n.Store(int32(n + 1))
	l.last.Store(int32(i))
	o.stat(l, 1, objSize(e.obj))
}

// removeAt removes slot i of the locked l, which keeps an object (or is
// the only leaf).
func (o *ordered[S, PS]) removeAt(l *leaf[S, PS], i int) {
	n := int(l.n.Load())
	o.stat(l, -1, -objSize(l.ptrAt(i)))
	if i == 0 {
		l.freeSlot(0)
		l.off.Add(1)
		l.n.Store(int32(n - 1))
		return
	}
	for j := i; j < n-1; j++ {
		o.moveSlot(l, j, l, j+1)
	}
	l.freeSlot(n - 1)
	l.n.Store(int32(n - 1))
}

func (o *ordered[S, PS]) insert(obj *term.Tuple, onlyNew bool) bool {
	p := o.probe(obj.At(o.keyPos))
	e := o.newEntry(p.pre, obj)
	if done, stored := o.insertIn(o.lockedLeaf(&p), &p, &e, onlyNew, nil); done {
		return stored
	}
	// The leaf is full: split it, under mu.
	o.mu.Lock()
	defer o.mu.Unlock()
	var buf [8]step[S, PS]
	path, l := o.lockPath(&p, buf[:0])
	_, stored := o.insertIn(l, &p, &e, onlyNew, path)
	return stored
}

// insertIn does insert's work in the locked leaf l and unlocks it. When l
// is full it splits l with path (under mu), or without a path gives up:
// done is false.
func (o *ordered[S, PS]) insertIn(l *leaf[S, PS], p *probe, e *entry, onlyNew bool, path []step[S, PS]) (done, stored bool) {
	n := int(l.n.Load())
	i, eq, _ := l.search(p, n, o.keyPos)
	switch {
	case eq && onlyNew:
		l.unlock()
		return true, false
	case eq:
		o.replaceAt(l, i, e)
		l.unlock()
		return true, true
	case n < leafCap:
		o.putAt(l, i, e)
		l.unlock()
		return true, true
	case path == nil:
		l.unlock()
		return false, false
	}
	o.splitLeaf(path, l, i, e)
	return true, true
}

// lockPath returns the path to p's leaf and the leaf, locked; under mu.
func (o *ordered[S, PS]) lockPath(p *probe, buf []step[S, PS]) ([]step[S, PS], *leaf[S, PS]) {
	path, l := o.path(p, buf)
	l.lock()
	return path, l
}

func (o *ordered[S, PS]) delete(key term.Term) bool {
	p := o.probe(key)
	l := o.lockedLeaf(&p)
	n := int(l.n.Load())
	i, eq, _ := l.search(&p, n, o.keyPos)
	if !eq || n > 1 {
		if eq {
			o.removeAt(l, i)
		}
		l.unlock()
		return eq
	}
	// The leaf would be empty: remove it, under mu.
	l.unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	var buf [8]step[S, PS]
	path, l := o.lockPath(&p, buf[:0])
	i, eq, _ = l.search(&p, int(l.n.Load()), o.keyPos)
	if eq {
		o.removeLocked(path, l, i)
	} else {
		l.unlock()
	}
	return eq
}

// removeLocked removes slot i of the locked l, and l itself when that
// empties it and it is not the only leaf; under mu. It unlocks l.
func (o *ordered[S, PS]) removeLocked(path []step[S, PS], l *leaf[S, PS], i int) {
	if l.n.Load() > 1 || o.leaves.Load() == 1 {
		o.removeAt(l, i)
		l.unlock()
		return
	}
	o.stat(l, -1, -objSize(l.ptrAt(i)))
	o.removeLeaf(path, l)
}

func (o *ordered[S, PS]) update(key term.Term, f func(old *term.Tuple) (*term.Tuple, error)) error {
	p := o.probe(key)
	l := o.lockedLeaf(&p)
	n := int(l.n.Load())
	i, eq, _ := l.search(&p, n, o.keyPos)
	// Outcomes that may change the tree's shape (a new key in a full leaf,
	// the last key of a leaf removed) go under mu before f runs, so that
	// f runs once.
	if (eq && n > 1) || (!eq && n < leafCap) {
		err := o.updateAt(l, i, eq, &p, f)
		l.unlock()
		return err
	}
	l.unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	var buf [8]step[S, PS]
	path, l := o.lockPath(&p, buf[:0])
	n = int(l.n.Load())
	i, eq, _ = l.search(&p, n, o.keyPos)
	var old *term.Tuple
	if eq {
		old = l.objAt(i)
	}
	obj, err := f(old)
	switch {
	case err != nil || (obj == nil && !eq):
		l.unlock()
	case obj == nil:
		o.removeLocked(path, l, i)
	case eq:
		e := o.newEntry(p.pre, obj)
		o.replaceAt(l, i, &e)
		l.unlock()
	case n < leafCap:
		e := o.newEntry(p.pre, obj)
		o.putAt(l, i, &e)
		l.unlock()
	default:
		e := o.newEntry(p.pre, obj)
		o.splitLeaf(path, l, i, &e)
	}
	return err
}

// updateAt applies f to slot i of the locked l (eq: the key is there),
// when neither outcome changes the tree's shape.
func (o *ordered[S, PS]) updateAt(l *leaf[S, PS], i int, eq bool, p *probe, f func(old *term.Tuple) (*term.Tuple, error)) error {
	var old *term.Tuple
	if eq {
		old = l.objAt(i)
	}
	obj, err := f(old)
	switch {
	case err != nil:
		return err
	case obj == nil && eq:
		o.removeAt(l, i)
	case obj == nil:
	case eq:
		e := o.newEntry(p.pre, obj)
		o.replaceAt(l, i, &e)
	default:
		e := o.newEntry(p.pre, obj)
		o.putAt(l, i, &e)
	}
	return nil
}

// Shape changes, under mu.

// step is one inner node on the way down to a leaf and the child taken.
type step[S any, PS slots[S]] struct {
	nd *inner[S, PS]
	i  int
}

// path returns the inner nodes from the root down to p's leaf, and the
// leaf; under mu, so inner nodes hold still.
func (o *ordered[S, PS]) path(p *probe, buf []step[S, PS]) ([]step[S, PS], *leaf[S, PS]) {
	nd := o.root.Load()
	for {
		i, _ := nd.route(p)
		buf = append(buf, step[S, PS]{nd, i})
		if nd.leafKids {
			return buf, nd.leaves[i].Load()
		}
		nd = nd.kids[i].Load()
	}
}

// newLeaf returns an empty leaf on the next stripe.
func (o *ordered[S, PS]) newLeaf() *leaf[S, PS] {
	o.nextStripe = (o.nextStripe + 1) % statStripes
	o.leaves.Add(1)
	return &leaf[S, PS]{stripe: o.nextStripe}
}

// splitLeaf adds obj at slot i of the full, locked leaf l at the end of
// path by moving l's upper half to a new leaf. Keys that arrive in order
// split where they arrive instead: at the end, a new leaf starts with obj
// alone and l stays full; in the middle (right after the last key put in
// l: a stream of keys below other keys), l keeps the keys before obj and
// obj, so that the stream goes on appending to l and the keys after it
// are in another leaf. It unlocks l.
func (o *ordered[S, PS]) splitLeaf(path []step[S, PS], l *leaf[S, PS], i int, e *entry) {
	r := o.newLeaf()
	mid := leafCap / 2
	switch {
	case i == leafCap:
		mid = leafCap
	case i > 0 && int(l.last.Load()) == i-1:
		mid = i
	}
	for j := mid; j < leafCap; j++ {
		o.moveSlot(r, j-mid, l, j)
		l.freeSlot(j)
	}
	r.n.Store(int32(leafCap - mid))
	l.n.Store(int32(mid))
	// The stripes are only ever summed, so the moved objects' count and
	// bytes stay in l's stripe: re-walking them would cost a walk of every
	// moved object (replica states of megabytes) under the lock.
	if i > mid || mid == leafCap {
		o.putAt(r, i-mid, e)
	} else {
		o.putAt(l, i, e)
	}
	var it item
	r.read(0, &it)
	first := &sepKey{it.key(o.keyPos)}
	r.lo.Store(first)
	r.lop.Store(r.pre[r.at(0)].Load())
	nx := l.next.Load()
	r.next.Store(nx)
	r.prev.Store(l)
	if nx != nil {
		nx.lock()
		nx.prev.Store(r)
		nx.unlock()
	}
	l.next.Store(r)
	// The parent learns of r before l's readers may go on: one that saw
	// the parent before r was added finds it changed.
	o.addChild(path, len(path)-1, r.lop.Load(), first, nil, r)
	l.unlock()
}

// addChild inserts a child (kid or lf) after path[d].i in path[d].nd, with
// separator sep of prefix pre, splitting nodes up the path as needed.
func (o *ordered[S, PS]) addChild(path []step[S, PS], d int, pre uint64, sep *sepKey, kid *inner[S, PS], lf *leaf[S, PS]) {
	nd, at := path[d].nd, path[d].i+1
	n := int(nd.n.Load())
	if n < innerCap {
		lockW(&nd.ver)
		nd.shiftUp(at, n)
		nd.set(at, pre, sep, kid, lf)
		nd.n.Store(int32(n + 1))
		unlockW(&nd.ver)
		return
	}
	// Split nd: the right node takes the children from mid on (only the
	// new one when it goes at the end).
	r := &inner[S, PS]{leafKids: nd.leafKids}
	o.inners.Add(1)
	lockW(&nd.ver)
	mid := innerCap
	if at < innerCap {
		mid = innerCap / 2
	}
	for j := mid; j < innerCap; j++ {
		r.set(j-mid, nd.pre[j].Load(), nd.seps[j].Load(), nd.kids[j].Load(), nd.leaves[j].Load())
		nd.set(j, 0, nil, nil, nil)
	}
	r.n.Store(int32(innerCap - mid))
	nd.n.Store(int32(mid))
	into := nd
	if at >= mid {
		into, at = r, at-mid
	}
	m := int(into.n.Load())
	into.shiftUp(at, m)
	into.set(at, pre, sep, kid, lf)
	into.n.Store(int32(m + 1))
	rpre, rsep := r.pre[0].Load(), r.seps[0].Load()
	if d == 0 {
		root := &inner[S, PS]{}
		o.inners.Add(1)
		root.kids[0].Store(nd)
		root.set(1, rpre, rsep, r, nil)
		root.n.Store(2)
		o.root.Store(root)
	} else {
		o.addChild(path, d-1, rpre, rsep, r, nil)
	}
	unlockW(&nd.ver)
}

// shiftUp moves the children from at to n-1 one place up.
func (nd *inner[S, PS]) shiftUp(at, n int) {
	for j := n; j > at; j-- {
		nd.set(j, nd.pre[j-1].Load(), nd.seps[j-1].Load(), nd.kids[j-1].Load(), nd.leaves[j-1].Load())
	}
}

func (nd *inner[S, PS]) set(j int, pre uint64, sep *sepKey, kid *inner[S, PS], lf *leaf[S, PS]) {
	nd.pre[j].Store(pre)
	nd.seps[j].Store(sep)
	nd.kids[j].Store(kid)
	nd.leaves[j].Store(lf)
}

// removeLeaf takes the locked leaf l at the end of path, whose last object
// is being removed, out of the tree (l is not the only leaf), and unlocks
// it. Its range goes to the leaf before it, or, when it was the first
// child of the node that keeps the range, to the leaf after it.
func (o *ordered[S, PS]) removeLeaf(path []step[S, PS], l *leaf[S, PS]) {
	l.dead.Store(true)
	l.freeSlot(0)
	l.n.Store(0)
	d := len(path) - 1
	// Nodes left without children go too.
	for ; d > 0 && path[d].nd.n.Load() == 1; d-- {
		nd := path[d].nd
		lockW(&nd.ver)
		nd.dead.Store(true)
		unlockW(&nd.ver)
		o.inners.Add(-1)
	}
	nd, at := path[d].nd, path[d].i
	n := int(nd.n.Load())
	lockW(&nd.ver)
	for j := at; j < n-1; j++ {
		nd.set(j, nd.pre[j+1].Load(), nd.seps[j+1].Load(), nd.kids[j+1].Load(), nd.leaves[j+1].Load())
	}
	nd.set(n-1, 0, nil, nil, nil)
	nd.n.Store(int32(n - 1))
	unlockW(&nd.ver)
	pv, nx := l.prev.Load(), l.next.Load()
	if pv != nil {
		pv.lock()
		pv.next.Store(nx)
		pv.unlock()
	}
	if nx != nil {
		nx.lock()
		nx.prev.Store(pv)
		if at == 0 {
			nx.lo.Store(l.lo.Load())
			nx.lop.Store(l.lop.Load())
			nx.loMin.Store(l.loMin.Load())
		}
		nx.unlock()
	}
	l.unlock()
	o.leaves.Add(-1)
	if PS(&l.s).grown() {
		o.bigs.Add(-1)
	}
}

// clear empties the table: every leaf of the old tree is locked and marked
// removed, so a writer that found one starts again and finds the new tree;
// readers inside the old tree finish there.
func (o *ordered[S, PS]) clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	l, _ := o.descend(nil, toFirst)
	for l != nil {
		l.lock()
		l.dead.Store(true)
		nx := l.next.Load()
		l.unlock()
		l = nx
	}
	o.reset()
}
