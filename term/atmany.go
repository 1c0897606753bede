package term

// AtMany appends to dst the elements at the indexes idx, in that order, and
// returns dst: the same elements as calling At for each, read so that the
// memory loads of different indexes do not wait for each other. It panics
// if an index is out of range, as At does.
//
// On a list that is not in the caches (a replica between two deltas) each
// At is a chain of dependent loads: the path's inner nodes, the leaf, its
// element array, the slot. AtMany first finds every index's leaf, then
// reads every leaf's element array, then every slot, each in a short loop
// whose iterations are independent, so the processor overlaps their cache
// misses instead of taking them one after another.
func (l *List) AtMany(dst []Term, idx []int) []Term {
	for _, i := range idx {
		l.checkIndex(i)
	}
	if len(idx) == 0 {
		return dst
	}
	type slot struct {
		leaf *lnode
		i    int
	}
	var buf [64]slot
	slots := buf[:0]
	if len(idx) > len(buf) {
		slots = make([]slot, 0, len(idx))
	}
	for _, i := range idx {
		x := l.root
		for x.h > 0 {
			k := x.find(i)
			i -= x.start(k)
			x = x.kids[k].node
		}
		slots = append(slots, slot{x, i})
	}
	for _, s := range slots {
		dst = append(dst, s.leaf.elems[s.i])
	}
	return dst
}
