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
