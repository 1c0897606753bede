package actors

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/enode-dev/enode/term"
)

// Errors of frame encoding and decoding.
var (
	// ErrFrame is returned when the bytes of a reassembled frame are not a
	// frame: truncated, an unknown version or kind, or fields out of range.
	ErrFrame = errors.New("actors: malformed frame")
	// ErrNoCodec is returned by Validate when a ReplicationConfig lacks the
	// state codec (or, in delta mode, the delta codec) it needs.
	ErrNoCodec = errors.New("actors: no codec configured")
)

// StateCodec turns a whole state into bytes and back: the payload of a
// keyframe. The ETF codec (term.Encode / term.Decode) is the intended one.
// Implementations must be safe for concurrent use (one codec serves every
// worker of a node) and must return an error, never panic, on bad input.
type StateCodec interface {
	EncodeState(t term.Term) ([]byte, error)
	DecodeState(b []byte) (term.Term, error)
}

// DeltaCodec computes and applies the encoded difference between two
// states: the payload of a delta frame. The delta package (delta.Diff +
// delta.Encode, delta.Decode + delta.Apply) is the intended one.
// ApplyDelta must not change old and must return an error, never panic, when
// the delta does not fit old. Implementations must be safe for concurrent
// use.
type DeltaCodec interface {
	EncodeDelta(old, new term.Term) ([]byte, error)
	ApplyDelta(old term.Term, delta []byte) (term.Term, error)
}

// FrameKind says whether a frame carries a whole state or a difference.
type FrameKind uint8

// The frame kinds.
const (
	Keyframe FrameKind = 1 // the whole state
	Delta    FrameKind = 2 // the difference from the state at Base
)

func (k FrameKind) String() string {
	switch k {
	case Keyframe:
		return "keyframe"
	case Delta:
		return "delta"
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// frame is one replication step on the wire (before chunking). Seq is the
// step's sequence number, Base the sequence number of the state a delta
// applies to (Base == Seq for a keyframe), Checksum the term.Hash of the
// state after applying the frame, Owner the node the worker runs on.
type frame struct {
	Kind     FrameKind
	Worker   string
	Owner    string
	Epoch    uint64
	Seq      uint64
	Base     uint64
	Checksum uint64
	Payload  []byte
}

const frameVersion = 1

// appendFrame appends the wire form of f to dst:
//
//	version:1 kind:1 epoch:uvarint seq:uvarint base:uvarint checksum:8
//	len(worker):uvarint worker len(owner):uvarint owner payload...
func appendFrame(dst []byte, f *frame) []byte {
	dst = append(dst, frameVersion, byte(f.Kind))
	dst = binary.AppendUvarint(dst, f.Epoch)
	dst = binary.AppendUvarint(dst, f.Seq)
	dst = binary.AppendUvarint(dst, f.Base)
	dst = binary.BigEndian.AppendUint64(dst, f.Checksum)
	dst = binary.AppendUvarint(dst, uint64(len(f.Worker)))
	dst = append(dst, f.Worker...)
	dst = binary.AppendUvarint(dst, uint64(len(f.Owner)))
	dst = append(dst, f.Owner...)
	return append(dst, f.Payload...)
}

// decodeFrame reads a frame; the payload aliases b.
func decodeFrame(b []byte) (*frame, error) {
	r := frameReader{b: b}
	if v := r.byte(); r.err == nil && v != frameVersion {
		return nil, fmt.Errorf("%w: version %d at offset 0", ErrFrame, v)
	}
	f := &frame{Kind: FrameKind(r.byte())}
	if r.err == nil && f.Kind != Keyframe && f.Kind != Delta {
		return nil, fmt.Errorf("%w: kind %d at offset 1", ErrFrame, f.Kind)
	}
	f.Epoch = r.uvarint()
	f.Seq = r.uvarint()
	f.Base = r.uvarint()
	f.Checksum = r.u64()
	f.Worker = r.str()
	f.Owner = r.str()
	if r.err != nil {
		return nil, r.err
	}
	f.Payload = b[r.off:]
	if f.Kind == Keyframe && f.Base != f.Seq {
		return nil, fmt.Errorf("%w: keyframe with base %d != seq %d", ErrFrame, f.Base, f.Seq)
	}
	if f.Kind == Delta && f.Base >= f.Seq {
		return nil, fmt.Errorf("%w: delta with base %d >= seq %d", ErrFrame, f.Base, f.Seq)
	}
	return f, nil
}

type frameReader struct {
	b   []byte
	off int
	err error
}

func (r *frameReader) truncated(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s at offset %d", ErrFrame, what, r.off)
	}
}

func (r *frameReader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.truncated("header")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *frameReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.truncated("varint")
		return 0
	}
	r.off += n
	return v
}

func (r *frameReader) u64() uint64 {
	if r.err != nil || len(r.b)-r.off < 8 {
		r.truncated("checksum")
		return 0
	}
	r.off += 8
	return binary.BigEndian.Uint64(r.b[r.off-8:])
}

func (r *frameReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)-r.off) {
		r.truncated("string")
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

// KeyframePolicy decides, before each frame, whether to send a keyframe
// instead of a delta. It sees the history since the last keyframe: the
// number of deltas sent since it, their total bytes, and the keyframe's own
// size. A policy is consulted only when a delta is possible: the first
// frame, a frame after NeedKeyframe and a frame to a new backup are
// keyframes whatever it says. Policies are pure values and may be shared.
type KeyframePolicy interface {
	Keyframe(deltasSinceKey int, deltaBytesSinceKey, keyframeBytes int64) bool
}

// Every is the original system's rule: a keyframe every N frames (N-1 deltas
// between two keyframes); N < 2 sends keyframes only.
type Every int

// Keyframe reports whether N-1 deltas have gone since the last keyframe.
func (n Every) Keyframe(deltas int, _, _ int64) bool { return deltas+1 >= int(n) }

// Adaptive sends a keyframe once the deltas since the last keyframe have
// cost Ratio times the keyframe's size (or after MaxInterval deltas). With
// Ratio 1 the bytes spent on deltas equal the bytes spent on keyframes, so
// the amortized cost per send is at most about twice the mean delta, however
// small the deltas are, while a lost or corrupt delta is repaired by a
// keyframe that costs no more than what the stream has already sent. It is
// the default because Every(10) sends a 4 MB keyframe for every nine 20 KB
// deltas of the reference workload: about 20 times the bytes.
type Adaptive struct {
	Ratio       float64 // keyframe once delta bytes ≥ Ratio × keyframe bytes; default 1
	MaxInterval int     // at most this many deltas between keyframes; default 1000
}

// Keyframe applies the byte-cost rule.
func (a Adaptive) Keyframe(deltas int, deltaBytes, keyBytes int64) bool {
	ratio, maxInterval := a.Ratio, a.MaxInterval
	if ratio <= 0 {
		ratio = 1 // default: spend as much on deltas as on one keyframe
	}
	if maxInterval <= 0 {
		maxInterval = 1000 // default: bounds replay work on a decoder
	}
	return deltas >= maxInterval || float64(deltaBytes) >= ratio*float64(keyBytes)
}

// streamEncoder is the worker side of one replication stream: it turns
// successive whole states into keyframe or delta frames. It is owned by one
// worker and is not safe for concurrent use.
type streamEncoder struct {
	worker, owner string
	epoch         uint64
	states        StateCodec
	deltas        DeltaCodec // nil: keyframes only (Delta: false)
	policy        KeyframePolicy

	last       term.Term // the state of the last frame encoded, nil before the first
	lastSeq    uint64
	deltaCount int   // deltas since the last keyframe
	deltaBytes int64 // their bytes
	keyBytes   int64 // size of the last keyframe
}

// encode returns the encoded frame of state at seq: a keyframe when forced,
// when there is no previous state or no delta codec, or when the policy
// says so; a delta against the last encoded state otherwise. It also
// returns the frame's kind.
func (e *streamEncoder) encode(state term.Term, seq uint64, forceKey bool) ([]byte, FrameKind, error) {
	f := frame{Worker: e.worker, Owner: e.owner, Epoch: e.epoch, Seq: seq, Base: seq, Checksum: term.Hash(state)}
	useDelta := !forceKey && e.last != nil && e.deltas != nil && e.lastSeq < seq &&
		!e.policy.Keyframe(e.deltaCount, e.deltaBytes, e.keyBytes)
	if useDelta {
		p, err := e.deltas.EncodeDelta(e.last, state)
		if err != nil {
			return nil, 0, fmt.Errorf("actors: delta of %q seq %d: %w", e.worker, seq, err)
		}
		f.Kind, f.Base, f.Payload = Delta, e.lastSeq, p
		if int64(len(p)) >= e.keyBytes {
			useDelta = false // a delta as big as a keyframe: send the keyframe
		}
	}
	if !useDelta {
		p, err := e.states.EncodeState(state)
		if err != nil {
			return nil, 0, fmt.Errorf("actors: state of %q seq %d: %w", e.worker, seq, err)
		}
		f.Kind, f.Base, f.Payload = Keyframe, seq, p
		e.deltaCount, e.deltaBytes, e.keyBytes = 0, 0, int64(len(p))
	} else {
		e.deltaCount++
		e.deltaBytes += int64(len(f.Payload))
	}
	e.last, e.lastSeq = state, seq
	return appendFrame(make([]byte, 0, len(f.Payload)+32+len(f.Worker)+len(f.Owner)), &f), f.Kind, nil
}

// Outcome is what a replica did with a frame.
type Outcome uint8

// The outcomes of applying a frame to a replica.
const (
	Applied     Outcome = iota + 1 // the state advanced to the frame's seq
	Duplicate                      // seq ≤ the replica's: ignored, re-acknowledged
	Gap                            // a delta whose base is not the replica's seq: keyframe needed
	BadChecksum                    // the state after applying does not match: keyframe needed
	Stale                          // a lower epoch than the replica's: the sender is fenced
	Undecodable                    // the payload does not decode or apply: keyframe needed
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Gap:
		return "gap"
	case BadChecksum:
		return "checksum mismatch"
	case Stale:
		return "stale epoch"
	case Undecodable:
		return "undecodable"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// applyFrame is the receiver's rule for one frame against the replica it
// holds (have is nil when there is none). It returns what happened and, for
// Applied, the new state. It is pure: it changes neither have nor f.
func applyFrame(have *Replica, f *frame, states StateCodec, deltas DeltaCodec) (Outcome, term.Term, error) {
	if have != nil {
		if f.Epoch < have.Epoch {
			return Stale, nil, nil
		}
		if f.Epoch == have.Epoch && f.Seq <= have.Seq {
			return Duplicate, nil, nil
		}
	}
	var state term.Term
	switch f.Kind {
	case Keyframe:
		s, err := states.DecodeState(f.Payload)
		if err != nil {
			return Undecodable, nil, fmt.Errorf("actors: keyframe of %q seq %d: %w", f.Worker, f.Seq, err)
		}
		state = s
	case Delta:
		// A delta applies only to the state it was made from, in the same
		// epoch: a takeover starts its epoch with a keyframe.
		if have == nil || have.Epoch != f.Epoch || have.Seq != f.Base {
			return Gap, nil, nil
		}
		if deltas == nil {
			return Undecodable, nil, fmt.Errorf("actors: delta of %q seq %d: %w", f.Worker, f.Seq, ErrNoCodec)
		}
		s, err := deltas.ApplyDelta(have.State, f.Payload)
		if err != nil {
			return Undecodable, nil, fmt.Errorf("actors: delta of %q seq %d: %w", f.Worker, f.Seq, err)
		}
		state = s
	default:
		return Undecodable, nil, fmt.Errorf("%w: kind %d", ErrFrame, f.Kind)
	}
	if term.Hash(state) != f.Checksum {
		return BadChecksum, nil, nil
	}
	return Applied, state, nil
}
