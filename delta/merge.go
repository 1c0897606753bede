package delta

import (
	"errors"
	"fmt"
	"slices"

	"github.com/enode-dev/enode/term"
)

// Merge returns one spec with the effect of s1 followed by s2: for every
// term a where Apply(a, s1) and then s2 apply, Apply(a, Merge(s1, s2)) gives
// the same term. Merge is associative, so pending deltas can be folded in
// any grouping. Sequence specs compose op by op (an operational-transform
// composition, linear in the number of ops); map specs key by key (a put
// then an edit is a put of the edited value, a remove then a put is a put);
// binary specs by overlaying their byte ops.
//
// When s2 can never apply after s1 (an edit of a key s1 removes, a list
// spec after a spec producing a tuple), Merge returns an Invalid spec, which
// Apply refuses with ErrMismatch. The merged spec may apply to some terms
// where s1 followed by s2 would not (an edit followed by a removal of the
// same key becomes a removal).
func Merge(s1, s2 Spec) Spec {
	if s1 == nil {
		s1 = Keep{}
	}
	if s2 == nil {
		s2 = Keep{}
	}
	if inv, ok := s1.(Invalid); ok {
		return inv
	}
	if inv, ok := s2.(Invalid); ok {
		return inv
	}
	if s1.IsEmpty() {
		return s2
	}
	if s2.IsEmpty() {
		return s1
	}
	if _, ok := s2.(Replace); ok {
		return s2
	}
	switch a := s1.(type) {
	case Replace:
		if a.Value == nil {
			return Invalid{Reason: "replace with a nil term"}
		}
		v, err := Apply(a.Value, s2)
		if err != nil {
			return Invalid{Reason: fmt.Sprintf("second spec does not fit the first one's value: %v", err)}
		}
		return Replace{Value: v}
	case Tuple:
		b, ok := s2.(Tuple)
		if !ok {
			return kindConflict(s1, s2)
		}
		ops, err := compose(termOps(a.Ops), termOps(b.Ops), editValue)
		if err != nil {
			return conflict(err)
		}
		if len(ops) == 0 {
			return Keep{}
		}
		return Tuple{Ops: fromTermOps(ops)}
	case List:
		b, ok := s2.(List)
		if !ok {
			return kindConflict(s1, s2)
		}
		ops, err := compose(termOps(a.Ops), termOps(b.Ops), editValue)
		if err != nil {
			return conflict(err)
		}
		tail := Merge(a.Tail, b.Tail)
		if inv, ok := tail.(Invalid); ok {
			return inv
		}
		if len(ops) == 0 && tail.IsEmpty() {
			return Keep{}
		}
		return List{Ops: fromTermOps(ops), Tail: tail}
	case Map:
		b, ok := s2.(Map)
		if !ok {
			return kindConflict(s1, s2)
		}
		return mergeMaps(a.Entries, b.Entries)
	case Binary:
		b, ok := s2.(Binary)
		if !ok {
			return kindConflict(s1, s2)
		}
		ops, err := compose(byteOps(a.Ops), byteOps(b.Ops), nil)
		if err != nil {
			return conflict(err)
		}
		if len(ops) == 0 {
			return Keep{}
		}
		return Binary{Ops: fromByteOps(ops)}
	}
	return Invalid{Reason: fmt.Sprintf("unknown spec type %T", s1)}
}

func editValue(v term.Term, s Spec) (term.Term, error) { return Apply(v, s) }

func kindConflict(s1, s2 Spec) Spec {
	return Invalid{Reason: fmt.Sprintf("a %s spec cannot follow a %s spec", specName(s2), specName(s1))}
}

func conflict(err error) Spec {
	var c errConflict
	if errors.As(err, &c) {
		return Invalid{Reason: c.reason}
	}
	return Invalid{Reason: err.Error()}
}

func specName(s Spec) string {
	switch s.(type) {
	case Tuple:
		return "tuple"
	case List:
		return "list"
	case Map:
		return "map"
	case Binary:
		return "binary"
	case Replace:
		return "replace"
	case Keep:
		return "keep"
	}
	return "invalid"
}

// sortedEntries returns the entries in key order with one entry per key,
// folding the entries of a repeated key in their order.
func sortedEntries(es []MapEntry) ([]MapEntry, error) {
	for _, e := range es {
		if e.Key == nil {
			return nil, errConflict{"map entry with a nil key"}
		}
	}
	strict := true
	for i := 1; i < len(es) && strict; i++ {
		strict = term.CompareKeys(es[i-1].Key, es[i].Key) < 0
	}
	if strict {
		return es, nil
	}
	s := slices.Clone(es)
	slices.SortStableFunc(s, entryOrder)
	out := s[:0]
	for _, e := range s {
		if n := len(out); n > 0 && term.CompareKeys(out[n-1].Key, e.Key) == 0 {
			c, keep, err := composeEntry(out[n-1], e)
			if err != nil {
				return nil, err
			}
			if keep {
				out[n-1] = c
			} else {
				out = out[:n-1]
			}
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func mergeMaps(a, b []MapEntry) Spec {
	a, err := sortedEntries(a)
	if err != nil {
		return conflict(err)
	}
	b, err = sortedEntries(b)
	if err != nil {
		return conflict(err)
	}
	out := make([]MapEntry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c int
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = term.CompareKeys(a[i].Key, b[j].Key)
		}
		switch {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			e, keep, err := composeEntry(a[i], b[j])
			if err != nil {
				return conflict(err)
			}
			if keep {
				out = append(out, e)
			}
			i++
			j++
		}
	}
	if len(out) == 0 {
		return Keep{}
	}
	return Map{Entries: out}
}

// composeEntry returns the change of one key with the effect of e1 then e2,
// and false when that change is none.
func composeEntry(e1, e2 MapEntry) (MapEntry, bool, error) {
	switch e2.Kind {
	case MapPut, MapRemove:
		return e2, true, nil
	case MapEdit:
	default:
		return MapEntry{}, false, errConflict{fmt.Sprintf("map op kind %d", e2.Kind)}
	}
	switch e1.Kind {
	case MapPut:
		if e1.Value == nil {
			return MapEntry{}, false, errConflict{"put of a nil term"}
		}
		v, err := Apply(e1.Value, e2.Spec)
		if err != nil {
			return MapEntry{}, false, errConflict{fmt.Sprintf("edit of a put value: %v", err)}
		}
		return PutKey(e2.Key, v), true, nil
	case MapRemove:
		return MapEntry{}, false, errConflict{"edit of a removed map key"}
	case MapEdit:
		m := Merge(e1.Spec, e2.Spec)
		switch m := m.(type) {
		case Invalid:
			return MapEntry{}, false, errConflict{m.Reason}
		case Replace:
			return PutKey(e2.Key, m.Value), true, nil
		}
		if m.IsEmpty() {
			return MapEntry{}, false, nil
		}
		return EditKey(e2.Key, m), true, nil
	}
	return MapEntry{}, false, errConflict{fmt.Sprintf("map op kind %d", e1.Kind)}
}
