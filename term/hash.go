package term

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Hash returns a 64-bit content hash of t: equal terms (Equal) have equal
// hashes, in every process and on every machine, whatever the internal
// layout of the terms. Composite terms cache their hash, and lists, maps and
// binaries cache it per internal chunk, so hashing a term built from a hashed
// one with the update helpers costs about the size of the change.
//
// The hash is not cryptographic: it detects accidents (a corrupt delta, a
// diverged replica), not an adversary.
func Hash(t Term) uint64 {
	switch x := t.(type) {
	case Atom:
		return hashString(tagAtom, string(x))
	case Int:
		return mix2(tagInt, uint64(x))
	case BigInt:
		var buf [1]byte
		if x.v.Sign() < 0 {
			buf[0] = 1
		}
		d := xxhash.New()
		_, _ = d.Write(buf[:])
		_, _ = d.Write(x.v.Bytes())
		return mix2(tagBigInt, d.Sum64())
	case Float:
		f := float64(x)
		if f == 0 {
			f = 0 // -0.0 =:= 0.0 in OTP 25
		}
		return mix2(tagFloat, math.Float64bits(f))
	case Pid:
		h := mix2(tagPid, hashString(tagAtom, string(x.Node)))
		h = mix2(h, uint64(x.ID)<<32|uint64(x.Serial))
		return mix2(h, uint64(x.Creation))
	case Port:
		h := mix2(tagPort, hashString(tagAtom, string(x.Node)))
		h = mix2(h, x.ID)
		return mix2(h, uint64(x.Creation))
	case Ref:
		h := mix2(tagRef, hashString(tagAtom, string(x.Node)))
		h = mix2(h, uint64(x.Creation)<<8|uint64(x.Len))
		for _, w := range x.Words() {
			h = mix2(h, uint64(w))
		}
		return h
	case *Fun:
		h := mix2(tagFun, hashString(tagAtom, string(x.Module)))
		h = mix2(h, hashString(tagAtom, string(x.Function)))
		h = mix2(h, uint64(x.Arity)<<1|b2u(x.Exported))
		h = mix2(h, binary.LittleEndian.Uint64(x.Uniq[:8]))
		h = mix2(h, binary.LittleEndian.Uint64(x.Uniq[8:]))
		h = mix2(h, uint64(x.Index))
		for _, s := range []Term{x.OldIndex, x.OldUniq, x.Pid} {
			if s != nil {
				h = mix2(h, Hash(s))
			}
		}
		for _, v := range x.FreeVars {
			h = mix2(h, Hash(v))
		}
		return h
	case *Tuple:
		return finishTuple(len(x.elems), x.polyHash())
	case *List:
		if h, ok := x.hash.load(); ok {
			return h
		}
		return x.hash.store(finishList(x.Len(), x.polyHash(), x.tail))
	case *Map:
		if h, ok := x.hash.load(); ok {
			return h
		}
		return x.hash.store(finishMap(x.Len(), x.sumHash()))
	case *Binary:
		if h, ok := x.hash.load(); ok {
			return h
		}
		return x.hash.store(finishBinary(x.BitLen(), x.polyHash()))
	}
	return 0
}

// Type tags keep hashes of different kinds apart.
const (
	tagAtom uint64 = iota + 0x9E3779B97F4A7C15
	tagInt
	tagBigInt
	tagFloat
	tagPid
	tagPort
	tagRef
	tagFun
	tagTuple
	tagList
	tagMap
	tagBinary
)

// The tuple, list and binary hashes are polynomials over the element (or chunk)
// hashes modulo the Mersenne prime 2^61-1:
//
//	poly(e1..en) = h(e1)·P^(n-1) + h(e2)·P^(n-2) + … + h(en)   (mod M)
//
// so poly(A ++ B) = poly(A)·P^|B| + poly(B), and a list can be hashed from
// cached hashes of its chunks whatever the chunk boundaries are. Replacing
// element i (of n) changes the polynomial by (h(new) - h(old))·P^(n-1-i),
// which is how a tuple or list copied with a few elements changed gets its
// hash from the old one's without reading the untouched elements.
const (
	polyMod  = 1<<61 - 1
	polyBase = 0x1F3D5B79A2C4E687 % polyMod
)

// polyMulMod returns a·b mod 2^61-1 for a, b < 2^61.
func polyMulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// a·b = hi·2^64 + lo; 2^64 ≡ 8 (mod 2^61-1) since 2^61 ≡ 1.
	r := (lo & polyMod) + (lo >> 61) + (hi << 3)
	r = (r & polyMod) + (r >> 61)
	if r >= polyMod {
		r -= polyMod
	}
	return r
}

func polyAdd(a, b uint64) uint64 {
	r := a + b
	if r >= polyMod {
		r -= polyMod
	}
	return r
}

// polyPush appends one element hash to a polynomial accumulator.
func polyPush(acc, h uint64) uint64 {
	return polyAdd(polyMulMod(acc, polyBase), h%polyMod)
}

// polyPowSmall holds P^n mod M for n below 64: the arities of records and
// the lengths of leaves, whose powers the hash carrying of every update
// needs. It is computed once and never changed.
var polyPowSmall = func() (t [64]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = polyMulMod(t[i-1], polyBase)
	}
	return t
}()

// polyPow returns P^n mod M.
func polyPow(n int) uint64 {
	if uint(n) < uint(len(polyPowSmall)) {
		return polyPowSmall[n]
	}
	r, b := uint64(1), uint64(polyBase)
	for n > 0 {
		if n&1 == 1 {
			r = polyMulMod(r, b)
		}
		b = polyMulMod(b, b)
		n >>= 1
	}
	return r
}

// polyConcat returns poly(A ++ B) from poly(A), poly(B) and |B|.
func polyConcat(a, b uint64, lenB int) uint64 {
	return polyAdd(polyMulMod(a, polyPow(lenB)), b)
}

func finishTuple(n int, poly uint64) uint64 {
	return mix2(mix2(tagTuple, uint64(n)), poly)
}

func finishList(n int, poly uint64, tail Term) uint64 {
	h := mix2(tagList, uint64(n))
	h = mix2(h, poly)
	if tail != nil {
		h = mix2(h, Hash(tail))
	}
	return h
}

func finishMap(n int, sum uint64) uint64 {
	return mix2(mix2(tagMap, uint64(n)), sum)
}

func finishBinary(bitLen int, poly uint64) uint64 {
	return mix2(mix2(tagBinary, uint64(bitLen)), poly)
}

// pairHash is one map entry's contribution to the map's hash; the map hash
// sums them, so it does not depend on the order or layout of the entries.
func pairHash(k, v Term) uint64 { return mix2(mix2(tagMap^0xFF, Hash(k)), Hash(v)) }

// binaryHashChunk is the fixed span of bytes hashed as one unit, so that a
// binary's hash is the same whatever its storage chunks are.
const binaryHashChunk = 64 << 10

func hashString(tag uint64, s string) uint64 { return mix2(tag, xxhash.Sum64String(s)) }

// mix2 combines two 64-bit values into a well-mixed one (a murmur-style
// finalizer over a multiply-xor step).
func mix2(a, b uint64) uint64 {
	h := a ^ (b + 0x9E3779B97F4A7C15 + (a << 6) + (a >> 2))
	h ^= h >> 33
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 33
	h *= 0xC4CEB9FE1A85EC53
	h ^= h >> 33
	return h
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// polyHash returns the polynomial hash of the tuple's elements, computing
// and caching it the first time. A tuple's cache holds this polynomial
// (with polyCached set), not the finished hash, so that a copy with some
// elements replaced can derive its own (carryPoly).
func (t *Tuple) polyHash() uint64 {
	if p, ok := t.cachedPoly(); ok {
		return p
	}
	var acc uint64
	for _, e := range t.elems {
		acc = polyPush(acc, Hash(e))
	}
	t.hash.h.Store(acc | polyCached)
	return acc
}

// cachedPoly returns the tuple's cached polynomial hash, if computed.
func (t *Tuple) cachedPoly() (uint64, bool) {
	p := t.hash.h.Load()
	return p &^ polyCached, p&polyCached != 0
}

// replaceDelta returns what replacing element i of an n-element sequence,
// whose hash was old, by one whose hash is new adds to the sequence's
// polynomial hash.
func replaceDelta(n, i int, old, new uint64) uint64 {
	d := polySub(new%polyMod, old%polyMod)
	if d == 0 {
		return 0
	}
	return polyMulMod(d, polyPow(n-1-i))
}

// HashBinaryString returns Hash of the binary whose bytes are s, without
// building the binary: for tables keyed by binaries that look keys up
// from strings.
func HashBinaryString(s string) uint64 {
	if len(s) > binaryHashChunk {
		return Hash(NewBinary([]byte(s)))
	}
	var poly uint64
	if len(s) > 0 {
		poly = polyPush(0, xxhash.Sum64String(s))
	}
	return finishBinary(8*len(s), poly)
}
