package actors

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/term"
)

// Errors of the replication protocol.
var (
	// ErrMalformed is returned by FromTerm (and by the receiving middlewares,
	// which log and drop the message) when a term has a protocol tag but not
	// the shape of that message, or when a chunk's fields are inconsistent.
	ErrMalformed = errors.New("actors: malformed protocol message")
	// ErrNotProtocol is returned by FromTerm for a term that is not one of
	// the protocol's records at all (its tag is not an enode_* atom we know).
	ErrNotProtocol = errors.New("actors: not a protocol message")
)

// Message is a message of the replication protocol. Every message that may
// cross nodes has a term form, so that a transport carrying terms (ETF) can
// move it; FromTerm turns the term form back into the Go value. The
// receiving side accepts both forms: the Go value for a local send, the term
// for a remote one.
type Message interface {
	// ToTerm returns the message as an Erlang record tuple {enode_..., ...}.
	ToTerm() term.Term
	isProtocol()
}

// Record tags of the protocol's term forms.
const (
	tagChunk        term.Atom = "enode_chunk"
	tagChunkAck     term.Atom = "enode_chunk_ack"
	tagAck          term.Atom = "enode_ack"
	tagNeedKeyframe term.Atom = "enode_need_keyframe"
	tagFenced       term.Atom = "enode_fenced"
	tagSetBackup    term.Atom = "enode_set_backup"
	tagBackoff      term.Atom = "enode_backoff"
)

// Chunk is one piece of a replication frame, sent by a worker's link to the
// replica_handler on the backup. A frame of n bytes travels as
// ceil(n/ChunkSize) chunks, Index 0 to Total-1, in order; the receiver
// reassembles them before decoding the frame. Keeping chunks small (64 KiB by
// default) keeps every transport message far below gRPC's 4 MB limit and
// lets the link interleave chunks of several workers' frames.
//
// Term form: {enode_chunk, Worker :: binary, Epoch, Seq, Index, Total,
// Bytes :: binary}.
type Chunk struct {
	Worker string // the worker's id (its registered name)
	Epoch  uint64 // the worker's epoch: 1 fresh, +1 at each takeover
	Seq    uint64 // the sequence number of the frame this chunk belongs to
	Index  uint32 // 0-based position of this chunk in the frame
	Total  uint32 // number of chunks of the frame, at least 1
	Bytes  []byte // this chunk's part of the encoded frame
}

// ChunkAck tells the link that the replica received one chunk, returning
// one credit of the link's bounded in-flight window. It flows back to the
// sender of the chunk.
//
// Term form: {enode_chunk_ack, Worker, Epoch, Seq, Index}.
type ChunkAck struct {
	Worker string
	Epoch  uint64
	Seq    uint64
	Index  uint32
}

// Ack tells the worker that the replica applied its state up to Seq: that
// state is now acknowledged and survives the loss of the worker's node.
//
// Term form: {enode_ack, Worker, Epoch, Seq}.
type Ack struct {
	Worker string
	Epoch  uint64
	Seq    uint64
}

// NeedKeyframe asks the worker for a keyframe: the replica found a gap, a
// checksum mismatch, a broken chunk stream, or has no state to apply a delta
// to. HaveSeq is the sequence number the replica holds (0 for none).
//
// Term form: {enode_need_keyframe, Worker, Epoch, HaveSeq}.
type NeedKeyframe struct {
	Worker  string
	Epoch   uint64
	HaveSeq uint64
}

// Fenced tells a worker that a copy of it with a higher Epoch exists (the
// replica has seen frames of that epoch, or node learned of a takeover).
// The worker stops at once: a worker must not run twice.
//
// Term form: {enode_fenced, Worker, Epoch}.
type Fenced struct {
	Worker string
	Epoch  uint64
}

// SetBackup tells a worker where its replica_handler now is (nil: no backup
// known). The next replication after a change is a keyframe to the new
// backup. node sends it when membership changes the backup choice.
//
// Term form: {enode_set_backup, Address :: binary, Id :: binary}, or
// {enode_set_backup, undefined} for nil.
type SetBackup struct {
	PID *actor.PID
}

func (*Chunk) isProtocol()        {}
func (*ChunkAck) isProtocol()     {}
func (*Ack) isProtocol()          {}
func (*NeedKeyframe) isProtocol() {}
func (*Fenced) isProtocol()       {}
func (*SetBackup) isProtocol()    {}

var (
	_ Message = (*Chunk)(nil)
	_ Message = (*ChunkAck)(nil)
	_ Message = (*Ack)(nil)
	_ Message = (*NeedKeyframe)(nil)
	_ Message = (*Fenced)(nil)
	_ Message = (*SetBackup)(nil)
)

// ToTerm returns {enode_chunk, Worker, Epoch, Seq, Index, Total, Bytes}.
func (c *Chunk) ToTerm() term.Term {
	return term.Record(tagChunk, term.BinaryString(c.Worker), uintTerm(c.Epoch), uintTerm(c.Seq),
		term.Int(c.Index), term.Int(c.Total), term.NewBinary(c.Bytes))
}

// ToTerm returns {enode_chunk_ack, Worker, Epoch, Seq, Index}.
func (a *ChunkAck) ToTerm() term.Term {
	return term.Record(tagChunkAck, term.BinaryString(a.Worker), uintTerm(a.Epoch), uintTerm(a.Seq), term.Int(a.Index))
}

// ToTerm returns {enode_ack, Worker, Epoch, Seq}.
func (a *Ack) ToTerm() term.Term {
	return term.Record(tagAck, term.BinaryString(a.Worker), uintTerm(a.Epoch), uintTerm(a.Seq))
}

// ToTerm returns {enode_need_keyframe, Worker, Epoch, HaveSeq}.
func (n *NeedKeyframe) ToTerm() term.Term {
	return term.Record(tagNeedKeyframe, term.BinaryString(n.Worker), uintTerm(n.Epoch), uintTerm(n.HaveSeq))
}

// ToTerm returns {enode_fenced, Worker, Epoch}.
func (f *Fenced) ToTerm() term.Term {
	return term.Record(tagFenced, term.BinaryString(f.Worker), uintTerm(f.Epoch))
}

// ToTerm returns {enode_set_backup, Address, Id} or {enode_set_backup,
// undefined}.
func (s *SetBackup) ToTerm() term.Term {
	if s.PID == nil {
		return term.Record(tagSetBackup, term.Undefined)
	}
	return term.Record(tagSetBackup, term.BinaryString(s.PID.Address), term.BinaryString(s.PID.Id))
}

// FromTerm decodes the term form of a protocol message. It returns an error
// wrapping ErrNotProtocol for a term that is not a protocol record, and one
// wrapping ErrMalformed for a protocol record of the wrong shape; it never
// panics.
func FromTerm(t term.Term) (Message, error) {
	tup, ok := t.(*term.Tuple)
	if !ok {
		return nil, fmt.Errorf("%w: %s, not a tuple", ErrNotProtocol, kindOf(t))
	}
	tag, ok := tup.Tag()
	if !ok {
		return nil, fmt.Errorf("%w: tuple without an atom tag", ErrNotProtocol)
	}
	d := fieldDecoder{tup: tup, tag: tag}
	var m Message
	switch tag {
	case tagChunk:
		if !d.arity(7) {
			break
		}
		c := &Chunk{Worker: d.str(1), Epoch: d.u64(2), Seq: d.u64(3), Index: d.u32(4), Total: d.u32(5), Bytes: d.bytes(6)}
		if d.err == nil {
			d.err = c.validate()
		}
		m = c
	case tagChunkAck:
		if !d.arity(5) {
			break
		}
		m = &ChunkAck{Worker: d.str(1), Epoch: d.u64(2), Seq: d.u64(3), Index: d.u32(4)}
	case tagAck:
		if !d.arity(4) {
			break
		}
		m = &Ack{Worker: d.str(1), Epoch: d.u64(2), Seq: d.u64(3)}
	case tagNeedKeyframe:
		if !d.arity(4) {
			break
		}
		m = &NeedKeyframe{Worker: d.str(1), Epoch: d.u64(2), HaveSeq: d.u64(3)}
	case tagFenced:
		if !d.arity(3) {
			break
		}
		m = &Fenced{Worker: d.str(1), Epoch: d.u64(2)}
	case tagBackoff:
		m = backoffFromTerm(&d)
	case tagSetBackup:
		switch tup.Len() {
		case 2:
			if tup.At(1) != term.Undefined {
				d.fail(1, "want undefined")
			}
			m = &SetBackup{}
		case 3:
			m = &SetBackup{PID: actor.NewPID(d.str(1), d.str(2))}
		default:
			d.arity(3)
		}
	default:
		return nil, fmt.Errorf("%w: tag %q", ErrNotProtocol, string(tag))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// protocolMessage returns msg as a protocol message when it is one, in Go
// or term form. A term that is not a protocol record gives (nil, nil); a
// protocol record of the wrong shape gives an error.
func protocolMessage(msg any) (Message, error) {
	switch m := msg.(type) {
	case Message:
		return m, nil
	case *term.Tuple:
		pm, err := FromTerm(m)
		if errors.Is(err, ErrNotProtocol) {
			return nil, nil
		}
		return pm, err
	}
	return nil, nil
}

// validate checks a chunk's fields against each other.
func (c *Chunk) validate() error {
	switch {
	case c.Total == 0:
		return fmt.Errorf("%w: chunk of %q with total 0", ErrMalformed, c.Worker)
	case c.Index >= c.Total:
		return fmt.Errorf("%w: chunk of %q with index %d >= total %d", ErrMalformed, c.Worker, c.Index, c.Total)
	case c.Worker == "":
		return fmt.Errorf("%w: chunk without a worker id", ErrMalformed)
	}
	return nil
}

// fieldDecoder reads the fields of a protocol record, keeping the first
// error so that a decoder reads like a struct literal.
type fieldDecoder struct {
	tup *term.Tuple
	tag term.Atom
	err error
}

func (d *fieldDecoder) fail(i int, what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s field %d: %s", ErrMalformed, d.tag, i, what)
	}
}

func (d *fieldDecoder) arity(n int) bool {
	if d.tup.Len() != n {
		d.err = fmt.Errorf("%w: %s record of arity %d, want %d", ErrMalformed, d.tag, d.tup.Len(), n)
		return false
	}
	return true
}

func (d *fieldDecoder) str(i int) string {
	switch v := d.tup.At(i).(type) {
	case *term.Binary:
		if v.IsBinary() {
			return string(v.Bytes())
		}
	case term.Atom:
		return string(v)
	}
	d.fail(i, "want a binary or an atom, got "+kindOf(d.tup.At(i)))
	return ""
}

func (d *fieldDecoder) bytes(i int) []byte {
	if v, ok := d.tup.At(i).(*term.Binary); ok && v.IsBinary() {
		if v.Len() == 0 {
			return nil // one form for "no bytes", whatever Bytes returns
		}
		return v.Bytes()
	}
	d.fail(i, "want a binary, got "+kindOf(d.tup.At(i)))
	return nil
}

func (d *fieldDecoder) u64(i int) uint64 {
	switch v := d.tup.At(i).(type) {
	case term.Int:
		if v >= 0 {
			return uint64(v)
		}
	case term.BigInt:
		b := v.Big()
		if b.Sign() >= 0 && b.IsUint64() {
			return b.Uint64()
		}
	}
	d.fail(i, "want a non-negative 64-bit integer, got "+kindOf(d.tup.At(i)))
	return 0
}

func (d *fieldDecoder) u32(i int) uint32 {
	if v, ok := d.tup.At(i).(term.Int); ok && v >= 0 && v <= math.MaxUint32 {
		return uint32(v)
	}
	d.fail(i, "want a non-negative 32-bit integer, got "+kindOf(d.tup.At(i)))
	return 0
}

// uintTerm returns v as an Erlang integer (a BigInt above int64's range).
func uintTerm(v uint64) term.Term {
	if v <= math.MaxInt64 {
		return term.Int(int64(v))
	}
	return term.Integer(new(big.Int).SetUint64(v))
}

func kindOf(t term.Term) string {
	if t == nil {
		return "nil"
	}
	return t.Kind().String()
}
