package delta

import "github.com/enode-dev/enode/term"

// The cost rule's floor. After writing a nested spec of n bytes for a → b,
// the diff sends b whole instead when 1+valueSize(b) <= n. Computing
// valueSize(b) reads b's fields, and most of those are ones the diff did
// not need: the fields b shares with a (identical interface words) are
// never dereferenced by the diff, and on a sender right after the worker's
// step they are cold — a record's name atom, its id, its other nested
// tuples and binaries, each its own small object, each a cache miss. So
// diffWriter.diff returns with what it wrote a lower bound of valueSize(b)
// built from what it already knows: a kept element counts the least its
// type can take (typeSizeFloor, known from the interface's type word
// alone), a replaced one the bytes written for it, a nested one its own
// floor (at least the spec's size, or the cost rule would have replaced
// it), a tuple of the same arity the sum over its elements, another
// container its element count. When the floor already rules the
// replacement out (the usual case for an edited record) the exact size is
// not computed; otherwise it is, so the decision is always exactly the one
// valueSize gives (Diff, which always sizes exactly, writes the same bytes).

// typeSizeFloor is the least valueSize of a term of t's dynamic type,
// found without dereferencing t (a type switch reads only the interface's
// type word): a tag byte, and for most kinds at least one byte more (a
// varint, a length or an arity).
func typeSizeFloor(t term.Term) int {
	switch t.(type) {
	case term.Int, term.Atom, *term.Binary, *term.Tuple, *term.Map:
		return 2
	case term.BigInt:
		return 3
	case term.Float:
		return 9
	}
	return 1
}
