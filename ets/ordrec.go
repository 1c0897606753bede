package ets

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/enode-dev/enode/term"
)

// Inline records. A Compact ordered_set keeps a small object in its leaf slot
// itself, unboxed, rather than a pointer to the tuple: a tuple of up to
// recMaxArity elements, each an integer, a float, or an atom or binary of
// up to compactKeyBytes bytes, whose elements take at most recWords words
// (a number one word; an atom or binary a word per 8 bytes or part of 8).
// {Stamp, Key} with a key of up to 16 bytes, {K, V} of two numbers and
// {K, A, B} of three fit. Such a slot holds no pointer, so the garbage
// collector has nothing to mark per object and the table nothing to
// allocate per insert; a read builds the tuple again. Any other object
// is kept as the tuple, through the leaf's pointer slots.
//
// Such a table's leaves have the recSlots layout: a slot is the record's
// meta word and recWords of payload, the elements in order, 32 bytes and
// the leaf's 8-byte key prefix; pointers to the objects kept whole are in
// pointer slots a leaf allocates when it first needs them. The meta word is
// 0 for an object kept whole; otherwise it holds the arity (bits 0-2), a
// 2-bit tag per element (bits 3-10) and a 5-bit byte length per atom or
// binary element (bits 11-30).
const (
	recWords    = 3
	recMaxArity = 4
	// bigBytes is the size of a leaf's pointer slots, for memory info.
	bigBytes = leafCap * 8
)

// Element tags of a record.
const (
	tagInt = iota
	tagFloat
	tagAtom
	tagBinary
)

// slot is one object of a recSlots leaf: w[0] is the meta word, w[1:]
// the payload.
type slot [1 + recWords]atomic.Uint64

// recSlots is the layout of a Compact ordered_set: big[i] is the object
// of slot i when it is not a record (its meta word is 0).
type recSlots struct {
	recs [leafCap]slot
	big  atomic.Pointer[bigSlots] // nil until an object needs it
}

type bigSlots [leafCap]atomic.Pointer[term.Tuple]

func (s *recSlots) cmpKey(p probe, i, keyPos int) (int, bool) {
	sl := &s.recs[i]
	if meta := sl[0].Load(); meta != 0 {
		return p.cmpRecKey(sl, meta, keyPos)
	}
	b := s.big.Load()
	if b == nil {
		return 0, false
	}
	obj := b[i].Load()
	if obj == nil {
		return 0, false
	}
	return compareKeys(p.key, obj.At(keyPos)), true
}

func (s *recSlots) read(i int) (it item, ok bool) {
	s.recs[i].load(&it.r)
	if it.r.meta != 0 {
		return it, true
	}
	b := s.big.Load()
	if b == nil {
		return it, false
	}
	it.obj = b[i].Load()
	return it, it.obj != nil
}

// bigs returns s's pointer slots, allocating them (grew).
func (s *recSlots) bigs() (b *bigSlots, grew bool) {
	if b = s.big.Load(); b == nil {
		b = new(bigSlots)
		s.big.Store(b)
		grew = true
	}
	return b, grew
}

func (s *recSlots) set(i int, e entry) (grew bool) {
	s.recs[i].store(&e.r)
	return s.setPtr(i, e.obj)
}

// setPtr stores obj (nil for a record) in pointer slot i.
func (s *recSlots) setPtr(i int, obj *term.Tuple) (grew bool) {
	if obj != nil {
		var b *bigSlots
		b, grew = s.bigs()
		b[i].Store(obj)
	} else if b := s.big.Load(); b != nil {
		b[i].Store(nil)
	}
	return grew
}

func (s *recSlots) move(j int, f *recSlots, i int) bool {
	s.recs[j].copyFrom(&f.recs[i])
	return s.setPtr(j, f.ptr(i))
}

func (s *recSlots) free(i int) {
	s.recs[i][0].Store(0)
	if b := s.big.Load(); b != nil {
		b[i].Store(nil)
	}
}

func (s *recSlots) ptr(i int) *term.Tuple {
	if b := s.big.Load(); b != nil {
		return b[i].Load()
	}
	return nil
}

func (s *recSlots) grown() bool { return s.big.Load() != nil }

// rec is a record as read from a slot: the meta word and the payload.
type rec struct {
	meta uint64
	w    [recWords]uint64
}

// encodeRec returns obj as a record, or ok false when it does not fit.
func encodeRec(obj *term.Tuple) (r rec, ok bool) {
	n := obj.Len()
	if n == 0 || n > recMaxArity {
		return r, false
	}
	r.meta = uint64(n)
	at := 0
	for i := range n {
		var tag uint64
		switch x := obj.At(i).(type) {
		case term.Int:
			if at == recWords {
				return r, false
			}
			r.w[at] = uint64(x)
			at++
		case term.Float:
			if at == recWords {
				return r, false
			}
			r.w[at] = math.Float64bits(float64(x))
			at++
			tag = tagFloat
		case term.Atom:
			if len(x) > compactKeyBytes || at+wordsFor(len(x)) > recWords {
				return r, false
			}
			var b [recWords * 8]byte
			copy(b[:], x)
			at = putBytes(&r, at, b[:], len(x))
			r.meta |= uint64(len(x)) << (11 + 5*i)
			tag = tagAtom
		case *term.Binary:
			ln := x.Len()
			if !x.IsBinary() || ln > compactKeyBytes || at+wordsFor(ln) > recWords {
				return r, false
			}
			var b [recWords * 8]byte
			k := 0
			for c := range x.Chunks() {
				k += copy(b[k:], c)
			}
			at = putBytes(&r, at, b[:], ln)
			r.meta |= uint64(ln) << (11 + 5*i)
			tag = tagBinary
		default:
			return r, false
		}
		r.meta |= tag << (3 + 2*i)
	}
	return r, true
}

func wordsFor(n int) int { return (n + 7) / 8 }

// putBytes packs the first n bytes of b into r's payload from word at, and
// returns the next free word.
func putBytes(r *rec, at int, b []byte, n int) int {
	for j := range wordsFor(n) {
		r.w[at+j] = binary.LittleEndian.Uint64(b[8*j:])
	}
	return at + wordsFor(n)
}

// field locates element i of record meta: its tag, its first payload word
// and its byte length; ok is false for a meta word no writer would store
// (a reader may load one mid-change, and must then not trust it).
func field(meta uint64, i int) (tag, at, ln int, ok bool) {
	n := int(meta & 7)
	if n == 0 || n > recMaxArity || i >= n {
		return 0, 0, 0, false
	}
	for j := 0; ; j++ {
		tag = int(meta>>(3+2*j)) & 3
		ln = int(meta>>(11+5*j)) & 31
		size := 1
		if tag >= tagAtom {
			if ln > compactKeyBytes {
				return 0, 0, 0, false
			}
			size = wordsFor(ln)
		}
		if at+size > recWords {
			return 0, 0, 0, false
		}
		if j == i {
			return tag, at, ln, true
		}
		at += size
	}
}

// bytesAt unpacks ln bytes from r's payload at word at into b.
func (r *rec) bytesAt(at, ln int, b *[recWords * 8]byte) []byte {
	for j := range wordsFor(ln) {
		binary.LittleEndian.PutUint64(b[8*j:], r.w[at+j])
	}
	return b[:ln]
}

// elem returns element i of the record as a term; ok is false for a
// record no writer would store.
func (r *rec) elem(i int) (term.Term, bool) { return r.elemBoxed(i, nil) }

// elemBoxed is elem, with a number that the runtime would box in an
// allocation of its own boxed in boxes[i] instead, when boxes is set.
func (r *rec) elemBoxed(i int, boxes *[recMaxArity]uint64) (term.Term, bool) {
	tag, at, ln, ok := field(r.meta, i)
	if !ok {
		return nil, false
	}
	switch tag {
	case tagInt, tagFloat:
		return boxNumber(tag == tagFloat, r.w[at], i, boxes), true
	}
	var b [recWords * 8]byte
	p := r.bytesAt(at, ln, &b)
	if tag == tagAtom {
		return term.Atom(p), true
	}
	return term.NewBinary(p), true
}

// boxNumber returns the Int v (or the Float of bits v), as a term whose
// data word points at boxes[i] rather than at an allocation of its own. That
// is the representation the runtime makes (the data word of an interface
// holding a non-pointer value points at the value, and the collector keeps
// what it points into alive); boxes[i] is never written again. Values the
// runtime boxes without allocating (below 256) are left to it.
func boxNumber(float bool, v uint64, i int, boxes *[recMaxArity]uint64) term.Term {
	if boxes == nil || v < 256 {
		if float {
			return term.Float(math.Float64frombits(v))
		}
		return term.Int(int64(v))
	}
	var x term.Term = term.Int(0) // boxed without an allocation
	if float {
		x = term.Float(0)
	}
	boxes[i] = v
	(*eface)(unsafe.Pointer(&x)).data = unsafe.Pointer(&boxes[i])
	return x
}

// eface is the layout of an interface value: a type word and a data word.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// tuple builds the object the record holds, in two allocations whatever
// its numbers: the tuple, and one array for the numbers the runtime would
// box one by one. ok is false for a record no writer would store.
func (r *rec) tuple() (*term.Tuple, bool) {
	n := int(r.meta & 7)
	if n == 0 || n > recMaxArity {
		return nil, false
	}
	var boxes *[recMaxArity]uint64
	for i := range n {
		if tag, at, _, ok := field(r.meta, i); ok && tag <= tagFloat && r.w[at] >= 256 {
			boxes = new([recMaxArity]uint64)
			break
		}
	}
	var elems [recMaxArity]term.Term
	for i := range n {
		e, ok := r.elemBoxed(i, boxes)
		if !ok {
			return nil, false
		}
		elems[i] = e
	}
	return term.NewTuple(elems[:n]...), true
}

// load reads slot s into r (its meta word and payload), as a reader does:
// the words may come from different writes until the leaf's version is
// checked.
func (s *slot) load(r *rec) {
	r.meta = s[0].Load()
	for j := range recWords {
		r.w[j] = s[1+j].Load()
	}
}

// store writes record r to s; the leaf is locked.
func (s *slot) store(r *rec) {
	s[0].Store(r.meta)
	for j := range recWords {
		s[1+j].Store(r.w[j])
	}
}

// copyFrom copies slot f into s; the leaves are locked.
func (s *slot) copyFrom(f *slot) {
	for j := range s {
		s[j].Store(f[j].Load())
	}
}

// Key kinds of a probe that compare with a record's key without building
// a term; pkOther for every other key, and for every key of a probe of a
// table that keeps no records.
const (
	pkOther = iota
	pkInt
	pkBytes // an atom or a binary of up to compactKeyBytes bytes
)

// cmpRecKey compares p's key with the key of the record in s, element
// keyPos; ok is false when the record could not be read.
func (p *probe) cmpRecKey(s *slot, meta uint64, keyPos int) (int, bool) {
	tag, at, ln, ok := field(meta, keyPos)
	if !ok {
		return 0, false
	}
	switch {
	case tag == tagInt && p.kind == pkInt:
		return cmp.Compare(p.iv, int64(s[1+at].Load())), true
	case tag >= tagAtom && p.kind == pkBytes && int(p.tag) == tag:
		var r rec
		var b [recWords * 8]byte
		for j := range wordsFor(ln) {
			r.w[at+j] = s[1+at+j].Load()
		}
		return bytes.Compare(p.kb[:p.kl], r.bytesAt(at, ln, &b)), true
	}
	var r rec
	r.meta = meta
	for j := range recWords {
		r.w[j] = s[1+j].Load()
	}
	k, ok := r.elem(keyPos)
	if !ok {
		return 0, false
	}
	return compareKeys(p.key, k), true
}

// probeKind fills in p's kind for cmpRecKey.
func (p *probe) probeKind() {
	switch x := p.key.(type) {
	case term.Int:
		p.kind, p.iv = pkInt, int64(x)
	case term.Atom:
		if len(x) <= compactKeyBytes {
			p.kind, p.tag, p.kl = pkBytes, tagAtom, uint8(copy(p.kb[:], x))
		}
	case *term.Binary:
		if x.IsBinary() && x.Len() <= compactKeyBytes {
			p.kind, p.tag = pkBytes, tagBinary
			for c := range x.Chunks() {
				p.kl += uint8(copy(p.kb[p.kl:], c))
			}
		}
	}
}
