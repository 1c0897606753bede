package delta

import (
	"github.com/enode-dev/enode/term"
)

// uvarintLen returns the number of bytes of x as an unsigned varint.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// valueSize is the encoded size of an embedded value in a spec (the
// compact value form), or a number larger than limit once the size is known
// to exceed limit.
func valueSize(t term.Term, limit int) int {
	n := 0
	compactAdd(t, &n, limit)
	return n
}

func compactAdd(t term.Term, n *int, limit int) {
	if *n > limit {
		return
	}
	// A container takes at least a byte per element (two per map entry):
	// when that alone passes the limit, its elements need not be read.
	// This is what keeps the cost rule cheap on a large changed list.
	if *n+minContainerSize(t) > limit {
		*n = limit + 1
		return
	}
	switch x := t.(type) {
	case term.Int:
		v := int64(x)
		*n += 1 + uvarintLen(uint64(v<<1)^uint64(v>>63))
	case term.BigInt:
		m := (x.Big().BitLen() + 7) / 8
		*n += 2 + uvarintLen(uint64(m)) + m
	case term.Float:
		*n += 9
	case term.Atom:
		*n += 1 + compactAtomSize(x)
	case *term.Binary:
		*n += 1 + uvarintLen(uint64(x.Len())) + x.Len()
		if !x.IsBinary() {
			*n++
		}
	case *term.Tuple:
		*n += 1 + uvarintLen(uint64(x.Len()))
		for k := range x.Len() {
			if compactAdd(x.At(k), n, limit); *n > limit {
				return
			}
		}
	case *term.List:
		if x.Len() == 0 && x.IsProper() {
			*n++
			return
		}
		*n += 1 + uvarintLen(uint64(x.Len()))
		for _, e := range x.All() {
			if compactAdd(e, n, limit); *n > limit {
				return
			}
		}
		compactAdd(x.Tail(), n, limit)
	case *term.Map:
		*n += 1 + uvarintLen(uint64(x.Len()))
		for k, v := range x.All() {
			compactAdd(k, n, limit)
			if compactAdd(v, n, limit); *n > limit {
				return
			}
		}
	case term.Pid:
		*n += 1 + compactAtomSize(x.Node) + uvarintLen(uint64(x.ID)) + uvarintLen(uint64(x.Serial)) + uvarintLen(uint64(x.Creation))
	case term.Port:
		*n += 1 + compactAtomSize(x.Node) + uvarintLen(x.ID) + uvarintLen(uint64(x.Creation))
	case term.Ref:
		*n += 1 + compactAtomSize(x.Node) + uvarintLen(uint64(x.Creation)) + 1
		for _, w := range x.Words() {
			*n += uvarintLen(uint64(w))
		}
	case *term.Fun:
		*n += 2 + compactAtomSize(x.Module) + compactAtomSize(x.Function) + 1 + 16 + uvarintLen(uint64(x.Index))
		for _, v := range []term.Term{x.OldIndex, x.OldUniq, x.Pid} {
			if v != nil {
				compactAdd(v, n, limit)
			}
		}
		*n += uvarintLen(uint64(len(x.FreeVars)))
		for _, v := range x.FreeVars {
			compactAdd(v, n, limit)
		}
	default:
		*n++
	}
}

func compactAtomSize(a term.Atom) int { return uvarintLen(uint64(len(a))) + len(a) }

// opHeaderSize is the size of an op's header: kind and count in one varint.
func opHeaderSize(n int) int { return uvarintLen(uint64(n) << 2) }

// minContainerSize is a lower bound of a tuple's, list's or map's compact
// size (a tag byte and one byte per element, two per entry); 0 for other
// terms.
func minContainerSize(t term.Term) int {
	switch x := t.(type) {
	case *term.Tuple:
		return 1 + x.Len()
	case *term.List:
		return 1 + x.Len()
	case *term.Map:
		return 1 + 2*x.Len()
	}
	return 0
}
