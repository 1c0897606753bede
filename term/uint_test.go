package term_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

func TestUint(t *testing.T) {
	for _, v := range []uint64{0, 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
		got, ok := term.UintOf(term.Uint(v))
		require.True(t, ok, "%d", v)
		require.Equal(t, v, got)
	}
	require.IsType(t, term.Int(0), term.Uint(math.MaxInt64))
	for _, bad := range []term.Term{term.Int(-1), term.Integer(new(big.Int).Lsh(big.NewInt(1), 64)),
		term.Integer(big.NewInt(-1)), term.Float(1), term.Atom("a")} {
		_, ok := term.UintOf(bad)
		require.False(t, ok, "%v", bad)
	}
}
