package resync

import (
	"slices"
	"sort"

	"github.com/enode-dev/enode/term"
)

// StepKind says how one step of a Path goes from a term to a node under it.
type StepKind uint8

// The steps. Element and key steps go to a subterm (a whole term, which can
// be stepped into again); range and bucket steps name a part of a list,
// binary or map and end a path.
const (
	// StepElem goes to element A of a tuple or list (absolute index).
	StepElem StepKind = iota + 1
	// StepRange names elements (or bytes) [A, B) of a list (or binary),
	// clipped to its length.
	StepRange
	// StepBucket names the pairs of a map whose key hash has the top A bits
	// equal to B.
	StepBucket
	// StepKey goes to the value of the map key whose term.Hash is A.
	StepKey
)

// Step is one step of a Path.
type Step struct {
	Kind StepKind
	A, B uint64
}

// Path names a node of the Merkle tree of a state: a subterm reached by
// element and key steps, optionally followed by one range or bucket step.
// Both sides derive the same children for the same path (see children), so
// a path means the same part of the state on both, whatever the internal
// layout of their terms.
type Path []Step

// child returns p extended by s (a new slice).
func (p Path) child(s Step) Path {
	q := make(Path, len(p), len(p)+1)
	copy(q, p)
	return append(q, s)
}

// node is a resolved Path: a term and, for a range or bucket, which part.
type node struct {
	t    term.Term // nil when the path leads nowhere on this side
	part StepKind  // 0 for the whole term, StepRange or StepBucket
	a, b uint64
}

// mapEntry is one pair of a map with its hashes.
type mapEntry struct {
	kh, vh uint64
	k, v   term.Term
}

// tree resolves paths and hashes nodes over one side's state, keeping the
// per-map key-hash indexes it builds (maps are immutable, so an index stays
// valid for the map object it was built for).
type tree struct {
	fan  int
	maps map[*term.Map][]mapEntry
}

func newTree(fan int) *tree { return &tree{fan: fan, maps: map[*term.Map][]mapEntry{}} }

// index returns m's pairs sorted by key hash.
func (tr *tree) index(m *term.Map) []mapEntry {
	if ix, ok := tr.maps[m]; ok {
		return ix
	}
	ix := make([]mapEntry, 0, m.Len())
	for k, v := range m.All() {
		ix = append(ix, mapEntry{kh: term.Hash(k), vh: term.Hash(v), k: k, v: v})
	}
	slices.SortFunc(ix, func(x, y mapEntry) int {
		switch {
		case x.kh < y.kh:
			return -1
		case x.kh > y.kh:
			return 1
		}
		return 0
	})
	tr.maps[m] = ix
	return ix
}

// bucket returns the entries of m whose key hash has top bits equal to prefix.
func (tr *tree) bucket(m *term.Map, bitsN, prefix uint64) []mapEntry {
	ix := tr.index(m)
	if bitsN == 0 {
		return ix
	}
	if bitsN > 64 {
		return nil
	}
	lo := prefix << (64 - bitsN)
	var hi uint64
	if prefix+1 < 1<<bitsN || bitsN == 64 {
		hi = (prefix + 1) << (64 - bitsN)
	}
	i := sort.Search(len(ix), func(i int) bool { return ix[i].kh >= lo })
	j := len(ix)
	if hi != 0 {
		j = sort.Search(len(ix), func(i int) bool { return ix[i].kh >= hi })
	}
	return ix[i:j]
}

// resolve follows p from root. A step that does not fit (wrong kind, index
// past the end, absent key) leaves the node empty: that side has nothing
// there, which hashes as absent.
func (tr *tree) resolve(root term.Term, p Path) node {
	t := root
	for i, s := range p {
		if t == nil {
			return node{}
		}
		switch s.Kind {
		case StepElem:
			switch x := t.(type) {
			case *term.Tuple:
				if s.A >= uint64(x.Len()) {
					return node{}
				}
				t = x.At(int(s.A))
			case *term.List:
				if s.A >= uint64(x.Len()) {
					return node{}
				}
				t = x.At(int(s.A))
			default:
				return node{}
			}
		case StepKey:
			m, ok := t.(*term.Map)
			if !ok {
				return node{}
			}
			e := tr.bucket(m, 64, s.A)
			if len(e) != 1 {
				return node{}
			}
			t = e[0].v
		case StepRange, StepBucket:
			if i != len(p)-1 {
				return node{}
			}
			return node{t: t, part: s.Kind, a: s.A, b: s.B}
		default:
			return node{}
		}
	}
	return node{t: t}
}

// absentHash is the hash of a node a side does not have.
const absentHash = 0

// hash returns the hash of n: term.Hash for a whole term; for a range, the
// hash of the clipped sublist or subbinary; for a bucket, a combination of
// the pair hashes.
func (tr *tree) hash(n node) uint64 {
	if n.t == nil {
		return absentHash
	}
	switch n.part {
	case StepRange:
		switch x := n.t.(type) {
		case *term.List:
			lo, hi := clip(n.a, n.b, x.Len())
			return term.Hash(x.Slice(lo, hi))
		case *term.Binary:
			lo, hi := clip(n.a, n.b, x.Len())
			return term.Hash(x.Slice(lo, hi))
		}
		return absentHash
	case StepBucket:
		m, ok := n.t.(*term.Map)
		if !ok {
			return absentHash
		}
		es := tr.bucket(m, n.a, n.b)
		var sum uint64
		for _, e := range es {
			sum += pairHash(e.kh, e.vh)
		}
		return mix(mix(0xB0C7E7, uint64(len(es))), sum)
	}
	return term.Hash(n.t)
}

func pairHash(kh, vh uint64) uint64 { return mix(kh, vh) }

func mix(a, b uint64) uint64 {
	h := a ^ (b + 0x9E3779B97F4A7C15 + (a << 6) + (a >> 2))
	h ^= h >> 33
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 33
	h *= 0xC4CEB9FE1A85EC53
	h ^= h >> 33
	return h
}

func clip(a, b uint64, n int) (int, int) {
	un := uint64(n)
	lo, hi := min(a, un), min(b, un)
	if hi < lo {
		hi = lo
	}
	return int(lo), int(hi)
}

// splitSpan returns the span of the children of a range of n elements: the
// largest power of fan below n, so that there are at most fan children and
// their boundaries depend only on the range, not on the term's layout.
func splitSpan(n uint64, fan int) uint64 {
	s := uint64(1)
	for s*uint64(fan) < n {
		s *= uint64(fan)
	}
	return s
}

// children returns n's shape as this side sees it (its kind and length,
// and for a map node whose pairs are its children, their key hashes) and
// its children's paths. A node of a kind without children (atoms,
// numbers, pids...) and a short byte range are leaves.
func (tr *tree) children(p Path, n node) (sh shape, kids []Path) {
	if n.t == nil {
		return shape{}, nil
	}
	sh.kind = n.t.Kind()
	switch x := n.t.(type) {
	case *term.Tuple:
		sh.length = uint64(x.Len())
	case *term.List:
		sh.length = uint64(x.Len())
	case *term.Binary:
		sh.length = uint64(x.Len())
	case *term.Map:
		sh.length = uint64(x.Len())
		bitsN, prefix := uint64(0), uint64(0)
		if n.part == StepBucket {
			bitsN, prefix = n.a, n.b
		}
		es := tr.bucket(x, bitsN, prefix)
		if len(es) <= tr.fan || bitsN+uint64(bitsPerLevel(tr.fan)) > 64 {
			sh.keyed = true
			sh.keys = make([]uint64, len(es))
			for i, e := range es {
				sh.keys[i] = e.kh
			}
		}
	}
	return sh, deriveKids(p, sh, tr.fan)
}

// shape is what a side tells of one node so that the other derives the
// same children: the kind and length of the subterm, and for a map node
// with key children, the key hashes.
type shape struct {
	kind   term.Kind
	length uint64
	keyed  bool
	keys   []uint64
}

// deriveKids returns the children of the node at p with shape sh. It
// depends only on p and sh, so the source derives exactly the children the
// copy hashed.
func deriveKids(p Path, sh shape, fan int) []Path {
	var part StepKind
	var a, b uint64
	base := p
	if len(p) > 0 {
		if last := p[len(p)-1]; last.Kind == StepRange || last.Kind == StepBucket {
			part, a, b, base = last.Kind, last.A, last.B, p[:len(p)-1]
		}
	}
	var kids []Path
	switch sh.kind {
	case term.KindTuple:
		if part != 0 || sh.length > maxCount {
			return nil
		}
		kids = make([]Path, sh.length)
		for i := range kids {
			kids[i] = base.child(Step{Kind: StepElem, A: uint64(i)})
		}
	case term.KindList, term.KindBinary:
		lo, hi := uint64(0), sh.length
		switch part {
		case StepRange:
			lo, hi = a, b
		case 0:
		default:
			return nil
		}
		if hi <= lo {
			return nil
		}
		if hi-lo <= uint64(fan) {
			if sh.kind == term.KindBinary {
				return nil // a short byte range is a leaf
			}
			for i := lo; i < hi; i++ {
				kids = append(kids, base.child(Step{Kind: StepElem, A: i}))
			}
			return kids
		}
		s := splitSpan(hi-lo, fan)
		for x := lo; x < hi; x += s {
			kids = append(kids, base.child(Step{Kind: StepRange, A: x, B: min(x+s, hi)}))
		}
	case term.KindMap:
		bitsN, prefix := uint64(0), uint64(0)
		switch part {
		case StepBucket:
			bitsN, prefix = a, b
		case 0:
		default:
			return nil
		}
		if sh.keyed {
			for _, k := range sh.keys {
				kids = append(kids, base.child(Step{Kind: StepKey, A: k}))
			}
			return kids
		}
		w := uint64(bitsPerLevel(fan))
		if bitsN+w > 64 {
			return nil
		}
		for i := range uint64(1) << w {
			kids = append(kids, base.child(Step{Kind: StepBucket, A: bitsN + w, B: prefix<<w | i}))
		}
	}
	return kids
}

// maxCount bounds counts taken from the other side (tuple arity, number of
// children) so that a corrupt shape cannot make a side allocate without
// bound.
const maxCount = 1 << 24

// bitsPerLevel is log2 of the fan-out, rounded down (at least 1).
func bitsPerLevel(fan int) int {
	b := 0
	for 1<<(b+1) <= fan {
		b++
	}
	return max(b, 1)
}

// expansion returns this side's expansion of the node at p (its shape and
// its children's hashes) and the children's paths.
func (tr *tree) expansion(root term.Term, p Path) (Expansion, []Path) {
	n := tr.resolve(root, p)
	sh, kids := tr.children(p, n)
	e := Expansion{Path: p, Kind: sh.kind, Len: sh.length, Keyed: sh.keyed, Keys: sh.keys}
	if l, ok := n.t.(*term.List); ok && n.part == 0 {
		e.Tail = term.Hash(l.Tail())
	}
	e.Hashes = make([]uint64, len(kids))
	for i, k := range kids {
		e.Hashes[i] = tr.hash(tr.resolve(root, k))
	}
	return e, kids
}

// leaf reports whether a node that differs is sent whole rather than
// compared further: it has no children, it is a bitstring (whose trailing
// bits no byte range covers), or it is a whole subterm of at most
// replaceBelow encoded bytes, cheaper to send than to hash.
func (tr *tree) leaf(p Path, n node, replaceBelow int) bool {
	_, kids := tr.children(p, n)
	if len(kids) == 0 || isBitstring(n) {
		return true
	}
	if n.part != 0 {
		return false
	}
	sz, err := term.EncodedSize(n.t)
	return err != nil || sz <= replaceBelow
}

// isBitstring reports whether n is a whole binary with trailing bits.
func isBitstring(n node) bool {
	b, ok := n.t.(*term.Binary)
	return ok && n.part == 0 && !b.IsBinary()
}

// sameShape reports whether two sides see a node the same way, so that
// they derive the same children: same kind, same length for a tuple, list
// or binary, same keys for a map node whose children are its keys.
func sameShape(a, b shape) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind == term.KindMap {
		return a.keyed == b.keyed && slices.Equal(a.keys, b.keys)
	}
	return a.length == b.length
}
