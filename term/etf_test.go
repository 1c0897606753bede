package term_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func bigPow2(n uint, neg bool) term.Term {
	v := new(big.Int).Lsh(big.NewInt(1), n)
	if neg {
		v.Neg(v)
	}
	return term.Integer(v)
}

const node = term.Atom("nonode@nohost")

var closureUniq = [16]byte{0x8F, 0x9D, 0x10, 0x00, 0xBB, 0x2F, 0x86, 0xE1, 0x06, 0xCD, 0x8A, 0x60, 0x81, 0xAB, 0xF4, 0x16}

// etfGolden holds what OTP 25's term_to_binary/1 writes on this machine for
// each Erlang expression (printed with binary:encode_hex/1).
var etfGolden = []struct {
	erl string
	t   term.Term
	hex string
}{
	{`0`, term.Int(0), "836100"},
	{`255`, term.Int(255), "8361FF"},
	{`256`, term.Int(256), "836200000100"},
	{`-1`, term.Int(-1), "8362FFFFFFFF"},
	{`2147483647`, term.Int(math.MaxInt32), "83627FFFFFFF"},
	{`-2147483648`, term.Int(math.MinInt32), "836280000000"},
	{`2147483648`, term.Int(math.MaxInt32 + 1), "836E040000000080"},
	{`-2147483649`, term.Int(math.MinInt32 - 1), "836E040101000080"},
	{`9223372036854775807`, term.Int(math.MaxInt64), "836E0800FFFFFFFFFFFFFF7F"},
	{`-9223372036854775808`, term.Int(math.MinInt64), "836E08010000000000000080"},
	{`1 bsl 64`, bigPow2(64, false), "836E0900000000000000000001"},
	{`-(1 bsl 64)`, bigPow2(64, true), "836E0901000000000000000001"},
	{`1.5`, term.Float(1.5), "83463FF8000000000000"},
	{`-0.0`, term.Float(math.Copysign(0, -1)), "83468000000000000000"},
	{`3.141592653589793`, term.Float(math.Pi), "8346400921FB54442D18"},
	{`1.0e300`, term.Float(1e300), "83467E37E43C8800759C"},
	{`-1.0e-300`, term.Float(-1e-300), "834681A56E1FC2F8F359"},
	{`ok`, term.OK, "836400026F6B"},
	{`''`, term.Atom(""), "83640000"},
	{`'é'`, term.Atom("é"), "83640001E9"},
	{`'ж'`, term.Atom("ж"), "837702D0B6"},
	{`'hello world'`, term.Atom("hello world"), "8364000B68656C6C6F20776F726C64"},
	{`list_to_atom([255,256])`, term.Atom("ÿĀ"), "837704C3BFC480"},
	{`{}`, term.NewTuple(), "836800"},
	{`{a,1}`, term.NewTuple(term.Atom("a"), term.Int(1)), "836802640001616101"},
	{`{a,{b,{c}}}`, term.NewTuple(term.Atom("a"), term.NewTuple(term.Atom("b"), term.NewTuple(term.Atom("c")))),
		"83680264000161680264000162680164000163"},
	{`[]`, term.Nil(), "836A"},
	{`"abc"`, term.Charlist("abc"), "836B0003616263"},
	{`[1,a]`, term.NewList(term.Int(1), term.Atom("a")), "836C000000026101640001616A"},
	{`[256]`, term.NewList(term.Int(256)), "836C0000000162000001006A"},
	{`[1|2]`, term.ImproperList([]term.Term{term.Int(1)}, term.Int(2)), "836C0000000161016102"},
	{`[a,b|c]`, term.ImproperList([]term.Term{term.Atom("a"), term.Atom("b")}, term.Atom("c")),
		"836C00000002640001616400016264000163"},
	{`[[1],[]]`, term.NewList(term.NewList(term.Int(1)), term.Nil()), "836C000000026B0001016A6A"},
	{`[1,2|<<3>>]`, term.ImproperList([]term.Term{term.Int(1), term.Int(2)}, term.NewBinary([]byte{3})),
		"836C00000002610161026D0000000103"},
	{`[1.5]`, term.NewList(term.Float(1.5)), "836C00000001463FF80000000000006A"},
	{`<<>>`, term.NewBinary(nil), "836D00000000"},
	{`<<1,2,3>>`, term.NewBinary([]byte{1, 2, 3}), "836D00000003010203"},
	{`<<1,2,3:5>>`, term.NewBitstring([]byte{1, 2, 3 << 3}, 5), "834D0000000305010218"},
	{`<<1:1>>`, term.NewBitstring([]byte{0x80}, 1), "834D000000010180"},
	{`#{}`, term.EmptyMap(), "837400000000"},
	{`#{b => 1, a => 2, 1 => x, 1.0 => y}`, term.MapOf(
		term.Pair{Key: term.Atom("b"), Value: term.Int(1)}, term.Pair{Key: term.Atom("a"), Value: term.Int(2)},
		term.Pair{Key: term.Int(1), Value: term.Atom("x")}, term.Pair{Key: term.Float(1), Value: term.Atom("y")}),
		"837400000004610164000178463FF000000000000064000179640001616102640001626101"},
	{`#{2 => a, 1.5 => b}`, term.MapOf(
		term.Pair{Key: term.Int(2), Value: term.Atom("a")}, term.Pair{Key: term.Float(1.5), Value: term.Atom("b")}),
		"837400000002610264000161463FF800000000000064000162"},
	{`#{k => #{}, <<"b">> => [1]}`, term.MapOf(
		term.Pair{Key: term.Atom("k"), Value: term.EmptyMap()},
		term.Pair{Key: term.BinaryString("b"), Value: term.NewList(term.Int(1))}),
		"8374000000026400016B74000000006D00000001626B000101"},
	{`binary_to_term(<<131,88,100,0,13,"nonode@nohost",85:32,3:32,7:32>>)`,
		term.Pid{Node: node, ID: 85, Serial: 3, Creation: 7},
		"835864000D6E6F6E6F6465406E6F686F7374000000550000000300000007"},
	{`binary_to_term(<<131,89,100,0,13,"nonode@nohost",9:32,2:32>>)`,
		term.Port{Node: node, ID: 9, Creation: 2},
		"835964000D6E6F6E6F6465406E6F686F73740000000900000002"},
	{`binary_to_term(<<131,120,100,0,13,"nonode@nohost",1:32,9:32,2:32>>)`,
		term.Port{Node: node, ID: 1<<32 | 9, Creation: 2},
		"837864000D6E6F6E6F6465406E6F686F7374000000010000000900000002"},
	{`binary_to_term(<<131,90,0,3,100,0,13,"nonode@nohost",5:32,123456:32,256:32,7:32>>)`,
		term.Ref{Node: node, Creation: 5, Len: 3, ID: [5]uint32{123456, 256, 7}},
		"835A000364000D6E6F6E6F6465406E6F686F7374000000050001E2400000010000000007"},
	{`fun lists:map/2`, &term.Fun{Exported: true, Module: "lists", Function: "map", Arity: 2},
		"83716400056C697374736400036D61706102"},
	{`etfq:clo(5), where clo(X) -> fun(Y) -> X + Y end`, &term.Fun{
		Module: "etfq", Arity: 1, Uniq: closureUniq, Index: 0,
		OldIndex: term.Int(0), OldUniq: term.Int(75294848),
		Pid: term.Pid{Node: node, ID: 9}, FreeVars: []term.Term{term.Int(5)}},
		"83700000004A018F9D1000BB2F86E106CD8A6081ABF416000000000000000164000465746671610062047CE8805864000D6E6F6E6F6465406E6F686F73740000000900000000000000006105"},
}

func TestEncodeGolden(t *testing.T) {
	for _, c := range etfGolden {
		want := unhex(t, c.hex)
		got, err := term.Encode(c.t)
		require.NoError(t, err, c.erl)
		require.Equal(t, want, got, c.erl)
		n, err := term.EncodedSize(c.t)
		require.NoError(t, err, c.erl)
		require.Equal(t, len(want), n, c.erl)
		back, err := term.Decode(want)
		require.NoError(t, err, c.erl)
		require.True(t, term.Equal(c.t, back), "%s: decoded %#v", c.erl, back)
	}
}

// Long forms whose bytes follow a pattern: built here from OTP's output
// (checked on the same erl).
func TestEncodeGoldenLong(t *testing.T) {
	cases := []struct {
		erl  string
		t    term.Term
		want []byte
	}{
		{`1 bsl 2048 (LARGE_BIG_EXT)`, bigPow2(2048, false),
			append(append([]byte{131, 111, 0, 0, 1, 1, 0}, make([]byte, 256)...), 1)},
		{`(1 bsl 2040)-1 (255 bytes, SMALL_BIG_EXT)`, term.Integer(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 2040), big.NewInt(1))),
			append([]byte{131, 110, 255, 0}, bytes.Repeat([]byte{255}, 255)...)},
		{`list_to_atom(lists:duplicate(255, $a))`, term.Atom(strings.Repeat("a", 255)),
			append([]byte{131, 100, 0, 255}, bytes.Repeat([]byte("a"), 255)...)},
		{`list_to_atom(lists:duplicate(255, 1078))`, term.Atom(strings.Repeat("ж", 255)),
			append([]byte{131, 118, 1, 254}, bytes.Repeat([]byte("ж"), 255)...)},
		{`erlang:make_tuple(256, a)`, term.NewTuple(repeatTerm(term.Atom("a"), 256)...),
			append([]byte{131, 105, 0, 0, 1, 0}, bytes.Repeat([]byte{100, 0, 1, 97}, 256)...)},
		{`lists:duplicate(65535, 1) (STRING_EXT)`, term.NewList(repeatTerm(term.Int(1), 65535)...),
			append([]byte{131, 107, 255, 255}, bytes.Repeat([]byte{1}, 65535)...)},
		{`lists:duplicate(65536, 1) (LIST_EXT)`, term.NewList(repeatTerm(term.Int(1), 65536)...),
			append(append([]byte{131, 108, 0, 1, 0, 0}, bytes.Repeat([]byte{97, 1}, 65536)...), 106)},
	}
	for _, c := range cases {
		got, err := term.Encode(c.t)
		require.NoError(t, err, c.erl)
		require.Equal(t, c.want, got, c.erl)
		back, err := term.Decode(got)
		require.NoError(t, err, c.erl)
		require.True(t, term.Equal(c.t, back), c.erl)
	}
}

func repeatTerm(t term.Term, n int) []term.Term {
	out := make([]term.Term, n)
	for i := range out {
		out[i] = t
	}
	return out
}

// Older and alternative forms that binary_to_term/1 reads, with what OTP 25
// writes back for them (term_to_binary(binary_to_term(In))).
func TestDecodeAlternativeForms(t *testing.T) {
	cases := []struct {
		name, in, reencoded string
		want                term.Term
	}{
		{"SMALL_ATOM_EXT", "837302" + "6F6B", "836400026F6B", term.OK},
		{"SMALL_ATOM_EXT Latin-1 ÿ", "837301FF", "83640001FF", term.Atom("ÿ")},
		{"SMALL_ATOM_UTF8_EXT ascii", "8377026F6B", "836400026F6B", term.OK},
		{"ATOM_UTF8_EXT", "83760002D0B6", "837702D0B6", term.Atom("ж")},
		{"SMALL_ATOM_UTF8_EXT empty", "837700", "83640000", term.Atom("")},
		{"FLOAT_EXT", "8363" + hex.EncodeToString([]byte("1.50000000000000000000e+00\x00\x00\x00\x00\x00")),
			"83463FF8000000000000", term.Float(1.5)},
		{"FLOAT_EXT short with junk after NUL", "8363" + hex.EncodeToString(append([]byte("1.5\x00abc"), make([]byte, 24)...)),
			"83463FF8000000000000", term.Float(1.5)},
		{"PID_EXT", "836764000D6E6F6E6F6465406E6F686F73740000005500000003" + "03",
			"835864000D6E6F6E6F6465406E6F686F7374000000550000000300000003",
			term.Pid{Node: node, ID: 85, Serial: 3, Creation: 3}},
		{"PORT_EXT", "836664000D6E6F6E6F6465406E6F686F7374000000" + "0902",
			"835964000D6E6F6E6F6465406E6F686F73740000000900000002", term.Port{Node: node, ID: 9, Creation: 2}},
		{"V4_PORT_EXT with a 32-bit id", "83786400016100000000000000070000000" + "0",
			"8359640001610000000700000000", term.Port{Node: "a", ID: 7}},
		{"REFERENCE_EXT", "836564000D6E6F6E6F6465406E6F686F73740000002A01",
			"835A000164000D6E6F6E6F6465406E6F686F7374000000010000002A",
			term.Ref{Node: node, Creation: 1, Len: 1, ID: [5]uint32{42}}},
		{"NEW_REFERENCE_EXT", "8372000264000D6E6F6E6F6465406E6F686F7374020000002A0000002B",
			"835A000264000D6E6F6E6F6465406E6F686F7374000000020000002A0000002B",
			term.Ref{Node: node, Creation: 2, Len: 2, ID: [5]uint32{42, 43}}},
		{"LARGE_TUPLE_EXT of one", "836900000001" + "6101", "8368016101", term.NewTuple(term.Int(1))},
		{"SMALL_BIG_EXT that fits a small int", "836E010005", "836105", term.Int(5)},
		{"SMALL_BIG_EXT leading zeros", "836E02000500", "836105", term.Int(5)},
		{"SMALL_BIG_EXT zero bytes", "836E0000", "836100", term.Int(0)},
		{"SMALL_BIG_EXT negative zero", "836E0001", "836100", term.Int(0)},
		{"SMALL_BIG_EXT sign 2 is minus", "836E010205", "8362FFFFFFFB", term.Int(-5)},
		{"LARGE_BIG_EXT small value", "836F000000010007", "836107", term.Int(7)},
		{"STRING_EXT empty", "836B0000", "836A", term.Nil()},
		{"LIST_EXT empty with nil", "836C000000006A", "836A", term.Nil()},
		{"LIST_EXT empty with tail is the tail", "836C000000006101", "836101", term.Int(1)},
		{"LIST_EXT with LIST_EXT tail", "836C000000016101" + "6C000000016102" + "6A", "836B00020102",
			term.NewList(term.Int(1), term.Int(2))},
		{"LIST_EXT with STRING_EXT tail", "836C00000001640001" + "61" + "6B00020102", "836C000000036400016161016102" + "6A",
			term.NewList(term.Atom("a"), term.Int(1), term.Int(2))},
		{"LIST_EXT with improper LIST_EXT tail", "836C000000016101" + "6C0000000161026103",
			"836C00000002610161026103", term.ImproperList([]term.Term{term.Int(1), term.Int(2)}, term.Int(3))},
		{"BIT_BINARY_EXT of 8 bits", "834D0000000108FF", "836D00000001FF", term.NewBinary([]byte{0xFF})},
		{"BIT_BINARY_EXT empty", "834D0000000000", "836D00000000", term.NewBinary(nil)},
		{"BIT_BINARY_EXT unused bits set", "834D0000000103FF", "834D0000000103E0", term.NewBitstring([]byte{0xE0}, 3)},
		{"MAP_EXT unsorted", "8374000000026400016261026400016161" + "01", "837400000002640001616101640001626102",
			term.MapOf(term.Pair{Key: term.Atom("a"), Value: term.Int(1)}, term.Pair{Key: term.Atom("b"), Value: term.Int(2)})},
		{"EXPORT_EXT with INTEGER_EXT arity", "83716400056C697374736400036D617062" + "00000002",
			"83716400056C697374736400036D61706102", &term.Fun{Exported: true, Module: "lists", Function: "map", Arity: 2}},
	}
	for _, c := range cases {
		got, err := term.Decode(unhex(t, c.in))
		require.NoError(t, err, c.name)
		require.True(t, term.Equal(c.want, got), "%s: got %#v", c.name, got)
		re, err := term.Encode(got)
		require.NoError(t, err, c.name)
		require.Equal(t, strings.ToUpper(c.reencoded), strings.ToUpper(hex.EncodeToString(re)), c.name)
	}
}

func TestDecodeErrors(t *testing.T) {
	b := func(p ...byte) []byte { return p }
	cases := []struct {
		name string
		in   []byte
		err  error
		off  int
		tag  byte
	}{
		{"empty", b(), term.ErrTruncated, 0, 0},
		{"bad version", b(130, 97, 1), term.ErrVersion, 0, 0},
		{"version only", b(131), term.ErrTruncated, 1, 0},
		{"unknown tag", b(131, 1), term.ErrUnknownTag, 1, 1},
		{"FUN_EXT is gone", b(131, 117, 0, 0, 0, 0), term.ErrUnknownTag, 1, 117},
		{"atom cache ref", b(131, 82, 0), term.ErrDistribution, 1, 82},
		{"dist header", b(131, 68, 0), term.ErrDistribution, 1, 68},
		{"trailing", b(131, 97, 1, 0), term.ErrTrailingBytes, 3, 0},
		{"small int cut", b(131, 97), term.ErrTruncated, 1, 97},
		{"int cut", b(131, 98, 0, 0, 1), term.ErrTruncated, 1, 98},
		{"huge list count", b(131, 108, 255, 255, 255, 255, 97, 1, 97, 1, 97, 1), term.ErrTruncated, 1, 108},
		{"list without tail", b(131, 108, 0, 0, 0, 1, 97, 1), term.ErrTruncated, 8, 0},
		{"huge tuple", b(131, 105, 255, 255, 255, 255, 97, 1), term.ErrTruncated, 1, 105},
		{"small tuple cut", b(131, 104, 3, 97, 1), term.ErrTruncated, 1, 104},
		{"huge map", b(131, 116, 0, 0, 0, 3, 97, 1, 97, 2), term.ErrTruncated, 1, 116},
		{"map missing value", b(131, 116, 0, 0, 0, 1, 97, 1), term.ErrTruncated, 8, 0},
		{"duplicate map key", b(131, 116, 0, 0, 0, 2, 100, 0, 1, 97, 97, 1, 100, 0, 1, 97, 97, 2), term.ErrInvalid, 1, 116},
		{"duplicate map key unsorted", b(131, 116, 0, 0, 0, 3, 97, 2, 106, 97, 1, 106, 97, 2, 106), term.ErrInvalid, 1, 116},
		{"binary cut", b(131, 109, 0, 0, 0, 4, 1, 2), term.ErrTruncated, 1, 109},
		{"huge binary", b(131, 109, 255, 255, 255, 255), term.ErrTruncated, 1, 109},
		{"string cut", b(131, 107, 0, 3, 1), term.ErrTruncated, 1, 107},
		{"bitstring 0 bits", b(131, 77, 0, 0, 0, 1, 0, 0), term.ErrInvalid, 1, 77},
		{"bitstring 9 bits", b(131, 77, 0, 0, 0, 1, 9, 255), term.ErrInvalid, 1, 77},
		{"empty bitstring with bits", b(131, 77, 0, 0, 0, 0, 3), term.ErrInvalid, 1, 77},
		{"atom over 255", append(b(131, 100, 1, 0), bytes.Repeat([]byte("a"), 256)...), term.ErrInvalid, 1, 100},
		{"utf8 atom over 255 chars", append(b(131, 118, 1, 0), bytes.Repeat([]byte("a"), 256)...), term.ErrInvalid, 1, 118},
		{"bad utf8 atom", b(131, 119, 1, 255), term.ErrInvalid, 1, 119},
		{"atom cut", b(131, 100, 0, 5, 97), term.ErrTruncated, 1, 100},
		{"NaN", b(131, 70, 127, 248, 0, 0, 0, 0, 0, 0), term.ErrInvalid, 1, 70},
		{"infinity", b(131, 70, 127, 240, 0, 0, 0, 0, 0, 0), term.ErrInvalid, 1, 70},
		{"float cut", b(131, 70, 0, 0), term.ErrTruncated, 1, 70},
		{"float string inf", append(b(131, 99, 'i', 'n', 'f'), make([]byte, 28)...), term.ErrInvalid, 1, 99},
		{"float string hex", append(b(131, 99, '0', 'x', '1', 'p', '3'), make([]byte, 26)...), term.ErrInvalid, 1, 99},
		{"float string space", append(b(131, 99, ' ', '1'), make([]byte, 29)...), term.ErrInvalid, 1, 99},
		{"float string no NUL", append(b(131, 99), bytes.Repeat([]byte("1"), 31)...), term.ErrInvalid, 1, 99},
		{"float string overflow", append(b(131, 99, '1', 'e', '4', '0', '0'), make([]byte, 26)...), term.ErrInvalid, 1, 99},
		{"big cut", b(131, 110, 4, 0, 1, 2), term.ErrTruncated, 1, 110},
		{"large big huge", b(131, 111, 255, 255, 255, 255, 0, 1), term.ErrTruncated, 1, 111},
		{"pid node not atom", b(131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), term.ErrInvalid, 2, 97},
		{"pid cut", b(131, 88, 100, 0, 1, 97, 0, 0, 0, 1), term.ErrTruncated, 1, 88},
		{"old pid creation 4", b(131, 103, 100, 0, 1, 97, 0, 0, 0, 1, 0, 0, 0, 2, 4), term.ErrInvalid, 1, 103},
		{"old port creation 4", b(131, 102, 100, 0, 1, 97, 0, 0, 0, 1, 4), term.ErrInvalid, 1, 102},
		{"old ref creation 4", b(131, 101, 100, 0, 1, 97, 0, 0, 0, 1, 4), term.ErrInvalid, 1, 101},
		{"ref of 6 words", append(b(131, 90, 0, 6, 100, 0, 1, 97), make([]byte, 28)...), term.ErrInvalid, 1, 90},
		{"ref of 0 words", b(131, 90, 0, 0, 100, 0, 1, 97, 0, 0, 0, 0), term.ErrInvalid, 1, 90},
		{"ref cut", b(131, 90, 0, 2, 100, 0, 1, 97, 0, 0, 0, 0, 0, 0, 0, 1), term.ErrTruncated, 1, 90},
		{"export arity not int", b(131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 100, 0, 1, 97), term.ErrInvalid, 10, 113},
		{"export arity 256", b(131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98, 0, 0, 1, 0), term.ErrInvalid, 10, 113},
		{"fun header cut", b(131, 112, 0, 0, 0, 40, 1), term.ErrTruncated, 1, 112},
		{"nested compressed", b(131, 104, 1, 80, 0, 0, 0, 1, 120, 156, 75, 4, 0, 0, 98, 0, 98), term.ErrInvalid, 3, 80},
		{"compressed header cut", b(131, 80, 0, 0), term.ErrTruncated, 4, 80},
		{"compressed too large", b(131, 80, 255, 255, 255, 255, 120, 156), term.ErrTooLarge, 2, 80},
		{"compressed bomb claim", b(131, 80, 0, 1, 0, 0, 120, 156, 1), term.ErrInvalid, 2, 80},
	}
	for _, c := range cases {
		_, err := term.Decode(c.in)
		require.Error(t, err, c.name)
		require.ErrorIs(t, err, c.err, c.name)
		var de *term.DecodeError
		require.ErrorAs(t, err, &de, c.name)
		require.Equal(t, c.off, de.Offset, "%s: %v", c.name, err)
		require.Equal(t, c.tag, de.Tag, "%s: %v", c.name, err)
		require.NotEmpty(t, de.Error())
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := term.Decode([]byte{131, 108, 255, 255, 255, 255, 97, 1, 97, 1, 97, 1})
	require.EqualError(t, err,
		"term: decode LIST_EXT at offset 1: truncated input: list of 4294967295 elements")
}

// Every proper prefix of a valid encoding is truncated, never a panic.
func TestDecodeTruncations(t *testing.T) {
	for _, c := range etfGolden {
		full := unhex(t, c.hex)
		for n := 0; n < len(full); n++ {
			_, err := term.Decode(full[:n])
			require.ErrorIs(t, err, term.ErrTruncated, "%s cut at %d", c.erl, n)
		}
	}
}

func TestDecodePrefix(t *testing.T) {
	var buf []byte
	var want []term.Term
	for _, c := range etfGolden {
		buf = append(buf, unhex(t, c.hex)...)
		want = append(want, c.t)
	}
	z := unhex(t, "835000000067789CCB664861A003000052E800D0")
	buf = append(buf, z...)
	want = append(want, term.NewList(repeatTerm(term.Int(0), 100)...))
	for i := 0; len(buf) > 0; i++ {
		got, n, err := term.DecodePrefix(buf)
		require.NoError(t, err)
		require.True(t, term.Equal(want[i], got), "term %d", i)
		buf = buf[n:]
	}
}

func TestCompressed(t *testing.T) {
	// term_to_binary(lists:duplicate(100, 0), [{compressed, 6}]) on OTP 25.
	otp := unhex(t, "835000000067789CCB664861A003000052E800D0")
	zeros := term.NewList(repeatTerm(term.Int(0), 100)...)
	got, err := term.Decode(otp)
	require.NoError(t, err)
	require.True(t, term.Equal(zeros, got))

	for level := 1; level <= 9; level++ {
		enc, err := term.EncodeCompressed(zeros, level)
		require.NoError(t, err)
		require.Equal(t, []byte{131, 80, 0, 0, 0, 103}, enc[:6])
		back, err := term.Decode(enc)
		require.NoError(t, err)
		require.True(t, term.Equal(zeros, back))
	}
	plain, err := term.Encode(zeros)
	require.NoError(t, err)
	enc, err := term.EncodeCompressed(zeros, 0)
	require.NoError(t, err)
	require.Equal(t, plain, enc, "level 0 writes the plain form, as OTP")
	// term_to_binary(ok, [{compressed, 6}]) is the plain form: not smaller.
	enc, err = term.EncodeCompressed(term.OK, 6)
	require.NoError(t, err)
	require.Equal(t, []byte{131, 100, 0, 2, 'o', 'k'}, enc)

	_, err = term.EncodeCompressed(zeros, 10)
	require.ErrorIs(t, err, term.ErrCompressionLevel)
	_, err = term.EncodeCompressed(term.Float(math.NaN()), 6)
	require.ErrorIs(t, err, term.ErrUnencodable)

	// Claimed size one off either way, a corrupt checksum, a cut stream.
	for _, c := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"claims more", withSize(otp, 104), term.ErrInvalid},
		{"claims less", withSize(otp, 102), term.ErrInvalid},
		{"bad checksum", append(append([]byte(nil), otp[:len(otp)-1]...), otp[len(otp)-1]^1), term.ErrInvalid},
		{"cut stream", otp[:len(otp)-3], term.ErrTruncated},
		{"bad zlib header", append(append([]byte(nil), otp[:6]...), 0, 0, 0, 0), term.ErrInvalid},
		{"trailing", append(append([]byte(nil), otp...), 0), term.ErrTrailingBytes},
	} {
		_, err := term.Decode(c.in)
		require.ErrorIs(t, err, c.err, c.name)
	}
	_, err = term.DecodeOptions{MaxSize: 102}.Decode(otp)
	require.ErrorIs(t, err, term.ErrTooLarge)
	_, err = term.DecodeOptions{MaxSize: 103}.Decode(otp)
	require.NoError(t, err)

	// A large state compresses, and decodes back.
	s := workload.State(workload.Small, 1)
	enc, err = term.EncodeCompressed(s, 6)
	require.NoError(t, err)
	require.Equal(t, byte(80), enc[1])
	back, err := term.Decode(enc)
	require.NoError(t, err)
	require.True(t, term.Equal(s, back))
}

func withSize(b []byte, n uint32) []byte {
	c := append([]byte(nil), b...)
	binary.BigEndian.PutUint32(c[2:], n)
	return c
}

func TestDecodeDepth(t *testing.T) {
	nest := func(n int, open []byte, leaf []byte) []byte {
		out := []byte{131}
		for range n {
			out = append(out, open...)
		}
		return append(out, leaf...)
	}
	// {{{...{}...}}}: n tuples of one element around {}.
	in := nest(100, []byte{104, 1}, []byte{104, 0})
	_, err := term.DecodeOptions{MaxDepth: 99}.Decode(in)
	require.ErrorIs(t, err, term.ErrTooDeep)
	_, err = term.DecodeOptions{MaxDepth: 100}.Decode(in)
	require.NoError(t, err)

	deep := nest(term.DefaultMaxDepth+1, []byte{108, 0, 0, 0, 1}, []byte{106})
	_, err = term.Decode(deep)
	require.ErrorIs(t, err, term.ErrTooDeep)
	var de *term.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, 1+5*term.DefaultMaxDepth, de.Offset)

	// A list written as a chain of one-element cons cells (each tail a
	// LIST_EXT) is long, not deep: it decodes at any length.
	const n = 200_000
	chain := []byte{131}
	for i := range n {
		chain = append(chain, 108, 0, 0, 0, 1, 97, byte(i))
	}
	chain = append(chain, 97, 7) // improper tail
	got, err := term.Decode(chain)
	require.NoError(t, err)
	l := got.(*term.List)
	require.Equal(t, n, l.Len())
	require.Equal(t, term.Int(7), l.Tail())
	require.Equal(t, term.Int(255), l.At(255))

	// The encoder refuses what the decoder would refuse by default.
	var tt term.Term = term.NewTuple()
	for range term.DefaultMaxDepth {
		tt = term.NewTuple(tt)
	}
	enc, err := term.Encode(tt)
	require.NoError(t, err)
	_, err = term.Decode(enc)
	require.NoError(t, err)
	tt = term.NewList(tt)
	_, err = term.Encode(tt)
	require.ErrorIs(t, err, term.ErrUnencodable)
	_, err = term.EncodedSize(tt)
	require.ErrorIs(t, err, term.ErrUnencodable)
}

func TestDecodeMapOrders(t *testing.T) {
	// Pairs in any order (OTP writes maps over 32 keys in hash order)
	// decode to the same map; a duplicate anywhere is refused.
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 5, 33, 100, 1000} {
		var pairs []term.Pair
		for i := range n {
			var k term.Term
			switch i % 5 {
			case 0:
				k = term.Int(i)
			case 1:
				k = term.Float(float64(i))
			case 2:
				k = term.BinaryString("k" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i))
			case 3:
				k = term.Atom("a" + itoa(i))
			default:
				k = term.NewTuple(term.Int(i))
			}
			pairs = append(pairs, term.Pair{Key: k, Value: term.Int(i)})
		}
		want := term.MapOf(pairs...)
		r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
		enc := encodeMapInOrder(t, pairs)
		got, err := term.Decode(enc)
		require.NoError(t, err, n)
		require.True(t, term.Equal(want, got), n)
		canon, err := term.Encode(want)
		require.NoError(t, err)
		re, err := term.Encode(got)
		require.NoError(t, err)
		require.Equal(t, canon, re)

		dup := append(pairs, term.Pair{Key: pairs[r.IntN(len(pairs))].Key, Value: term.Nil()})
		_, err = term.Decode(encodeMapInOrder(t, dup))
		require.ErrorIs(t, err, term.ErrInvalid, n)
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// encodeMapInOrder writes MAP_EXT with the pairs in the given order.
func encodeMapInOrder(t testing.TB, pairs []term.Pair) []byte {
	out := []byte{131, 116}
	out = binary.BigEndian.AppendUint32(out, uint32(len(pairs)))
	for _, p := range pairs {
		for _, x := range []term.Term{p.Key, p.Value} {
			b, err := term.Encode(x)
			require.NoError(t, err)
			out = append(out, b[1:]...)
		}
	}
	return out
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		t    term.Term
	}{
		{"nil", nil},
		{"NaN", term.Float(math.NaN())},
		{"+Inf", term.Float(math.Inf(1))},
		{"-Inf in a tuple", term.NewTuple(term.Float(math.Inf(-1)))},
		{"atom of 256 chars", term.Atom(strings.Repeat("a", 256))},
		{"utf8 atom of 256 chars", term.Atom(strings.Repeat("ж", 256))},
		{"atom not utf8", term.Atom("\xff")},
		{"nil in tuple", term.NewTuple(term.Int(1), nil)},
		{"nil in list", term.NewList(term.Int(1), nil)},
		{"nil map value", term.MapOf(term.Pair{Key: term.Int(1), Value: term.NewTuple(nil)})},
		{"zero BigInt", term.BigInt{}},
		{"ref of 0 words", term.Ref{Node: "a"}},
		{"ref of 6 words", term.Ref{Node: "a", Len: 6}},
		{"pid with bad node", term.Pid{Node: term.Atom(strings.Repeat("n", 300))}},
		{"local fun without pid", &term.Fun{Module: "m", OldIndex: term.Int(0), OldUniq: term.Int(0)}},
		{"local fun with float OldIndex", &term.Fun{Module: "m", OldIndex: term.Float(0), OldUniq: term.Int(0), Pid: term.Pid{Node: "a"}}},
		{"fun with nil free var", &term.Fun{Module: "m", OldIndex: term.Int(0), OldUniq: term.Int(0), Pid: term.Pid{Node: "a"}, FreeVars: []term.Term{nil}}},
		{"export fun with bad name", &term.Fun{Exported: true, Module: "m", Function: term.Atom("\xff")}},
	}
	for _, c := range cases {
		_, err := term.Encode(c.t)
		require.ErrorIs(t, err, term.ErrUnencodable, c.name)
		var ee *term.EncodeError
		require.ErrorAs(t, err, &ee, c.name)
		require.NotEmpty(t, ee.Error())
		_, err = term.EncodedSize(c.t)
		require.ErrorIs(t, err, term.ErrUnencodable, c.name)
		dst := []byte("keep")
		out, err := term.AppendEncode(dst, c.t)
		require.ErrorIs(t, err, term.ErrUnencodable, c.name)
		require.Equal(t, []byte("keep"), out, c.name)
	}
}

func TestAppendEncodeAllocatesNothing(t *testing.T) {
	s := workload.State(workload.Small, 3)
	buf, err := term.AppendEncode(nil, s)
	require.NoError(t, err)
	want := append([]byte(nil), buf...)
	allocs := testing.AllocsPerRun(20, func() {
		buf, err = term.AppendEncode(buf[:0], s)
	})
	require.NoError(t, err)
	require.Zero(t, allocs)
	require.Equal(t, want, buf)
	enc, err := term.Encode(s)
	require.NoError(t, err)
	require.Equal(t, enc, buf)
	prefixed, err := term.AppendEncode([]byte{1, 2}, s)
	require.NoError(t, err)
	require.Equal(t, append([]byte{1, 2}, enc...), prefixed)
}

func TestEncodeReferenceSize(t *testing.T) {
	s := workload.State(workload.Reference, 42)
	enc, err := term.Encode(s)
	require.NoError(t, err)
	require.Len(t, enc, 3_945_987, "OTP 25's term_to_binary of the reference state")
	n, err := term.EncodedSize(s)
	require.NoError(t, err)
	require.Equal(t, len(enc), n)
	got, err := term.Decode(enc)
	require.NoError(t, err)
	require.True(t, term.Equal(s, got))
	re, err := term.Encode(got)
	require.NoError(t, err)
	require.Equal(t, enc, re)
}

// genETFTerm returns a random term of every kind the format carries, at
// most depth levels deep.
func genETFTerm(r *rand.Rand, depth int) term.Term {
	k := r.IntN(16)
	if depth <= 0 {
		k = r.IntN(9)
	}
	switch k {
	case 0:
		return genETFAtom(r)
	case 1:
		switch r.IntN(4) {
		case 0:
			return term.Int(r.IntN(256))
		case 1:
			return term.Int(int32(r.Uint32()))
		case 2:
			return term.Int(int64(r.Uint64()))
		}
		return []term.Term{term.Int(math.MaxInt64), term.Int(math.MinInt64), term.Int(-1), term.Int(256)}[r.IntN(4)]
	case 2:
		mag := make([]byte, 8+r.IntN(300))
		for i := range mag {
			mag[i] = byte(r.Uint32())
		}
		v := new(big.Int).SetBytes(mag)
		if r.IntN(2) == 0 {
			v.Neg(v)
		}
		return term.Integer(v)
	case 3:
		for {
			f := math.Float64frombits(r.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return term.Float(f)
			}
		}
	case 4:
		p := make([]byte, r.IntN(80))
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		if len(p) > 0 && r.IntN(3) == 0 {
			return term.NewBitstring(p, uint8(1+r.IntN(8)))
		}
		return term.NewBinary(p)
	case 5:
		return term.Pid{Node: genETFAtom(r), ID: r.Uint32(), Serial: r.Uint32(), Creation: r.Uint32()}
	case 6:
		id := uint64(r.Uint32())
		if r.IntN(2) == 0 {
			id = r.Uint64()
		}
		return term.Port{Node: genETFAtom(r), ID: id, Creation: r.Uint32()}
	case 7:
		ref := term.Ref{Node: genETFAtom(r), Creation: r.Uint32(), Len: uint8(1 + r.IntN(5))}
		for i := range int(ref.Len) {
			ref.ID[i] = r.Uint32()
		}
		return ref
	case 8:
		if r.IntN(2) == 0 {
			return term.Nil()
		}
		return term.EmptyMap()
	case 9, 10:
		e := make([]term.Term, r.IntN(6))
		if r.IntN(20) == 0 {
			e = make([]term.Term, 256+r.IntN(10))
		}
		for i := range e {
			e[i] = genETFTerm(r, depth-1)
		}
		return term.NewTuple(e...)
	case 11, 12:
		n := r.IntN(6)
		e := make([]term.Term, n)
		bytesOnly := r.IntN(3) == 0
		for i := range e {
			if bytesOnly {
				e[i] = term.Int(r.IntN(256))
			} else {
				e[i] = genETFTerm(r, depth-1)
			}
		}
		if n > 0 && r.IntN(4) == 0 {
			tail := genETFTerm(r, depth-1)
			if _, isList := tail.(*term.List); !isList {
				return term.ImproperList(e, tail)
			}
		}
		return term.NewList(e...)
	case 13, 14:
		var pairs []term.Pair
		for range r.IntN(8) {
			pairs = append(pairs, term.Pair{Key: genETFTerm(r, depth-1), Value: genETFTerm(r, depth-1)})
		}
		return term.MapOf(pairs...)
	default:
		if r.IntN(2) == 0 {
			return &term.Fun{Exported: true, Module: genETFAtom(r), Function: genETFAtom(r), Arity: uint8(r.IntN(256))}
		}
		f := &term.Fun{Module: genETFAtom(r), Arity: uint8(r.IntN(256)), Index: r.Uint32(),
			OldIndex: term.Int(r.IntN(1000)), OldUniq: term.Int(int32(r.Uint32())),
			Pid: term.Pid{Node: genETFAtom(r), ID: r.Uint32()}}
		for i := range f.Uniq {
			f.Uniq[i] = byte(r.Uint32())
		}
		for range r.IntN(4) {
			f.FreeVars = append(f.FreeVars, genETFTerm(r, depth-1))
		}
		return f
	}
}

func genETFAtom(r *rand.Rand) term.Atom {
	alphabets := []string{"abcdefghijklmnopqrstuvwxyz_@.", "éüÿßà", "жшщ日本語€"}
	a := []rune(alphabets[r.IntN(len(alphabets))])
	n := r.IntN(12)
	if r.IntN(30) == 0 {
		n = 255
	}
	var sb strings.Builder
	for range n {
		sb.WriteRune(a[r.IntN(len(a))])
	}
	return term.Atom(sb.String())
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	for i := range 3000 {
		x := genETFTerm(r, 4)
		enc, err := term.Encode(x)
		require.NoError(t, err, i)
		n, err := term.EncodedSize(x)
		require.NoError(t, err, i)
		require.Equal(t, len(enc), n, i)
		got, err := term.Decode(enc)
		require.NoError(t, err, "term %d: %x", i, enc)
		require.True(t, term.Equal(x, got), "term %d", i)
		re, err := term.Encode(got)
		require.NoError(t, err, i)
		require.Equal(t, enc, re, "term %d re-encodes the same", i)
		if i%10 == 0 {
			z, err := term.EncodeCompressed(x, 1+i%9)
			require.NoError(t, err, i)
			gz, err := term.Decode(z)
			require.NoError(t, err, i)
			require.True(t, term.Equal(x, gz), i)
		}
	}
}

func TestDecodedErrorIsDecodeError(t *testing.T) {
	_, err := term.Decode([]byte{131, 104, 1})
	var de *term.DecodeError
	require.True(t, errors.As(err, &de))
	require.False(t, de.Inflated)
}

// Integers decoded from INTEGER_EXT and the big forms are boxed into a
// per-call slab (see boxInt): they must behave as ordinary Ints everywhere.
func TestBoxedInt(t *testing.T) {
	vals := []int64{256, -1, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 40, 70000}
	var elems []term.Term
	for _, v := range vals {
		elems = append(elems, term.Int(v))
	}
	enc, err := term.Encode(term.NewTuple(elems...))
	require.NoError(t, err)
	got, err := term.Decode(enc)
	require.NoError(t, err)
	tup := got.(*term.Tuple)
	for i, v := range vals {
		e := tup.At(i)
		iv, ok := e.(term.Int)
		require.True(t, ok)
		require.Equal(t, term.Int(v), iv)
		require.True(t, e == term.Term(term.Int(v)), "interface equality")
		require.True(t, term.Equal(e, term.Int(v)))
		require.True(t, term.Same(e, term.Int(v)))
		require.Equal(t, term.Hash(term.Int(v)), term.Hash(e))
		require.Equal(t, 0, term.Compare(e, term.Int(v)))
		require.Equal(t, term.KindInt, e.Kind())
		m := map[term.Term]int{term.Int(v): 1}
		require.Equal(t, 1, m[e], "usable as a Go map key")
	}
	// The values stay intact after the decoder and its slab are gone.
	for range 3 {
		runtime.GC()
	}
	for i, v := range vals {
		require.Equal(t, term.Int(v), tup.At(i).(term.Int))
	}
}

func ExampleEncode() {
	t := term.NewTuple(term.Atom("user_info"), term.Int(42), term.BinaryString("x"))
	b, err := term.Encode(t)
	if err != nil {
		panic(err)
	}
	fmt.Println(b)
	// Output: [131 104 3 100 0 9 117 115 101 114 95 105 110 102 111 97 42 109 0 0 0 1 120]
}

func ExampleAppendEncode() {
	// Reuse one buffer across encodes: once it is large enough, encoding
	// allocates nothing.
	var buf []byte
	for _, t := range []term.Term{term.OK, term.Int(1000), term.Nil()} {
		var err error
		buf, err = term.AppendEncode(buf[:0], t)
		if err != nil {
			panic(err)
		}
		fmt.Println(buf)
	}
	// Output:
	// [131 100 0 2 111 107]
	// [131 98 0 0 3 232]
	// [131 106]
}

func ExampleDecode() {
	// term_to_binary({ok, [1,2,3]}) in Erlang.
	t, err := term.Decode([]byte{131, 104, 2, 100, 0, 2, 111, 107, 107, 0, 3, 1, 2, 3})
	if err != nil {
		panic(err)
	}
	fmt.Println(term.Format(t))

	_, err = term.Decode([]byte{131, 108, 255, 255, 255, 255, 97, 1})
	fmt.Println(errors.Is(err, term.ErrTruncated), err)
	// Output:
	// {ok,[1,2,3]}
	// true term: decode LIST_EXT at offset 1: truncated input: list of 4294967295 elements
}

func ExampleDecodePrefix() {
	// Two terms back to back, as on a stream.
	stream := []byte{131, 97, 1, 131, 100, 0, 2, 111, 107}
	for len(stream) > 0 {
		t, n, err := term.DecodePrefix(stream)
		if err != nil {
			panic(err)
		}
		fmt.Println(term.Format(t), n)
		stream = stream[n:]
	}
	// Output:
	// 1 3
	// ok 6
}

// A problem inside the inflated bytes of a compressed term is reported with
// its offset in those bytes.
func TestCompressedInnerError(t *testing.T) {
	compress := func(raw []byte) []byte {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		_, err := w.Write(raw)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		out := binary.BigEndian.AppendUint32([]byte{131, 80}, uint32(len(raw)))
		return append(out, z.Bytes()...)
	}
	_, err := term.Decode(compress([]byte{104, 2, 97, 1, 100, 0, 9, 'x'}))
	var de *term.DecodeError
	require.ErrorAs(t, err, &de)
	require.ErrorIs(t, err, term.ErrTruncated)
	require.True(t, de.Inflated)
	require.Equal(t, 4, de.Offset)
	require.Equal(t, byte(100), de.Tag)
	require.Contains(t, err.Error(), "inflated offset 4")

	_, err = term.Decode(compress([]byte{97, 1, 97, 2}))
	require.ErrorAs(t, err, &de)
	require.ErrorIs(t, err, term.ErrTrailingBytes)
	require.True(t, de.Inflated)
	require.Equal(t, 2, de.Offset)

	_, err = term.Decode(compress([]byte{80, 0, 0, 0, 0}))
	require.ErrorIs(t, err, term.ErrInvalid, "compressed inside compressed")

	got, n, err := term.DecodePrefix(append(compress([]byte{97, 7}), 131, 97, 8))
	require.NoError(t, err)
	require.Equal(t, term.Int(7), got)
	rest, err := term.Decode(append(compress([]byte{97, 7}), 131, 97, 8)[n:])
	require.NoError(t, err)
	require.Equal(t, term.Int(8), rest)
}
