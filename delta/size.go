package delta

import (
	"math"

	"github.com/enode-dev/enode/term"
)

// etfSize returns the size of t in the External Term Format (without the
// version byte), as OTP writes it, or a number larger than limit as soon as
// the size is known to exceed limit. Diff uses it to decide whether a nested
// spec is worth sending instead of the value, without walking large values
// to the end.
func etfSize(t term.Term, limit int) int {
	n := 0
	etfAdd(t, &n, limit)
	return n
}

func etfAdd(t term.Term, n *int, limit int) {
	if *n > limit {
		return
	}
	switch x := t.(type) {
	case term.Atom:
		*n += atomSize(x)
	case term.Int:
		switch {
		case x >= 0 && x <= 255:
			*n += 2
		case x >= math.MinInt32 && x <= math.MaxInt32:
			*n += 5
		default:
			u := uint64(x)
			if x < 0 {
				u = uint64(-x)
			}
			b := 0
			for ; u > 0; u >>= 8 {
				b++
			}
			*n += 3 + b
		}
	case term.BigInt:
		b := (x.Big().BitLen() + 7) / 8
		if b <= 255 {
			*n += 3 + b
		} else {
			*n += 6 + b
		}
	case term.Float:
		*n += 9
	case *term.Binary:
		if x.IsBinary() {
			*n += 5 + x.Len()
		} else {
			*n += 6 + x.Len()
		}
	case *term.Tuple:
		if x.Len() <= 255 {
			*n += 2
		} else {
			*n += 5
		}
		for i := range x.Len() {
			if etfAdd(x.At(i), n, limit); *n > limit {
				return
			}
		}
	case *term.List:
		if x.Len() == 0 && x.IsProper() {
			*n++
			return
		}
		*n += 5
		for _, e := range x.All() {
			if etfAdd(e, n, limit); *n > limit {
				return
			}
		}
		etfAdd(x.Tail(), n, limit)
	case *term.Map:
		*n += 5
		for k, v := range x.All() {
			etfAdd(k, n, limit)
			if etfAdd(v, n, limit); *n > limit {
				return
			}
		}
	case term.Pid:
		*n += 13 + atomSize(x.Node)
	case term.Port:
		*n += 13 + atomSize(x.Node)
	case term.Ref:
		*n += 7 + atomSize(x.Node) + 4*len(x.Words())
	case *term.Fun:
		*n += 40 + atomSize(x.Module) + atomSize(x.Function)
		for _, v := range x.FreeVars {
			etfAdd(v, n, limit)
		}
	default:
		*n += 1
	}
}

func atomSize(a term.Atom) int {
	if len(a) <= 255 {
		return 2 + len(a)
	}
	return 3 + len(a)
}

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
		*n += 1 + uvarintLen(uint64(len(x))) + len(x)
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
	default:
		*n += etfSize(t, limit)
	}
}

// opHeaderSize is the size of an op's header: kind and count in one varint.
func opHeaderSize(n int) int { return uvarintLen(uint64(n) << 2) }
