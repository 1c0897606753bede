package delta

import (
	"errors"
	"fmt"

	"github.com/enode-dev/enode/term"
)

// Errors of the streams. The decoder's errors come with a Result that says
// what the receiver should do.
var (
	// ErrInvalidFrame is returned for a frame whose fields contradict each
	// other (a delta whose base is not below its sequence, an unknown kind).
	ErrInvalidFrame = errors.New("delta: invalid frame")
	// ErrConfig is returned by NewEncoder and NewOutbox for a bad config;
	// the message names the field.
	ErrConfig = errors.New("delta: invalid config")
	// ErrWrongWorker is returned when a frame of another worker reaches a
	// decoder.
	ErrWrongWorker = errors.New("delta: frame of another worker")
	// ErrStaleEpoch is returned for a frame of an epoch lower than the
	// replica's: it comes from a worker that has been taken over.
	ErrStaleEpoch = errors.New("delta: frame from a stale epoch")
	// ErrGap is returned for a delta whose base is not the replica's
	// current sequence (a frame was lost), or that comes before any
	// keyframe: a keyframe is needed.
	ErrGap = errors.New("delta: delta does not follow the replica's state")
	// ErrChecksum is returned when the state after a frame does not have
	// the frame's checksum: a keyframe is needed.
	ErrChecksum = errors.New("delta: checksum mismatch")
	// ErrNeedKeyframe is returned by Outbox.Since when the pending deltas
	// cannot bring the receiver's state up to date.
	ErrNeedKeyframe = errors.New("delta: keyframe needed")
)

// EncoderConfig configures the sender side of a stream.
type EncoderConfig struct {
	// Worker names the stream; required.
	Worker string
	// Epoch is the worker's incarnation, carried by every frame.
	Epoch uint64
	// Policy decides between keyframes and deltas; nil means
	// DefaultPolicy() (adaptive).
	Policy KeyframePolicy
	// Diff tunes Diff; the zero value means the defaults.
	Diff DiffOptions
}

// Encoder is the sender side of a worker's stream: it keeps the last state
// sent and turns each new state into a keyframe or a delta frame. It is a
// pure state machine, not safe for concurrent use: one owner (the worker's
// replication middleware) calls it.
type Encoder struct {
	cfg   EncoderConfig
	last  term.Term
	seq   uint64
	force bool
	hist  History
	// differ writes deltas into scratch; both are reused from frame to
	// frame.
	differ  *Differ
	scratch []byte
}

// NewEncoder returns the encoder of a stream. Its first frame is a keyframe
// with sequence 1.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.Worker == "" {
		return nil, fmt.Errorf("%w: EncoderConfig.Worker is empty", ErrConfig)
	}
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy()
	}
	var err error
	switch p := cfg.Policy.(type) {
	case Adaptive:
		err = p.Validate()
	case *Adaptive:
		if p == nil {
			err = fmt.Errorf("%w: nil *Adaptive", ErrPolicy)
		} else {
			err = p.Validate()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: EncoderConfig.Policy: %w", ErrConfig, err)
	}
	return &Encoder{cfg: cfg, differ: NewDiffer(cfg.Diff)}, nil
}

// Seq returns the sequence of the last frame made (0 before the first).
func (e *Encoder) Seq() uint64 { return e.seq }

// RequestKeyframe makes the next frame a keyframe, whatever the policy:
// the decoder asked for one, or the backup node changed.
func (e *Encoder) RequestKeyframe() { e.force = true }

// Encode returns the frame that brings a replica from the last state sent
// to state, and remembers state as the last one sent. On error (a state
// that cannot be encoded) nothing changes.
//
// A delta's payload is written by AppendDiff, which does not build the
// spec: the same bytes as Encode(DiffWith(last, state, cfg.Diff)) at a
// fraction of the cost.
func (e *Encoder) Encode(state term.Term) (Frame, error) {
	f, _, err := e.encode(state, e.seq+1, false)
	return f, err
}

// EncodeSpec is Encode that also returns the spec a delta frame carries
// (Replace of the state for a keyframe), for an Outbox. A keyframe's
// payload is the state in the External Term Format (term.Encode), a
// delta's the spec's wire form (Encode).
func (e *Encoder) EncodeSpec(state term.Term) (Frame, Spec, error) {
	return e.encode(state, e.seq+1, true)
}

// EncodeAt is Encode for a sender that numbers its states itself (a
// worker's state sequence, which skips the states it merged away): the
// frame's sequence is seq, a delta's base the sequence of the last frame.
// seq must be above it (ErrInvalidFrame otherwise, and nothing changes),
// except that a requested keyframe may resend the last sequence's state.
func (e *Encoder) EncodeAt(state term.Term, seq uint64) (Frame, error) {
	resend := seq == e.seq && (e.force || e.last == nil)
	if seq < e.seq || seq == e.seq && !resend {
		return Frame{}, fmt.Errorf("%w: sequence %d not above the last frame's %d", ErrInvalidFrame, seq, e.seq)
	}
	f, _, err := e.encode(state, seq, false)
	return f, err
}

// Rebase makes state, at sequence seq, the last state sent: the next frame
// is a delta from it (unless the policy or RequestKeyframe says otherwise)
// with base seq. It is for a sender that learned what the receiver holds
// (a resync) rather than remembering what it sent; state must be exactly
// the receiver's, which the next frame's checksum verifies. A nil state
// forgets the last one: the next frame is a keyframe.
//
// An encoder that has sent no keyframe yet has no keyframe size for its
// policy to weigh deltas against: Rebase takes the state's encoded size
// for it (one walk of the state, once).
func (e *Encoder) Rebase(state term.Term, seq uint64) {
	e.last, e.seq = state, seq
	if state == nil {
		return
	}
	e.force = false
	if e.hist.KeyframeBytes == 0 {
		if n, err := term.EncodedSize(state); err == nil {
			e.hist = History{KeyframeBytes: n}
		}
	}
}

// maxScratch bounds the delta scratch buffer an Encoder keeps between
// frames, so that one huge delta does not pin its memory.
const maxScratch = 1 << 20

func (e *Encoder) encode(state term.Term, seq uint64, withSpec bool) (Frame, Spec, error) {
	if state == nil {
		return Frame{}, nil, fmt.Errorf("%w: nil state", ErrInvalidSpec)
	}
	f := Frame{Worker: e.cfg.Worker, Epoch: e.cfg.Epoch, Seq: seq, Checksum: term.Hash(state)}
	var spec Spec
	keyframe := e.last == nil || e.force
	if !keyframe {
		var payload []byte
		var err error
		if withSpec {
			spec = DiffWith(e.last, state, e.cfg.Diff)
			payload, err = Encode(spec)
		} else {
			// Written into the scratch buffer, copied out at its size.
			payload, err = e.differ.AppendDiff(e.scratch[:0], e.last, state)
			if err == nil {
				e.scratch = payload
				if cap(payload) > maxScratch {
					e.scratch = nil
				}
				payload = append(make([]byte, 0, len(payload)), payload...)
			}
		}
		if err != nil {
			return Frame{}, nil, err
		}
		h := e.hist
		h.NextDeltaBytes = len(payload)
		if keyframe = e.cfg.Policy.Keyframe(h); !keyframe {
			f.Kind, f.Base, f.Payload = FrameDelta, e.seq, payload
			e.hist.Deltas++
			e.hist.DeltaBytes += len(payload)
		}
	}
	if keyframe {
		payload, err := encodeState(state)
		if err != nil {
			return Frame{}, nil, err
		}
		spec = Replace{Value: state}
		f.Kind, f.Payload = FrameKeyframe, payload
		e.hist = History{KeyframeBytes: len(payload)}
		e.force = false
	}
	e.last, e.seq = state, f.Seq
	return f, spec, nil
}

// encodeState and decodeState are the keyframe payload: the state in the
// External Term Format, as term_to_binary/1 writes it, so a keyframe is
// also readable by Erlang and by the term tools.
func encodeState(state term.Term) ([]byte, error) {
	b, err := term.Encode(state)
	if err != nil {
		return nil, fmt.Errorf("%w: state cannot be encoded: %w", ErrInvalidSpec, err)
	}
	return b, nil
}

func decodeState(b []byte) (term.Term, error) {
	t, err := term.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: keyframe payload: %w", ErrCorrupt, err)
	}
	return t, nil
}

// Outcome is what a decoder did with a frame.
type Outcome uint8

// The outcomes of Decoder.Apply.
const (
	// Applied: the frame was applied, the replica is at its sequence.
	Applied Outcome = iota + 1
	// Duplicate: the frame was already applied (sequence not above the
	// replica's); it is ignored.
	Duplicate
	// NeedKeyframe: the frame could not be applied (a gap, a checksum
	// mismatch, a corrupt payload); the replica is unchanged and the sender
	// should be asked for a keyframe.
	NeedKeyframe
	// Refused: the frame is from a stale epoch or another worker; it is
	// dropped and nothing is asked.
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case NeedKeyframe:
		return "need-keyframe"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Result is what a decoder did with a frame, and the replica afterwards.
type Result struct {
	Outcome Outcome
	// Epoch and Seq are the replica's after the frame.
	Epoch, Seq uint64
	// State is the replica's state after the frame (nil before the first
	// keyframe).
	State term.Term
}

// Decoder is the receiver side of a worker's stream: it holds the replica
// and applies frames to it. Like Encoder it is a pure state machine, not
// safe for concurrent use.
type Decoder struct {
	worker string
	epoch  uint64
	seq    uint64
	state  term.Term
	apply  Applier // the deltas' scratch space, kept between frames
}

// NewDecoder returns the decoder of worker's stream, with no replica yet.
func NewDecoder(worker string) *Decoder { return &Decoder{worker: worker} }

// ResumeDecoder returns the decoder of worker's stream holding state at
// (epoch, seq): a receiver that kept its replica elsewhere (a table that
// outlived the decoder, or a state brought up to date by a resync) goes on
// applying deltas on it. A nil state gives NewDecoder's.
func ResumeDecoder(worker string, state term.Term, epoch, seq uint64) *Decoder {
	if state == nil {
		return NewDecoder(worker)
	}
	return &Decoder{worker: worker, epoch: epoch, seq: seq, state: state}
}

// State returns the replica, its epoch and its sequence (nil, 0, 0 before
// the first keyframe).
func (d *Decoder) State() (state term.Term, epoch, seq uint64) { return d.state, d.epoch, d.seq }

func (d *Decoder) result(o Outcome) Result {
	return Result{Outcome: o, Epoch: d.epoch, Seq: d.seq, State: d.state}
}

// Apply applies f to the replica following the stream rules:
//   - a frame of another worker, or of an epoch below the replica's, is
//     Refused (ErrWrongWorker, ErrStaleEpoch);
//   - a frame whose sequence is not above the replica's, in the same epoch,
//     is a Duplicate and ignored (no error);
//   - a delta before any keyframe, of a newer epoch, or whose base is not
//     the replica's sequence is a gap: NeedKeyframe (ErrGap);
//   - a payload that does not decode or apply gives NeedKeyframe (ErrCorrupt
//     or ErrMismatch), and so does a state whose hash is not the frame's
//     checksum (ErrChecksum).
//
// In every case but Applied the replica is unchanged. The error is nil for
// Applied and Duplicate.
func (d *Decoder) Apply(f Frame) (Result, error) {
	if f.Worker != d.worker {
		return d.result(Refused), fmt.Errorf("%w: %q, decoder of %q", ErrWrongWorker, f.Worker, d.worker)
	}
	if err := f.validate(); err != nil {
		return d.result(NeedKeyframe), err
	}
	if d.state != nil && f.Epoch < d.epoch {
		return d.result(Refused), fmt.Errorf("%w: epoch %d, replica at %d", ErrStaleEpoch, f.Epoch, d.epoch)
	}
	sameEpoch := d.state != nil && f.Epoch == d.epoch
	if sameEpoch && f.Seq <= d.seq {
		return d.result(Duplicate), nil
	}
	var next term.Term
	switch f.Kind {
	case FrameKeyframe:
		s, err := decodeState(f.Payload)
		if err != nil {
			return d.result(NeedKeyframe), err
		}
		next = s
	case FrameDelta:
		if !sameEpoch || f.Base != d.seq {
			return d.result(NeedKeyframe), fmt.Errorf("%w: delta %d on base %d (epoch %d), replica at %d (epoch %d)",
				ErrGap, f.Seq, f.Base, f.Epoch, d.seq, d.epoch)
		}
		s, err := d.apply.Apply(d.state, f.Payload)
		if err != nil {
			return d.result(NeedKeyframe), err
		}
		next = s
	}
	if h := term.Hash(next); h != f.Checksum {
		return d.result(NeedKeyframe), fmt.Errorf("%w: state hash %#x, frame says %#x", ErrChecksum, h, f.Checksum)
	}
	d.state, d.epoch, d.seq = next, f.Epoch, f.Seq
	return d.result(Applied), nil
}
