package term

import "slices"

// Warming a map's search paths: a batch of puts into a map that is not in
// the caches (a replica between two deltas) routes each key through the
// inner nodes on its path and searches its leaf, and each of those nodes
// is a miss, waiting for the comparison before it. The comparisons read
// the key prefixes kept in the nodes (see btree.go), so what a put loads is
// the nodes' children and prefix arrays, then, in its leaf, the key it
// finds (to confirm the match) and the old value (whose hash the new
// leaf's cached hash sum drops). PutMany therefore first walks the paths of
// all its pairs level by level, loading those lines in short loops whose
// loads do not depend on each other, so the processor overlaps their
// misses; the update that follows finds them in the cache. Warming only
// reads.

// minWarmPairs is the fewest pairs for which PutMany warms the paths, and
// minWarmMap the smallest map: a smaller one stays in the caches, where
// warming is pure overhead.
const (
	minWarmPairs = 8
	minWarmMap   = 4096
)

// warmSpan is a node and the pairs routed to it, as indexes [lo, hi).
type warmSpan struct {
	x      *mnode
	lo, hi int
}

// warmPaths loads what putting pairs (sorted, distinct, with their keys'
// prefixes in kps) into the tree under x reads, and returns a value
// computed from it, so that the loads are not optimized away.
func (x *mnode) warmPaths(pairs []Pair, kps []uint64) uint64 {
	var s uint64
	level := []warmSpan{{x, 0, len(pairs)}}
	var next []warmSpan
	for len(level) > 0 && level[0].x.h > 0 {
		// The children arrays (bounds and their prefixes), two children
		// to a cache line.
		for _, w := range level {
			kids := w.x.kids
			for c := 0; c < len(kids); c += 2 {
				s += kids[c].pfx
			}
		}
		next = next[:0]
		for _, w := range level {
			kids := w.x.kids
			j := w.lo
			for c := 0; c < len(kids) && j < w.hi; c++ {
				lo := j
				if c+1 == len(kids) {
					j = w.hi
				} else {
					b := &kids[c+1]
					for j < w.hi && compareKeyAt(kps[j], pairs[j].Key, b.pfx, b.key) < 0 {
						j++
					}
				}
				if j > lo {
					next = append(next, warmSpan{kids[c].node, lo, j})
				}
			}
		}
		level, next = next, level
	}
	// The leaves: their prefix arrays, then for each pair the key its
	// search lands on and the value there.
	for _, w := range level {
		pfx := w.x.pfx
		for i := 0; i < len(pfx); i += 8 {
			s += pfx[i]
		}
	}
	for _, w := range level {
		l := w.x
		for j := w.lo; j < w.hi; j++ {
			i, _ := slices.BinarySearch(l.pfx, kps[j])
			if i < len(l.keys) {
				s += touchKey(l.keys[i]) + touchKey(l.vals[i])
			}
		}
	}
	return s
}

// touchKey loads what comparing or hashing k reads first: the object of a
// binary (header and, for a short one, its bytes in the same line), an
// integer's boxed value, a tuple's header.
func touchKey(k Term) uint64 {
	switch x := k.(type) {
	case *Binary:
		if len(x.data) > 0 {
			return uint64(x.data[0])
		}
		return 0
	case Int:
		return uint64(x)
	case *Tuple:
		return uint64(len(x.elems))
	case Atom:
		return uint64(len(x))
	}
	return 0
}

// keep takes a value computed from warming loads; not being inlined, it
// keeps the compiler from dropping them as unused.
//
//go:noinline
func keep(uint64) {}
