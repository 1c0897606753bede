package actors

import (
	"errors"
	"fmt"
	"math"

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
	tagResyncQuery  term.Atom = "enode_resync_query"
	tagResyncStatus term.Atom = "enode_resync_status"
	tagResync       term.Atom = "enode_resync"
	tagDigestQuery  term.Atom = "enode_digest_query"
	tagDigest       term.Atom = "enode_digest"
	tagLinkPing     term.Atom = "enode_link_ping"
	tagLinkPong     term.Atom = "enode_link_pong"
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
// known). After a change the worker resyncs with the new backup before it
// sends (see the package doc). node sends it when membership changes the
// backup choice.
//
// Holds, when set, is where node found the backup's replica of the worker
// to stand (a WorkerDigest comparison): if the worker still has that state
// it goes on with a delta from it without asking (no round trip).
//
// Term form: {enode_set_backup, Address :: binary, Id :: binary}, with
// Holds {enode_set_backup, Address, Id, Epoch, Seq, Hash}, or
// {enode_set_backup, undefined} for nil.
type SetBackup struct {
	PID   *actor.PID
	Holds *Position
}

// Position is where a replica stands in a worker's stream: the epoch and
// sequence of the state it holds and that state's term.Hash.
type Position struct {
	Epoch, Seq, Hash uint64
}

// Digest returns the value a WorkerDigest (package resync) holds for a
// worker at p: equal values mean the same epoch, sequence and state.
func (p Position) Digest() uint64 {
	return term.Hash(term.NewTuple(term.Uint(p.Epoch), term.Uint(p.Seq), term.Uint(p.Hash)))
}

// DigestQuery asks a replica_handler for the Digest of the replicas of
// Owner's workers (sent with a sender, which gets the answer).
//
// Term form: {enode_digest_query, Owner}.
type DigestQuery struct {
	Owner string
}

// Digest answers DigestQuery: per worker of Owner the handler keeps a
// replica of, Position.Digest of that replica. Only these hashes travel,
// never a state.
//
// Term form: {enode_digest, Owner, #{Worker :: binary => Digest}}.
type Digest struct {
	Owner   string
	Workers map[string]uint64
}

// ResyncQuery opens a resync: a worker that starts replicating to a
// replica_handler (a new backup, a restarted spare, a healed partition, a
// lost frame or reply) asks what the handler holds of it. It is sent with
// a sender (the worker's link, which forwards the answer to the worker),
// which gets the ResyncStatus (or Fenced) back.
//
// Term form: {enode_resync_query, Worker, Epoch}.
type ResyncQuery struct {
	Worker string
	Epoch  uint64 // the asking worker's epoch
}

// ResyncStatus answers ResyncQuery: whether the handler has a replica of
// the worker, its epoch, sequence and state hash (term.Hash), and, when it
// has one, the opening message of a Merkle comparison over it (a
// resync.Message of kind Hello in its wire form), so that the worker can
// start the comparison without another round trip.
//
// Term form: {enode_resync_status, Worker, Found :: boolean, Epoch, Seq,
// Hash, Hello :: binary}.
type ResyncStatus struct {
	Worker string
	Found  bool
	Epoch  uint64
	Seq    uint64
	Hash   uint64
	Hello  []byte
}

// Resync carries one message of the Merkle comparison between a worker
// (resync.Source) and its replica (resync.Copy), in resync's wire form
// (resync.AppendMessage). Epoch and Seq are the worker's and the sequence
// of the state it compares (the replica is stored at them when the
// comparison ends; the handler acknowledges that with an Ack); Owner is
// the worker's node, as in a frame's envelope.
//
// Term form: {enode_resync, Worker, Owner, Epoch, Seq, Data :: binary}.
type Resync struct {
	Worker string
	Owner  string
	Epoch  uint64
	Seq    uint64
	Data   []byte
}

// LinkPing is a link's probe of the replica_handler it sends to, after it
// heard nothing back for ReplicationConfig.StallTimeout with chunks or
// frames unanswered. The handler's receiver middleware answers LinkPong at
// once, in mailbox order: protoactor keeps the order of the messages
// between two processes (it may drop some, never reorder them), so when the
// pong comes back every reply to what the link sent before the ping has
// come back too, and whatever is still unanswered was lost on the way
// (either way). Mark numbers the ping.
//
// Term form: {enode_link_ping, Mark}.
type LinkPing struct {
	Mark uint64
}

// LinkPong answers LinkPing with its Mark.
//
// Term form: {enode_link_pong, Mark}.
type LinkPong struct {
	Mark uint64
}

func (*LinkPing) isProtocol() {}
func (*LinkPong) isProtocol() {}

// ToTerm returns {enode_link_ping, Mark}.
func (p *LinkPing) ToTerm() term.Term { return term.Record(tagLinkPing, term.Uint(p.Mark)) }

// ToTerm returns {enode_link_pong, Mark}.
func (p *LinkPong) ToTerm() term.Term { return term.Record(tagLinkPong, term.Uint(p.Mark)) }

func (*DigestQuery) isProtocol()  {}
func (*Digest) isProtocol()       {}
func (*ResyncQuery) isProtocol()  {}
func (*ResyncStatus) isProtocol() {}
func (*Resync) isProtocol()       {}

// ToTerm returns {enode_resync_query, Worker, Epoch}.
func (q *ResyncQuery) ToTerm() term.Term {
	return term.Record(tagResyncQuery, term.BinaryString(q.Worker), term.Uint(q.Epoch))
}

// ToTerm returns {enode_resync_status, Worker, Found, Epoch, Seq, Hash,
// Hello}.
func (s *ResyncStatus) ToTerm() term.Term {
	return term.Record(tagResyncStatus, term.BinaryString(s.Worker), term.Bool(s.Found), term.Uint(s.Epoch),
		term.Uint(s.Seq), term.Uint(s.Hash), term.NewBinary(s.Hello))
}

// ToTerm returns {enode_resync, Worker, Owner, Epoch, Seq, Data}.
func (r *Resync) ToTerm() term.Term {
	return term.Record(tagResync, term.BinaryString(r.Worker), term.BinaryString(r.Owner), term.Uint(r.Epoch),
		term.Uint(r.Seq), term.NewBinary(r.Data))
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
	_ Message = (*ResyncQuery)(nil)
	_ Message = (*ResyncStatus)(nil)
	_ Message = (*Resync)(nil)
	_ Message = (*DigestQuery)(nil)
	_ Message = (*Digest)(nil)
	_ Message = (*LinkPing)(nil)
	_ Message = (*LinkPong)(nil)
)

// ToTerm returns {enode_digest_query, Owner}.
func (q *DigestQuery) ToTerm() term.Term {
	return term.Record(tagDigestQuery, term.BinaryString(q.Owner))
}

// ToTerm returns {enode_digest, Owner, #{Worker => Digest}}.
func (d *Digest) ToTerm() term.Term {
	ps := make([]term.Pair, 0, len(d.Workers))
	for w, v := range d.Workers {
		ps = append(ps, term.Pair{Key: term.BinaryString(w), Value: term.Uint(v)})
	}
	return term.Record(tagDigest, term.BinaryString(d.Owner), term.MapOf(ps...))
}

// ToTerm returns {enode_chunk, Worker, Epoch, Seq, Index, Total, Bytes}.
func (c *Chunk) ToTerm() term.Term {
	return term.Record(tagChunk, term.BinaryString(c.Worker), term.Uint(c.Epoch), term.Uint(c.Seq),
		term.Int(c.Index), term.Int(c.Total), term.NewBinary(c.Bytes))
}

// ToTerm returns {enode_chunk_ack, Worker, Epoch, Seq, Index}.
func (a *ChunkAck) ToTerm() term.Term {
	return term.Record(tagChunkAck, term.BinaryString(a.Worker), term.Uint(a.Epoch), term.Uint(a.Seq), term.Int(a.Index))
}

// ToTerm returns {enode_ack, Worker, Epoch, Seq}.
func (a *Ack) ToTerm() term.Term {
	return term.Record(tagAck, term.BinaryString(a.Worker), term.Uint(a.Epoch), term.Uint(a.Seq))
}

// ToTerm returns {enode_need_keyframe, Worker, Epoch, HaveSeq}.
func (n *NeedKeyframe) ToTerm() term.Term {
	return term.Record(tagNeedKeyframe, term.BinaryString(n.Worker), term.Uint(n.Epoch), term.Uint(n.HaveSeq))
}

// ToTerm returns {enode_fenced, Worker, Epoch}.
func (f *Fenced) ToTerm() term.Term {
	return term.Record(tagFenced, term.BinaryString(f.Worker), term.Uint(f.Epoch))
}

// ToTerm returns {enode_set_backup, Address, Id}, {enode_set_backup,
// Address, Id, Epoch, Seq, Hash} with Holds, or {enode_set_backup,
// undefined}.
func (s *SetBackup) ToTerm() term.Term {
	if s.PID == nil {
		return term.Record(tagSetBackup, term.Undefined)
	}
	if s.Holds != nil {
		return term.Record(tagSetBackup, term.BinaryString(s.PID.Address), term.BinaryString(s.PID.Id),
			term.Uint(s.Holds.Epoch), term.Uint(s.Holds.Seq), term.Uint(s.Holds.Hash))
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
	case tagResyncQuery:
		if !d.arity(3) {
			break
		}
		m = &ResyncQuery{Worker: d.str(1), Epoch: d.u64(2)}
	case tagResyncStatus:
		if !d.arity(7) {
			break
		}
		m = &ResyncStatus{Worker: d.str(1), Found: d.boolean(2), Epoch: d.u64(3), Seq: d.u64(4), Hash: d.u64(5), Hello: d.bytes(6)}
	case tagResync:
		if !d.arity(6) {
			break
		}
		m = &Resync{Worker: d.str(1), Owner: d.str(2), Epoch: d.u64(3), Seq: d.u64(4), Data: d.bytes(5)}
	case tagSetBackup:
		switch tup.Len() {
		case 2:
			if tup.At(1) != term.Undefined {
				d.fail(1, "want undefined")
			}
			m = &SetBackup{}
		case 3:
			m = &SetBackup{PID: actor.NewPID(d.str(1), d.str(2))}
		case 6:
			m = &SetBackup{PID: actor.NewPID(d.str(1), d.str(2)), Holds: &Position{Epoch: d.u64(3), Seq: d.u64(4), Hash: d.u64(5)}}
		default:
			d.arity(3)
		}
	case tagDigestQuery:
		if !d.arity(2) {
			break
		}
		m = &DigestQuery{Owner: d.str(1)}
	case tagDigest:
		if !d.arity(3) {
			break
		}
		m = digestFromTerm(&d)
	case tagLinkPing:
		if !d.arity(2) {
			break
		}
		m = &LinkPing{Mark: d.u64(1)}
	case tagLinkPong:
		if !d.arity(2) {
			break
		}
		m = &LinkPong{Mark: d.u64(1)}
	default:
		return nil, fmt.Errorf("%w: tag %q", ErrNotProtocol, string(tag))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// digestFromTerm decodes the fields of an enode_digest record.
func digestFromTerm(d *fieldDecoder) Message {
	g := &Digest{Owner: d.str(1), Workers: map[string]uint64{}}
	m, ok := d.tup.At(2).(*term.Map)
	if !ok {
		d.fail(2, "want a map, got "+kindOf(d.tup.At(2)))
		return nil
	}
	for k, v := range m.All() {
		kv := fieldDecoder{tup: term.NewTuple(k, v), tag: d.tag}
		w, h := kv.str(0), kv.u64(1)
		if kv.err != nil {
			d.fail(2, kv.err.Error())
			return nil
		}
		g.Workers[w] = h
	}
	return g
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

func (d *fieldDecoder) boolean(i int) bool {
	switch d.tup.At(i) {
	case term.True:
		return true
	case term.False:
		return false
	}
	d.fail(i, "want true or false, got "+kindOf(d.tup.At(i)))
	return false
}

func (d *fieldDecoder) u32(i int) uint32 {
	if v, ok := d.tup.At(i).(term.Int); ok && v >= 0 && v <= math.MaxUint32 {
		return uint32(v)
	}
	d.fail(i, "want a non-negative 32-bit integer, got "+kindOf(d.tup.At(i)))
	return 0
}

func kindOf(t term.Term) string {
	if t == nil {
		return "nil"
	}
	return t.Kind().String()
}
