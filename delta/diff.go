package delta

import (
	"slices"

	"github.com/enode-dev/enode/term"
)

// DiffOptions tune Diff. The zero value of a field means its default.
type DiffOptions struct {
	// MaxDepth is the delta spec level: how many levels below the root a
	// changed subterm may be described by a nested spec. A changed subterm
	// at depth MaxDepth is sent whole. Default 16: deeper than the records in
	// containers that worker states are made of (the reference workload
	// needs 5), and a bound on the recursion of Diff and Apply. A negative
	// value sends every changed root whole.
	MaxDepth int

	// Window is how far (in elements) the list alignment looks ahead for an
	// inserted or removed run inside a changed span before it falls back to
	// a positional edit. Default 8.
	Window int

	// BinaryGap joins two changed byte ranges of a binary when fewer than
	// this many unchanged bytes separate them, since an op header costs
	// about as much. Default 8.
	BinaryGap int
}

// Defaults of DiffOptions.
const (
	DefaultMaxDepth  = 16
	DefaultWindow    = 8
	DefaultBinaryGap = 8
)

// DefaultDiffOptions returns the options Diff uses.
func DefaultDiffOptions() DiffOptions {
	return DiffOptions{MaxDepth: DefaultMaxDepth, Window: DefaultWindow, BinaryGap: DefaultBinaryGap}
}

func (o DiffOptions) withDefaults() DiffOptions {
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxDepth < 0 {
		o.MaxDepth = 0
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.BinaryGap <= 0 {
		o.BinaryGap = DefaultBinaryGap
	}
	return o
}

// Diff returns a spec that turns old into new: Apply(old, Diff(old, new))
// is equal to new, and Diff(old, old) is empty. Subterms that new shares
// with old (new was built from old with the term package's update helpers)
// are skipped without being looked at, so the cost follows the size of the
// change; without sharing (new was decoded from bytes), Diff compares the
// terms and costs about their size. A nested spec is used only where it is
// smaller than the new subterm sent whole. A nil old gives Replace(new); a
// nil new gives an Invalid spec.
func Diff(old, new term.Term) Spec { return DiffWith(old, new, DiffOptions{}) }

// DiffWith is Diff with options.
func DiffWith(old, new term.Term, opts DiffOptions) Spec {
	if new == nil {
		return Invalid{Reason: "diff to a nil term"}
	}
	if old == nil {
		return Replace{Value: new}
	}
	d := differ{opts: opts.withDefaults()}
	s, _ := d.diff(old, new, 0)
	return s
}

type differ struct {
	opts DiffOptions
	// arena hands out the op slices of tuple specs, which are small and
	// many (a record per changed list element), in a few allocations.
	arena []Op
	// steps is a stack of alignment steps: each sequence being diffed
	// appends its own above those of the sequences it is nested in.
	steps []alignStep
	// edits is the memory of term.ListEdits and term.MapEdits (behind a
	// pointer, so that a diffWriter can live on the stack).
	edits *term.EditScratch
}

// tupleOps returns an empty op slice with room for n ops.
func (d *differ) tupleOps(n int) []Op {
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]Op, 0, max(512, n))
	}
	k := len(d.arena)
	d.arena = d.arena[:k+n]
	return d.arena[k : k : k+n]
}

// diff returns the spec from a to b and its encoded size.
func (d *differ) diff(a, b term.Term, depth int) (Spec, int) {
	if term.Identical(a, b) || term.Same(a, b) {
		return Keep{}, 1
	}
	if a.Kind() != b.Kind() || depth >= d.opts.MaxDepth {
		return d.whole(a, b)
	}
	var s Spec
	var n int
	switch x := a.(type) {
	case *term.Tuple:
		s, n = d.tuple(x, b.(*term.Tuple), depth)
	case *term.List:
		s, n = d.list(x, b.(*term.List), depth)
	case *term.Map:
		s, n = d.mapSpec(x, b.(*term.Map), depth)
	case *term.Binary:
		s, n = d.binary(x, b.(*term.Binary))
	default:
		return d.whole(a, b)
	}
	if s.IsEmpty() {
		return Keep{}, 1
	}
	if _, ok := s.(Replace); ok {
		return s, n
	}
	// Cost rule: send the subterm whole unless the nested spec is smaller.
	if w := 1 + valueSize(b, n); w <= n {
		return Replace{Value: b}, w
	}
	return s, n
}

func (d *differ) whole(a, b term.Term) (Spec, int) {
	if term.Equal(a, b) {
		return Keep{}, 1
	}
	return Replace{Value: b}, 1 + valueSize(b, infinite)
}

// opBuilder collects the ops of a tuple or list spec in canonical form (as
// seqBuilder does for Merge) together with the encoded size of the values
// and nested specs they carry. Diff builds []Op directly so that a nested
// spec costs one slice, not two.
type opBuilder struct {
	ops     []Op
	retain  int
	payload int
}

func (b *opBuilder) keep(n int) {
	if n > 0 {
		b.retain += n
	}
}

func (b *opBuilder) flush() {
	if b.retain > 0 {
		b.ops = append(b.ops, Op{Kind: OpRetain, N: b.retain})
		b.retain = 0
	}
}

func (b *opBuilder) del(n int) {
	if n <= 0 {
		return
	}
	b.flush()
	last := len(b.ops) - 1
	switch {
	case last >= 0 && b.ops[last].Kind == OpDelete:
		b.ops[last].N += n
	case last >= 0 && b.ops[last].Kind == OpInsert:
		if last >= 1 && b.ops[last-1].Kind == OpDelete {
			b.ops[last-1].N += n
			return
		}
		b.ops = append(b.ops, b.ops[last])
		b.ops[last] = Op{Kind: OpDelete, N: n}
	default:
		b.ops = append(b.ops, Op{Kind: OpDelete, N: n})
	}
}

func (b *opBuilder) insSized(v term.Term) {
	b.payload += valueSize(v, infinite)
	b.flush()
	if last := len(b.ops) - 1; last >= 0 && b.ops[last].Kind == OpInsert {
		b.ops[last].Values = append(b.ops[last].Values, v)
		return
	}
	b.ops = append(b.ops, Op{Kind: OpInsert, Values: []term.Term{v}})
}

func (b *opBuilder) editSized(sp Spec, n int) {
	if isEmpty(sp) {
		b.keep(1)
		return
	}
	b.flush()
	b.ops = append(b.ops, Op{Kind: OpEdit, Spec: sp})
	b.payload += n
}

// size returns the encoded size of the collected ops (without a tag).
func (b *opBuilder) size() int {
	n := uvarintLen(uint64(len(b.ops))) + b.payload
	for _, o := range b.ops {
		switch o.Kind {
		case OpRetain, OpDelete:
			n += opHeaderSize(o.N)
		case OpInsert:
			n += opHeaderSize(len(o.Values))
		default:
			n += opHeaderSize(0)
		}
	}
	return n
}

func (d *differ) tuple(x, y *term.Tuple, depth int) (Spec, int) {
	// A tuple spec of the same arity has at most one op per element.
	b := opBuilder{ops: d.tupleOps(min(x.Len(), y.Len()) + 1)}
	if x.Len() == y.Len() {
		for i := range x.Len() {
			s, n := d.diff(x.At(i), y.At(i), depth+1)
			b.editSized(s, n)
		}
	} else {
		mark := len(d.steps)
		d.align(x.At, 0, x.Len(), y.At, 0, y.Len())
		d.build(&b, mark, x.At, y.At, depth)
	}
	if len(b.ops) == 0 {
		return Keep{}, 1
	}
	return Tuple{Ops: b.ops}, 1 + b.size()
}

func (d *differ) list(x, y *term.List, depth int) (Spec, int) {
	var b opBuilder
	mark := len(d.steps)
	d.alignList(x, y)
	d.build(&b, mark, x.At, y.At, depth)
	var tail Spec = Keep{}
	tailSize := 1
	if xt, yt := x.Tail(), y.Tail(); !term.Same(xt, yt) {
		tail, tailSize = d.diff(xt, yt, depth+1)
	}
	if len(b.ops) == 0 && tail.IsEmpty() {
		return Keep{}, 1
	}
	return List{Ops: b.ops, Tail: tail}, 1 + b.size() + tailSize
}

// build turns the alignment steps from mark on into ops (diffing the
// edited element pairs) and drops them.
func (d *differ) build(b *opBuilder, mark int, old, nw func(int) term.Term, depth int) {
	for k := mark; k < len(d.steps); k++ {
		st := d.steps[k]
		switch st.kind {
		case OpRetain:
			b.keep(st.n)
		case OpDelete:
			b.del(st.n)
		case OpInsert:
			for j := st.j; j < st.j+st.n; j++ {
				b.insSized(nw(j))
			}
		case OpEdit:
			s, n := d.diff(old(st.i), nw(st.j), depth+1)
			b.editSized(s, n)
		}
	}
	d.steps = d.steps[:mark]
}

// match reports whether two elements are equal, cheaply when they are
// shared or their hashes differ.
func match(a, b term.Term) bool {
	if term.Identical(a, b) || term.Same(a, b) {
		return true
	}
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.(type) {
	case *term.Tuple, *term.List, *term.Map, *term.Binary:
		if term.Hash(a) != term.Hash(b) {
			return false
		}
	}
	return term.Equal(a, b)
}

// alignStep is one step of an alignment of two sequences: keep or delete n
// old elements, insert the n new elements from new index j, or edit old
// element i into new element j. Diff and AppendDiff turn the same steps
// into a spec or into its wire form.
type alignStep struct {
	kind    OpKind
	n, i, j int
}

// scratch returns the memory of the tree walks, made on first use.
func (d *differ) scratch() *term.EditScratch {
	if d.edits == nil {
		d.edits = new(term.EditScratch)
	}
	return d.edits
}

func (d *differ) step(k OpKind, n, i, j int) {
	d.steps = append(d.steps, alignStep{kind: k, n: n, i: i, j: j})
}

// alignList appends the alignment steps of the list x → y: term.ListEdits
// finds the changed spans (skipping shared chunks), align each span.
func (d *differ) alignList(x, y *term.List) {
	pos := 0
	for _, e := range d.scratch().ListEdits(x, y) {
		d.step(OpRetain, e.OldLo-pos, 0, 0)
		// Spans of the same length go through the alignment too: a head
		// dropped and an element appended keep the length but shift
		// everything in between.
		d.align(x.At, e.OldLo, e.OldHi, y.At, e.NewLo, e.NewHi)
		pos = e.OldHi
	}
}

// align appends the steps of old[a0:a1] → new[b0:b1], a bounded alignment:
// common ends are trimmed, and in the middle a mismatch is an in-place edit
// when the elements after it line up again, else an insertion or a
// deletion of up to Window elements when that makes the sequences line up,
// else an in-place edit. Its cost is about the span's length times a small
// factor (hashes are cached per element), and the spec's size about the
// change.
func (d *differ) align(old func(int) term.Term, a0, a1 int, nw func(int) term.Term, b0, b1 int) {
	if a1-a0 == 1 && b1-b0 == 1 {
		// One element changed in place: the common case of a list
		// whose elements were updated with Set.
		d.step(OpEdit, 1, a0, b0)
		return
	}
	for a0 < a1 && b0 < b1 && match(old(a0), nw(b0)) {
		d.step(OpRetain, 1, 0, 0)
		a0++
		b0++
	}
	suffix := 0
	for a0 < a1-suffix && b0 < b1-suffix && match(old(a1-1-suffix), nw(b1-1-suffix)) {
		suffix++
	}
	a1 -= suffix
	b1 -= suffix
	i, j := a0, b0
	for i < a1 && j < b1 {
		if match(old(i), nw(j)) {
			d.step(OpRetain, 1, 0, 0)
			i, j = i+1, j+1
			continue
		}
		if !(i+1 < a1 && j+1 < b1 && match(old(i+1), nw(j+1))) {
			found := false
			for k := 1; k <= d.opts.Window && !found; k++ {
				switch {
				case i+k < a1 && match(old(i+k), nw(j)):
					d.step(OpDelete, k, 0, 0)
					i += k
					found = true
				case j+k < b1 && match(old(i), nw(j+k)):
					d.step(OpInsert, k, 0, j)
					j += k
					found = true
				}
			}
			if found {
				continue
			}
		}
		d.step(OpEdit, 1, i, j)
		i, j = i+1, j+1
	}
	d.step(OpDelete, a1-i, 0, 0)
	d.step(OpInsert, b1-j, 0, j)
	d.step(OpRetain, suffix, 0, 0)
}

func (d *differ) mapSpec(x, y *term.Map, depth int) (Spec, int) {
	var entries []MapEntry
	n := 1
	term.MapEdits(x, y, func(k, ov, nv term.Term) bool {
		ks := 1 + valueSize(k, infinite)
		switch {
		case ov == nil:
			entries = append(entries, PutKey(k, nv))
			n += ks + valueSize(nv, infinite)
		case nv == nil:
			entries = append(entries, RemoveKey(k))
			n += ks
		default:
			s, sn := d.diff(ov, nv, depth+1)
			switch s := s.(type) {
			case Keep:
			case Replace:
				entries = append(entries, PutKey(k, s.Value))
				n += ks + sn - 1
			default:
				entries = append(entries, EditKey(k, s))
				n += ks + sn
			}
		}
		return true
	})
	if len(entries) == 0 {
		return Keep{}, 1
	}
	if !slices.IsSortedFunc(entries, entryOrder) {
		slices.SortStableFunc(entries, entryOrder)
	}
	return Map{Entries: entries}, n + uvarintLen(uint64(len(entries)))
}

func entryOrder(a, b MapEntry) int { return term.CompareKeys(a.Key, b.Key) }

func (d *differ) binary(x, y *term.Binary) (Spec, int) {
	if !x.IsBinary() || !y.IsBinary() {
		return d.whole(x, y)
	}
	var b seqBuilder[byte]
	payload := 0
	if x.Len() == y.Len() {
		pos := 0
		for _, r := range term.BinaryEdits(x, y, d.opts.BinaryGap) {
			b.keep(r.Lo - pos)
			b.del(r.Hi - r.Lo)
			b.ins(y.Slice(r.Lo, r.Hi).Bytes())
			payload += r.Hi - r.Lo
			pos = r.Hi
		}
	} else {
		ob, nb := x.Bytes(), y.Bytes()
		p := 0
		for p < len(ob) && p < len(nb) && ob[p] == nb[p] {
			p++
		}
		s := 0
		for s < len(ob)-p && s < len(nb)-p && ob[len(ob)-1-s] == nb[len(nb)-1-s] {
			s++
		}
		b.keep(p)
		b.del(len(ob) - p - s)
		b.ins(nb[p : len(nb)-s])
		payload += len(nb) - p - s
	}
	if len(b.ops) == 0 {
		return Keep{}, 1
	}
	n := 1 + uvarintLen(uint64(len(b.ops))) + payload
	for _, o := range b.ops {
		if o.kind == OpInsert {
			n += opHeaderSize(len(o.vals))
		} else {
			n += opHeaderSize(o.n)
		}
	}
	return Binary{Ops: fromByteOps(b.ops)}, n
}
