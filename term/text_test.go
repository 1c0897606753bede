package term

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func bigTerm(s string) Term {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad big integer " + s)
	}
	return Integer(v)
}

func TestFormat(t *testing.T) {
	negZero := Float(math.Copysign(0, -1))
	tests := []struct {
		name string
		in   Term
		want string
	}{
		{"record", NewTuple(Atom("user_info"), NewTuple(Atom("timestamp"), Int(86996746)), NewList(Int(1), Int(2)),
			MapOf(Pair{Atom("a"), BinaryString("x")})), `{user_info,{timestamp,86996746},[1,2],#{a => <<"x">>}}`},
		{"atom", Atom("ok"), `ok`},
		{"atom with @ and digits", Atom("nonode@nohost_1"), `nonode@nohost_1`},
		{"atom with space", Atom("hello world"), `'hello world'`},
		{"capitalised atom", Atom("Abc"), `'Abc'`},
		{"empty atom", Atom(""), `''`},
		{"reserved word", Atom("and"), `'and'`},
		{"reserved fun", Atom("fun"), `'fun'`},
		{"underscore atom", Atom("_x"), `'_x'`},
		{"digit atom", Atom("9a"), `'9a'`},
		{"atom escapes", Atom("it's\n\t\\"), `'it\'s\n\t\\'`},
		{"atom control chars", Atom("\x00\x7f\x1b\x01"), `'\000\d\e\001'`},
		{"latin-1 atom unquoted", Atom("café"), `café`},
		{"unicode atom", Atom("привет"), `'привет'`},
		{"invalid utf-8 atom", Atom("a\xffb"), `'a\377b'`},
		{"node atom", Atom("w1@127.0.0.1"), `'w1@127.0.0.1'`},
		{"zero", Int(0), `0`},
		{"negative", Int(-42), `-42`},
		{"min int64", Int(math.MinInt64), `-9223372036854775808`},
		{"big", bigTerm("123456789012345678901234567890"), `123456789012345678901234567890`},
		{"big negative", bigTerm("-99999999999999999999999"), `-99999999999999999999999`},
		{"float one", Float(1), `1.0`},
		{"float tenth", Float(0.1), `0.1`},
		{"float 1e20", Float(1e20), `1.0e20`},
		{"float small", Float(-2.5e-7), `-2.5e-7`},
		{"float zero", Float(0), `0.0`},
		{"float negative zero", negZero, `-0.0`},
		{"float 100", Float(100), `100.0`},
		{"float 1000", Float(1000), `1.0e3`},
		{"float 1234", Float(1234), `1234.0`},
		{"float 12340", Float(12340), `12340.0`},
		{"float 123400", Float(123400), `1.234e5`},
		{"float 0.0001", Float(0.0001), `0.0001`},
		{"float 1e-5", Float(1e-5), `1.0e-5`},
		{"float 0.001234", Float(0.001234), `0.001234`},
		{"float 1.234e-4", Float(1.234e-4), `1.234e-4`},
		{"float 17.29", Float(17.29), `17.29`},
		{"float 1234567890", Float(1234567890), `1234567890.0`},
		{"float 12345678900", Float(12345678900), `12345678900.0`},
		{"float 2^53", Float(1 << 53), `9.007199254740992e15`},
		{"float below 2^53", Float(1<<53 - 1), `9007199254740991.0`},
		{"float third", Float(1.0 / 3), `0.3333333333333333`},
		{"float max", Float(math.MaxFloat64), `1.7976931348623157e308`},
		{"float min subnormal", Float(5e-324), `5.0e-324`},
		{"float nan", Float(math.NaN()), `#Float<nan>`},
		{"float inf", Float(math.Inf(1)), `#Float<inf>`},
		{"float -inf", Float(math.Inf(-1)), `#Float<-inf>`},
		{"empty binary", NewBinary(nil), `<<>>`},
		{"printable binary", BinaryString("text"), `<<"text">>`},
		{"binary escapes", BinaryString("a\"b\\c\n"), `<<"a\"b\\c\n">>`},
		{"byte binary", NewBinary([]byte{1, 2, 3}), `<<1,2,3>>`},
		{"non-ascii binary", BinaryString("é"), `<<195,169>>`},
		{"bitstring", NewBitstring([]byte{1, 0x40}, 3), `<<1,2:3>>`},
		{"short bitstring", NewBitstring([]byte{0x80}, 1), `<<1:1>>`},
		{"printable bitstring", NewBitstring([]byte("ab"), 7), `<<97,49:7>>`},
		{"empty list", Nil(), `[]`},
		{"list", NewList(Int(1), Int(2)), `[1,2]`},
		{"improper", ImproperList([]Term{Atom("a")}, Atom("b")), `[a|b]`},
		{"improper 2", ImproperList([]Term{Atom("a"), Atom("b")}, Atom("c")), `[a,b|c]`},
		{"string", Charlist("abc"), `"abc"`},
		{"string escapes", Charlist("say \"hi\"\n"), `"say \"hi\"\n"`},
		{"non-printable list", NewList(Int(1), Int(97)), `[1,97]`},
		{"unicode list", Charlist("é"), `[233]`},
		{"improper string", ImproperList([]Term{Int(97)}, Int(98)), `[97|98]`},
		{"nested lists", NewList(Nil(), NewList(Nil())), `[[],[[]]]`},
		{"empty tuple", NewTuple(), `{}`},
		{"empty map", EmptyMap(), `#{}`},
		{"map order", MapOf(Pair{Atom("b"), Int(2)}, Pair{Int(1), Atom("x")}, Pair{Float(1), Atom("y")}, Pair{Atom("a"), Int(1)}),
			`#{1 => x,1.0 => y,a => 1,b => 2}`},
		{"pid", Pid{Node: "nonode@nohost", ID: 85, Serial: 0, Creation: 3}, `#Pid<nonode@nohost.85.0.3>`},
		{"pid quoted node", Pid{Node: "w1@127.0.0.1", ID: 1, Serial: 2, Creation: 4}, `#Pid<'w1@127.0.0.1'.1.2.4>`},
		{"port", Port{Node: "a@b", ID: 1 << 40, Creation: 7}, `#Port<a@b.1099511627776.7>`},
		{"ref", Ref{Node: "a@b", Creation: 9, Len: 3, ID: [5]uint32{1, 2, 3}}, `#Ref<a@b.3.2.1.9>`},
		{"export fun", &Fun{Exported: true, Module: "lists", Function: "map", Arity: 2}, `fun lists:map/2`},
		{"export fun quoted", &Fun{Exported: true, Module: "Elixir.Enum", Function: "map", Arity: 2}, `fun 'Elixir.Enum':map/2`},
		{"local fun", &Fun{Module: "erl_eval", Index: 6, Uniq: [16]byte{0: 0xab, 15: 1}, Arity: 1,
			OldIndex: Int(6), OldUniq: Int(1234), Pid: Pid{Node: "n@h", ID: 1}, FreeVars: []Term{Atom("x"), Int(1)}},
			`#Fun<erl_eval.6.ab000000000000000000000000000001.1>{6,1234,#Pid<n@h.1.0.0>,[x,1]}`},
		{"local fun nil fields", &Fun{Module: "m"}, `#Fun<m.0.00000000000000000000000000000000.0>{_,_,_,[]}`},
		{"nil", nil, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Format(tt.in))
			require.Equal(t, "prefix:"+tt.want, string(AppendFormat([]byte("prefix:"), tt.in)))
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Term
	}{
		{`ok`, Atom("ok")},
		{`ok.`, Atom("ok")},
		{"  ok . \n% trailing comment", Atom("ok")},
		{`'hello world'`, Atom("hello world")},
		{`'\x{1F600}\101\x41\^A\s\d'`, Atom("😀AA\x01 \x7f")},
		{`'it\'s'`, Atom("it's")},
		{`café`, Atom("café")},
		{`a@b_C1`, Atom("a@b_C1")},
		{`42`, Int(42)},
		{`-42`, Int(-42)},
		{`+42`, Int(42)},
		{`- 7`, Int(-7)},
		{`1_000_000`, Int(1000000)},
		{`16#FF`, Int(255)},
		{`16#ff_ff`, Int(65535)},
		{`-2#1010`, Int(-10)},
		{`36#Zz`, Int(35*36 + 35)},
		{`9223372036854775807`, Int(math.MaxInt64)},
		{`9223372036854775808`, bigTerm("9223372036854775808")},
		{`-9223372036854775808`, Int(math.MinInt64)},
		{`-9223372036854775809`, bigTerm("-9223372036854775809")},
		{`16#FFFFFFFFFFFFFFFFFF`, bigTerm("4722366482869645213695")},
		{`1.5`, Float(1.5)},
		{`1.5e10`, Float(1.5e10)},
		{`2.0E-3`, Float(2e-3)},
		{`-0.0`, Float(math.Copysign(0, -1))},
		{`1.0e+2`, Float(100)},
		{`1_0.2_5`, Float(10.25)},
		{`#Float<nan>`, Float(math.NaN())},
		{`#Float<-inf>`, Float(math.Inf(-1))},
		{`$a`, Int('a')},
		{`$\n`, Int('\n')},
		{`$ `, Int(' ')},
		{`$\x{1F600}`, Int(0x1F600)},
		{`$é`, Int(0xE9)},
		{`"abc"`, Charlist("abc")},
		{`""`, Nil()},
		{`"ab" "c"`, Charlist("abc")},
		{`"a\tb\x{100}"`, Charlist("a\tbĀ")},
		{`[]`, Nil()},
		{`[ 1 , 2 ]`, NewList(Int(1), Int(2))},
		{`[a|b]`, ImproperList([]Term{Atom("a")}, Atom("b"))},
		{`[a,b|c]`, ImproperList([]Term{Atom("a"), Atom("b")}, Atom("c"))},
		{`[a|[b]]`, NewList(Atom("a"), Atom("b"))},
		{`[a|[]]`, NewList(Atom("a"))},
		{`[$a|"bc"]`, Charlist("abc")},
		{`{}`, NewTuple()},
		{`{a, {b}, "x"}`, NewTuple(Atom("a"), NewTuple(Atom("b")), Charlist("x"))},
		{`#{}`, EmptyMap()},
		{`#{b => 2, a => 1}`, MapOf(Pair{Atom("a"), Int(1)}, Pair{Atom("b"), Int(2)})},
		{`#{k => 1, k => 2}`, MapOf(Pair{Atom("k"), Int(2)})},
		{`#{1 => a, 1.0 => b}`, MapOf(Pair{Int(1), Atom("a")}, Pair{Float(1), Atom("b")})},
		{`<<>>`, NewBinary(nil)},
		{`<<"">>`, NewBinary(nil)},
		{`<<"text">>`, BinaryString("text")},
		{`<<"é">>`, NewBinary([]byte{0xE9})},
		{`<<"é"/utf8>>`, BinaryString("é")},
		{`<<1,2,3>>`, NewBinary([]byte{1, 2, 3})},
		{`<< 1 , 2:3 >>`, NewBitstring([]byte{1, 0x40}, 3)},
		{`<<$a,"bc",100>>`, BinaryString("abcd")},
		{`<<1000:16>>`, NewBinary([]byte{0x03, 0xE8})},
		{`<<-1:8,-1:4>>`, NewBitstring([]byte{0xFF, 0xF0}, 4)},
		{`<<1:1,0:1,1:6>>`, NewBinary([]byte{0x81})},
		{`<<16#FFFFFFFFFFFFFFFF:64>>`, NewBinary([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})},
		{`#Pid<nonode@nohost.85.0.3>`, Pid{Node: "nonode@nohost", ID: 85, Creation: 3}},
		{`#Pid<'w1@127.0.0.1'.1.2.4>`, Pid{Node: "w1@127.0.0.1", ID: 1, Serial: 2, Creation: 4}},
		{`#Port<a@b.1099511627776.7>`, Port{Node: "a@b", ID: 1 << 40, Creation: 7}},
		{`#Ref<a@b.3.2.1.9>`, Ref{Node: "a@b", Creation: 9, Len: 3, ID: [5]uint32{1, 2, 3}}},
		{`#Ref<a@b.9>`, Ref{Node: "a@b", Creation: 9}},
		{`fun lists:map/2`, &Fun{Exported: true, Module: "lists", Function: "map", Arity: 2}},
		{`fun 'Elixir.Enum' : 'map' / 2`, &Fun{Exported: true, Module: "Elixir.Enum", Function: "map", Arity: 2}},
		{`#Fun<m.6.ab000000000000000000000000000001.1>{6, 7, _, [x]}`,
			&Fun{Module: "m", Index: 6, Uniq: [16]byte{0: 0xab, 15: 1}, Arity: 1, OldIndex: Int(6), OldUniq: Int(7), FreeVars: []Term{Atom("x")}}},
		{"{a, % comment }\n b}", NewTuple(Atom("a"), Atom("b"))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.NoError(t, err)
			require.True(t, Equal(tt.want, got), "want %s, got %s", Format(tt.want), Format(got))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in       string
		offset   int
		line     int
		col      int
		expected string
		found    string
		cause    error
	}{
		{``, 0, 1, 1, "a term", "end of input", nil},
		{`   `, 3, 1, 4, "a term", "end of input", nil},
		{`{a,b`, 4, 1, 5, "',' or '}'", "end of input", nil},
		{"{a,\n  b c}", 8, 2, 5, "',' or '}'", "'c'", nil},
		{`[a b]`, 3, 1, 4, "',', '|' or ']'", "'b'", nil},
		{`[a|b,c]`, 4, 1, 5, "']'", "','", nil},
		{`[|a]`, 1, 1, 2, "a term", "'|'", nil},
		{`#{a}`, 3, 1, 4, "'=>'", "'}'", nil},
		{`#{a := 1}`, 4, 1, 5, "'=>'", "':'", nil},
		{`ok ok`, 3, 1, 4, "end of input", "'o'", nil},
		{`ok..`, 3, 1, 4, "end of input", "'.'", nil},
		{`Var`, 0, 1, 1, "a term", "'V'", nil},
		{`_`, 0, 1, 1, "a term", "'_'", nil},
		{`and`, 0, 1, 1, "an atom (reserved words must be quoted)", "'a'", nil},
		{`'abc`, 4, 1, 5, `"'"`, "end of input", nil},
		{`"abc`, 4, 1, 5, `'"'`, "end of input", nil},
		{`"\x{110000}"`, 1, 1, 2, "a character code up to 10FFFF", "'\\\\'", ErrOutOfRange},
		{`"\x{}"`, 4, 1, 5, "hex digits", "'}'", nil},
		{`"\xG0"`, 3, 1, 4, "a hex digit", "'G'", nil},
		{`'\x{D800}'`, 1, 1, 2, "a character code that is not a surrogate", "'\\\\'", ErrOutOfRange},
		{"\"a\xffb\"", 2, 1, 3, "valid UTF-8", "byte 0xff", nil},
		{`-`, 1, 1, 2, "a number", "end of input", nil},
		{`-a`, 1, 1, 2, "a number", "'a'", nil},
		{`37#1`, 0, 1, 1, "a base from 2 to 36", "'3'", ErrOutOfRange},
		{`2#2`, 2, 1, 3, "a base 2 digit", "'2'", nil},
		{`1.0e400`, 0, 1, 1, "a float within the float range", "'1'", ErrOutOfRange},
		{`1e5`, 1, 1, 2, "end of input", "'e'", nil},
		{`<<256>>`, 2, 1, 3, "an integer that fits in 8 bits", "'2'", ErrOutOfRange},
		{`<<1:0>>`, 4, 1, 5, "a segment size from 1 to 64", "'0'", ErrOutOfRange},
		{`<<1:65>>`, 4, 1, 5, "a segment size from 1 to 64", "'6'", ErrOutOfRange},
		{`<<a>>`, 2, 1, 3, "an integer or a string", "'a'", nil},
		{`<<"Ā">>`, 2, 1, 3, "a Latin-1 string (or /utf8 after it)", "'\"'", ErrOutOfRange},
		{`<<1,2`, 5, 1, 6, "',' or '>>'", "end of input", nil},
		{`<1>`, 0, 1, 1, "a term", "'<'", nil},
		{`#Pid<a.1.2>`, 10, 1, 11, "'.' and a number", "'>'", nil},
		{`#Pid<a.1.2.3.4>`, 12, 1, 13, "'>'", "'.'", nil},
		{`#Pid<a.4294967296.0.0>`, 0, 1, 1, "pid numbers that fit in 32 bits", "'#'", ErrOutOfRange},
		{`#Ref<a.1.2.3.4.5.6.7>`, 18, 1, 19, "'>'", "'.'", nil},
		{`#Fun<m.1.00.0>{_,_,_,[]}`, 9, 1, 10, "32 hex digits", "'0'", nil},
		{`#Fun<m.1.00000000000000000000000000000000.0>{_,_,_,a}`, 51, 1, 52, "a proper list of free variables", "'a'", nil},
		{`#Float<zero>`, 7, 1, 8, "nan, inf or -inf", "'z'", nil},
		{`#Foo<>`, 0, 1, 1, "#{, #Pid<, #Port<, #Ref<, #Fun< or #Float<", "'#'", nil},
		{`fun m:f/256`, 8, 1, 9, "an arity from 0 to 255", "'2'", ErrOutOfRange},
		{`fun m:f`, 7, 1, 8, "'/'", "end of input", nil},
		{"'" + strings.Repeat("a", 256) + "'", 0, 1, 1, "an atom of at most 255 characters", `'\''`, ErrAtomTooLong},
		{strings.Repeat("a", 256), 0, 1, 1, "an atom of at most 255 characters", "'a'", ErrAtomTooLong},
		{strings.Repeat("[", MaxParseDepth+1), MaxParseDepth, 1, MaxParseDepth + 1, "at most 10000 levels of nesting", "'['", ErrTooDeep},
		{"é é", 3, 1, 3, "end of input", "'é'", nil},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.Error(t, err)
			require.Nil(t, got)
			require.ErrorIs(t, err, ErrSyntax)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.offset, se.Offset, "offset: %v", err)
			require.Equal(t, tt.line, se.Line, "line: %v", err)
			require.Equal(t, tt.col, se.Column, "column: %v", err)
			require.Equal(t, tt.expected, se.Expected)
			require.Equal(t, tt.found, se.Found)
			if tt.cause != nil {
				require.ErrorIs(t, err, tt.cause)
			} else {
				require.Nil(t, se.Err)
			}
			require.Contains(t, err.Error(), "expected "+tt.expected)
		})
	}
}

func TestParseDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", MaxParseDepth) + strings.Repeat("]", MaxParseDepth)
	v, err := Parse(ok)
	require.NoError(t, err)
	require.Equal(t, ok, Format(v))

	for _, open := range []string{"{", "[", "#{a=>", "#Fun<m.0.00000000000000000000000000000000.0>{_,_,_,["} {
		_, err := Parse(strings.Repeat(open, MaxParseDepth+1))
		require.ErrorIs(t, err, ErrTooDeep, "opening %q", open)
	}
	// A huge input nested beyond the limit fails fast, without recursion
	// past the limit.
	_, err = Parse(strings.Repeat("{", 1_000_000))
	require.ErrorIs(t, err, ErrTooDeep)
}

func TestFormatParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		want := randomTerm(r, 4)
		s := Format(want)
		got, err := Parse(s)
		require.NoError(t, err, "term %d: %s", i, s)
		require.True(t, Equal(want, got), "term %d: %s\nparsed back as %s", i, s, Format(got))
		require.Equal(t, s, Format(got), "term %d", i)
		require.Equal(t, 0, compareKeys(want, got))
	}
}

func TestFormatFloatsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) {
			continue
		}
		s := Format(Float(f))
		if !math.IsInf(f, 0) {
			require.Regexp(t, `^-?[0-9]+\.[0-9]+(e-?[0-9]+)?$`, s)
		}
		got, err := Parse(s)
		require.NoError(t, err, s)
		require.Equal(t, math.Float64bits(f), math.Float64bits(float64(got.(Float))), s)
	}
}

func TestSyntaxErrorUnwrap(t *testing.T) {
	_, err := Parse(`<<300>>`)
	require.True(t, errors.Is(err, ErrSyntax))
	require.True(t, errors.Is(err, ErrOutOfRange))
	require.False(t, errors.Is(err, ErrTooDeep))
	require.EqualError(t, err, "term: syntax error at line 1, column 3 (offset 2): expected an integer that fits in 8 bits, found '3': value out of range")
}

func BenchmarkFormat(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	terms := make([]Term, 256)
	for i := range terms {
		terms[i] = randomTerm(r, 4)
	}
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendFormat(buf[:0], terms[i%len(terms)])
	}
}

func BenchmarkParse(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	texts := make([]string, 256)
	n := 0
	for i := range texts {
		texts[i] = Format(randomTerm(r, 4))
		n += len(texts[i])
	}
	b.SetBytes(int64(n / len(texts)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLocalFunsAreDistinctMapKeys(t *testing.T) {
	f1 := &Fun{Module: "m", Arity: 1, Index: 1, OldIndex: Int(1), OldUniq: Int(2), Pid: Pid{Node: "a@b", ID: 1}}
	f2 := &Fun{Module: "m", Arity: 1, Index: 2, OldIndex: Int(1), OldUniq: Int(2), Pid: Pid{Node: "a@b", ID: 1}}
	m := MapOf(Pair{f1, Int(1)}, Pair{f2, Int(2)})
	if m.Len() != 2 || Compare(f1, f2) == 0 {
		t.Fatalf("two different funs collide: len %d, compare %d", m.Len(), Compare(f1, f2))
	}
	r1 := Ref{Node: "a@b", Len: 1, ID: [5]uint32{7, 9}}
	r2 := Ref{Node: "a@b", Len: 1, ID: [5]uint32{7}}
	if !Equal(r1, r2) || Hash(r1) != Hash(r2) {
		t.Fatal("refs differing only in unused words must be equal")
	}
}
