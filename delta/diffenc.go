package delta

import (
	"encoding/binary"
	"slices"

	"github.com/enode-dev/enode/term"
)

// AppendDiff appends the wire form of DiffWith(old, new, opts) to b and
// returns the extended buffer: the bytes are exactly those of
// AppendEncode(b, DiffWith(old, new, opts)), but the spec is never built.
// The diff writes straight into b (a nested spec is written in place and
// replaced by the value it describes when the cost rule says so), so that
// a step costs no allocation besides b's growth and a few scratch stacks.
// This is the sender's path: Encoder.Encode uses it. The error is
// AppendEncode's (an embedded value that cannot be written, such as a NaN
// float), and the buffer is then nil.
func AppendDiff(b []byte, old, new term.Term, opts DiffOptions) ([]byte, error) {
	return NewDiffer(opts).AppendDiff(b, old, new)
}

// A Differ is AppendDiff with working memory (stacks, and the walks'
// buffers in a term.EditScratch) kept from one call to the next, so that a
// sender that diffs every step allocates nothing once they have grown.
// Each Encoder has one. A Differ is not safe for concurrent use.
type Differ struct {
	w diffWriter
}

// NewDiffer returns a Differ that diffs with opts.
func NewDiffer(opts DiffOptions) *Differ {
	return &Differ{w: diffWriter{differ: differ{opts: opts.withDefaults()}}}
}

// AppendDiff is the package's AppendDiff with d's options and memory.
func (d *Differ) AppendDiff(b []byte, old, new term.Term) ([]byte, error) {
	if new == nil || old == nil {
		return AppendEncode(b, DiffWith(old, new, d.w.opts))
	}
	// The writer works on a copy on the stack: its slices change on
	// every append, and writing them into the heap would cost a write
	// barrier each while the garbage collector marks.
	e := d.w
	e.buf, e.err = append(b, specVersion), nil
	e.diff(old, new, 0)
	b, err := e.buf, e.err
	e.buf, e.err = nil, nil
	e.steps, e.vals = trimStack(e.steps), trimStack(e.vals)
	e.changes = trimStack(e.changes)
	d.w = e
	if err != nil {
		return nil, err
	}
	return b, nil
}

// maxStack bounds what a Differ keeps of a stack between calls, so that
// one huge diff does not pin its memory.
const maxStack = 1 << 14

func trimStack[T any](s []T) []T {
	if cap(s) > maxStack {
		return nil
	}
	return s[:0]
}

// diffWriter is the differ of AppendDiff: it shares the alignment with
// Diff (differ.align, differ.alignList) and writes the spec's wire form
// instead of building it.
type diffWriter struct {
	differ
	buf []byte
	err error
	// vals is a stack of pending inserted values.
	vals []term.Term
	// changes is a stack of the changed keys of the maps being diffed.
	changes []term.MapChange
}

// written says what diffWriter.diff wrote for a pair of terms.
type written uint8

const (
	wroteKeep    written = iota // sKeep
	wroteReplace                // sReplace and the new term
	wroteNested                 // a nested spec
)

func (e *diffWriter) value(t term.Term) {
	if e.err == nil {
		e.took(appendValue(e.buf, t))
	}
}

// took keeps what an append function returned, or its error (the buffer
// stays as it was).
func (e *diffWriter) took(b []byte, err error) {
	if err != nil {
		e.err = err
		return
	}
	e.buf = b
}

// diff writes the spec from a to b, as differ.diff decides it, and
// returns with what it wrote a lower bound of valueSize(b) found from what
// the diff read (see diffsize.go).
func (e *diffWriter) diff(a, b term.Term, depth int) (written, int) {
	if term.Identical(a, b) || term.Same(a, b) {
		e.buf = append(e.buf, sKeep)
		return wroteKeep, typeSizeFloor(b)
	}
	if a.Kind() != b.Kind() || depth >= e.opts.MaxDepth {
		return e.whole(a, b)
	}
	start := len(e.buf)
	var w written
	var floor int
	switch x := a.(type) {
	case *term.Tuple:
		w, floor = e.tuple(x, b.(*term.Tuple), depth)
	case *term.List:
		w = e.list(x, b.(*term.List), depth)
		floor = minContainerSize(b)
	case *term.Map:
		w = e.mapSpec(x, b.(*term.Map), depth)
		floor = minContainerSize(b)
	case *term.Binary:
		s, _ := e.binary(x, b.(*term.Binary))
		if s.IsEmpty() {
			e.buf = append(e.buf, sKeep)
			return wroteKeep, typeSizeFloor(b)
		}
		at := len(e.buf)
		e.spec(s)
		if _, ok := s.(Replace); ok {
			return wroteReplace, len(e.buf) - at - 1
		}
		w, floor = wroteNested, valueSize(b, infinite) // the header's fields
	default:
		return e.whole(a, b)
	}
	if w == wroteKeep {
		return w, typeSizeFloor(b)
	}
	// Cost rule: send the subterm whole unless the nested spec is smaller.
	// The floor decides most cases without reading what b shares with a.
	n := len(e.buf) - start
	if 1+floor > n {
		return wroteNested, floor
	}
	if size := valueSize(b, n); 1+size > n {
		return wroteNested, max(floor, size)
	}
	e.buf = append(e.buf[:start], sReplace)
	e.value(b)
	return wroteReplace, len(e.buf) - start - 1
}

func (e *diffWriter) whole(a, b term.Term) (written, int) {
	if term.Equal(a, b) {
		e.buf = append(e.buf, sKeep)
		return wroteKeep, typeSizeFloor(b)
	}
	at := len(e.buf)
	e.buf = append(e.buf, sReplace)
	e.value(b)
	return wroteReplace, len(e.buf) - at - 1
}

// spec writes a spec that Diff built.
func (e *diffWriter) spec(s Spec) {
	if e.err == nil {
		e.took(appendSpec(e.buf, s))
	}
}

// opWriter writes the ops of one tuple or list spec in the canonical form
// of opBuilder: adjacent retains joined, a run of deletes and inserts
// written as one delete then one insert, no trailing retain. Retains,
// deletes and inserts wait until the next op of another kind; their count
// goes into a one-byte slot before the ops, widened at the end if needed.
type opWriter struct {
	e       *diffWriter
	slot    int // offset of the op count
	count   int
	retain  int
	del     int
	insFrom int // pending inserted values: e.vals[insFrom:]
	// floor sums the lower bounds of valueSize of the elements edit
	// visited (see diffsize.go).
	floor int
}

func (e *diffWriter) ops(tag byte) opWriter {
	e.buf = append(e.buf, tag, 0)
	return opWriter{e: e, slot: len(e.buf) - 1, insFrom: len(e.vals)}
}

func (w *opWriter) op(k OpKind, n int) {
	w.e.buf = appendOpHeader(w.e.buf, k, n)
	w.count++
}

// flush writes the pending retain, or the pending delete and insert, and
// drops the inserted values from the stack.
func (w *opWriter) flush() {
	w.write()
	w.e.vals = w.e.vals[:w.insFrom]
}

// write writes the pending ops, leaving the inserted values on the stack.
func (w *opWriter) write() {
	if w.retain > 0 {
		w.op(OpRetain, w.retain)
		w.retain = 0
		return
	}
	if w.del > 0 {
		w.op(OpDelete, w.del)
		w.del = 0
	}
	if vs := w.e.vals[w.insFrom:]; len(vs) > 0 {
		w.op(OpInsert, len(vs))
		for _, v := range vs {
			w.e.value(v)
		}
	}
}

func (w *opWriter) keep(n int) {
	if n <= 0 {
		return
	}
	if w.del > 0 || len(w.e.vals) > w.insFrom {
		w.flush()
	}
	w.retain += n
}

func (w *opWriter) delete(n int) {
	if n <= 0 {
		return
	}
	if w.retain > 0 {
		w.flush()
	}
	w.del += n
}

func (w *opWriter) insert(v term.Term) {
	if w.retain > 0 {
		w.flush()
	}
	w.e.vals = append(w.e.vals, v)
}

// edit writes an edit of a into b, or keeps the element when b equals a.
// The pending ops are written first, and taken back when the element turns
// out unchanged.
func (w *opWriter) edit(a, b term.Term, depth int) {
	if term.Identical(a, b) || term.Same(a, b) {
		w.keep(1)
		w.floor += typeSizeFloor(b)
		return
	}
	count, retain, del := w.count, w.retain, w.del
	mark := len(w.e.buf)
	// The pending inserts stay on the stack (nested writers work above
	// them) until the edit is known to stay.
	w.write()
	w.op(OpEdit, 0)
	wr, floor := w.e.diff(a, b, depth+1)
	w.floor += floor
	if wr == wroteKeep {
		w.e.buf = w.e.buf[:mark]
		w.count, w.retain, w.del = count, retain, del
		w.keep(1)
		return
	}
	w.e.vals = w.e.vals[:w.insFrom]
}

// end writes what is pending and the op count, and reports whether any op
// was written.
func (w *opWriter) end() bool {
	w.retain = 0 // elements after the last op are kept
	w.flush()
	e := w.e
	if w.count < 0x80 {
		e.buf[w.slot] = byte(w.count)
		return w.count > 0
	}
	var tmp [binary.MaxVarintLen64]byte
	c := binary.PutUvarint(tmp[:], uint64(w.count))
	body := len(e.buf) - w.slot - 1
	e.buf = slices.Grow(e.buf, c-1)[:len(e.buf)+c-1]
	copy(e.buf[w.slot+c:], e.buf[w.slot+1:w.slot+1+body])
	copy(e.buf[w.slot:], tmp[:c])
	return true
}

// steps writes the alignment steps from mark on and drops them.
func (w *opWriter) steps(mark int, old, nw func(int) term.Term, depth int) {
	e := w.e
	for k := mark; k < len(e.steps); k++ {
		st := e.steps[k]
		switch st.kind {
		case OpRetain:
			w.keep(st.n)
		case OpDelete:
			w.delete(st.n)
		case OpInsert:
			for j := st.j; j < st.j+st.n; j++ {
				w.insert(nw(j))
			}
		case OpEdit:
			w.edit(old(st.i), nw(st.j), depth)
		}
	}
	e.steps = e.steps[:mark]
}

func (e *diffWriter) tuple(x, y *term.Tuple, depth int) (written, int) {
	start := len(e.buf)
	w := e.ops(sTuple)
	floor := minContainerSize(y)
	if x.Len() == y.Len() {
		for i := range x.Len() {
			w.edit(x.At(i), y.At(i), depth)
		}
		floor = 1 + uvarintLen(uint64(y.Len())) + w.floor
	} else {
		mark := len(e.steps)
		e.align(x.At, 0, x.Len(), y.At, 0, y.Len())
		w.steps(mark, x.At, y.At, depth)
	}
	if !w.end() {
		e.buf = append(e.buf[:start], sKeep)
		return wroteKeep, floor
	}
	return wroteNested, floor
}

func (e *diffWriter) list(x, y *term.List, depth int) written {
	start := len(e.buf)
	w := e.ops(sList)
	mark := len(e.steps)
	e.alignList(x, y)
	w.steps(mark, x.At, y.At, depth)
	changed := w.end()
	if xt, yt := x.Tail(), y.Tail(); !term.Same(xt, yt) {
		if wr, _ := e.diff(xt, yt, depth+1); wr != wroteKeep {
			changed = true
		}
	} else {
		e.buf = append(e.buf, sKeep)
	}
	if !changed {
		e.buf = append(e.buf[:start], sKeep)
		return wroteKeep
	}
	return wroteNested
}

func (e *diffWriter) mapSpec(x, y *term.Map, depth int) written {
	// The changed keys go on a stack: diffing a value may diff maps
	// inside it, which reuse the scratch memory.
	cfrom := len(e.changes)
	e.changes = append(e.changes, e.scratch().MapChanges(x, y)...)
	cto := len(e.changes)
	start := len(e.buf)
	w := e.ops(sMap) // a map spec's entry count has the same varint slot
	// The entries are written in the order MapChanges gives, map-key
	// order, which is the order Diff sorts a map spec's entries in.
	for k := cfrom; k < cto; k++ {
		c := e.changes[k]
		lo := len(e.buf)
		switch {
		case c.OldV == nil:
			e.buf = append(e.buf, byte(MapPut))
			e.value(c.Key)
			e.value(c.NewV)
		case c.NewV == nil:
			e.buf = append(e.buf, byte(MapRemove))
			e.value(c.Key)
		default:
			e.buf = append(e.buf, byte(MapEdit))
			e.value(c.Key)
			at := len(e.buf)
			switch wr, _ := e.diff(c.OldV, c.NewV, depth+1); wr {
			case wroteKeep:
				e.buf = e.buf[:lo]
				continue
			case wroteReplace:
				// A put of the new value: drop the sReplace tag.
				e.buf[lo] = byte(MapPut)
				e.buf = append(e.buf[:at], e.buf[at+1:]...)
			}
		}
		w.count++
	}
	e.changes = e.changes[:cfrom]
	if !w.end() {
		e.buf = append(e.buf[:start], sKeep)
		return wroteKeep
	}
	return wroteNested
}
