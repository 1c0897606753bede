package ets

import (
	"sync"

	"github.com/enode-dev/enode/term"
)

// A set is split into setShards shards picked by the top bits of the key's
// hash (setHash); each shard is an open-addressing table (linear probing,
// backward-shift deletion) under its own reader/writer lock, so readers of
// different shards never meet and no operation locks the whole table.
const (
	shardBits = 6
	setShards = 1 << shardBits
	// minSlots is a shard's smallest non-empty table.
	minSlots = 16
	// slotBytes is the size of one slot, for memory info.
	slotBytes = 16
)

type hashSet struct {
	keyPos int
	shards [setShards]setShard
}

type setShard struct {
	mu    sync.RWMutex
	slots []setSlot // len is 0 or a power of two
	n     int
	mem   int64    // estimated bytes of the objects held
	_     [64]byte // keeps shards on separate cache lines
}

// setSlot is one object with its key's setHash; obj is nil in an empty
// slot. Keys are compared only when the hashes are equal, which for a key
// that is absent almost never happens, so an insert reads no object.
type setSlot struct {
	h   uint64
	obj *term.Tuple
}

// setKey is a key with its setHash.
type setKey struct {
	key term.Term
	h   uint64
}

func makeSetKey(key term.Term) setKey { return setKey{key: key, h: setHash(key)} }

// runBits is log2 of the run of consecutive integer keys that setHash keeps
// in consecutive slots: four 16-byte slots, one cache line.
const runBits = 2

// setHash is term.Hash, except for an integer key: its run number (the key
// without its low runBits bits) is mixed, and the low bits are kept, so
// that consecutive integers (counters, sequence numbers) land in the same
// shard and cache line while runs spread over the table as any hash does.
func setHash(key term.Term) uint64 {
	i, ok := key.(term.Int)
	if !ok {
		return term.Hash(key)
	}
	x := uint64(i) >> runBits
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x<<runBits | uint64(i)&(1<<runBits-1)
}

// home is the slot a hash probes first: bits below the ones that pick the
// shard.
func home(h uint64, mask uint64) uint64 { return h & mask }

func newHashSet(keyPos int) *hashSet { return &hashSet{keyPos: keyPos} }

func (s *hashSet) shardOf(h uint64) *setShard { return &s.shards[h>>(64-shardBits)] }

// find returns the slot of k in sh and true, or the empty slot that ends
// k's probe sequence and false (-1 when sh has no slots); sh is locked.
func (s *hashSet) find(sh *setShard, k *setKey) (int, bool) {
	if len(sh.slots) == 0 {
		return -1, false
	}
	mask := uint64(len(sh.slots) - 1)
	for i := home(k.h, mask); ; i = (i + 1) & mask {
		sl := &sh.slots[i]
		if sl.obj == nil {
			return int(i), false
		}
		if sl.h == k.h && keyEqual(sl.obj.At(s.keyPos), k.key) {
			return int(i), true
		}
	}
}

// keyEqual is term.Equal with the common scalar keys decided inline.
func keyEqual(a, b term.Term) bool {
	switch x := a.(type) {
	case term.Int:
		y, ok := b.(term.Int)
		return ok && x == y
	case term.Atom:
		y, ok := b.(term.Atom)
		return ok && x == y
	}
	return term.Equal(a, b)
}

func (s *hashSet) lookup(key term.Term) *term.Tuple {
	k := makeSetKey(key)
	sh := s.shardOf(k.h)
	sh.mu.RLock()
	var obj *term.Tuple
	if i, ok := s.find(sh, &k); ok {
		obj = sh.slots[i].obj
	}
	sh.mu.RUnlock()
	return obj
}

func (s *hashSet) insert(obj *term.Tuple, onlyNew bool) bool {
	k := makeSetKey(obj.At(s.keyPos))
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := s.find(sh, &k)
	if ok {
		if onlyNew {
			return false
		}
		sh.mem += termBytesDelta(sh.slots[i].obj, obj)
		sh.slots[i].obj = obj
		return true
	}
	sh.put(i, &k, obj)
	sh.mem += termBytes(obj)
	return true
}

// put adds an object whose key is absent at slot i, the end of its probe
// sequence (-1 in an empty shard), growing the table at 3/4 load.
func (sh *setShard) put(i int, k *setKey, obj *term.Tuple) {
	if i < 0 || (sh.n+1)*4 > len(sh.slots)*3 {
		sh.resize(max(minSlots, len(sh.slots)*2))
		mask := uint64(len(sh.slots) - 1)
		j := home(k.h, mask)
		for sh.slots[j].obj != nil {
			j = (j + 1) & mask
		}
		i = int(j)
	}
	sh.slots[i] = setSlot{h: k.h, obj: obj}
	sh.n++
}

func (sh *setShard) resize(n int) {
	old := sh.slots
	sh.slots = make([]setSlot, n)
	mask := uint64(n - 1)
	for _, sl := range old {
		if sl.obj == nil {
			continue
		}
		i := home(sl.h, mask)
		for sh.slots[i].obj != nil {
			i = (i + 1) & mask
		}
		sh.slots[i] = sl
	}
}

// remove empties slot i and shifts the following run back so that probing
// needs no tombstones; it shrinks the table when it falls below 1/8 load,
// which gives the memory back.
func (sh *setShard) remove(i int) {
	mask := len(sh.slots) - 1
	for {
		j := i
		for {
			j = (j + 1) & mask
			if sh.slots[j].obj == nil {
				sh.slots[i] = setSlot{}
				sh.n--
				if len(sh.slots) > minSlots && sh.n*8 < len(sh.slots) {
					sh.resize(len(sh.slots) / 2)
				}
				return
			}
			hj := int(home(sh.slots[j].h, uint64(mask)))
			// Move slot j back to i unless its home lies cyclically in (i, j].
			if (i <= j && (hj <= i || hj > j)) || (i > j && hj <= i && hj > j) {
				break
			}
		}
		sh.slots[i] = sh.slots[j]
		i = j
	}
}

func (s *hashSet) delete(key term.Term) bool {
	k := makeSetKey(key)
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := s.find(sh, &k)
	if !ok {
		return false
	}
	sh.mem -= termBytes(sh.slots[i].obj)
	sh.remove(i)
	return true
}

func (s *hashSet) update(key term.Term, f func(old *term.Tuple) (*term.Tuple, error)) error {
	k := makeSetKey(key)
	sh := s.shardOf(k.h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, found := s.find(sh, &k)
	var old *term.Tuple
	if found {
		old = sh.slots[i].obj
	}
	obj, err := f(old)
	switch {
	case err != nil:
		return err
	case obj == nil && found:
		// Only a bag's groups go away through update.
		sh.mem -= termBytes(old)
		sh.remove(i)
	case obj == nil:
	case found:
		sh.mem += termBytesDelta(old, obj)
		sh.slots[i].obj = obj
	default:
		sh.put(i, &k, obj)
		sh.mem += termBytes(obj)
	}
	return nil
}

// firstFrom returns the first key at or after slot i of shard si, in
// (shard, slot) order; nil at the end.
func (s *hashSet) firstFrom(si, i int) term.Term {
	for ; si < setShards; si, i = si+1, 0 {
		sh := &s.shards[si]
		sh.mu.RLock()
		for ; i < len(sh.slots); i++ {
			if obj := sh.slots[i].obj; obj != nil {
				sh.mu.RUnlock()
				return obj.At(s.keyPos)
			}
		}
		sh.mu.RUnlock()
	}
	return nil
}

func (s *hashSet) first() term.Term { return s.firstFrom(0, 0) }
func (s *hashSet) last() term.Term  { return s.first() }

func (s *hashSet) next(key term.Term) (term.Term, error) {
	k := makeSetKey(key)
	si := int(k.h >> (64 - shardBits))
	sh := &s.shards[si]
	sh.mu.RLock()
	i, ok := s.find(sh, &k)
	sh.mu.RUnlock()
	if !ok {
		return nil, errNoKey
	}
	return s.firstFrom(si, i+1), nil
}

func (s *hashSet) prev(key term.Term) (term.Term, error) { return s.next(key) }

func (s *hashSet) all(yield func(*term.Tuple) bool) {
	var buf []*term.Tuple
	for si := range s.shards {
		sh := &s.shards[si]
		buf = buf[:0]
		sh.mu.RLock()
		for _, sl := range sh.slots {
			if sl.obj != nil {
				buf = append(buf, sl.obj)
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

func (s *hashSet) size() int {
	n := 0
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		n += sh.n
		sh.mu.RUnlock()
	}
	return n
}

func (s *hashSet) memory() int64 {
	m := int64(0)
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.RLock()
		m += int64(len(sh.slots))*slotBytes + sh.mem + 128
		sh.mu.RUnlock()
	}
	return m
}

func (s *hashSet) clear() {
	for si := range s.shards {
		sh := &s.shards[si]
		sh.mu.Lock()
		sh.slots, sh.n, sh.mem = nil, 0, 0
		sh.mu.Unlock()
	}
}
