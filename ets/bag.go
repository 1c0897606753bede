package ets

import (
	"errors"
	"sync/atomic"

	"github.com/enode-dev/enode/term"
)

// bag is a bag or a duplicate_bag: a hashSet keyed on position 0 of
// groups, one per key, each the tuple {Key, Obj1, ..., ObjN} of the key's
// objects in insertion order. Groups are never changed in place: a write
// under the shard's lock replaces the group with a new one, so readers
// hold a consistent group without a lock, and a key with n objects costs
// O(n) per write (bags suit keys with a few objects each, as in ETS, where
// a bag insert also compares with every object of the key).
type bag struct {
	keyPos int
	dup    bool // duplicate_bag: equal objects are all kept
	hs     *hashSet
	n      atomic.Int64 // objects
}

func newBag(keyPos int, dup bool) *bag { return &bag{keyPos: keyPos, dup: dup, hs: newHashSet(0)} }

// errKeyPresent stops an insert_new whose key is there.
var errKeyPresent = errors.New("ets: key present")

// group returns the objects of g (nil for no group), in insertion order.
func group(g *term.Tuple) []*term.Tuple {
	if g == nil {
		return nil
	}
	out := make([]*term.Tuple, g.Len()-1)
	for i := range out {
		out[i] = g.At(i + 1).(*term.Tuple)
	}
	return out
}

// newGroup returns the group {key, objs...}, or nil when objs is empty.
func newGroup(key term.Term, objs []*term.Tuple) *term.Tuple {
	if len(objs) == 0 {
		return nil
	}
	elems := make([]term.Term, 1+len(objs))
	elems[0] = key
	for i, o := range objs {
		elems[i+1] = o
	}
	return term.NewTuple(elems...)
}

func (b *bag) lookupAll(key term.Term) []*term.Tuple { return group(b.hs.lookup(key)) }

// lookup returns the key's first object.
func (b *bag) lookup(key term.Term) *term.Tuple {
	if g := b.hs.lookup(key); g != nil {
		return g.At(1).(*term.Tuple)
	}
	return nil
}

// insert adds obj to its key's objects: after them, unless (in a bag, not
// a duplicate_bag) an equal object (=:=) is there already, which stays
// where it is. With onlyNew it adds nothing when the key has objects.
func (b *bag) insert(obj *term.Tuple, onlyNew bool) bool {
	key := obj.At(b.keyPos)
	added := false
	err := b.hs.update(key, func(old *term.Tuple) (*term.Tuple, error) {
		objs := group(old)
		if len(objs) > 0 && onlyNew {
			return nil, errKeyPresent
		}
		if !b.dup {
			for _, o := range objs {
				if term.Equal(o, obj) {
					return old, nil
				}
			}
		}
		added = true
		gk := key
		if old != nil {
			gk = old.At(0)
		}
		return newGroup(gk, append(objs, obj)), nil
	})
	if added {
		b.n.Add(1)
	}
	return err == nil
}

// delete removes every object of key.
func (b *bag) delete(key term.Term) bool {
	removed := 0
	_ = b.hs.update(key, func(old *term.Tuple) (*term.Tuple, error) {
		if old != nil {
			removed = old.Len() - 1
		}
		return nil, nil
	})
	b.n.Add(-int64(removed))
	return removed > 0
}

// deleteObject removes every object equal (=:=) to obj.
func (b *bag) deleteObject(obj *term.Tuple) bool {
	removed := 0
	_ = b.hs.update(obj.At(b.keyPos), func(old *term.Tuple) (*term.Tuple, error) {
		objs := group(old)
		kept := objs[:0]
		for _, o := range objs {
			if !term.Equal(o, obj) {
				kept = append(kept, o)
			}
		}
		removed = len(objs) - len(kept)
		if removed == 0 {
			return old, nil
		}
		return newGroup(old.At(0), kept), nil
	})
	b.n.Add(-int64(removed))
	return removed > 0
}

// update is update_counter's, which ETS refuses on bags.
func (b *bag) update(term.Term, func(*term.Tuple) (*term.Tuple, error)) error {
	return ErrNotSet
}

func (b *bag) first() term.Term                      { return b.hs.first() }
func (b *bag) last() term.Term                       { return b.hs.last() }
func (b *bag) next(key term.Term) (term.Term, error) { return b.hs.next(key) }
func (b *bag) prev(key term.Term) (term.Term, error) { return b.hs.prev(key) }

func (b *bag) all(yield func(*term.Tuple) bool) {
	b.hs.all(func(g *term.Tuple) bool {
		for i := 1; i < g.Len(); i++ {
			if !yield(g.At(i).(*term.Tuple)) {
				return false
			}
		}
		return true
	})
}

func (b *bag) size() int     { return int(b.n.Load()) }
func (b *bag) memory() int64 { return b.hs.memory() }

// clear empties the shards one at a time, taking off the count exactly
// the objects each held, so that writes running meanwhile keep the count
// right.
func (b *bag) clear() {
	for si := range b.hs.shards {
		sh := &b.hs.shards[si]
		sh.mu.Lock()
		objs := 0
		for _, sl := range sh.slots {
			if sl.obj != nil {
				objs += sl.obj.Len() - 1
			}
		}
		sh.slots, sh.n, sh.mem = nil, 0, 0
		sh.mu.Unlock()
		b.n.Add(-int64(objs))
	}
}
