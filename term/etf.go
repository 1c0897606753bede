package term

import (
	"errors"
	"fmt"
)

// The External Term Format (ETF), version 131, as OTP 25's term_to_binary/1
// writes it and binary_to_term/1 reads it. The tags are the first byte of
// every encoded term.
const (
	etfVersion = 131

	extNewFloat     = 70  // NEW_FLOAT_EXT: IEEE 754 double, big-endian
	extBitBinary    = 77  // BIT_BINARY_EXT: length, used bits of the last byte, bytes
	extCompressed   = 80  // zlib-compressed term, only right after the version byte
	extAtomCacheRef = 82  // ATOM_CACHE_REF: distribution only
	extNewPid       = 88  // NEW_PID_EXT
	extNewPort      = 89  // NEW_PORT_EXT
	extNewerRef     = 90  // NEWER_REFERENCE_EXT
	extSmallInt     = 97  // SMALL_INTEGER_EXT: 0..255
	extInt          = 98  // INTEGER_EXT: int32
	extFloat        = 99  // FLOAT_EXT: 31-byte "%.20e" string (old)
	extAtom         = 100 // ATOM_EXT: 2-byte length, Latin-1
	extRef          = 101 // REFERENCE_EXT (old)
	extPort         = 102 // PORT_EXT (old)
	extPid          = 103 // PID_EXT (old)
	extSmallTuple   = 104 // SMALL_TUPLE_EXT
	extLargeTuple   = 105 // LARGE_TUPLE_EXT
	extNil          = 106 // NIL_EXT
	extString       = 107 // STRING_EXT: list of bytes
	extList         = 108 // LIST_EXT
	extBinary       = 109 // BINARY_EXT
	extSmallBig     = 110 // SMALL_BIG_EXT
	extLargeBig     = 111 // LARGE_BIG_EXT
	extNewFun       = 112 // NEW_FUN_EXT
	extExport       = 113 // EXPORT_EXT
	extNewRef       = 114 // NEW_REFERENCE_EXT (old)
	extSmallAtom    = 115 // SMALL_ATOM_EXT: 1-byte length, Latin-1
	extMap          = 116 // MAP_EXT
	extFun          = 117 // FUN_EXT: removed in OTP 23, refused
	extAtomUTF8     = 118 // ATOM_UTF8_EXT: 2-byte length
	extSmallAtom8   = 119 // SMALL_ATOM_UTF8_EXT: 1-byte length
	extV4Port       = 120 // V4_PORT_EXT: 64-bit port id
	extDistHeader   = 68  // distribution header: distribution only
	extDistFragHdr  = 69  // fragmented distribution header: distribution only
)

// maxAtomChars is Erlang's limit on the length of an atom, in characters.
const maxAtomChars = 255

// tagName returns the name the ETF specification gives a tag, for errors.
func tagName(tag byte) string {
	switch tag {
	case extNewFloat:
		return "NEW_FLOAT_EXT"
	case extBitBinary:
		return "BIT_BINARY_EXT"
	case extCompressed:
		return "COMPRESSED"
	case extAtomCacheRef:
		return "ATOM_CACHE_REF"
	case extNewPid:
		return "NEW_PID_EXT"
	case extNewPort:
		return "NEW_PORT_EXT"
	case extNewerRef:
		return "NEWER_REFERENCE_EXT"
	case extSmallInt:
		return "SMALL_INTEGER_EXT"
	case extInt:
		return "INTEGER_EXT"
	case extFloat:
		return "FLOAT_EXT"
	case extAtom:
		return "ATOM_EXT"
	case extRef:
		return "REFERENCE_EXT"
	case extPort:
		return "PORT_EXT"
	case extPid:
		return "PID_EXT"
	case extSmallTuple:
		return "SMALL_TUPLE_EXT"
	case extLargeTuple:
		return "LARGE_TUPLE_EXT"
	case extNil:
		return "NIL_EXT"
	case extString:
		return "STRING_EXT"
	case extList:
		return "LIST_EXT"
	case extBinary:
		return "BINARY_EXT"
	case extSmallBig:
		return "SMALL_BIG_EXT"
	case extLargeBig:
		return "LARGE_BIG_EXT"
	case extNewFun:
		return "NEW_FUN_EXT"
	case extExport:
		return "EXPORT_EXT"
	case extNewRef:
		return "NEW_REFERENCE_EXT"
	case extSmallAtom:
		return "SMALL_ATOM_EXT"
	case extMap:
		return "MAP_EXT"
	case extFun:
		return "FUN_EXT"
	case extAtomUTF8:
		return "ATOM_UTF8_EXT"
	case extSmallAtom8:
		return "SMALL_ATOM_UTF8_EXT"
	case extV4Port:
		return "V4_PORT_EXT"
	case extDistHeader:
		return "DIST_HEADER"
	case extDistFragHdr:
		return "DIST_FRAG_HEADER"
	case etfVersion:
		return "VERSION"
	}
	return fmt.Sprintf("unknown tag %d", tag)
}

// Errors returned by Decode, always inside a *DecodeError that says where.
// Decode also returns ErrTooDeep (shared with Parse) when terms nest deeper
// than DecodeOptions.MaxDepth.
var (
	// ErrTruncated: the input ends before the term does, or a length or
	// count in the input claims more than the bytes that are left.
	ErrTruncated = errors.New("truncated input")
	// ErrUnknownTag: a byte where a term should start is not a tag that
	// binary_to_term/1 reads.
	ErrUnknownTag = errors.New("unknown tag")
	// ErrDistribution: the input uses an encoding that only appears in
	// messages between connected Erlang nodes (an atom cache reference or a
	// distribution header), never in term_to_binary output. It wraps
	// ErrUnknownTag.
	ErrDistribution = fmt.Errorf("%w: distribution-only encoding", ErrUnknownTag)
	// ErrVersion: the input does not start with the version byte 131.
	ErrVersion = errors.New("not external term format version 131")
	// ErrTooLarge: a compressed term claims an inflated size over
	// DecodeOptions.MaxSize.
	ErrTooLarge = errors.New("term too large")
	// ErrInvalid: the bytes are well delimited but do not make a term: a bad
	// atom length or UTF-8, a bad bit count, a bad float string, a NaN, a
	// duplicate map key, a wrong compressed size, and the like.
	ErrInvalid = errors.New("invalid term encoding")
	// ErrTrailingBytes: Decode found bytes after the term.
	ErrTrailingBytes = errors.New("trailing bytes after term")
)

// DecodeError says where and why decoding failed. Err wraps one of the
// sentinel errors (ErrTruncated, ErrUnknownTag, ErrVersion, ErrTooDeep,
// ErrTooLarge, ErrInvalid, ErrTrailingBytes), so use errors.Is on it.
type DecodeError struct {
	// Offset is the byte offset of the problem: from the start of the input,
	// or, when Inflated is set, from the start of the inflated bytes of a
	// compressed term (the bytes after its tag and size).
	Offset int
	// Tag is the tag of the term being decoded when the problem was found (0
	// before the first tag).
	Tag byte
	// Inflated says that Offset counts in the inflated data of a compressed
	// term rather than in the input.
	Inflated bool
	// Err is the reason; it wraps a sentinel.
	Err error
}

func (e *DecodeError) Error() string {
	where := "offset"
	if e.Inflated {
		where = "inflated offset"
	}
	if e.Tag == 0 {
		return fmt.Sprintf("term: decode at %s %d: %v", where, e.Offset, e.Err)
	}
	return fmt.Sprintf("term: decode %s at %s %d: %v", tagName(e.Tag), where, e.Offset, e.Err)
}

// Unwrap returns the reason, so that errors.Is finds the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

// ErrUnencodable is wrapped by every *EncodeError: the term holds a value
// that the External Term Format cannot carry.
var ErrUnencodable = errors.New("term cannot be encoded")

// ErrCompressionLevel: EncodeCompressed was given a level outside 0..9.
var ErrCompressionLevel = errors.New("term: compression level out of range 0..9")

// EncodeError says what could not be encoded: a NaN or infinite float, an
// atom longer than 255 characters or not valid UTF-8, a nil Term inside a
// term, a tuple or list too long for the format's 32-bit counts, a malformed
// fun or reference, or a term nested deeper than the encoder follows.
type EncodeError struct {
	// Term is the offending value (nil for a nil Term).
	Term Term
	// Reason says what is wrong with it.
	Reason string
}

func (e *EncodeError) Error() string {
	if e.Term == nil {
		return "term: encode: " + e.Reason
	}
	return fmt.Sprintf("term: encode %v: %s", e.Term.Kind(), e.Reason)
}

// Unwrap returns ErrUnencodable.
func (e *EncodeError) Unwrap() error { return ErrUnencodable }

// Decoding limits used when a DecodeOptions field is zero.
const (
	// DefaultMaxDepth is the default bound on nesting. A term inside N
	// tuples, lists, maps or funs is at depth N; terms deeper than the bound
	// are refused. The tail of a list is not a level (a list is read as one
	// run however its cons cells were written), so long and improper lists
	// decode at any length; only terms like [[[[...]]]] or {{{...}}} nested
	// this deep are refused. Encode applies the same bound, so whatever
	// enode encodes it decodes with the defaults. Decoding and encoding
	// recurse once per level, so the bound also caps the goroutine stack a
	// hostile input can make them grow: up to 64 MB at this default (measured
	// on amd64), released as the runtime shrinks stacks.
	DefaultMaxDepth = 100_000
	// DefaultMaxSize is the default bound, in bytes, on the inflated size of
	// a compressed term (tag 80): 256 MiB. It bounds the memory a small
	// hostile input can make the decoder allocate.
	DefaultMaxSize = 256 << 20
)

// DecodeOptions are the limits of a decoder. The zero value uses the
// defaults; Decode and DecodePrefix use the zero value.
type DecodeOptions struct {
	// MaxDepth is the deepest a term may lie inside tuples, lists, maps and
	// funs (see DefaultMaxDepth). Zero or less means DefaultMaxDepth.
	MaxDepth int
	// MaxSize bounds the inflated size in bytes that a compressed term may
	// claim. Zero or less means DefaultMaxSize.
	MaxSize int
}

func (o DecodeOptions) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

func (o DecodeOptions) maxSize() int {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}
