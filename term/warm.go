package term

// Warming a map's search paths: a batch of puts into a map that is not in
// the caches (a replica between two deltas) compares each key with the
// bounds of the inner nodes on its path and with about six keys of its
// leaf, and every one of those keys is a separate object, usually a miss,
// each waiting for the comparison before it. PutMany therefore first walks
// the paths of all its pairs level by level, loading every bound of the
// nodes it will route through and the first probes of the leaves' binary
// searches in short loops whose loads do not depend on each other, so the
// processor overlaps their misses; the update that follows finds them in
// the cache. Warming only reads.

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

// warmPaths loads the keys that putting pairs (sorted, distinct) into the
// tree under x compares, and returns a value computed from them, so that
// the loads are not optimized away.
func (x *mnode) warmPaths(pairs []Pair) uint64 {
	var s uint64
	level := []warmSpan{{x, 0, len(pairs)}}
	var next []warmSpan
	for len(level) > 0 && level[0].x.h > 0 {
		for _, w := range level {
			for _, c := range w.x.kids {
				s += touchKey(c.key)
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
					for j < w.hi && compareKeys(pairs[j].Key, kids[c+1].key) < 0 {
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
	// The leaves: their headers, then the keys a binary search probes
	// first (the middle, the quarters, the eighths).
	for _, w := range level {
		s += uint64(len(w.x.keys))
	}
	for _, w := range level {
		keys := w.x.keys
		n := len(keys)
		for d := 2; d <= 16; d *= 2 {
			for k := 1; k < d; k += 2 {
				s += touchKey(keys[k*n/d])
			}
		}
	}
	return s
}

// touchKey loads what comparing k reads first: the object of a binary
// (header and, for a short one, its bytes in the same line), an integer's
// boxed value, a tuple's header.
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
