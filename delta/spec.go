package delta

import (
	"errors"

	"github.com/enode-dev/enode/term"
)

// Errors returned by the package. They are wrapped with the detail of what
// went wrong; test for them with errors.Is.
var (
	// ErrMismatch is returned by Apply when a spec does not fit the term it
	// is applied to: a tuple spec on a list, an index past the end, an edit
	// of a map key that is absent, or an Invalid spec (the result of merging
	// two specs that cannot follow each other).
	ErrMismatch = errors.New("delta: spec does not fit the term")

	// ErrInvalidSpec is returned by Apply and Encode for a spec that is
	// malformed in itself, whatever the term: a negative or zero count, a
	// nil value to insert or put, an unknown operation kind.
	ErrInvalidSpec = errors.New("delta: malformed spec")

	// ErrCorrupt is returned by Decode and DecodeFrame when the input is not
	// a well-formed encoding: truncated, an unknown tag, a length larger
	// than the remaining input, trailing bytes.
	ErrCorrupt = errors.New("delta: corrupt encoding")
)

// Spec describes how to turn one term into another. It is a closed sum type:
// Keep, Replace, Tuple, List, Map, Binary and Invalid are its only
// implementations, and a spec is never an Erlang term, so it can never be
// mistaken for data. A nil Spec means the same as Keep.
type Spec interface {
	// IsEmpty reports whether the spec changes nothing (Keep).
	IsEmpty() bool
	isSpec()
}

// Keep is the empty spec: the term stays as it is.
type Keep struct{}

// Replace replaces the term, whatever it was, by Value.
type Replace struct{ Value term.Term }

// Tuple edits a tuple element by element. Ops walk the old tuple's elements
// from the first; elements after the last op are kept. Insert and Delete
// change the arity.
type Tuple struct{ Ops []Op }

// List edits a list: Ops walk the old list's elements as for Tuple (elements
// after the last op are kept), and Tail, when not empty, edits what the last
// cons cell points to ([] for a proper list). The tail must not become a
// non-empty list.
type List struct {
	Ops  []Op
	Tail Spec
}

// Map edits a map key by key, in the order of Entries. Keys not named are
// kept.
type Map struct{ Entries []MapEntry }

// Binary edits the bytes of a binary (not of a bitstring whose length is not
// a whole number of bytes: those are replaced). Ops walk the old bytes from
// the first; bytes after the last op are kept. Edit is not allowed in a
// binary spec; an overwrite is a Delete followed by an Insert of as many
// bytes, which Apply turns into an in-place update that shares untouched
// chunks.
type Binary struct{ Ops []ByteOp }

// Invalid is a spec that never applies: Apply returns an ErrMismatch carrying
// Reason. Merge returns it when its second spec cannot apply to the result of
// its first, whatever the term (editing a key the first spec removed, a list
// spec after a spec that produces a tuple).
type Invalid struct{ Reason string }

func (Keep) IsEmpty() bool    { return true }
func (Replace) IsEmpty() bool { return false }
func (s Tuple) IsEmpty() bool { return len(s.Ops) == 0 }
func (s List) IsEmpty() bool  { return len(s.Ops) == 0 && isEmpty(s.Tail) }
func (s Map) IsEmpty() bool   { return len(s.Entries) == 0 }
func (s Binary) IsEmpty() bool {
	return len(s.Ops) == 0
}
func (Invalid) IsEmpty() bool { return false }

func (Keep) isSpec()    {}
func (Replace) isSpec() {}
func (Tuple) isSpec()   {}
func (List) isSpec()    {}
func (Map) isSpec()     {}
func (Binary) isSpec()  {}
func (Invalid) isSpec() {}

// isEmpty reports whether s changes nothing, treating nil as Keep.
func isEmpty(s Spec) bool { return s == nil || s.IsEmpty() }

// OpKind is the kind of one step of a sequence spec.
type OpKind uint8

// The sequence operations, in the style of operational transforms: each op
// consumes some elements of the old sequence and produces some of the new.
const (
	// OpRetain keeps the next N old elements (consumes N, produces N).
	OpRetain OpKind = iota + 1
	// OpDelete drops the next N old elements (consumes N, produces 0).
	OpDelete
	// OpInsert adds new elements (consumes 0, produces len(Values)).
	OpInsert
	// OpEdit changes the next old element by a nested spec (consumes 1,
	// produces 1). Not allowed in binary specs.
	OpEdit
)

func (k OpKind) String() string {
	switch k {
	case OpRetain:
		return "retain"
	case OpDelete:
		return "delete"
	case OpInsert:
		return "insert"
	case OpEdit:
		return "edit"
	}
	return "invalid"
}

// Op is one step of a tuple or list spec. N is used by Retain and Delete,
// Values by Insert, Spec by Edit.
type Op struct {
	Kind   OpKind
	N      int
	Values []term.Term
	Spec   Spec
}

// Retain returns the op that keeps the next n elements.
func Retain(n int) Op { return Op{Kind: OpRetain, N: n} }

// Delete returns the op that drops the next n elements.
func Delete(n int) Op { return Op{Kind: OpDelete, N: n} }

// Insert returns the op that adds vs before the next old element.
func Insert(vs ...term.Term) Op { return Op{Kind: OpInsert, Values: vs} }

// Edit returns the op that changes the next element by s.
func Edit(s Spec) Op { return Op{Kind: OpEdit, Spec: s} }

// ByteOp is one step of a binary spec: Retain and Delete use N, Insert uses
// Bytes.
type ByteOp struct {
	Kind  OpKind
	N     int
	Bytes []byte
}

// RetainBytes returns the op that keeps the next n bytes.
func RetainBytes(n int) ByteOp { return ByteOp{Kind: OpRetain, N: n} }

// DeleteBytes returns the op that drops the next n bytes.
func DeleteBytes(n int) ByteOp { return ByteOp{Kind: OpDelete, N: n} }

// InsertBytes returns the op that adds p before the next old byte.
func InsertBytes(p []byte) ByteOp { return ByteOp{Kind: OpInsert, Bytes: p} }

// MapOpKind is what a map spec does to one key.
type MapOpKind uint8

// The map operations.
const (
	// MapPut associates the key with Value, whether or not it was present.
	MapPut MapOpKind = iota + 1
	// MapRemove removes the key; a key already absent is no error, so that
	// a put followed by a remove composes into a remove.
	MapRemove
	// MapEdit changes the value under a key that must be present by Spec.
	MapEdit
)

func (k MapOpKind) String() string {
	switch k {
	case MapPut:
		return "put"
	case MapRemove:
		return "remove"
	case MapEdit:
		return "edit"
	}
	return "invalid"
}

// MapEntry is the change of one key of a map spec.
type MapEntry struct {
	Key   term.Term
	Kind  MapOpKind
	Value term.Term // MapPut
	Spec  Spec      // MapEdit
}

// PutKey returns the entry that associates k with v.
func PutKey(k, v term.Term) MapEntry { return MapEntry{Key: k, Kind: MapPut, Value: v} }

// RemoveKey returns the entry that removes k.
func RemoveKey(k term.Term) MapEntry { return MapEntry{Key: k, Kind: MapRemove} }

// EditKey returns the entry that changes the value under k by s.
func EditKey(k term.Term, s Spec) MapEntry { return MapEntry{Key: k, Kind: MapEdit, Spec: s} }

// Compile-time checks that every spec type implements Spec.
var (
	_ Spec = Keep{}
	_ Spec = Replace{}
	_ Spec = Tuple{}
	_ Spec = List{}
	_ Spec = Map{}
	_ Spec = Binary{}
	_ Spec = Invalid{}
)
