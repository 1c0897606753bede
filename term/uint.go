package term

import (
	"math"
	"math/big"
)

// Uint is the integer term of v: an Int, or a BigInt above math.MaxInt64
// (epochs, sequence numbers and sizes on the wire are uint64).
func Uint(v uint64) Term {
	if v <= math.MaxInt64 {
		return Int(v)
	}
	return Integer(new(big.Int).SetUint64(v))
}

// UintOf reads a non-negative integer term that fits in 64 bits; false for
// any other term.
func UintOf(t Term) (uint64, bool) {
	switch v := t.(type) {
	case Int:
		if v >= 0 {
			return uint64(v), true
		}
	case BigInt:
		b := v.Big()
		if b.Sign() >= 0 && b.IsUint64() {
			return b.Uint64(), true
		}
	}
	return 0, false
}
