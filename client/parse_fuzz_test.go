package client

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// FuzzParseReply feeds the replica service reply parsers arbitrary terms
// (as ETF bytes): they never panic, accept only well-formed answers for the
// worker asked for, and reject the rest with ErrBadReply.
func FuzzParseReply(f *testing.F) {
	id := term.BinaryString("w1")
	for _, s := range []string{
		`{error,not_found}`, `{error,moved}`, `{error,badarg}`,
		`{unchanged,<<"w1">>,1,5}`, `{unchanged,<<"w2">>,1,5}`, `{unchanged,<<"w1">>,-1,5}`,
		`{replica,<<"w1">>,<<"a@h">>,1,5,3,<<1,2,3>>}`, `{replica,<<"w1">>,<<"a@h">>,1,5,10,<<1,2,3>>}`,
		`{replica,<<"w1">>,<<"a@h">>,1,5,2,<<1,2,3>>}`, `{replica,<<"w1">>,a,1,5,3,<<1,2,3>>}`,
		`{chunk,<<"w1">>,3,<<4,5>>}`, `{chunk,<<"w1">>,4,<<4,5>>}`, `{chunk,<<"w1">>,3,<<>>}`,
		`{replica,<<"w1">>,<<"a@h">>,18446744073709551615,5,3,<<1,2,3>>}`, `{}`, `[]`,
	} {
		t, err := term.Parse(s)
		require.NoError(f, err, s)
		b, err := term.Encode(t)
		require.NoError(f, err, s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := term.Decode(b)
		if err != nil {
			return
		}
		res, ok := v.(*term.Tuple)
		if !ok || res.Len() == 0 {
			return
		}
		r, err := parseReply(id, res)
		if err != nil {
			require.ErrorIs(t, err, ErrBadReply)
		} else if r.first != nil {
			require.True(t, r.found)
			require.LessOrEqual(t, uint64(r.first.Len()), r.size)
			require.LessOrEqual(t, r.size, uint64(maxStateSize))
		}
		piece, err := parsePiece(id, res, 3, 5)
		switch {
		case errors.Is(err, errMoved):
		case err != nil:
			require.ErrorIs(t, err, ErrBadReply)
		default:
			require.Positive(t, piece.Len())
			require.LessOrEqual(t, piece.Len(), 2)
		}
	})
}
