package ets

import "github.com/enode-dev/enode/term"

// termBytes estimates the heap bytes a term holds beyond the 16-byte
// interface value that refers to it: what ets:info(T, memory) counts in
// words, in bytes. Shared subterms are counted at every use.
func termBytes(t term.Term) int64 {
	switch x := t.(type) {
	case term.Atom:
		return 16 + int64(len(x))
	case term.Int, term.Float:
		return 8
	case term.BigInt:
		return 32 + int64(len(x.Big().Bits()))*8
	case term.Pid:
		return 32
	case term.Port:
		return 40
	case term.Ref:
		return 48
	case *term.Binary:
		return 48 + int64(x.Len())
	case *term.Tuple:
		n := int64(40 + 16*x.Len())
		for i := range x.Len() {
			n += termBytes(x.At(i))
		}
		return n
	case *term.List:
		n := int64(48 + 16*x.Len())
		for _, e := range x.All() {
			n += termBytes(e)
		}
		if !x.IsProper() {
			n += termBytes(x.Tail())
		}
		return n
	case *term.Map:
		n := int64(56 + 32*x.Len())
		for k, v := range x.All() {
			n += termBytes(k) + termBytes(v)
		}
		return n
	case *term.Fun:
		n := int64(96 + 16*len(x.FreeVars))
		for _, v := range x.FreeVars {
			n += termBytes(v)
		}
		return n
	}
	return 0
}

// termBytesDelta returns termBytes(new) - termBytes(old), looking only where
// the two differ: subterms they share (the update helpers keep the parts
// of a term they did not touch) cost nothing, and lists and maps are
// compared with term.ListEdits and term.MapEdits, which skip shared
// structure. So replacing a large object by an updated copy of itself costs
// in proportion to the change, not to the object's size.
func termBytesDelta(old, new term.Term) int64 {
	if term.Same(old, new) {
		return 0
	}
	switch n := new.(type) {
	case *term.Tuple:
		if o, ok := old.(*term.Tuple); ok && o.Len() == n.Len() {
			var d int64
			for i := range n.Len() {
				d += termBytesDelta(o.At(i), n.At(i))
			}
			return d
		}
	case *term.List:
		if o, ok := old.(*term.List); ok {
			return listBytesDelta(o, n)
		}
	case *term.Map:
		if o, ok := old.(*term.Map); ok {
			d := int64(32 * (n.Len() - o.Len()))
			term.MapEdits(o, n, func(k, ov, nv term.Term) bool {
				switch {
				case ov == nil:
					d += termBytes(k) + termBytes(nv)
				case nv == nil:
					d -= termBytes(k) + termBytes(ov)
				default:
					d += termBytesDelta(ov, nv)
				}
				return true
			})
			return d
		}
	}
	return termBytes(new) - termBytes(old)
}

// listBytesDelta is termBytesDelta for two lists.
func listBytesDelta(o, n *term.List) int64 {
	d := int64(16 * (n.Len() - o.Len()))
	for _, e := range term.ListEdits(o, n) {
		if e.OldHi-e.OldLo == e.NewHi-e.NewLo {
			for k := range e.NewHi - e.NewLo {
				d += termBytesDelta(o.At(e.OldLo+k), n.At(e.NewLo+k))
			}
			continue
		}
		for i := e.OldLo; i < e.OldHi; i++ {
			d -= termBytes(o.At(i))
		}
		for i := e.NewLo; i < e.NewHi; i++ {
			d += termBytes(n.At(i))
		}
	}
	switch {
	case !o.IsProper() && !n.IsProper():
		d += termBytesDelta(o.Tail(), n.Tail())
	case !n.IsProper():
		d += termBytes(n.Tail())
	case !o.IsProper():
		d -= termBytes(o.Tail())
	}
	return d
}
