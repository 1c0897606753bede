package term

import (
	"math"
	"math/big"
	"math/rand/v2"
)

// randomTerm returns a random term of any kind, nested at most depth levels
// below the top, drawing from r only (so a fixed seed gives a fixed term).
// It favours edge cases: atoms that need quoting, integers at the int64
// limits, big integers, special floats, printable and non-printable
// binaries, bitstrings, strings, improper lists, maps with mixed keys, and
// every identifier kind. Atoms are valid UTF-8 of at most 255 characters
// and references are canonical (Len 1 to 5, unused words zero), as terms
// from Erlang are.
func randomTerm(r *rand.Rand, depth int) Term {
	n := 12
	if depth > 0 {
		n = 17
	}
	switch r.IntN(n) {
	case 0, 1:
		return randomAtom(r)
	case 2:
		return randomInt(r)
	case 3:
		return randomBigInt(r)
	case 4:
		return randomFloat(r)
	case 5:
		return randomBinary(r)
	case 6:
		return randomPid(r)
	case 7:
		return Port{Node: randomNode(r), ID: r.Uint64() >> r.IntN(64), Creation: r.Uint32()}
	case 8:
		return randomRef(r)
	case 9:
		return &Fun{Exported: true, Module: randomAtom(r), Function: randomAtom(r), Arity: uint8(r.IntN(256))}
	case 10:
		return Charlist(randomString(r))
	case 11:
		return Nil()
	case 12:
		return randomFun(r, depth-1)
	case 13:
		elems := make([]Term, r.IntN(5))
		for i := range elems {
			elems[i] = randomTerm(r, depth-1)
		}
		return tupleOwning(elems)
	case 14:
		elems := make([]Term, r.IntN(5))
		for i := range elems {
			elems[i] = randomTerm(r, depth-1)
		}
		if len(elems) > 0 && r.IntN(3) == 0 {
			return listOwning(elems, randomTerm(r, depth-1))
		}
		return listOwning(elems, nil)
	default:
		pairs := make([]Pair, r.IntN(5))
		for i := range pairs {
			pairs[i] = Pair{randomTerm(r, depth-1), randomTerm(r, depth-1)}
		}
		return MapOf(pairs...)
	}
}

func randomAtom(r *rand.Rand) Atom {
	fixed := []Atom{"", "ok", "true", "undefined", "hello world", "Abc", "and", "fun", "it's",
		"back\\slash", "new\nline", "tab\t", "\x00\x7f\u009f", "café", "привет", "a@b", "Ünïcödé",
		"_x", "9lives", "nonode@nohost", "w1@127.0.0.1", "😀"}
	if r.IntN(2) == 0 {
		return fixed[r.IntN(len(fixed))]
	}
	rs := make([]rune, r.IntN(12))
	for i := range rs {
		rs[i] = randomRune(r)
	}
	if r.IntN(50) == 0 {
		rs = make([]rune, 255) // the longest atom Erlang allows
		for i := range rs {
			rs[i] = 'a' + rune(i%26)
		}
	}
	return Atom(string(rs))
}

// randomRune returns a valid Unicode scalar value, mostly ASCII.
func randomRune(r *rand.Rand) rune {
	switch r.IntN(4) {
	case 0, 1:
		return 'a' + rune(r.IntN(26))
	case 2:
		return rune(r.IntN(256))
	}
	for {
		c := rune(r.IntN(utf8MaxRune + 1))
		if c < 0xD800 || c > 0xDFFF {
			return c
		}
	}
}

const utf8MaxRune = 0x10FFFF

func randomString(r *rand.Rand) string {
	rs := make([]rune, r.IntN(10))
	printable := r.IntN(2) == 0
	for i := range rs {
		if printable {
			rs[i] = ' ' + rune(r.IntN(95))
		} else {
			rs[i] = randomRune(r)
		}
	}
	return string(rs)
}

func randomInt(r *rand.Rand) Int {
	switch r.IntN(5) {
	case 0:
		return Int(r.IntN(256))
	case 1:
		return []Int{0, -1, 1, math.MaxInt64, math.MinInt64, 1 << 27, -(1 << 27) - 1}[r.IntN(7)]
	case 2:
		return Int(r.Int64() >> r.IntN(64))
	}
	return Int(int64(r.Uint64()))
}

func randomBigInt(r *rand.Rand) Term {
	b := make([]byte, 8+r.IntN(40))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] |= 0x80 // beyond int64
	v := new(big.Int).SetBytes(b)
	if r.IntN(2) == 0 {
		v.Neg(v)
	}
	return Integer(v)
}

func randomFloat(r *rand.Rand) Float {
	switch r.IntN(4) {
	case 0:
		return []Float{0, Float(math.Copysign(0, -1)), 1, 0.1, -2.5e-7, 1e20, 100, 1000, 1e-4, 1e-5,
			math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, -(1 << 53), 9007199254740993,
			123456789e2, 0.3, 2.0 / 3}[r.IntN(18)]
	case 1:
		return Float(float64(r.IntN(2000000)-1000000) / float64(int(1)<<r.IntN(20)))
	}
	for {
		f := math.Float64frombits(r.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return Float(f)
		}
	}
}

func randomBinary(r *rand.Rand) *Binary {
	b := make([]byte, r.IntN(12))
	printable := r.IntN(2) == 0
	for i := range b {
		if printable {
			b[i] = ' ' + byte(r.IntN(95))
		} else {
			b[i] = byte(r.Uint32())
		}
	}
	if len(b) > 0 && r.IntN(4) == 0 {
		return NewBitstring(b, uint8(1+r.IntN(7)))
	}
	return NewBinary(b)
}

func randomNode(r *rand.Rand) Atom {
	return []Atom{"nonode@nohost", "w1@127.0.0.1", "rep_enode@host", "'odd'@x"}[r.IntN(4)]
}

func randomPid(r *rand.Rand) Pid {
	return Pid{Node: randomNode(r), ID: r.Uint32() >> r.IntN(32), Serial: r.Uint32() >> r.IntN(32), Creation: r.Uint32()}
}

func randomRef(r *rand.Rand) Ref {
	ref := Ref{Node: randomNode(r), Creation: r.Uint32(), Len: uint8(1 + r.IntN(5))}
	for i := range int(ref.Len) {
		ref.ID[i] = r.Uint32()
	}
	return ref
}

func randomFun(r *rand.Rand, depth int) *Fun {
	f := &Fun{Module: randomAtom(r), Arity: uint8(r.IntN(256)), Index: r.Uint32(),
		OldIndex: Int(r.IntN(100)), OldUniq: Int(r.Int32()), Pid: randomPid(r)}
	for i := range f.Uniq {
		f.Uniq[i] = byte(r.Uint32())
	}
	if r.IntN(5) == 0 {
		f.OldIndex, f.OldUniq, f.Pid = nil, nil, nil
	}
	for range r.IntN(3) {
		f.FreeVars = append(f.FreeVars, randomTerm(r, depth))
	}
	return f
}
