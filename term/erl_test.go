package term

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Cross-checks against a live Erlang VM: enode encodes random terms, one
// escript (testdata/erl_roundtrip.escript) decodes them all with
// binary_to_term, re-encodes them with term_to_binary and compares each with
// the one before it in Erlang's term order; the test checks every answer.

// needEscript returns the path of Erlang's escript. Without Erlang the
// cross-checks cannot run: in CI (CI set) that fails the test, elsewhere it
// skips it loudly.
func needEscript(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("escript")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("escript (Erlang/OTP) is required in CI for the cross-checks against real Erlang: apt-get install -y erlang-base")
	}
	t.Skip("!!! SKIPPED: Erlang/OTP (escript) is not installed, so this check against real Erlang DID NOT RUN. " +
		"Install it with: apt-get install -y erlang-base")
	return ""
}

// runEscript runs an escript under a deadline and returns its combined
// output.
func runEscript(t testing.TB, escript, script string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, escript, append([]string{script}, args...)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s timed out: %w", script, ctx.Err())
	}
	return out, err
}

// erlResult is Erlang's answer for one term.
type erlResult struct {
	ok     bool
	reason string // when !ok
	bytes  []byte // term_to_binary of what binary_to_term gave
	cmp    byte   // term order against the previous term: 0 <, 1 ==, 2 >; 255 none
	exact  byte   // 1 when =:= the previous term, 0 when not; 255 none
}

// erlRoundTrip hands the encoded terms to one Erlang VM and returns its
// answers, one per term.
func erlRoundTrip(t *testing.T, encoded [][]byte) []erlResult {
	t.Helper()
	escript := needEscript(t)
	dir := t.TempDir()
	var in []byte
	for _, b := range encoded {
		in = binary.BigEndian.AppendUint32(in, uint32(len(b)))
		in = append(in, b...)
	}
	inPath, outPath := filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	require.NoError(t, os.WriteFile(inPath, in, 0o600))
	out, err := runEscript(t, escript, filepath.Join("testdata", "erl_roundtrip.escript"), inPath, outPath)
	require.NoError(t, err, "erl_roundtrip.escript: %s", out)
	raw, err := os.ReadFile(outPath)
	require.NoError(t, err)
	res, err := parseErlResults(raw)
	require.NoError(t, err)
	require.Len(t, res, len(encoded), "Erlang answered for a different number of terms")
	return res
}

// parseErlResults reads erl_roundtrip.escript's output records.
func parseErlResults(b []byte) ([]erlResult, error) {
	var out []erlResult
	for off := 0; off < len(b); {
		if len(b)-off < 5 {
			return nil, fmt.Errorf("result %d: truncated header at offset %d", len(out), off)
		}
		status, n := b[off], int(binary.BigEndian.Uint32(b[off+1:]))
		off += 5
		if n > len(b)-off {
			return nil, fmt.Errorf("result %d: length %d past the end at offset %d", len(out), n, off)
		}
		body := b[off : off+n]
		off += n
		switch status {
		case 0:
			if len(b)-off < 2 {
				return nil, fmt.Errorf("result %d: truncated comparison at offset %d", len(out), off)
			}
			out = append(out, erlResult{ok: true, bytes: body, cmp: b[off], exact: b[off+1]})
			off += 2
		case 1:
			out = append(out, erlResult{reason: string(body)})
		default:
			return nil, fmt.Errorf("result %d: unknown status %d", len(out), status)
		}
	}
	return out, nil
}

// erlOrder maps Compare's result to the escript's encoding of term order.
func erlOrder(c int) byte {
	switch {
	case c < 0:
		return 0
	case c == 0:
		return 1
	}
	return 2
}

// TestErlangCrossCheck: every term enode encodes is read by Erlang, Erlang's
// re-encoding decodes to an Equal term and is byte-identical to ours (except
// where maps over 32 keys make OTP's key order a hash order), and Compare and
// Equal agree with Erlang's term order and =:= on neighbouring terms.
func TestErlangCrossCheck(t *testing.T) {
	needEscript(t)
	r := rand.New(rand.NewPCG(25, 131))
	var terms []Term
	for range 300 {
		x := genErlTerm(r, 3)
		terms = append(terms, x, tweakErlTerm(r, x))
	}
	for _, p := range erlEdgePairs() {
		terms = append(terms, p[0], p[1])
	}
	encoded := make([][]byte, len(terms))
	for i, x := range terms {
		b, err := Encode(x)
		require.NoError(t, err, "term %d", i)
		encoded[i] = b
	}
	res := erlRoundTrip(t, encoded)

	const maxReports = 20
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= maxReports {
			t.Errorf(format, args...)
		}
	}
	for i, x := range terms {
		e := res[i]
		if !e.ok {
			report("term %d: Erlang's binary_to_term refused enode's bytes %s: %s", i, hex.EncodeToString(encoded[i]), e.reason)
			continue
		}
		back, err := Decode(e.bytes)
		if err != nil {
			report("term %d: enode cannot decode Erlang's bytes %s: %v", i, hex.EncodeToString(e.bytes), err)
			continue
		}
		if !Equal(x, back) {
			report("term %d: Erlang's re-encoding decodes to a different term\n ours:   %s\n erlang: %s",
				i, hex.EncodeToString(encoded[i]), hex.EncodeToString(e.bytes))
		}
		if !hasBigMap(x) && !bytes.Equal(encoded[i], e.bytes) {
			report("term %d: encodings differ\n ours:   %s\n erlang: %s", i, hex.EncodeToString(encoded[i]), hex.EncodeToString(e.bytes))
		}
		if i == 0 || !res[i-1].ok {
			continue
		}
		if got := erlOrder(Compare(x, terms[i-1])); got != e.cmp {
			report("term %d vs %d: Compare gives %d, Erlang's term order %d (0 <, 1 ==, 2 >)\n a: %s\n b: %s",
				i, i-1, got, e.cmp, hex.EncodeToString(encoded[i]), hex.EncodeToString(encoded[i-1]))
		}
		if got := Equal(x, terms[i-1]); got != (e.exact == 1) {
			report("term %d vs %d: Equal gives %v, Erlang's =:= %v\n a: %s\n b: %s",
				i, i-1, got, e.exact == 1, hex.EncodeToString(encoded[i]), hex.EncodeToString(encoded[i-1]))
		}
	}
	if bad > maxReports {
		t.Errorf("... and %d more mismatches", bad-maxReports)
	}
}

// TestErlangCrossCheckGolden: Erlang reads back enode's encoding of every
// golden term (for maps over 32 keys this is the check that OTP accepts our
// key order).
func TestErlangCrossCheckGolden(t *testing.T) {
	needEscript(t)
	cases := mustReadGolden(t, "default.etf.txt")
	encoded := make([][]byte, len(cases))
	terms := make([]Term, len(cases))
	for i, c := range cases {
		v, err := Decode(c.bytes)
		require.NoError(t, err, c.name)
		b, err := Encode(v)
		require.NoError(t, err, c.name)
		terms[i], encoded[i] = v, b
	}
	for i, e := range erlRoundTrip(t, encoded) {
		name := cases[i].name
		require.True(t, e.ok, "%s: Erlang refused enode's bytes: %s", name, e.reason)
		if !hasBigMap(terms[i]) { // a big map's key order is not even the same from one VM to the next
			require.Equal(t, hex.EncodeToString(cases[i].bytes), hex.EncodeToString(e.bytes),
				"%s: Erlang's re-encoding of our bytes is not OTP's original encoding", name)
		}
		back, err := Decode(e.bytes)
		require.NoError(t, err, name)
		require.True(t, Equal(terms[i], back), name)
	}
}

// TestParseErlResults checks the reader of the escript's answers, including
// its refusal of damaged output.
func TestParseErlResults(t *testing.T) {
	good := []byte{0, 0, 0, 0, 2, 131, 106, 1, 1, 1, 0, 0, 0, 3, 'b', 'a', 'd'}
	res, err := parseErlResults(good)
	require.NoError(t, err)
	require.Equal(t, []erlResult{{ok: true, bytes: []byte{131, 106}, cmp: 1, exact: 1}, {reason: "bad"}}, res)
	for n := 1; n < len(good); n++ {
		if n == 9 { // a whole first record
			continue
		}
		_, err := parseErlResults(good[:n])
		require.Error(t, err, "prefix of %d bytes", n)
	}
	_, err = parseErlResults([]byte{7, 0, 0, 0, 0})
	require.ErrorContains(t, err, "unknown status")
}

// erlEdgePairs are neighbours where term order and exact equality are easy
// to get wrong: integers against floats of (nearly) the same value, -0.0,
// and values either side of the encodings' size boundaries.
func erlEdgePairs() [][2]Term {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	two53p1 := Int(1<<53 + 1)
	return [][2]Term{
		{Int(1), Float(1)},
		{Float(0), Float(math.Copysign(0, -1))},
		{Integer(two64), Float(math.Ldexp(1, 64))},
		{Float(math.Ldexp(1, 64)), Integer(new(big.Int).Add(two64, big.NewInt(1)))},
		{two53p1, Float(1 << 53)},
		{Int(math.MaxInt64), Float(math.MaxInt64)},
		{Int(math.MinInt64), Float(math.MinInt64)},
		{Integer(new(big.Int).Neg(two64)), Float(-math.Ldexp(1, 64))},
		{Float(1.7976931348623157e308), Integer(new(big.Int).Lsh(big.NewInt(1), 1100))},
		{Int(255), Int(256)},
		{Int(-1), Int(0)},
		{Int(math.MaxInt32), Int(math.MaxInt32 + 1)},
		{Int(math.MinInt32), Int(math.MinInt32 - 1)},
		{MapOf(Pair{Int(1), Atom("a")}), MapOf(Pair{Float(1), Atom("a")})},
		{MapOf(Pair{Int(1), Atom("a")}, Pair{Float(1), Atom("b")}), MapOf(Pair{Float(1), Atom("b")}, Pair{Int(1), Atom("a")})},
		{NewTuple(Int(1)), NewTuple(Float(1))},
		{NewList(Int(1)), NewList(Float(1))},
		{Charlist(strings.Repeat("x", 65535)), Charlist(strings.Repeat("x", 65536))},
		{NewBitstring([]byte{0xFF}, 7), NewBinary([]byte{0xFE})},
		{NewBinary(nil), NewBitstring([]byte{0}, 1)},
		{Nil(), NewList(Nil())},
		{ImproperList([]Term{Int(1)}, Int(2)), NewList(Int(1), Int(2))},
		{EmptyMap(), NewTuple()},
		{Atom("a"), Atom("\u00e9")},
		{Atom("\u00e9"), Atom("\u65e5")},
	}
}

// erlNodes are node names for pids, ports and references. The first is the
// name of a VM that is not distributed, so its pids and refs are local to
// the escript and must stay in the ranges a local one can have.
var erlNodes = []Atom{"nonode@nohost", "other@host", "w1@127.0.0.1", "n\u00f6de@h\u00f6st"}

var erlAtomPool = []string{
	"a", "ok", "undefined", "true", "hello world", "Abc", "and", "it's", "a\\b",
	"", "\u00e9", "h\u00e9llo", "\u65e5\u672c", "\U0001F600", "worker1@127.0.0.1", "'", "\n", "\x00",
}

// erlRunes is the alphabet of random atoms: ASCII, Latin-1 and beyond.
var erlRunes = []rune("abcxyzABC_@. '\\\n09\u00e9\u00ff\u0100\u65e5\U0001F600")

func genErlAtom(r *rand.Rand) Atom {
	switch r.IntN(4) {
	case 0:
		return Atom(erlAtomPool[r.IntN(len(erlAtomPool))])
	case 1: // long, up to the limit of 255 code points
		n := 250 + r.IntN(6)
		var sb strings.Builder
		for range n {
			sb.WriteRune(erlRunes[r.IntN(len(erlRunes))])
		}
		return Atom(sb.String())
	default:
		n := r.IntN(12)
		var sb strings.Builder
		for range n {
			sb.WriteRune(erlRunes[r.IntN(len(erlRunes))])
		}
		return Atom(sb.String())
	}
}

func genErlBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func genErlInt(r *rand.Rand) Term {
	switch r.IntN(8) {
	case 0:
		return Int(r.IntN(256))
	case 1:
		return Int(-r.IntN(300))
	case 2:
		return Int(int32(r.Uint32()))
	case 3:
		edges := []int64{math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1,
			math.MaxInt64, math.MinInt64, 256, -256, 65535, 65536}
		return Int(edges[r.IntN(len(edges))])
	case 4:
		return Int(int64(r.Uint64()))
	default:
		n := 1 + r.IntN(40)
		if r.IntN(8) == 0 {
			n = 250 + r.IntN(12) // either side of SMALL_BIG_EXT's 255 bytes
		}
		v := new(big.Int).SetBytes(genErlBytes(r, n))
		if r.IntN(2) == 0 {
			v.Neg(v)
		}
		return Integer(v)
	}
}

func genErlFloat(r *rand.Rand) Float {
	specials := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e300, -1e300, 5e-324,
		2.2250738585072014e-308, math.MaxFloat64, 1e20, 0.5, 1 << 53}
	switch r.IntN(3) {
	case 0:
		return Float(specials[r.IntN(len(specials))])
	case 1:
		return Float(float64(r.IntN(2000) - 1000))
	}
	for {
		f := math.Float64frombits(r.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return Float(f)
		}
	}
}

func genErlPid(r *rand.Rand) Pid {
	node := erlNodes[r.IntN(len(erlNodes))]
	if node == erlNodes[0] {
		return Pid{Node: node, ID: uint32(r.IntN(1 << 15)), Serial: uint32(r.IntN(1 << 13))}
	}
	return Pid{Node: node, ID: r.Uint32(), Serial: r.Uint32(), Creation: r.Uint32()}
}

func genErlPort(r *rand.Rand) Port {
	node := erlNodes[r.IntN(len(erlNodes))]
	if node == erlNodes[0] {
		return Port{Node: node, ID: uint64(r.IntN(1 << 20))}
	}
	id := uint64(r.Uint32())
	if r.IntN(2) == 0 {
		id = r.Uint64() // V4_PORT_EXT
	}
	return Port{Node: node, ID: id, Creation: r.Uint32()}
}

func genErlRef(r *rand.Rand) Ref {
	node := erlNodes[r.IntN(len(erlNodes))]
	if node == erlNodes[0] {
		return Ref{Node: node, Len: 3, ID: [5]uint32{uint32(r.IntN(1 << 18)), uint32(r.IntN(1 << 20)), uint32(r.IntN(1 << 20))}}
	}
	ref := Ref{Node: node, Creation: r.Uint32(), Len: uint8(1 + r.IntN(5))}
	for i := range int(ref.Len) {
		ref.ID[i] = r.Uint32()
	}
	return ref
}

func genErlFun(r *rand.Rand, depth int) *Fun {
	if r.IntN(2) == 0 {
		return &Fun{Exported: true, Module: genErlAtom(r), Function: genErlAtom(r), Arity: uint8(r.IntN(256))}
	}
	f := &Fun{
		Module:   genErlAtom(r),
		Arity:    uint8(r.IntN(256)),
		Index:    uint32(r.IntN(1 << 20)),
		OldIndex: Int(r.IntN(1 << 20)),
		OldUniq:  Int(r.IntN(1 << 27)),
		Pid:      genErlPid(r),
	}
	copy(f.Uniq[:], genErlBytes(r, 16))
	for range r.IntN(4) {
		f.FreeVars = append(f.FreeVars, genErlTerm(r, depth-1))
	}
	return f
}

// genErlTerm returns a random term of any type, nested at most depth levels,
// with sizes chosen around the encodings' boundaries now and then.
func genErlTerm(r *rand.Rand, depth int) Term {
	kinds := 11
	if depth > 0 {
		kinds = 15
	}
	switch r.IntN(kinds) {
	case 0, 1:
		return genErlInt(r)
	case 2:
		return genErlFloat(r)
	case 3:
		return genErlAtom(r)
	case 4:
		n := r.IntN(20)
		if r.IntN(10) == 0 {
			n = 300 + r.IntN(2000)
		}
		return NewBinary(genErlBytes(r, n))
	case 5:
		return NewBitstring(genErlBytes(r, 1+r.IntN(10)), uint8(1+r.IntN(7)))
	case 6:
		return genErlPid(r)
	case 7:
		return genErlPort(r)
	case 8:
		return genErlRef(r)
	case 9:
		s := make([]Term, 1+r.IntN(20)) // STRING_EXT
		for i := range s {
			s[i] = Int(r.IntN(256))
		}
		return NewList(s...)
	case 10:
		if r.IntN(2) == 0 {
			return Nil()
		}
		return NewTuple()
	case 11:
		n := r.IntN(6)
		if r.IntN(20) == 0 {
			n = 250 + r.IntN(10) // either side of SMALL_TUPLE_EXT's 255
		}
		e := make([]Term, n)
		for i := range e {
			e[i] = genErlTerm(r, depth-1)
		}
		return NewTuple(e...)
	case 12:
		e := make([]Term, r.IntN(6))
		for i := range e {
			e[i] = genErlTerm(r, depth-1)
		}
		if r.IntN(4) == 0 {
			var tail Term
			for tail == nil {
				if x := genErlTerm(r, depth-1); x.Kind() != KindList {
					tail = x
				}
			}
			return ImproperList(append(e, genErlTerm(r, depth-1)), tail)
		}
		return NewList(e...)
	case 13:
		n := r.IntN(6)
		if r.IntN(10) == 0 {
			n = 30 + r.IntN(10) // either side of 32 keys
		}
		m := EmptyMap()
		for range n {
			m = m.Put(genErlTerm(r, depth-1), genErlTerm(r, depth-1))
		}
		return m
	default:
		return genErlFun(r, depth)
	}
}

// tweakErlTerm returns a term close to x in term order: x itself, or x with
// one leaf nudged (an integer by one or to the float of the same value, a
// float to the next one, an atom or binary by a character, fields of a pid,
// port or reference in opposite directions).
func tweakErlTerm(r *rand.Rand, x Term) Term {
	if r.IntN(4) == 0 {
		return x
	}
	switch v := x.(type) {
	case Int:
		switch r.IntN(3) {
		case 0:
			return Float(float64(v))
		case 1:
			if v < math.MaxInt64 {
				return v + 1
			}
		}
		if v > math.MinInt64 {
			return v - 1
		}
		return v
	case BigInt:
		if r.IntN(2) == 0 {
			if f, _ := new(big.Float).SetInt(v.Big()).Float64(); !math.IsInf(f, 0) {
				return Float(f)
			}
		}
		return Integer(new(big.Int).Add(v.Big(), big.NewInt(1)))
	case Float:
		if r.IntN(2) == 0 && float64(v) == math.Trunc(float64(v)) && math.Abs(float64(v)) < 1<<62 {
			return Int(int64(v))
		}
		n := math.Nextafter(float64(v), math.Inf(1))
		if math.IsInf(n, 0) {
			return v
		}
		return Float(n)
	case Pid: // two fields moved in opposite directions: which one counts first?
		switch {
		case r.IntN(2) == 0 && v.Node != erlNodes[0]:
			v.Creation--
			v.ID = (v.ID + 1) % (1 << 15)
		case r.IntN(2) == 0:
			v.Serial = (v.Serial + 1) % (1 << 13)
			v.ID = (v.ID + (1 << 15) - 1) % (1 << 15)
		default:
			v.ID = (v.ID + 1) % (1 << 15)
		}
		return v
	case Port:
		if r.IntN(2) == 0 && v.Node != erlNodes[0] {
			v.Creation--
		}
		v.ID = (v.ID + 1) % (1 << 20)
		return v
	case Ref:
		if r.IntN(2) == 0 && v.Node != erlNodes[0] {
			v.Creation--
		}
		v.ID[0] = (v.ID[0] + 1) % (1 << 18)
		if v.Len > 1 && r.IntN(2) == 0 {
			v.ID[v.Len-1]++
		}
		return v
	case Atom:
		if utf8.RuneCountInString(string(v)) < 255 {
			return v + "x"
		}
		_, n := utf8.DecodeLastRuneInString(string(v))
		return v[:len(v)-n]
	case *Binary:
		if v.Len() == 0 {
			return v.Append([]byte{0})
		}
		return v.Set(0, []byte{v.At(0) ^ 0x80}) // the high bit is used even in a 1-bit bitstring
	case *Tuple:
		if v.Len() == 0 {
			return v.Append(Int(0))
		}
		i := r.IntN(v.Len())
		return v.Set(i, tweakErlTerm(r, v.At(i)))
	case *List:
		if v.Len() == 0 {
			return NewList(Nil())
		}
		i := r.IntN(v.Len())
		return v.Set(i, tweakErlTerm(r, v.At(i)))
	case *Map:
		if v.Len() == 0 {
			return v.Put(Int(1), Int(1))
		}
		i := r.IntN(v.Len())
		for k, val := range v.All() {
			if i == 0 {
				if r.IntN(2) == 0 {
					return v.Put(k, tweakErlTerm(r, val))
				}
				return v.Remove(k).Put(tweakErlTerm(r, k), val)
			}
			i--
		}
	}
	return x
}
