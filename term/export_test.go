package term

// UnhashedNodes walks all of t and counts its hash-caching nodes (tuples,
// lists and their rope nodes, maps and their tree nodes, binaries and their
// chunks) and, of those, the ones whose hash is not cached yet. Hash(t)
// computes a hash only for the latter (and reads the cache of every node
// below one), so after an update helper or a delta applied to a hashed term
// the count bounds what hashing the result costs.
func UnhashedNodes(t Term) (unhashed, total int) {
	var w unhashedWalk
	w.term(t)
	return w.unhashed, w.total
}

type unhashedWalk struct{ unhashed, total int }

func (w *unhashedWalk) node(cached bool) {
	w.total++
	if !cached {
		w.unhashed++
	}
}

func (w *unhashedWalk) term(t Term) {
	switch x := t.(type) {
	case *Tuple:
		_, ok := x.cachedPoly()
		w.node(ok)
		for _, e := range x.elems {
			w.term(e)
		}
	case *List:
		_, ok := x.hash.load()
		w.node(ok)
		if x.root != nil {
			w.rope(x.root)
		}
		if x.tail != nil {
			w.term(x.tail)
		}
	case *Map:
		_, ok := x.hash.load()
		w.node(ok)
		if x.root != nil {
			w.btree(x.root)
		}
	case *Binary:
		_, ok := x.hash.load()
		w.node(ok)
		for _, c := range x.chunks() {
			w.node(c.h.Load()&polyCached != 0)
		}
	case *Fun:
		for _, v := range x.FreeVars {
			w.term(v)
		}
	}
}

func (w *unhashedWalk) rope(x *lnode) {
	w.node(x.poly.Load()&polyCached != 0)
	for _, e := range x.elems {
		w.term(e)
	}
	for _, c := range x.kids {
		w.rope(c.node)
	}
}

func (w *unhashedWalk) btree(x *mnode) {
	w.node(x.sumOK.Load())
	for i, k := range x.keys {
		w.term(k)
		w.term(x.vals[i])
	}
	for _, c := range x.kids {
		w.btree(c.node)
	}
}
