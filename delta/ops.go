package delta

import (
	"fmt"
	"math"

	"github.com/enode-dev/enode/term"
)

// seqOp is the common form of Op and ByteOp that the op algebra (building,
// normalizing, composing) works on: V is term.Term for tuples and lists,
// byte for binaries.
type seqOp[V any] struct {
	kind OpKind
	n    int // Retain, Delete
	vals []V // Insert
	spec Spec
}

// consumes returns how many old elements the op consumes.
func (o seqOp[V]) consumes() int {
	switch o.kind {
	case OpRetain, OpDelete:
		return o.n
	case OpEdit:
		return 1
	}
	return 0
}

// produces returns how many new elements the op produces.
func (o seqOp[V]) produces() int {
	switch o.kind {
	case OpRetain:
		return o.n
	case OpInsert:
		return len(o.vals)
	case OpEdit:
		return 1
	}
	return 0
}

// seqBuilder collects ops in canonical form: adjacent retains, deletes and
// inserts are joined, in a run of deletes and inserts the delete comes first,
// and a trailing retain is left out (elements after the last op are kept).
type seqBuilder[V any] struct {
	ops    []seqOp[V]
	retain int
}

func (b *seqBuilder[V]) keep(n int) {
	if n > 0 {
		b.retain += n
	}
}

func (b *seqBuilder[V]) flush() {
	if b.retain > 0 {
		b.ops = append(b.ops, seqOp[V]{kind: OpRetain, n: b.retain})
		b.retain = 0
	}
}

func (b *seqBuilder[V]) del(n int) {
	if n <= 0 {
		return
	}
	b.flush()
	last := len(b.ops) - 1
	switch {
	case last >= 0 && b.ops[last].kind == OpDelete:
		b.ops[last].n += n
	case last >= 0 && b.ops[last].kind == OpInsert:
		if last >= 1 && b.ops[last-1].kind == OpDelete {
			b.ops[last-1].n += n
			return
		}
		b.ops = append(b.ops, b.ops[last])
		b.ops[last] = seqOp[V]{kind: OpDelete, n: n}
	default:
		b.ops = append(b.ops, seqOp[V]{kind: OpDelete, n: n})
	}
}

func (b *seqBuilder[V]) ins(vs []V) {
	if len(vs) == 0 {
		return
	}
	b.flush()
	if last := len(b.ops) - 1; last >= 0 && b.ops[last].kind == OpInsert {
		b.ops[last].vals = append(b.ops[last].vals, vs...)
		return
	}
	b.ops = append(b.ops, seqOp[V]{kind: OpInsert, vals: append([]V(nil), vs...)})
}

func (b *seqBuilder[V]) edit(s Spec) {
	if isEmpty(s) {
		b.keep(1)
		return
	}
	b.flush()
	b.ops = append(b.ops, seqOp[V]{kind: OpEdit, spec: s})
}

func (b *seqBuilder[V]) add(o seqOp[V]) {
	switch o.kind {
	case OpRetain:
		b.keep(o.n)
	case OpDelete:
		b.del(o.n)
	case OpInsert:
		b.ins(o.vals)
	case OpEdit:
		b.edit(o.spec)
	}
}

// errConflict is returned by compose when the second op sequence cannot
// apply to the first one's result, whatever the input.
type errConflict struct{ reason string }

func (e errConflict) Error() string { return e.reason }

const infinite = math.MaxInt

// compose returns the ops with the effect of a then b (operational
// transform composition): b walks the elements a produces. Both sequences
// keep the elements after their last op, which compose treats as a final
// retain of unbounded length. editValue applies an edit of b to a value
// inserted by a.
func compose[V any](a, b []seqOp[V], editValue func(V, Spec) (V, error)) ([]seqOp[V], error) {
	var out seqBuilder[V]
	ia, ib := 0, 0
	next := func(ops []seqOp[V], i *int) seqOp[V] {
		if *i < len(ops) {
			*i++
			return ops[*i-1]
		}
		*i = len(ops) + 1
		return seqOp[V]{kind: OpRetain, n: infinite}
	}
	ca, cb := next(a, &ia), next(b, &ib)
	for ia <= len(a) || ib <= len(b) {
		if ca.kind == OpDelete {
			out.del(ca.n)
			ca = next(a, &ia)
			continue
		}
		if cb.kind == OpInsert {
			out.ins(cb.vals)
			cb = next(b, &ib)
			continue
		}
		k := min(ca.produces(), cb.consumes())
		if k == infinite { // both are the final unbounded retains
			break
		}
		switch ca.kind {
		case OpRetain:
			switch cb.kind {
			case OpRetain:
				out.keep(k)
			case OpDelete:
				out.del(k)
			case OpEdit:
				out.edit(cb.spec)
			}
		case OpInsert:
			switch cb.kind {
			case OpRetain:
				out.ins(ca.vals[:k])
			case OpEdit:
				if editValue == nil {
					return nil, errConflict{"edit in a byte sequence"}
				}
				v, err := editValue(ca.vals[0], cb.spec)
				if err != nil {
					return nil, errConflict{fmt.Sprintf("edit of an inserted element: %v", err)}
				}
				out.ins([]V{v})
			}
		case OpEdit:
			switch cb.kind {
			case OpRetain:
				out.edit(ca.spec)
			case OpDelete:
				out.del(1)
			case OpEdit:
				m := Merge(ca.spec, cb.spec)
				if inv, ok := m.(Invalid); ok {
					return nil, errConflict{inv.Reason}
				}
				out.edit(m)
			}
		}
		ca = advance(ca, k, func() seqOp[V] { return next(a, &ia) }, true)
		cb = advance(cb, k, func() seqOp[V] { return next(b, &ib) }, false)
	}
	return out.ops, nil
}

// advance consumes k elements of op (k produced ones for the first
// sequence, k consumed ones for the second) and returns what is left of it,
// or the next op when it is used up.
func advance[V any](o seqOp[V], k int, next func() seqOp[V], producing bool) seqOp[V] {
	switch o.kind {
	case OpRetain, OpDelete:
		if o.n == infinite {
			return o
		}
		if o.n > k {
			o.n -= k
			return o
		}
	case OpInsert:
		if producing && len(o.vals) > k {
			o.vals = o.vals[k:]
			return o
		}
	}
	return next()
}

func termOps(ops []Op) []seqOp[term.Term] {
	out := make([]seqOp[term.Term], len(ops))
	for i, o := range ops {
		out[i] = seqOp[term.Term]{kind: o.Kind, n: o.N, vals: o.Values, spec: o.Spec}
	}
	return out
}

func fromTermOps(ops []seqOp[term.Term]) []Op {
	if len(ops) == 0 {
		return nil
	}
	out := make([]Op, len(ops))
	for i, o := range ops {
		out[i] = Op{Kind: o.kind, N: o.n, Values: o.vals, Spec: o.spec}
	}
	return out
}

func byteOps(ops []ByteOp) []seqOp[byte] {
	out := make([]seqOp[byte], len(ops))
	for i, o := range ops {
		out[i] = seqOp[byte]{kind: o.Kind, n: o.N, vals: o.Bytes}
	}
	return out
}

func fromByteOps(ops []seqOp[byte]) []ByteOp {
	if len(ops) == 0 {
		return nil
	}
	out := make([]ByteOp, len(ops))
	for i, o := range ops {
		out[i] = ByteOp{Kind: o.kind, N: o.n, Bytes: o.vals}
	}
	return out
}
