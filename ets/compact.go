package ets

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"github.com/enode-dev/enode/term"
)

// compactSet is the set of a table created with Options.Compact: small
// objects of numbers (a key that is a short binary, a short atom or an
// integer; up to compactVals other elements, each an integer or a float)
// are kept as 64-byte records, unboxed, in dense chunks, and found through
// an open-addressing index of 8-byte slots. That is about 80 bytes per
// object at 1M objects, where a set of generic tuples holds several heap
// objects per entry. Any other object is kept whole, beside its record.
//
// Like the hashSet it is split into setShards shards by the top bits of the
// key's term.Hash, each under its own reader/writer lock. Lookup builds the
// tuple from the record; UpdateNumbers and LookupNumbers read and write the
// numbers in place, with no term built at all.
type compactSet struct {
	keyPos  int
	shards  [setShards]compactShard
	scratch sync.Pool // *batchScratch
}

type compactShard struct {
	mu     sync.RWMutex
	slots  []uint64 // hash>>32 << 32 | ref; 0 is empty; len 0 or a power of two
	chunks [][]crec
	objs   map[uint32]*term.Tuple // objects that are not compact, by ref
	objMem int64                  // termBytes of objs
	free   uint32                 // free refs, linked through v[0]
	used   uint32                 // refs handed out
	n      int
	peak   int      // largest n since the last rebuild
	_      [64]byte // keeps shards on separate cache lines
}

const (
	// compactVals is how many elements besides the key a record holds.
	compactVals = 4
	// compactKeyBytes is the longest binary or atom key a record holds.
	compactKeyBytes = 20
	// crecBytes is the size of a record, for memory info.
	crecBytes     = 64
	crecChunkBits = 6
	crecChunkSize = 1 << crecChunkBits
	compactMinIdx = 16
)

// Key kinds of a record; kkFree marks a free record.
const (
	kkFree uint8 = iota
	kkBin
	kkAtom
	kkInt
	kkTerm // any other key: the object is in objs
)

// crec is one object: its key's hash, the key's bytes and the numbers.
// A ref is a record's number plus one.
type crec struct {
	h     uint64
	v     [compactVals]uint64 // the elements other than the key, in order
	n     uint8               // the object's arity; 0 when it is in objs
	kinds uint8               // bit i set: v[i] is a float's bits, else an int64
	kk    uint8
	klen  uint8
	kb    [compactKeyBytes]byte // zero past klen
}

// ckey is a key as a record holds it.
type ckey struct {
	h    uint64
	kk   uint8
	klen uint8
	kb   [compactKeyBytes]byte
	t    term.Term // the key, for kkTerm
}

func makeCKey(key term.Term) ckey {
	k := ckey{kk: kkTerm, t: key}
	switch x := key.(type) {
	case *term.Binary:
		if x.IsBinary() && x.Len() <= compactKeyBytes {
			k.kk, k.klen = kkBin, uint8(x.Len())
			at := 0
			for c := range x.Chunks() {
				at += copy(k.kb[at:], c)
			}
		}
	case term.Atom:
		if len(x) <= compactKeyBytes {
			k.kk, k.klen = kkAtom, uint8(copy(k.kb[:], x))
		}
	case term.Int:
		k.kk, k.klen = kkInt, 8
		binary.LittleEndian.PutUint64(k.kb[:], uint64(x))
	}
	k.h = term.Hash(key)
	return k
}

// stringCKey is makeCKey of the binary with the bytes of s.
func stringCKey(s string) ckey {
	if len(s) > compactKeyBytes {
		return makeCKey(term.NewBinary([]byte(s)))
	}
	k := ckey{kk: kkBin, klen: uint8(len(s)), h: term.HashBinaryString(s)}
	copy(k.kb[:], s)
	return k
}

// keyTerm returns the key of record ref.
func (sh *compactShard) keyTerm(ref uint32, r *crec, keyPos int) term.Term {
	switch r.kk {
	case kkBin:
		return term.NewBinary(r.kb[:r.klen])
	case kkAtom:
		return term.Atom(r.kb[:r.klen])
	case kkInt:
		return term.Int(int64(binary.LittleEndian.Uint64(r.kb[:])))
	}
	return sh.objs[ref].At(keyPos)
}

// fitsNumbers reports whether obj's elements other than its key are all
// integers or floats, and how many there are, up to compactVals.
func fitsNumbers(obj *term.Tuple, keyPos int) bool {
	if obj.Len() > compactVals+1 {
		return false
	}
	for i := range obj.Len() {
		if i == keyPos {
			continue
		}
		switch obj.At(i).(type) {
		case term.Int, term.Float:
		default:
			return false
		}
	}
	return true
}

func newCompactSet(keyPos int) *compactSet { return &compactSet{keyPos: keyPos} }

func (s *compactSet) shardOf(h uint64) *compactShard { return &s.shards[h>>(64-shardBits)] }

func (sh *compactShard) at(ref uint32) *crec {
	i := ref - 1
	return &sh.chunks[i>>crecChunkBits][i&(crecChunkSize-1)]
}

// find returns the ref of k and its index slot, or 0; sh is locked.
func (sh *compactShard) find(k *ckey, keyPos int) (ref uint32, slot int) {
	if len(sh.slots) == 0 {
		return 0, 0
	}
	mask := uint64(len(sh.slots) - 1)
	tag := k.h >> 32
	for i := k.h & mask; ; i = (i + 1) & mask {
		sl := sh.slots[i]
		if sl == 0 {
			return 0, 0
		}
		if sl>>32 != tag {
			continue
		}
		ref := uint32(sl)
		r := sh.at(ref)
		if r.h != k.h || r.kk != k.kk {
			continue
		}
		if k.kk == kkTerm {
			if term.Equal(sh.objs[ref].At(keyPos), k.t) {
				return ref, int(i)
			}
		} else if r.klen == k.klen && r.kb == k.kb {
			return ref, int(i)
		}
	}
}

// object builds the tuple record ref holds.
func (sh *compactShard) object(ref uint32, r *crec, keyPos int) *term.Tuple {
	if r.n == 0 {
		return sh.objs[ref]
	}
	elems := make([]term.Term, r.n)
	j := 0
	for i := range elems {
		if i == keyPos {
			elems[i] = sh.keyTerm(ref, r, keyPos)
			continue
		}
		if r.kinds&(1<<j) != 0 {
			elems[i] = term.Float(math.Float64frombits(r.v[j]))
		} else {
			elems[i] = term.Int(int64(r.v[j]))
		}
		j++
	}
	return term.NewTuple(elems...)
}

// store puts obj's elements in record ref, compact when it fits. A record
// just added has an arity of 0 and nothing in objs.
func (sh *compactShard) store(ref uint32, r *crec, obj *term.Tuple, keyPos int) {
	if r.kk != kkTerm && fitsNumbers(obj, keyPos) {
		if r.n == 0 {
			sh.dropObj(ref)
		}
		r.n, r.kinds, r.v = uint8(obj.Len()), 0, [compactVals]uint64{}
		j := 0
		for i := range obj.Len() {
			if i == keyPos {
				continue
			}
			switch x := obj.At(i).(type) {
			case term.Int:
				r.v[j] = uint64(x)
			case term.Float:
				r.v[j] = math.Float64bits(float64(x))
				r.kinds |= 1 << j
			}
			j++
		}
		return
	}
	if old, ok := sh.objs[ref]; ok {
		sh.objMem += termBytesDelta(old, obj)
	} else {
		sh.objMem += termBytes(obj)
	}
	r.n = 0
	if sh.objs == nil {
		sh.objs = map[uint32]*term.Tuple{}
	}
	sh.objs[ref] = obj
}

func (sh *compactShard) dropObj(ref uint32) {
	if obj, ok := sh.objs[ref]; ok {
		sh.objMem -= termBytes(obj)
		delete(sh.objs, ref)
	}
}

// add makes a record for key k, absent from sh, and returns it.
func (sh *compactShard) add(k *ckey) (uint32, *crec) {
	if (sh.n+1)*4 > len(sh.slots)*3 {
		sh.resizeIndex(max(compactMinIdx, 2*len(sh.slots)))
	}
	var ref uint32
	if sh.free != 0 {
		ref = sh.free
		sh.free = uint32(sh.at(ref).v[0])
	} else {
		if int(sh.used)>>crecChunkBits == len(sh.chunks) {
			sh.chunks = append(sh.chunks, make([]crec, crecChunkSize))
		}
		sh.used++
		ref = sh.used
	}
	r := sh.at(ref)
	*r = crec{h: k.h, kk: k.kk, klen: k.klen, kb: k.kb}
	placeRef(sh.slots, k.h, ref)
	sh.n++
	sh.peak = max(sh.peak, sh.n)
	return ref, r
}

// placeRef puts ref, whose key has hash h, in the first free slot of its
// probe sequence.
func placeRef(slots []uint64, h uint64, ref uint32) {
	mask := uint64(len(slots) - 1)
	i := h & mask
	for slots[i] != 0 {
		i = (i + 1) & mask
	}
	slots[i] = h>>32<<32 | uint64(ref)
}

func (sh *compactShard) resizeIndex(size int) {
	old := sh.slots
	sh.slots = make([]uint64, size)
	for _, sl := range old {
		if sl != 0 {
			placeRef(sh.slots, sh.at(uint32(sl)).h, uint32(sl))
		}
	}
}

// remove deletes record ref, found at index slot i; when the shard has
// fallen to a quarter of its peak (of at least a chunk) it is rebuilt at
// its live size, which gives the memory of removed records back.
func (sh *compactShard) remove(ref uint32, i int) {
	sh.unindex(i)
	r := sh.at(ref)
	if r.n == 0 {
		sh.dropObj(ref)
	}
	*r = crec{}
	r.v[0] = uint64(sh.free)
	sh.free = ref
	sh.n--
	if sh.peak >= crecChunkSize && sh.n*4 <= sh.peak {
		sh.rebuild()
	}
}

// unindex empties index slot i and shifts the rest of its run back, so
// probing needs no tombstones.
func (sh *compactShard) unindex(i int) {
	mask := len(sh.slots) - 1
	for {
		j := i
		for {
			j = (j + 1) & mask
			if sh.slots[j] == 0 {
				sh.slots[i] = 0
				return
			}
			home := int(sh.at(uint32(sh.slots[j])).h) & mask
			// Move slot j back to i unless its home lies cyclically in (i, j].
			if (i <= j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
				break
			}
		}
		sh.slots[i] = sh.slots[j]
		i = j
	}
}

// rebuild copies the live records into fresh chunks and a fresh index
// sized for them.
func (sh *compactShard) rebuild() {
	var chunks [][]crec
	var objs map[uint32]*term.Tuple
	var used uint32
	for ref := uint32(1); ref <= sh.used; ref++ {
		r := sh.at(ref)
		if r.kk == kkFree {
			continue
		}
		if int(used)>>crecChunkBits == len(chunks) {
			chunks = append(chunks, make([]crec, crecChunkSize))
		}
		used++
		chunks[(used-1)>>crecChunkBits][(used-1)&(crecChunkSize-1)] = *r
		if r.n == 0 {
			if objs == nil {
				objs = map[uint32]*term.Tuple{}
			}
			objs[used] = sh.objs[ref]
		}
	}
	sh.chunks, sh.objs, sh.used, sh.free, sh.peak = chunks, objs, used, 0, sh.n
	sh.slots = nil
	if sh.n > 0 {
		size := compactMinIdx
		for size*3 < sh.n*4*2 { // half full at most, so growth is not immediate
			size *= 2
		}
		sh.slots = make([]uint64, size)
		for ref := uint32(1); ref <= used; ref++ {
			placeRef(sh.slots, sh.at(ref).h, ref)
		}
	}
}

func (s *compactSet) lookup(key term.Term) *term.Tuple {
	k := makeCKey(key)
	sh := s.shardOf(k.h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if ref, _ := sh.find(&k, s.keyPos); ref != 0 {
		return sh.object(ref, sh.at(ref), s.keyPos)
	}
	return nil
}

func (s *compactSet) insert(obj *term.Tuple, onlyNew bool) bool {
	k := makeCKey(obj.At(s.keyPos))
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ref, _ := sh.find(&k, s.keyPos)
	if ref != 0 && onlyNew {
		return false
	}
	sh.put(ref, &k, obj, s.keyPos)
	return true
}

// put stores obj in record ref, or in a new record for key k when ref is
// 0; sh is locked.
func (sh *compactShard) put(ref uint32, k *ckey, obj *term.Tuple, keyPos int) {
	var r *crec
	if ref != 0 {
		r = sh.at(ref)
	} else {
		ref, r = sh.add(k)
	}
	sh.store(ref, r, obj, keyPos)
}

func (s *compactSet) delete(key term.Term) bool {
	k := makeCKey(key)
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ref, slot := sh.find(&k, s.keyPos)
	if ref == 0 {
		return false
	}
	sh.remove(ref, slot)
	return true
}

func (s *compactSet) update(key term.Term, f func(old *term.Tuple) (*term.Tuple, error)) error {
	k := makeCKey(key)
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ref, slot := sh.find(&k, s.keyPos)
	var old *term.Tuple
	if ref != 0 {
		old = sh.object(ref, sh.at(ref), s.keyPos)
	}
	obj, err := f(old)
	switch {
	case err != nil:
		return err
	case obj == nil && ref != 0:
		sh.remove(ref, slot) // DeleteObject
	case obj != nil:
		sh.put(ref, &k, obj, s.keyPos)
	}
	return nil
}

// firstFrom returns the first key at or after slot i of shard si, in
// (shard, slot) order; nil at the end.
func (s *compactSet) firstFrom(si, i int) term.Term {
	for ; si < setShards; si, i = si+1, 0 {
		sh := &s.shards[si]
		sh.mu.RLock()
		for ; i < len(sh.slots); i++ {
			if ref := uint32(sh.slots[i]); ref != 0 {
				key := sh.keyTerm(ref, sh.at(ref), s.keyPos)
				sh.mu.RUnlock()
				return key
			}
		}
		sh.mu.RUnlock()
	}
	return nil
}

func (s *compactSet) first() term.Term { return s.firstFrom(0, 0) }
func (s *compactSet) last() term.Term  { return s.first() }

func (s *compactSet) next(key term.Term) (term.Term, error) {
	k := makeCKey(key)
	si := int(k.h >> (64 - shardBits))
	sh := &s.shards[si]
	sh.mu.RLock()
	ref, slot := sh.find(&k, s.keyPos)
	sh.mu.RUnlock()
	if ref == 0 {
		return nil, errNoKey
	}
	return s.firstFrom(si, slot+1), nil
}

func (s *compactSet) prev(key term.Term) (term.Term, error) { return s.next(key) }

func (s *compactSet) all(yield func(*term.Tuple) bool) {
	var buf []*term.Tuple
	for si := range s.shards {
		sh := &s.shards[si]
		buf = buf[:0]
		sh.mu.RLock()
		for _, sl := range sh.slots {
			if ref := uint32(sl); ref != 0 {
				buf = append(buf, sh.object(ref, sh.at(ref), s.keyPos))
			}
		}
		sh.mu.RUnlock()
		for _, obj := range buf {
			if !yield(obj) {
				return
			}
		}
	}
}

func (s *compactSet) size() int {
	n := 0
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		n += sh.n
		sh.mu.RUnlock()
	}
	return n
}

func (s *compactSet) memory() int64 {
	m := int64(0)
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		m += int64(len(sh.slots))*8 + int64(len(sh.chunks))*crecChunkSize*crecBytes + sh.objMem + 128
		sh.mu.RUnlock()
	}
	return m
}

func (s *compactSet) clear() {
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.Lock()
		sh.slots, sh.chunks, sh.objs = nil, nil, nil
		sh.objMem, sh.free, sh.used, sh.n, sh.peak = 0, 0, 0, 0, 0
		sh.mu.Unlock()
	}
}

// Numbers is an object's elements other than its key, each a 64-bit
// integer or a float, as UpdateNumbers and LookupNumbers hand them over.
// Positions are tuple positions (0-based, the key's included), so the
// element after a key at 0 is 1.
type Numbers struct {
	keyPos int
	n      int // arity, the key included; 0 until set
	kinds  uint8
	v      [compactVals]uint64
}

// MaxNumbersArity is the largest arity, key included, of an object that
// UpdateNumbers writes.
const MaxNumbersArity = compactVals + 1

// Arity returns the object's arity, the key included; 0 for an object
// still to be made.
func (ns *Numbers) Arity() int { return ns.n }

// SetArity sets the arity, the key included, keeping the elements that
// remain; new elements are the integer 0. It reports false, changing
// nothing, when n is not between KeyPos+1 (and at least 1) and
// MaxNumbersArity.
func (ns *Numbers) SetArity(n int) bool {
	if n < ns.keyPos+1 || n < 1 || n > MaxNumbersArity {
		return false
	}
	for j := n - 1; j < compactVals; j++ {
		ns.v[j], ns.kinds = 0, ns.kinds&^(1<<j)
	}
	ns.n = n
	return true
}

// index maps a tuple position to an element of v; -1 for the key or a
// position out of range.
func (ns *Numbers) index(pos int) int {
	if pos < 0 || pos >= ns.n || pos == ns.keyPos {
		return -1
	}
	if pos > ns.keyPos {
		return pos - 1
	}
	return pos
}

// Int returns the integer at pos; ok is false when pos is the key, out of
// range, or holds a float.
func (ns *Numbers) Int(pos int) (v int64, ok bool) {
	j := ns.index(pos)
	if j < 0 || ns.kinds&(1<<j) != 0 {
		return 0, false
	}
	return int64(ns.v[j]), true
}

// Float returns the float at pos; ok is false when pos is the key, out of
// range, or holds an integer.
func (ns *Numbers) Float(pos int) (v float64, ok bool) {
	j := ns.index(pos)
	if j < 0 || ns.kinds&(1<<j) == 0 {
		return 0, false
	}
	return math.Float64frombits(ns.v[j]), true
}

// SetInt puts the integer v at pos and reports false, changing nothing,
// when pos is the key or out of range.
func (ns *Numbers) SetInt(pos int, v int64) bool {
	j := ns.index(pos)
	if j < 0 {
		return false
	}
	ns.v[j], ns.kinds = uint64(v), ns.kinds&^(1<<j)
	return true
}

// SetFloat puts the float v at pos and reports false, changing nothing,
// when pos is the key or out of range.
func (ns *Numbers) SetFloat(pos int, v float64) bool {
	j := ns.index(pos)
	if j < 0 {
		return false
	}
	ns.v[j], ns.kinds = math.Float64bits(v), ns.kinds|1<<j
	return true
}

// numbersOf reads obj's elements into ns; false when one is not a number
// or there are too many.
func numbersOf(obj *term.Tuple, keyPos int, ns *Numbers) bool {
	if !fitsNumbers(obj, keyPos) {
		return false
	}
	*ns = Numbers{keyPos: keyPos, n: obj.Len()}
	for i := range obj.Len() {
		switch x := obj.At(i).(type) {
		case term.Int:
			ns.SetInt(i, int64(x))
		case term.Float:
			ns.SetFloat(i, float64(x))
		}
	}
	return true
}

// tuple builds the object with key and ns's elements.
func (ns *Numbers) tuple(key term.Term) *term.Tuple {
	elems := make([]term.Term, ns.n)
	for i := range elems {
		if i == ns.keyPos {
			elems[i] = key
		} else if f, ok := ns.Float(i); ok {
			elems[i] = term.Float(f)
		} else {
			v, _ := ns.Int(i)
			elems[i] = term.Int(v)
		}
	}
	return term.NewTuple(elems...)
}

// fromRecord reads record r's numbers into ns.
func (ns *Numbers) fromRecord(r *crec, keyPos int) {
	*ns = Numbers{keyPos: keyPos, n: int(r.n), kinds: r.kinds, v: r.v}
}

// toRecord writes ns's numbers into record r, whose object is compact.
func (ns *Numbers) toRecord(r *crec) {
	r.n, r.kinds, r.v = uint8(ns.n), ns.kinds, ns.v
}

// updateNumbers is UpdateNumbers on a compact table.
func (s *compactSet) updateNumbers(k *ckey, f func(ns Numbers, found bool) (Numbers, bool)) error {
	return s.updateOne(k, 0, func(_ int, ns Numbers, found bool) (Numbers, bool) { return f(ns, found) })
}

// updateOne updates key k's numbers with f(i, ...) under its shard's lock.
func (s *compactSet) updateOne(k *ckey, i int, f func(i int, ns Numbers, found bool) (Numbers, bool)) error {
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.updateNumbers(k, s.keyPos, i, f)
}

// smallBatch is the batch below which UpdateNumbersBatch updates key by
// key: too few keys to gain from overlapping their loads.
const smallBatch = 8

// updateNumbers updates key k's numbers with f(i, ...); sh is locked.
func (sh *compactShard) updateNumbers(k *ckey, keyPos, i int, f func(i int, ns Numbers, found bool) (Numbers, bool)) error {
	ref, _ := sh.find(k, keyPos)
	ns := Numbers{keyPos: keyPos}
	if ref != 0 {
		r := sh.at(ref)
		if r.n == 0 {
			if !numbersOf(sh.objs[ref], keyPos, &ns) {
				return ErrNotNumbers
			}
		} else {
			ns.fromRecord(r, keyPos)
		}
		ns, write := f(i, ns, true)
		if write {
			if r.n == 0 {
				// The key is not compact (kkTerm): keep the object whole.
				sh.store(ref, r, ns.tuple(sh.keyTerm(ref, r, keyPos)), keyPos)
			} else {
				ns.toRecord(r)
			}
		}
		return nil
	}
	ns, write := f(i, ns, false)
	if !write {
		return nil
	}
	if ns.n == 0 {
		return ErrBadObject
	}
	ref, r := sh.add(k)
	if k.kk == kkTerm {
		sh.store(ref, r, ns.tuple(k.t), keyPos)
	} else {
		ns.toRecord(r)
	}
	return nil
}

// batchScratch is the working memory of one UpdateNumbersBatch.
type batchScratch struct {
	keys  []ckey
	order []int32
	sink  uint64 // keeps the warming loads from being optimised away
}

// updateNumbersBatch is UpdateNumbersBatch on a compact table.
func (s *compactSet) updateNumbersBatch(keys []string, f func(i int, ns Numbers, found bool) (Numbers, bool)) error {
	if len(keys) < smallBatch {
		for i, key := range keys {
			k := stringCKey(key)
			if err := s.updateOne(&k, i, f); err != nil {
				return err
			}
		}
		return nil
	}
	sc, _ := s.scratch.Get().(*batchScratch)
	if sc == nil {
		sc = &batchScratch{}
	}
	defer s.scratch.Put(sc)
	sc.keys = slices.Grow(sc.keys[:0], len(keys))[:len(keys)]
	sc.order = slices.Grow(sc.order[:0], len(keys))[:len(keys)]
	var starts [setShards + 1]int32
	for i, key := range keys {
		sc.keys[i] = stringCKey(key)
		starts[sc.keys[i].h>>(64-shardBits)+1]++
	}
	for si := range setShards {
		starts[si+1] += starts[si]
	}
	next := starts
	for i := range sc.keys {
		si := sc.keys[i].h >> (64 - shardBits)
		sc.order[next[si]] = int32(i)
		next[si]++
	}
	// Lock every shard the batch touches, in shard order (so batches
	// never deadlock), then read the index slot, and then the record, of
	// every key before updating any: independent loads with no atomic
	// operation between them, which the CPU overlaps, so that the updates
	// find them in the cache.
	for si := range setShards {
		if starts[si] < starts[si+1] {
			s.shards[si].mu.Lock()
		}
	}
	defer func() {
		for si := range setShards {
			if starts[si] < starts[si+1] {
				s.shards[si].mu.Unlock()
			}
		}
	}()
	var sink uint64
	for i := range sc.keys {
		k := &sc.keys[i]
		if sh := s.shardOf(k.h); len(sh.slots) > 0 {
			sink += sh.slots[k.h&uint64(len(sh.slots)-1)]
		}
	}
	for i := range sc.keys {
		k := &sc.keys[i]
		if sh := s.shardOf(k.h); len(sh.slots) > 0 {
			if ref := uint32(sh.slots[k.h&uint64(len(sh.slots)-1)]); ref != 0 {
				sink += sh.at(ref).h
			}
		}
	}
	sc.sink += sink
	for _, i := range sc.order {
		k := &sc.keys[i]
		if err := s.shardOf(k.h).updateNumbers(k, s.keyPos, int(i), f); err != nil {
			return err
		}
	}
	return nil
}

// lookupNumbers is LookupNumbers on a compact table.
func (s *compactSet) lookupNumbers(k *ckey, ns *Numbers) (bool, error) {
	sh := s.shardOf(k.h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	ref, _ := sh.find(k, s.keyPos)
	if ref == 0 {
		return false, nil
	}
	r := sh.at(ref)
	if r.n == 0 {
		if !numbersOf(sh.objs[ref], s.keyPos, ns) {
			return true, ErrNotNumbers
		}
		return true, nil
	}
	ns.fromRecord(r, s.keyPos)
	return true, nil
}

// UpdateNumbers atomically reads and rewrites, in place, the object under
// the binary key with key's bytes (given as a string, so that no term is
// built) in a Compact table: f gets the object's elements in ns, found
// false and an arity of 0 when the key is absent, and returns them changed
// and whether to write them back (for an absent key, to insert the object;
// f must then SetArity). Numbers pass by value, so nothing is allocated. It is ets:update_element with a function. It fails with
// ErrNotCompact on a table that is not Compact, with ErrNotNumbers when
// the object has an element that is not a number, and with ErrBadObject
// when f asks to insert an object without setting its arity. f runs under
// the lock of the key's shard: it must not use the table.
func (w Writer) UpdateNumbers(key string, f func(ns Numbers, found bool) (Numbers, bool)) error {
	if err := w.writable(); err != nil {
		return err
	}
	cs, ok := w.t.st.(*compactSet)
	if !ok {
		return w.t.errf(ErrNotCompact)
	}
	k := stringCKey(key)
	return w.t.errf(cs.updateNumbers(&k, f))
}

// UpdateNumbersBatch is UpdateNumbers for many keys of a Compact table at
// once: it calls f(i, ...) to update keys[i]. Each key's update is
// atomic; readers may see some of the batch done and not the rest. Keys
// are updated grouped by the table's internal shard, so a repeated key is
// updated in the order given, but the order between different keys is
// not. It holds the locks of the shards the batch touches while it runs
// (a batch of 512 takes tens of microseconds), and loads every key's
// index slot and record before updating any, which makes it several times
// cheaper per key than UpdateNumbers on a table larger than the CPU's
// caches. It stops at the first error, with the keys before it (in its
// order) updated.
// f runs under the shards' locks: it must not use the table.
func (w Writer) UpdateNumbersBatch(keys []string, f func(i int, ns Numbers, found bool) (Numbers, bool)) error {
	if err := w.writable(); err != nil {
		return err
	}
	cs, ok := w.t.st.(*compactSet)
	if !ok {
		return w.t.errf(ErrNotCompact)
	}
	return w.t.errf(cs.updateNumbersBatch(keys, f))
}

// LookupNumbers reads the elements of the object under the binary key
// with key's bytes into ns, building no term; found is false when the
// key is absent. It fails with ErrNotNumbers when the object has an
// element that is not a number.
func (v View) LookupNumbers(key string, ns *Numbers) (found bool, err error) {
	if err := v.live(); err != nil {
		return false, err
	}
	if cs, ok := v.t.st.(*compactSet); ok {
		k := stringCKey(key)
		found, err := cs.lookupNumbers(&k, ns)
		return found, v.t.errf(err)
	}
	obj := v.t.st.lookup(term.NewBinary([]byte(key)))
	if obj == nil {
		return false, nil
	}
	if !numbersOf(obj, v.t.keyPos, ns) {
		return true, v.t.errf(ErrNotNumbers)
	}
	return true, nil
}
