package resync

import (
	"encoding/binary"
	"fmt"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

// AppendMessage appends the wire form of m to b: a kind byte, then per
// kind the root hash (8 bytes, little endian), uvarint counts, paths as
// (kind byte, uvarint A, uvarint B for ranges and buckets), hashes as 8
// bytes each, and the delta (delta.Encode) or state (term.Encode) with a
// uvarint length.
func AppendMessage(b []byte, m Message) ([]byte, error) {
	b = append(b, byte(m.Kind))
	switch m.Kind {
	case MsgHello, MsgHashes:
		if m.Kind == MsgHello {
			b = append(b, boolByte(m.Empty))
			b = binary.LittleEndian.AppendUint64(b, m.Root)
		}
		b = appendExpansions(b, m.Expansions)
	case MsgAsk:
		b = binary.AppendUvarint(b, uint64(len(m.Ask)))
		for _, p := range m.Ask {
			b = appendPath(b, p)
		}
		b = appendExpansions(b, m.Expansions)
	case MsgDone:
		b = binary.LittleEndian.AppendUint64(b, m.Root)
		var s delta.Spec = delta.Keep{}
		if m.Delta != nil {
			s = m.Delta
		}
		enc, err := delta.Encode(s)
		if err != nil {
			return nil, fmt.Errorf("resync: encoding the delta: %w", err)
		}
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	case MsgKeyframe:
		b = binary.LittleEndian.AppendUint64(b, m.Root)
		if m.State == nil {
			return nil, fmt.Errorf("%w: keyframe without a state", ErrProtocol)
		}
		enc, err := term.Encode(m.State)
		if err != nil {
			return nil, fmt.Errorf("resync: encoding the keyframe: %w", err)
		}
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	default:
		return nil, fmt.Errorf("%w: message kind %d", ErrProtocol, m.Kind)
	}
	return b, nil
}

// appendExpansions appends a uvarint count, then per expansion its path,
// kind and keyed bytes, uvarint length, key hashes and child hashes (each
// after a uvarint count) and, for a whole list, the tail hash.
func appendExpansions(b []byte, es []Expansion) []byte {
	b = binary.AppendUvarint(b, uint64(len(es)))
	for _, e := range es {
		b = appendPath(b, e.Path)
		b = append(b, byte(e.Kind), boolByte(e.Keyed))
		b = binary.AppendUvarint(b, e.Len)
		b = binary.AppendUvarint(b, uint64(len(e.Keys)))
		for _, k := range e.Keys {
			b = binary.LittleEndian.AppendUint64(b, k)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Hashes)))
		for _, h := range e.Hashes {
			b = binary.LittleEndian.AppendUint64(b, h)
		}
		if e.hasTail() {
			b = binary.LittleEndian.AppendUint64(b, e.Tail)
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendPath(b []byte, p Path) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	for _, s := range p {
		b = append(b, byte(s.Kind))
		b = binary.AppendUvarint(b, s.A)
		if s.Kind == StepRange || s.Kind == StepBucket {
			b = binary.AppendUvarint(b, s.B)
		}
	}
	return b
}

// maxPathLen bounds the depth of a path on the wire.
const maxPathLen = 1024

// reader decodes with bounds checks; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", ErrCorrupt, what, r.off)
	}
}

func (r *reader) byte1(what string) byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("truncated " + what)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u64(what string) uint64 {
	if r.err != nil || len(r.b)-r.off < 8 {
		r.fail("truncated " + what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint " + what)
		return 0
	}
	r.off += n
	return v
}

// count reads a count of items each taking at least size bytes, refusing
// one that the rest of the input cannot hold.
func (r *reader) count(what string, size int) int {
	n := r.uvarint(what)
	if r.err == nil && n > uint64((len(r.b)-r.off)/size) {
		r.fail(what + " larger than the input")
		return 0
	}
	return int(n)
}

func (r *reader) bool1(what string) bool {
	switch r.byte1(what) {
	case 0:
		return false
	case 1:
		return true
	}
	r.off--
	r.fail("bad flag " + what)
	return false
}

func (r *reader) path() Path {
	n := r.count("path length", 2)
	if n > maxPathLen {
		r.fail("path too deep")
		return nil
	}
	p := make(Path, 0, n)
	for range n {
		k := StepKind(r.byte1("step kind"))
		if r.err == nil && (k < StepElem || k > StepKey) {
			r.off--
			r.fail(fmt.Sprintf("unknown step kind %d", k))
		}
		s := Step{Kind: k, A: r.uvarint("step")}
		if k == StepRange || k == StepBucket {
			s.B = r.uvarint("step")
			if k == StepRange && s.B < s.A {
				r.fail("empty-ended range")
			}
			if k == StepBucket && (s.A > 64 || (s.A < 64 && s.B>>s.A != 0)) {
				r.fail("bucket prefix wider than its bits")
			}
		}
		if r.err != nil {
			return nil
		}
		p = append(p, s)
	}
	for i, s := range p {
		if (s.Kind == StepRange || s.Kind == StepBucket) && i != len(p)-1 {
			r.fail("range or bucket step before the end of a path")
			return nil
		}
	}
	return p
}

// expansions reads what appendExpansions wrote.
func (r *reader) expansions() []Expansion {
	n := r.count("expansions", 5)
	var es []Expansion
	for range n {
		var e Expansion
		e.Path = r.path()
		k := r.byte1("node kind")
		if r.err == nil && k > byte(term.KindBinary) {
			r.off--
			r.fail(fmt.Sprintf("unknown node kind %d", k))
		}
		e.Kind = term.Kind(k)
		e.Keyed = r.bool1("keyed")
		e.Len = r.uvarint("length")
		if nk := r.count("keys", 8); nk > 0 {
			e.Keys = make([]uint64, nk)
			for i := range e.Keys {
				e.Keys[i] = r.u64("key hash")
			}
		}
		nh := r.count("hashes", 8)
		e.Hashes = make([]uint64, nh)
		for i := range e.Hashes {
			e.Hashes[i] = r.u64("hash")
		}
		if e.hasTail() {
			e.Tail = r.u64("tail hash")
		}
		if r.err != nil {
			return nil
		}
		es = append(es, e)
	}
	return es
}

// DecodeMessage decodes one message written by AppendMessage. It refuses
// truncated input, unknown tags, counts larger than the input and trailing
// bytes with an error wrapping ErrCorrupt that gives the byte offset.
func DecodeMessage(data []byte) (Message, error) {
	r := &reader{b: data}
	m := Message{Kind: MsgKind(r.byte1("kind"))}
	switch m.Kind {
	case MsgHello, MsgHashes:
		if m.Kind == MsgHello {
			m.Empty = r.bool1("empty")
			m.Root = r.u64("root")
		}
		m.Expansions = r.expansions()
	case MsgAsk:
		n := r.count("asks", 1)
		for range n {
			p := r.path()
			if r.err != nil {
				return Message{}, r.err
			}
			m.Ask = append(m.Ask, p)
		}
		m.Expansions = r.expansions()
	case MsgDone, MsgKeyframe:
		m.Root = r.u64("root")
		n := r.count("payload", 1)
		if r.err != nil {
			return Message{}, r.err
		}
		payload := r.b[r.off : r.off+n]
		var err error
		if m.Kind == MsgDone {
			m.Delta, err = delta.Decode(payload)
		} else {
			m.State, err = term.Decode(payload)
		}
		if err != nil {
			return Message{}, fmt.Errorf("%w: payload at offset %d: %w", ErrCorrupt, r.off, err)
		}
		r.off += n
	default:
		r.off = 0
		r.fail(fmt.Sprintf("unknown message kind %d", m.Kind))
	}
	if r.err != nil {
		return Message{}, r.err
	}
	if r.off != len(r.b) {
		return Message{}, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrCorrupt, len(r.b)-r.off, r.off)
	}
	return m, nil
}
