package term

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format returns the Erlang text form of t, for example
// {user_info,{timestamp,86996746},[1,2],#{a => <<"x">>}}; Parse reads it
// back. A nil term is written as the empty string.
//
// The text form is Erlang syntax, as io_lib:format("~w", [T]) writes it,
// with a few choices and extensions:
//
//   - Atoms are quoted when Erlang needs it ('hello world', 'Abc', 'and',
//     the empty atom), with Erlang's escapes (\n, \t, \\, \', and \ooo for other
//     control characters). Characters from U+00A0 up are written as UTF-8.
//     A byte of an atom that is not valid UTF-8 (which no Erlang atom holds)
//     is written as \ooo, its Latin-1 reading.
//   - Floats are written as OTP 25's float_to_list(F, [short]) writes them:
//     the fewest digits that read back to the same float, in plain or
//     scientific notation, whichever is shorter, always with a "." and a
//     digit after it (1.0, 0.1, 1.0e20, -2.5e-7). Floats outside
//     (-2^53, 2^53) always use scientific notation. NaN and infinities,
//     which Erlang has not, are written #Float<nan>, #Float<inf> and
//     #Float<-inf> (a NaN's payload is not kept).
//   - A binary whose bytes are all printable ASCII (space to ~, and \n \r
//     \t \v \b \f \e) is written <<"text">>; any other binary is written
//     as bytes, <<1,2,3>>; a bitstring ends with the value of its last bits
//     and their count, <<1,2:3>>.
//   - A proper, non-empty list whose elements are all integers in that same
//     printable set is written as a string, "text" (as ~p does); any other
//     list is written [1,2], [a|b] or [a,b|c].
//   - Maps are written #{k => v} in map-key order.
//   - Pids, ports and references carry a node name, which Erlang's own
//     printing (<0.85.0>, #Port<0.5>, #Ref<0.1.2.3>) leaves out, so they are
//     written as #Pid<Node.ID.Serial.Creation>, #Port<Node.ID.Creation> and
//     #Ref<Node.Wn.….W1.Creation> (ID words from the most significant down,
//     as Erlang prints them; Ref.Len of them). Node is an atom, quoted when
//     needed: #Pid<'w1@127.0.0.1'.85.0.3>.
//   - An export fun is written fun M:F/A, as in Erlang. A local fun is
//     written #Fun<Module.Index.Uniq.Arity>{OldIndex,OldUniq,Pid,[Free...]}
//     with Uniq as 32 hex digits; a missing (nil) OldIndex, OldUniq or Pid
//     is written _. An export fun carries only its module, function and
//     arity, a local fun everything but Function.
//
// Parse reads all of this back, so Parse(Format(t)) is Equal to t for every
// term whose atoms are valid UTF-8 of at most 255 characters, whose
// references have Len at most 5 (unused ID words zero) and whose nesting is
// within MaxParseDepth.
func Format(t Term) string { return string(AppendFormat(nil, t)) }

// AppendFormat appends the Erlang text form of t (as Format writes it) to
// dst and returns the extended buffer.
func AppendFormat(dst []byte, t Term) []byte {
	switch x := t.(type) {
	case nil:
		return dst
	case Atom:
		return appendAtom(dst, x)
	case Int:
		return strconv.AppendInt(dst, int64(x), 10)
	case BigInt:
		return x.bigValue().Append(dst, 10)
	case Float:
		return appendFloat(dst, float64(x))
	case *Binary:
		return appendBinary(dst, x)
	case *Tuple:
		dst = append(dst, '{')
		for i, e := range x.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendFormat(dst, e)
		}
		return append(dst, '}')
	case *List:
		return appendList(dst, x)
	case *Map:
		dst = append(dst, "#{"...)
		i := 0
		for k, v := range x.All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			i++
			dst = AppendFormat(dst, k)
			dst = append(dst, " => "...)
			dst = AppendFormat(dst, v)
		}
		return append(dst, '}')
	case Pid:
		dst = append(dst, "#Pid<"...)
		dst = appendAtom(dst, x.Node)
		dst = appendDotU(dst, uint64(x.ID))
		dst = appendDotU(dst, uint64(x.Serial))
		dst = appendDotU(dst, uint64(x.Creation))
		return append(dst, '>')
	case Port:
		dst = append(dst, "#Port<"...)
		dst = appendAtom(dst, x.Node)
		dst = appendDotU(dst, x.ID)
		dst = appendDotU(dst, uint64(x.Creation))
		return append(dst, '>')
	case Ref:
		dst = append(dst, "#Ref<"...)
		dst = appendAtom(dst, x.Node)
		w := x.Words()
		for i := len(w) - 1; i >= 0; i-- {
			dst = appendDotU(dst, uint64(w[i]))
		}
		dst = appendDotU(dst, uint64(x.Creation))
		return append(dst, '>')
	case *Fun:
		return appendFun(dst, x)
	}
	return dst
}

func appendDotU(dst []byte, v uint64) []byte {
	return strconv.AppendUint(append(dst, '.'), v, 10)
}

func appendFun(dst []byte, f *Fun) []byte {
	if f.Exported {
		dst = append(dst, "fun "...)
		dst = appendAtom(dst, f.Module)
		dst = append(dst, ':')
		dst = appendAtom(dst, f.Function)
		dst = append(dst, '/')
		return strconv.AppendUint(dst, uint64(f.Arity), 10)
	}
	dst = append(dst, "#Fun<"...)
	dst = appendAtom(dst, f.Module)
	dst = appendDotU(dst, uint64(f.Index))
	dst = append(dst, '.')
	const hexDigits = "0123456789abcdef"
	for _, b := range f.Uniq {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	dst = appendDotU(dst, uint64(f.Arity))
	dst = append(dst, ">{"...)
	for _, s := range []Term{f.OldIndex, f.OldUniq, f.Pid} {
		if s == nil {
			dst = append(dst, '_')
		} else {
			dst = AppendFormat(dst, s)
		}
		dst = append(dst, ',')
	}
	dst = append(dst, '[')
	for i, v := range f.FreeVars {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendFormat(dst, v)
	}
	return append(dst, "]}"...)
}

// appendList writes a list as a string when it is a proper, non-empty list
// of printable characters, and element by element otherwise.
func appendList(dst []byte, l *List) []byte {
	if l.Len() == 0 && l.tail == nil {
		return append(dst, "[]"...)
	}
	if l.tail == nil && printableCharlist(l) {
		dst = append(dst, '"')
		for _, e := range l.All() {
			dst = appendStringChar(dst, rune(e.(Int)), '"')
		}
		return append(dst, '"')
	}
	dst = append(dst, '[')
	for i, e := range l.All() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendFormat(dst, e)
	}
	if l.tail != nil {
		dst = append(dst, '|')
		dst = AppendFormat(dst, l.tail)
	}
	return append(dst, ']')
}

func printableCharlist(l *List) bool {
	for _, e := range l.All() {
		c, ok := e.(Int)
		if !ok || c < 0 || c > 126 || !printableByte(byte(c)) {
			return false
		}
	}
	return true
}

// printableByte reports whether b is printed inside a string literal rather
// than as a number: ASCII from space to ~ and the control characters with a
// letter escape.
func printableByte(b byte) bool {
	switch {
	case b >= ' ' && b <= '~':
		return true
	case b == '\n', b == '\r', b == '\t', b == '\v', b == '\b', b == '\f', b == 0x1b:
		return true
	}
	return false
}

func appendBinary(dst []byte, b *Binary) []byte {
	dst = append(dst, "<<"...)
	data := b.flat()
	if b.IsBinary() && len(data) > 0 && printableBytes(data) {
		dst = append(dst, '"')
		for _, c := range data {
			dst = appendStringChar(dst, rune(c), '"')
		}
		return append(dst, "\">>"...)
	}
	full := data
	if !b.IsBinary() {
		full = data[:len(data)-1]
	}
	for i, c := range full {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	if !b.IsBinary() {
		if len(full) > 0 {
			dst = append(dst, ',')
		}
		bits := b.TailBits()
		dst = strconv.AppendUint(dst, uint64(data[len(data)-1]>>(8-bits)), 10)
		dst = append(dst, ':')
		dst = strconv.AppendUint(dst, uint64(bits), 10)
	}
	return append(dst, ">>"...)
}

func printableBytes(p []byte) bool {
	for _, c := range p {
		if !printableByte(c) {
			return false
		}
	}
	return true
}

// isReservedWord reports whether s is one of Erlang's reserved words
// (erl_scan:reserved_word/1, including maybe and else), which must be quoted
// to be atoms.
func isReservedWord(s string) bool {
	switch s {
	case "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl",
		"bsr", "bxor", "case", "catch", "cond", "div", "else", "end", "fun",
		"if", "let", "maybe", "not", "of", "or", "orelse", "receive", "rem",
		"try", "when", "xor":
		return true
	}
	return false
}

// isAtomStart reports whether r may begin an unquoted atom: a lowercase
// Latin-1 letter.
func isAtomStart(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 0xDF && r <= 0xFF && r != 0xF7)
}

// isNameChar reports whether r may continue an unquoted atom: a Latin-1
// letter, a digit, _ or @.
func isNameChar(r rune) bool {
	switch {
	case isAtomStart(r), r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '@':
		return true
	case r >= 0xC0 && r <= 0xDE && r != 0xD7:
		return true
	}
	return false
}

func atomNeedsQuotes(s string) bool {
	if s == "" || isReservedWord(s) {
		return true
	}
	for i, r := range s {
		if i == 0 && !isAtomStart(r) || !isNameChar(r) {
			return true
		}
	}
	return false
}

func appendAtom(dst []byte, a Atom) []byte {
	s := string(a)
	if !atomNeedsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '\'')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			r = rune(s[i]) // an invalid byte: its Latin-1 reading
			dst = appendOctal(dst, r)
			i++
			continue
		}
		dst = appendStringChar(dst, r, '\'')
		i += n
	}
	return append(dst, '\'')
}

// appendStringChar writes r inside a literal quoted by q, escaping it as
// Erlang's io_lib does.
func appendStringChar(dst []byte, r rune, q byte) []byte {
	switch {
	case r == rune(q) || r == '\\':
		return append(dst, '\\', byte(r))
	case r >= ' ' && r <= '~':
		return append(dst, byte(r))
	case r >= 0xA0:
		return utf8.AppendRune(dst, r)
	}
	switch r {
	case '\n':
		return append(dst, `\n`...)
	case '\r':
		return append(dst, `\r`...)
	case '\t':
		return append(dst, `\t`...)
	case '\v':
		return append(dst, `\v`...)
	case '\b':
		return append(dst, `\b`...)
	case '\f':
		return append(dst, `\f`...)
	case 0x1b:
		return append(dst, `\e`...)
	case 0x7f:
		return append(dst, `\d`...)
	}
	return appendOctal(dst, r)
}

func appendOctal(dst []byte, r rune) []byte {
	return append(dst, '\\', byte('0'+(r>>6)&7), byte('0'+(r>>3)&7), byte('0'+r&7))
}

// appendFloat writes f as OTP 25's float_to_list(F, [short]) does.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "#Float<nan>"...)
	case math.IsInf(f, 1):
		return append(dst, "#Float<inf>"...)
	case math.IsInf(f, -1):
		return append(dst, "#Float<-inf>"...)
	}
	if math.Signbit(f) {
		dst = append(dst, '-')
		f = -f
	}
	// The shortest digits that read back to f, and the exponent of the last
	// one: f = digits × 10^exp.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var digits []byte
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits = append(digits, e[i])
		}
	}
	sciExp, _ := strconv.Atoi(string(e[i+1:]))
	n := len(digits)
	exp := sciExp - n + 1

	// The choice between plain and scientific notation, as in OTP's
	// erts/emulator/ryu/to_chars.h.
	lower, upper := -(n + 2), 1
	switch {
	case n == 1:
		lower, upper = -4, 2
	case sciExp >= 10:
		upper = 2
	}
	fixed := false
	if lower <= exp && exp <= upper {
		mant, _ := strconv.ParseUint(string(digits), 10, 64)
		fixed = !((mant >= 1<<53 && exp == 0) ||
			(mant > (1<<52)/5 && exp == 1) ||
			(mant > (1<<51)/25 && exp == 2))
	}
	if fixed {
		whole := n + exp
		switch {
		case exp >= 0:
			dst = append(dst, digits...)
			for range exp {
				dst = append(dst, '0')
			}
			return append(dst, ".0"...)
		case whole > 0:
			dst = append(dst, digits[:whole]...)
			dst = append(dst, '.')
			return append(dst, digits[whole:]...)
		default:
			dst = append(dst, "0."...)
			for range -whole {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
	}
	dst = append(dst, digits[0], '.')
	if n == 1 {
		dst = append(dst, '0')
	} else {
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(sciExp), 10)
}

// MaxParseDepth is how deeply Parse lets tuples, lists, maps and funs nest.
// Deeper input is refused with ErrTooDeep instead of exhausting the stack.
const MaxParseDepth = 10000

// maxAtomLen is Erlang's limit on the length of an atom, in characters.
const maxAtomLen = 255

var (
	// ErrSyntax is matched (errors.Is) by every *SyntaxError: the text is
	// not one Erlang term in the syntax Parse reads.
	ErrSyntax = errors.New("term: syntax error")
	// ErrTooDeep is returned when terms nest deeper than a limit: the cause
	// in a *SyntaxError from Parse (MaxParseDepth), in a *DecodeError from
	// Decode (DecodeOptions.MaxDepth), and in a *MarshalError or
	// *UnmarshalError (MaxMarshalDepth).
	ErrTooDeep = errors.New("term: nesting too deep")
	// ErrOutOfRange is the cause in a *SyntaxError when a literal is well
	// formed but its value is not allowed there: a float beyond the float
	// range, a character code beyond U+10FFFF, a binary segment value that
	// does not fit its size, a pid number that does not fit 32 bits.
	ErrOutOfRange = errors.New("term: value out of range")
	// ErrAtomTooLong is the cause in a *SyntaxError when an atom has more
	// than 255 characters, Erlang's limit.
	ErrAtomTooLong = errors.New("term: atom longer than 255 characters")
)

// SyntaxError says where and why Parse could not read its input. It
// matches ErrSyntax, and its cause (Err) when there is one, with errors.Is.
type SyntaxError struct {
	Offset   int    // byte offset of the problem in the input
	Line     int    // line of the problem, from 1
	Column   int    // column of the problem in characters, from 1
	Expected string // what the parser wanted there, such as "',' or '}'"
	Found    string // what it found instead, such as "']'" or "end of input"
	Err      error  // a specific cause (ErrTooDeep, ErrOutOfRange, ErrAtomTooLong) or nil
}

func (e *SyntaxError) Error() string {
	msg := fmt.Sprintf("term: syntax error at line %d, column %d (offset %d): expected %s, found %s",
		e.Line, e.Column, e.Offset, e.Expected, e.Found)
	if e.Err != nil {
		msg += ": " + strings.TrimPrefix(e.Err.Error(), "term: ")
	}
	return msg
}

// Unwrap returns ErrSyntax and the cause, if any, for errors.Is and
// errors.As.
func (e *SyntaxError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSyntax}
	}
	return []error{ErrSyntax, e.Err}
}

// Parse reads one Erlang term written in Erlang syntax, optionally followed
// by a ".", with whitespace and % comments allowed around its parts. It
// reads everything Format writes (see there for the extensions for pids,
// ports, references, funs and non-finite floats), so Parse(Format(t)) is
// Equal to t, and also:
//
//   - strings "abc" as lists of code points, with Erlang's escapes (\n, \t,
//     \\, \", \s, \d, \e, \ooo octal, \xHH, \x{H...}, \^c control) and
//     adjacent strings joined ("ab" "c" is "abc"); "" is [];
//   - character literals $a, $\n, $\x{1F600} as integers;
//   - integers in any base from 2 to 36 (16#FF, -2#1010), of any size, and
//     with _ between digits (1_000_000);
//   - floats 1.5, 1.5e10, 2.0E-3 (a "." with digits on both sides is
//     required, as in Erlang);
//   - binaries <<>>, <<"text">>, <<"text"/utf8>>, <<1,2,$a>> and segments
//     with a size in bits from 1 to 64, <<1,2:3>>, <<1000:16>>, <<-1:8>>.
//
// Unquoted atoms must not be reserved words ('and' must be quoted). Errors
// are *SyntaxError values giving the offset, line and column; Parse never
// panics and refuses input nested deeper than MaxParseDepth.
func Parse(s string) (Term, error) {
	p := &parser{s: s}
	t, err := p.term()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		p.skipSpace()
	}
	if p.pos < len(p.s) {
		return nil, p.fail(p.pos, "end of input", nil)
	}
	return t, nil
}

type parser struct {
	s     string
	pos   int
	depth int
}

func (p *parser) fail(off int, expected string, cause error) *SyntaxError {
	line, col := 1, 1
	for _, r := range p.s[:min(off, len(p.s))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	found := "end of input"
	if off < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[off:])
		if r == utf8.RuneError && n <= 1 {
			found = fmt.Sprintf("byte 0x%02x", p.s[off])
		} else {
			found = strconv.QuoteRune(r)
		}
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Expected: expected, Found: found, Err: cause}
}

// enter counts one more level of nesting at off; leave undoes it.
func (p *parser) enter(off int) error {
	if p.depth >= MaxParseDepth {
		return p.fail(off, fmt.Sprintf("at most %d levels of nesting", MaxParseDepth), ErrTooDeep)
	}
	p.depth++
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		case '%':
			for p.pos < len(p.s) && p.s[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// eat skips space and consumes c if it comes next.
func (p *parser) eat(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(c byte, expected string) error {
	if !p.eat(c) {
		return p.fail(p.pos, expected, nil)
	}
	return nil
}

func (p *parser) hasPrefix(s string) bool { return strings.HasPrefix(p.s[p.pos:], s) }

func (p *parser) term() (Term, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, p.fail(p.pos, "a term", nil)
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.tuple()
	case c == '[':
		return p.list()
	case c == '"':
		return p.charlist()
	case c == '\'':
		a, err := p.quotedAtom()
		if err != nil {
			return nil, err
		}
		return a, nil
	case c == '$':
		r, err := p.char()
		if err != nil {
			return nil, err
		}
		return Int(r), nil
	case c == '<':
		return p.binary()
	case c == '#':
		return p.hashForm()
	case c == '-' || c == '+' || isDigit(c):
		return p.number()
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	if isAtomStart(r) {
		start := p.pos
		a, err := p.bareAtom(true)
		if err != nil {
			return nil, err
		}
		if a == "fun" {
			return p.exportFun(start)
		}
		return a, nil
	}
	return nil, p.fail(p.pos, "a term", nil)
}

func (p *parser) tuple() (Term, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	p.pos++ // {
	if p.eat('}') {
		return tupleOwning(nil), nil
	}
	var elems []Term
	for {
		e, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
		if p.eat(',') {
			continue
		}
		if err := p.expect('}', "',' or '}'"); err != nil {
			return nil, err
		}
		return tupleOwning(elems), nil
	}
}

func (p *parser) list() (Term, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	p.pos++ // [
	if p.eat(']') {
		return Nil(), nil
	}
	var elems []Term
	for {
		e, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
		if p.eat(',') {
			continue
		}
		var tail Term
		if p.eat('|') {
			if tail, err = p.term(); err != nil {
				return nil, err
			}
			if err := p.expect(']', "']'"); err != nil {
				return nil, err
			}
		} else if err := p.expect(']', "',', '|' or ']'"); err != nil {
			return nil, err
		}
		return listOwning(elems, tail), nil
	}
}

func (p *parser) mapBody() (Term, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	p.pos += 2 // #{
	if p.eat('}') {
		return EmptyMap(), nil
	}
	var pairs []Pair
	for {
		k, err := p.term()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !p.hasPrefix("=>") {
			return nil, p.fail(p.pos, "'=>'", nil)
		}
		p.pos += 2
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, Pair{k, v})
		if p.eat(',') {
			continue
		}
		if err := p.expect('}', "',' or '}'"); err != nil {
			return nil, err
		}
		return mapOfPairs(pairs), nil
	}
}

// mapOfPairs builds a map from pairs in one sort; a later pair wins over an
// earlier one with the same key, as in #{k => 1, k => 2}.
func mapOfPairs(pairs []Pair) *Map {
	sort.SliceStable(pairs, func(i, j int) bool { return compareKeys(pairs[i].Key, pairs[j].Key) < 0 })
	keys := make([]Term, 0, len(pairs))
	vals := make([]Term, 0, len(pairs))
	for i, pr := range pairs {
		if i+1 < len(pairs) && compareKeys(pr.Key, pairs[i+1].Key) == 0 {
			continue // a later pair has the same key
		}
		keys = append(keys, pr.Key)
		vals = append(vals, pr.Value)
	}
	return mapFromSorted(keys, vals)
}

// stringChars reads one or more adjacent string literals and returns their
// code points.
func (p *parser) stringChars() ([]rune, error) {
	var rs []rune
	for {
		p.pos++ // "
		for {
			if p.pos >= len(p.s) {
				return nil, p.fail(p.pos, "'\"'", nil)
			}
			if p.s[p.pos] == '"' {
				p.pos++
				break
			}
			r, err := p.literalChar()
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return rs, nil
		}
	}
}

func (p *parser) charlist() (Term, error) {
	rs, err := p.stringChars()
	if err != nil {
		return nil, err
	}
	elems := make([]Term, len(rs))
	for i, r := range rs {
		elems[i] = Int(r)
	}
	return listOwning(elems, nil), nil
}

// literalChar reads one character of a quoted literal or char literal:
// a UTF-8 character or an escape sequence.
func (p *parser) literalChar() (rune, error) {
	if p.pos >= len(p.s) {
		return 0, p.fail(p.pos, "a character", nil)
	}
	if p.s[p.pos] == '\\' {
		return p.escape()
	}
	r, n := utf8.DecodeRuneInString(p.s[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		return 0, p.fail(p.pos, "valid UTF-8", nil)
	}
	p.pos += n
	return r, nil
}

func (p *parser) escape() (rune, error) {
	start := p.pos
	p.pos++ // backslash
	if p.pos >= len(p.s) {
		return 0, p.fail(p.pos, "an escape sequence", nil)
	}
	c := p.s[p.pos]
	switch c {
	case 'n':
		p.pos++
		return '\n', nil
	case 'r':
		p.pos++
		return '\r', nil
	case 't':
		p.pos++
		return '\t', nil
	case 'v':
		p.pos++
		return '\v', nil
	case 'b':
		p.pos++
		return '\b', nil
	case 'f':
		p.pos++
		return '\f', nil
	case 'e':
		p.pos++
		return 0x1b, nil
	case 's':
		p.pos++
		return ' ', nil
	case 'd':
		p.pos++
		return 0x7f, nil
	case '^':
		p.pos++
		if p.pos >= len(p.s) || p.s[p.pos] >= utf8.RuneSelf {
			return 0, p.fail(p.pos, "a control character letter after \\^", nil)
		}
		c := p.s[p.pos]
		p.pos++
		if c == '?' {
			return 0x7f, nil
		}
		return rune(c & 31), nil
	case 'x':
		p.pos++
		var v rune
		if p.pos < len(p.s) && p.s[p.pos] == '{' {
			p.pos++
			n := 0
			for p.pos < len(p.s) && digitVal(p.s[p.pos]) < 16 {
				if v = v*16 + rune(digitVal(p.s[p.pos])); v > utf8.MaxRune {
					return 0, p.fail(start, "a character code up to 10FFFF", ErrOutOfRange)
				}
				p.pos++
				n++
			}
			if n == 0 {
				return 0, p.fail(p.pos, "hex digits", nil)
			}
			if err := p.expect('}', "'}'"); err != nil {
				return 0, err
			}
		} else {
			for range 2 {
				if p.pos >= len(p.s) || digitVal(p.s[p.pos]) >= 16 {
					return 0, p.fail(p.pos, "a hex digit", nil)
				}
				v = v*16 + rune(digitVal(p.s[p.pos]))
				p.pos++
			}
		}
		if v >= 0xD800 && v <= 0xDFFF {
			return 0, p.fail(start, "a character code that is not a surrogate", ErrOutOfRange)
		}
		return v, nil
	}
	if c >= '0' && c <= '7' {
		var v rune
		for n := 0; n < 3 && p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '7'; n++ {
			v = v*8 + rune(p.s[p.pos]-'0')
			p.pos++
		}
		return v, nil
	}
	// Any other character stands for itself: \\ \' \" and the rest.
	r, n := utf8.DecodeRuneInString(p.s[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		return 0, p.fail(p.pos, "valid UTF-8", nil)
	}
	p.pos += n
	return r, nil
}

func (p *parser) char() (rune, error) {
	p.pos++ // $
	return p.literalChar()
}

func (p *parser) quotedAtom() (Atom, error) {
	start := p.pos
	p.pos++ // '
	var b []byte
	n := 0
	for {
		if p.pos >= len(p.s) {
			return "", p.fail(p.pos, `"'"`, nil)
		}
		if p.s[p.pos] == '\'' {
			p.pos++
			break
		}
		r, err := p.literalChar()
		if err != nil {
			return "", err
		}
		b = utf8.AppendRune(b, r)
		n++
	}
	if n > maxAtomLen {
		return "", p.fail(start, "an atom of at most 255 characters", ErrAtomTooLong)
	}
	return Atom(b), nil
}

// bareAtom reads an unquoted atom; a reserved word other than fun (which
// begins an export fun) is an error when allowFun, and always otherwise.
func (p *parser) bareAtom(allowFun bool) (Atom, error) {
	start := p.pos
	n := 0
	for p.pos < len(p.s) {
		r, size := utf8.DecodeRuneInString(p.s[p.pos:])
		if !isNameChar(r) || (n == 0 && !isAtomStart(r)) {
			break
		}
		p.pos += size
		n++
	}
	if n == 0 {
		return "", p.fail(p.pos, "an atom", nil)
	}
	s := p.s[start:p.pos]
	if n > maxAtomLen {
		return "", p.fail(start, "an atom of at most 255 characters", ErrAtomTooLong)
	}
	if isReservedWord(s) && !(allowFun && s == "fun") {
		return "", p.fail(start, "an atom (reserved words must be quoted)", nil)
	}
	return Atom(s), nil
}

// atom reads a quoted or unquoted atom.
func (p *parser) atom() (Atom, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '\'' {
		return p.quotedAtom()
	}
	return p.bareAtom(false)
}

// exportFun reads the rest of fun M:F/A after the word fun.
func (p *parser) exportFun(start int) (Term, error) {
	m, err := p.atom()
	if err != nil {
		return nil, err
	}
	if err := p.expect(':', "':'"); err != nil {
		return nil, err
	}
	f, err := p.atom()
	if err != nil {
		return nil, err
	}
	if err := p.expect('/', "'/'"); err != nil {
		return nil, err
	}
	p.skipSpace()
	a, err := p.uintField(math.MaxUint8, "an arity from 0 to 255")
	if err != nil {
		return nil, err
	}
	return &Fun{Exported: true, Module: m, Function: f, Arity: uint8(a)}, nil
}

// uintField reads an unsigned decimal number no greater than limit.
func (p *parser) uintField(limit uint64, what string) (uint64, error) {
	start := p.pos
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return 0, p.fail(start, what, nil)
	}
	v, err := strconv.ParseUint(p.s[start:p.pos], 10, 64)
	if err != nil || v > limit {
		return 0, p.fail(start, what, ErrOutOfRange)
	}
	return v, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitVal returns the value of c as a digit in bases up to 36, or 99.
func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// digits reads digits of base, with single underscores allowed between
// two digits, and returns them without the underscores.
func (p *parser) digits(base int) string {
	var b []byte
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if digitVal(c) < base {
			b = append(b, c)
			p.pos++
			continue
		}
		if c == '_' && len(b) > 0 && p.pos+1 < len(p.s) && digitVal(p.s[p.pos+1]) < base {
			p.pos++
			continue
		}
		break
	}
	return string(b)
}

// number reads an integer or float literal with an optional sign.
func (p *parser) number() (Term, error) {
	start := p.pos
	neg := false
	if c := p.s[p.pos]; c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
		p.skipSpace()
	}
	if p.pos >= len(p.s) || !isDigit(p.s[p.pos]) {
		return nil, p.fail(p.pos, "a number", nil)
	}
	sign := ""
	if neg {
		sign = "-"
	}
	ds := p.digits(10)
	switch {
	case p.pos < len(p.s) && p.s[p.pos] == '#':
		base, err := strconv.Atoi(ds)
		if err != nil || base < 2 || base > 36 {
			return nil, p.fail(start, "a base from 2 to 36", ErrOutOfRange)
		}
		p.pos++
		ds = p.digits(base)
		if ds == "" {
			return nil, p.fail(p.pos, fmt.Sprintf("a base %d digit", base), nil)
		}
		return parseInteger(sign+ds, base), nil
	case p.pos+1 < len(p.s) && p.s[p.pos] == '.' && isDigit(p.s[p.pos+1]):
		p.pos++
		text := sign + ds + "." + p.digits(10)
		if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
			save := p.pos
			p.pos++
			esign := ""
			if p.pos < len(p.s) && (p.s[p.pos] == '-' || p.s[p.pos] == '+') {
				esign = p.s[p.pos : p.pos+1]
				p.pos++
			}
			if e := p.digits(10); e != "" {
				text += "e" + esign + e
			} else {
				p.pos = save // not an exponent; the e is left for the caller
			}
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.fail(start, "a float within the float range", ErrOutOfRange)
		}
		return Float(f), nil
	}
	return parseInteger(sign+ds, 10), nil
}

// parseInteger converts digits already checked against base.
func parseInteger(s string, base int) Term {
	if v, err := strconv.ParseInt(s, base, 64); err == nil {
		return Int(v)
	}
	v, _ := new(big.Int).SetString(s, base)
	return Integer(v)
}

// binary reads <<...>>.
func (p *parser) binary() (Term, error) {
	if !p.hasPrefix("<<") {
		return nil, p.fail(p.pos, "a term", nil)
	}
	p.pos += 2
	var w bitWriter
	p.skipSpace()
	if p.hasPrefix(">>") {
		p.pos += 2
		return binaryOwning(nil), nil
	}
	for {
		if err := p.segment(&w); err != nil {
			return nil, err
		}
		if p.eat(',') {
			p.skipSpace()
			continue
		}
		p.skipSpace()
		if !p.hasPrefix(">>") {
			return nil, p.fail(p.pos, "',' or '>>'", nil)
		}
		p.pos += 2
		if w.nbits%8 == 0 {
			return binaryOwning(w.buf), nil
		}
		return NewBitstring(w.buf, uint8(w.nbits%8)), nil
	}
}

// segment reads one binary segment: a string (Latin-1, or UTF-8 with
// /utf8) or an integer with an optional size in bits.
func (p *parser) segment(w *bitWriter) error {
	start := p.pos
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		rs, err := p.stringChars()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.hasPrefix("/utf8") {
			p.pos += len("/utf8")
			var b []byte
			for _, r := range rs {
				b = utf8.AppendRune(b, r)
			}
			for _, c := range b {
				w.write(uint64(c), 8)
			}
			return nil
		}
		for _, r := range rs {
			if r > 0xFF {
				return p.fail(start, "a Latin-1 string (or /utf8 after it)", ErrOutOfRange)
			}
			w.write(uint64(r), 8)
		}
		return nil
	}
	var v Term
	switch {
	case p.pos < len(p.s) && p.s[p.pos] == '$':
		r, err := p.char()
		if err != nil {
			return err
		}
		v = Int(r)
	case p.pos < len(p.s) && (p.s[p.pos] == '-' || p.s[p.pos] == '+' || isDigit(p.s[p.pos])):
		n, err := p.number()
		if err != nil {
			return err
		}
		v = n
	default:
		return p.fail(p.pos, "an integer or a string", nil)
	}
	size := uint64(8)
	if p.eat(':') {
		p.skipSpace()
		var err error
		if size, err = p.uintField(64, "a segment size from 1 to 64"); err != nil {
			return err
		}
		if size == 0 {
			return p.fail(p.pos-1, "a segment size from 1 to 64", ErrOutOfRange)
		}
	}
	var bits uint64
	switch i := v.(type) {
	case Int:
		if !fitsBits(int64(i), uint(size)) {
			return p.fail(start, fmt.Sprintf("an integer that fits in %d bits", size), ErrOutOfRange)
		}
		bits = uint64(i)
	case BigInt:
		// Only unsigned values from 2^63 to 2^64-1 are big and still fit.
		if size != 64 || !i.bigValue().IsUint64() {
			return p.fail(start, fmt.Sprintf("an integer that fits in %d bits", size), ErrOutOfRange)
		}
		bits = i.bigValue().Uint64()
	}
	w.write(bits, uint(size))
	return nil
}

// fitsBits reports whether v can be written in n bits, as an unsigned or a
// two's complement number.
func fitsBits(v int64, n uint) bool {
	if n >= 64 {
		return true
	}
	return v >= -(1<<(n-1)) && v < 1<<n
}

// bitWriter packs bit fields most significant bit first, as Erlang's
// binary syntax does.
type bitWriter struct {
	buf   []byte
	nbits int
}

// write appends the low n bits of v.
func (w *bitWriter) write(v uint64, n uint) {
	if n == 8 && w.nbits%8 == 0 {
		w.buf = append(w.buf, byte(v))
		w.nbits += 8
		return
	}
	for i := int(n) - 1; i >= 0; i-- {
		if w.nbits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.buf[len(w.buf)-1] |= 0x80 >> (w.nbits % 8)
		}
		w.nbits++
	}
}

// hashForm reads a map or one of the #Name<...> forms.
func (p *parser) hashForm() (Term, error) {
	start := p.pos
	switch {
	case p.hasPrefix("#{"):
		return p.mapBody()
	case p.hasPrefix("#Pid<"):
		p.pos += len("#Pid<")
		node, nums, err := p.idBody(3, 3)
		if err != nil {
			return nil, err
		}
		for _, v := range nums {
			if v > math.MaxUint32 {
				return nil, p.fail(start, "pid numbers that fit in 32 bits", ErrOutOfRange)
			}
		}
		return Pid{Node: node, ID: uint32(nums[0]), Serial: uint32(nums[1]), Creation: uint32(nums[2])}, nil
	case p.hasPrefix("#Port<"):
		p.pos += len("#Port<")
		node, nums, err := p.idBody(2, 2)
		if err != nil {
			return nil, err
		}
		if nums[1] > math.MaxUint32 {
			return nil, p.fail(start, "a port creation that fits in 32 bits", ErrOutOfRange)
		}
		return Port{Node: node, ID: nums[0], Creation: uint32(nums[1])}, nil
	case p.hasPrefix("#Ref<"):
		p.pos += len("#Ref<")
		node, nums, err := p.idBody(1, 6)
		if err != nil {
			return nil, err
		}
		r := Ref{Node: node, Len: uint8(len(nums) - 1)}
		for i, v := range nums {
			if v > math.MaxUint32 {
				return nil, p.fail(start, "reference numbers that fit in 32 bits", ErrOutOfRange)
			}
			if i == len(nums)-1 {
				r.Creation = uint32(v)
			} else {
				r.ID[len(nums)-2-i] = uint32(v)
			}
		}
		return r, nil
	case p.hasPrefix("#Fun<"):
		return p.localFun()
	case p.hasPrefix("#Float<"):
		p.pos += len("#Float<")
		for _, f := range []struct {
			s string
			v float64
		}{{"nan>", math.NaN()}, {"inf>", math.Inf(1)}, {"-inf>", math.Inf(-1)}} {
			if p.hasPrefix(f.s) {
				p.pos += len(f.s)
				return Float(f.v), nil
			}
		}
		return nil, p.fail(p.pos, "nan, inf or -inf", nil)
	}
	return nil, p.fail(start, "#{, #Pid<, #Port<, #Ref<, #Fun< or #Float<", nil)
}

// idBody reads Node.N1.N2...> with between lo and hi numbers.
func (p *parser) idBody(lo, hi int) (Atom, []uint64, error) {
	node, err := p.atom()
	if err != nil {
		return "", nil, err
	}
	var nums []uint64
	for p.pos < len(p.s) && p.s[p.pos] == '.' && len(nums) < hi {
		p.pos++
		v, err := p.uintField(math.MaxUint64, "a number")
		if err != nil {
			return "", nil, err
		}
		nums = append(nums, v)
	}
	if len(nums) < lo {
		return "", nil, p.fail(p.pos, "'.' and a number", nil)
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		return "", nil, p.fail(p.pos, "'>'", nil)
	}
	p.pos++
	return node, nums, nil
}

// localFun reads #Fun<Module.Index.Uniq.Arity>{OldIndex,OldUniq,Pid,[Free...]}.
func (p *parser) localFun() (Term, error) {
	start := p.pos
	p.pos += len("#Fun<")
	f := &Fun{}
	var err error
	if f.Module, err = p.atom(); err != nil {
		return nil, err
	}
	if err := p.expect('.', "'.'"); err != nil {
		return nil, err
	}
	idx, err := p.uintField(math.MaxUint32, "a fun index that fits in 32 bits")
	if err != nil {
		return nil, err
	}
	f.Index = uint32(idx)
	if err := p.expect('.', "'.'"); err != nil {
		return nil, err
	}
	if len(p.s)-p.pos < 32 {
		return nil, p.fail(p.pos, "32 hex digits", nil)
	}
	for i := range f.Uniq {
		hi, lo := digitVal(p.s[p.pos]), digitVal(p.s[p.pos+1])
		if hi >= 16 || lo >= 16 {
			return nil, p.fail(p.pos, "32 hex digits", nil)
		}
		f.Uniq[i] = byte(hi<<4 | lo)
		p.pos += 2
	}
	if err := p.expect('.', "'.'"); err != nil {
		return nil, err
	}
	arity, err := p.uintField(math.MaxUint8, "an arity from 0 to 255")
	if err != nil {
		return nil, err
	}
	f.Arity = uint8(arity)
	if err := p.expect('>', "'>'"); err != nil {
		return nil, err
	}
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.expect('{', "'{'"); err != nil {
		return nil, err
	}
	for _, field := range []*Term{&f.OldIndex, &f.OldUniq, &f.Pid} {
		if p.eat('_') {
			*field = nil
		} else if *field, err = p.term(); err != nil {
			return nil, err
		}
		if err := p.expect(',', "','"); err != nil {
			return nil, err
		}
	}
	p.skipSpace()
	freeAt := p.pos
	free, err := p.term()
	if err != nil {
		return nil, err
	}
	l, ok := free.(*List)
	if !ok || !l.IsProper() {
		return nil, p.fail(freeAt, "a proper list of free variables", nil)
	}
	f.FreeVars = l.Elems()
	if err := p.expect('}', "'}'"); err != nil {
		return nil, err
	}
	return f, nil
}
