package delta

import (
	"encoding/binary"
	"fmt"
)

// FrameKind says what a frame's payload is.
type FrameKind uint8

// The frame kinds.
const (
	// FrameKeyframe carries the full state.
	FrameKeyframe FrameKind = iota + 1
	// FrameDelta carries a spec to apply to the state at sequence Base.
	FrameDelta
)

func (k FrameKind) String() string {
	switch k {
	case FrameKeyframe:
		return "keyframe"
	case FrameDelta:
		return "delta"
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// Frame is one replication message of a worker's stream.
type Frame struct {
	// Worker names the stream.
	Worker string
	// Epoch is the incarnation of the worker: a worker restarted elsewhere
	// after a takeover has a higher epoch, and frames of lower epochs are
	// refused.
	Epoch uint64
	// Seq numbers the states of the stream, increasing: Encode numbers them
	// from 1 in each epoch, EncodeAt takes the sender's own numbering
	// (which may skip values).
	Seq uint64
	// Base is the sequence of the state a delta applies to; 0 for a
	// keyframe.
	Base uint64
	// Kind says whether Payload is a full state or a spec.
	Kind FrameKind
	// Payload is the encoded state (keyframe) or spec (delta).
	Payload []byte
	// Checksum is term.Hash of the state after this frame.
	Checksum uint64
}

// frameVersion is the first byte of an encoded frame.
const frameVersion byte = 0xEF

// AppendFrame appends the wire form of f to b: a version byte, the kind,
// the worker as a length-prefixed string, epoch, sequence and base as
// varints, the checksum as 8 bytes big-endian and the payload,
// length-prefixed. It returns an error wrapping ErrInvalidFrame for an
// unknown kind or a delta whose base is not below its sequence.
func AppendFrame(b []byte, f Frame) ([]byte, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	b = append(b, frameVersion, byte(f.Kind))
	b = binary.AppendUvarint(b, uint64(len(f.Worker)))
	b = append(b, f.Worker...)
	b = binary.AppendUvarint(b, f.Epoch)
	b = binary.AppendUvarint(b, f.Seq)
	b = binary.AppendUvarint(b, f.Base)
	b = binary.BigEndian.AppendUint64(b, f.Checksum)
	b = binary.AppendUvarint(b, uint64(len(f.Payload)))
	return append(b, f.Payload...), nil
}

func (f Frame) validate() error {
	switch f.Kind {
	case FrameKeyframe:
		if f.Base != 0 {
			return fmt.Errorf("%w: keyframe with base %d", ErrInvalidFrame, f.Base)
		}
	case FrameDelta:
		if f.Base >= f.Seq {
			return fmt.Errorf("%w: delta base %d not below sequence %d", ErrInvalidFrame, f.Base, f.Seq)
		}
	default:
		return fmt.Errorf("%w: kind %d", ErrInvalidFrame, f.Kind)
	}
	if f.Seq == 0 {
		return fmt.Errorf("%w: sequence 0", ErrInvalidFrame)
	}
	return nil
}

// DecodeFrame reads a frame written by AppendFrame. The frame's Payload is
// a sub-slice of data, not a copy. It never panics; malformed input gives
// an error wrapping ErrCorrupt with the byte offset, a well-formed frame
// with inconsistent fields one wrapping ErrInvalidFrame.
func DecodeFrame(data []byte) (Frame, error) {
	r := &reader{b: data}
	var f Frame
	v, err := r.byte()
	if err != nil {
		return f, err
	}
	if v != frameVersion {
		r.off--
		return f, r.fail("not a frame (version byte %#x)", v)
	}
	k, err := r.byte()
	if err != nil {
		return f, err
	}
	f.Kind = FrameKind(k)
	n, err := r.count(1)
	if err != nil {
		return f, err
	}
	w, err := r.bytes(n)
	if err != nil {
		return f, err
	}
	f.Worker = string(w)
	if f.Epoch, err = r.uvarint(); err != nil {
		return f, err
	}
	if f.Seq, err = r.uvarint(); err != nil {
		return f, err
	}
	if f.Base, err = r.uvarint(); err != nil {
		return f, err
	}
	c, err := r.bytes(8)
	if err != nil {
		return f, err
	}
	f.Checksum = binary.BigEndian.Uint64(c)
	if n, err = r.count(1); err != nil {
		return f, err
	}
	if f.Payload, err = r.bytes(n); err != nil {
		return f, err
	}
	if r.left() != 0 {
		return f, r.fail("%d trailing bytes", r.left())
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}
