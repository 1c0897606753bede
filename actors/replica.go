package actors

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/resync"
	"github.com/enode-dev/enode/term"
)

// Replica is what a spare node keeps of one worker: its last applied state
// and where that state stands in the worker's stream.
type Replica struct {
	Worker    string    // the worker's id (its registered name)
	Owner     string    // the node the worker ran on when it sent the state
	Epoch     uint64    // the worker's epoch
	Seq       uint64    // sequence number of State
	State     term.Term // the state itself
	Updated   time.Time // when State was applied
	Keyframes uint64    // keyframes applied
	Deltas    uint64    // deltas applied
	Bytes     uint64    // frame bytes received for this worker
}

// Store holds the replicas of a replica_handler. It is owned by the handler
// actor (and its receiver middleware, which runs on the same goroutine), so
// implementations need not be safe for concurrent use; methods must not
// block. ReplicaTable (an ets table that readers can read without asking
// the handler) is the default; MapStore is a plain map.
type Store interface {
	// Get returns the replica of worker.
	Get(worker string) (Replica, bool)
	// Put stores r under r.Worker, replacing what was there.
	Put(r Replica) error
	// Delete removes the replica of worker and reports whether it existed.
	Delete(worker string) bool
	// Range calls fn for every replica, in no particular order, until fn
	// returns false.
	Range(fn func(Replica) bool)
}

// MapStore is a Store in a Go map.
type MapStore map[string]Replica

var _ Store = MapStore(nil)

// NewMapStore returns an empty MapStore.
func NewMapStore() MapStore { return MapStore{} }

// Get returns the replica of worker.
func (m MapStore) Get(worker string) (Replica, bool) { r, ok := m[worker]; return r, ok }

// Put stores r.
func (m MapStore) Put(r Replica) error { m[r.Worker] = r; return nil }

// Delete removes the replica of worker.
func (m MapStore) Delete(worker string) bool {
	_, ok := m[worker]
	delete(m, worker)
	return ok
}

// Range calls fn for every replica until it returns false.
func (m MapStore) Range(fn func(Replica) bool) {
	for _, r := range m {
		if !fn(r) {
			return
		}
	}
}

// ReceiverConfig configures a replica_handler and its receiver middleware.
type ReceiverConfig struct {
	// Store keeps the replicas. Default (nil): Validate makes a
	// ReplicaTable, registered as Table in Registry when Registry is set,
	// which belongs to the handler: it survives the handler's restarts and
	// is deleted when the handler stops for good. Read it with
	// OpenReplicaView(Registry, Table), or with
	// cfg.Store.(*ReplicaTable).View() after Validate.
	Store Store
	// Registry, when set and Store is nil, is the node's ets registry the
	// replica table is registered in. Default nil (an unnamed table).
	Registry *ets.Registry
	// Table is the replica table's name in Registry. Default
	// DefaultReplicaTable.
	Table term.Atom
	// Admission is the per-node admission control. Default
	// DefaultAdmissionConfig() (on); set Admission.Disabled to switch it off.
	Admission AdmissionConfig
	// MaxFrameBytes bounds the bytes being reassembled for one worker: a
	// frame growing past it is discarded and a keyframe requested. Default
	// 256 MiB (the large workload's keyframe is about 40 MB).
	MaxFrameBytes int
	// MaxReassemblyBytes bounds the bytes being reassembled for all workers
	// together. Default 1 GiB.
	MaxReassemblyBytes int
	// Resync tunes the Merkle comparison with a worker whose state the
	// replica does not hold; FanOut must be the workers'. Default
	// resync.DefaultConfig().
	Resync resync.Config
	// MaxResyncMessage is the most bytes of one comparison message the
	// handler sends; a comparison that would need more is ended with a
	// NeedKeyframe. Default 512 KiB.
	MaxResyncMessage int
	// Now is the clock for Replica.Updated and ages. Default time.Now.
	Now func() time.Time
	// Logger receives warnings about dropped chunks and frames. Default:
	// the actor system's logger.
	Logger *slog.Logger

	beforeStore func(Replica) // test hook: called before each update is stored (a panic crashes the handler)
}

// DefaultReceiverConfig returns a config with every default set.
func DefaultReceiverConfig() ReceiverConfig {
	return ReceiverConfig{
		Store:              nil, // a ReplicaTable, made by Validate
		Admission:          DefaultAdmissionConfig(),
		MaxFrameBytes:      256 << 20, // 6× the large workload's keyframe
		MaxReassemblyBytes: 1 << 30,   // a few large keyframes at once
		Resync:             resync.DefaultConfig(),
		MaxResyncMessage:   512 << 10, // half of node's default 1 MiB message bound
		Now:                time.Now,
	}
}

// ErrConfig is returned by the Validate methods for an invalid field; the
// error names the field.
var ErrConfig = errors.New("actors: invalid config")

// Validate fills defaults for zero fields and checks the rest. With a nil
// Store it creates the handler's ReplicaTable (in Registry when set), so
// it fails with ets.ErrNameTaken when Table is already registered.
func (c *ReceiverConfig) Validate() error {
	d := DefaultReceiverConfig()
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = d.MaxFrameBytes
	}
	if c.MaxReassemblyBytes == 0 {
		c.MaxReassemblyBytes = d.MaxReassemblyBytes
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Resync == (resync.Config{}) {
		c.Resync = d.Resync
	}
	if c.MaxResyncMessage == 0 {
		c.MaxResyncMessage = d.MaxResyncMessage
	}
	if err := c.Resync.Validate(); err != nil {
		return fmt.Errorf("%w: Resync: %w", ErrConfig, err)
	}
	switch {
	case c.MaxFrameBytes < 0:
		return fmt.Errorf("%w: MaxFrameBytes %d < 0", ErrConfig, c.MaxFrameBytes)
	case c.MaxResyncMessage < 0:
		return fmt.Errorf("%w: MaxResyncMessage %d < 0", ErrConfig, c.MaxResyncMessage)
	case c.MaxReassemblyBytes < c.MaxFrameBytes:
		return fmt.Errorf("%w: MaxReassemblyBytes %d < MaxFrameBytes %d", ErrConfig, c.MaxReassemblyBytes, c.MaxFrameBytes)
	}
	if err := c.Admission.validate(); err != nil {
		return err
	}
	if c.Store == nil {
		t, err := NewReplicaTable(c.Registry, c.Table)
		if err != nil {
			return fmt.Errorf("%w: Store: %w", ErrConfig, err)
		}
		t.byHandler = true
		c.Store = t
	}
	return nil
}

// ReplicaUpdate is what the receiver middleware hands the replica_handler
// once a frame has been reassembled, decoded and verified: the worker's
// whole new state. The handler stores it and acknowledges Seq to the
// envelope's sender.
type ReplicaUpdate struct {
	Replica Replica
}

// Queries a replica_handler answers (local messages; send them with a
// request or a future). Node uses them for takeover and status.
type (
	// ListReplicas asks for a ReplicaList of every replica.
	ListReplicas struct{}
	// ReplicasByOwner asks for a ReplicaList of the replicas whose owner
	// is Owner, with their states: what to start on takeover of Owner.
	ReplicasByOwner struct{ Owner string }
	// GetReplica asks for one worker's replica; the answer is a
	// ReplicaResult.
	GetReplica struct{ Worker string }
	// DropReplica removes one worker's replica (after a takeover, or when
	// the worker ended); the answer is a ReplicaResult with the removed one.
	DropReplica struct{ Worker string }
)

// ReplicaList answers ListReplicas and ReplicasByOwner, sorted by worker id.
// ListReplicas leaves State nil (status needs no multi-megabyte states).
type ReplicaList struct {
	Replicas []Replica
	Now      time.Time // the handler's clock when it answered: Now-Updated is each replica's age
}

// ReplicaResult answers GetReplica and DropReplica.
type ReplicaResult struct {
	Replica Replica
	Found   bool
}

// ReplicaHandler is the actor that keeps replicas on a spare node (register
// it as replica_handler). Its receiver middleware (ReplicaReceiver) turns
// incoming chunks into whole states; the handler stores each state, acks
// it, and answers queries. Create its Props with ReplicaHandlerProps.
type ReplicaHandler struct {
	cfg  ReceiverConfig
	adm  *admission // shared by the handler's incarnations
	in   *inbound
	logs *slog.Logger
}

var _ actor.Actor = (*ReplicaHandler)(nil)

// ReplicaHandlerProps returns the Props of a replica_handler: the actor and
// its receiver middleware. cfg is validated here (which creates the
// replica table when cfg.Store is nil). The Store and the admission
// funnels are kept by the actor across restarts, so a handler that
// crashes loses no replica; spawn one actor per Props.
func ReplicaHandlerProps(cfg ReceiverConfig) (*actor.Props, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	adm := newAdmission(cfg.Admission)
	return actor.PropsFromProducer(func() actor.Actor {
		return &ReplicaHandler{cfg: cfg, adm: adm}
	}, actor.WithReceiverMiddleware(ReplicaReceiver())), nil
}

// Receive stores updates and answers queries.
func (h *ReplicaHandler) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.logs = h.cfg.Logger
		if h.logs == nil {
			h.logs = ctx.Logger()
		}
		if err := h.adm.start(); err != nil {
			h.logs.Error("replica_handler: admission control off", slog.Any("err", err))
		}
	case *actor.Stopped:
		// Stopped for good (a restart does not come here): the funnels
		// go, and so does the table the handler made itself.
		h.adm.stop()
		if t, ok := h.cfg.Store.(*ReplicaTable); ok && t.byHandler {
			if err := t.Close(); err != nil {
				h.logs.Warn("replica_handler: cannot delete the replica table", slog.Any("err", err))
			}
		}
	case *AdmissionStatsRequest:
		ctx.Respond(h.adm.stats())
	case *ReplicaUpdate:
		r := m.Replica
		if h.cfg.beforeStore != nil {
			h.cfg.beforeStore(r)
		}
		if hookAckUnstored(h.cfg.Store, r) {
			ctx.Respond(&Ack{Worker: r.Worker, Epoch: r.Epoch, Seq: r.Seq})
			return
		}
		if err := h.cfg.Store.Put(r); err != nil {
			var sealed *SealedError
			if errors.As(err, &sealed) {
				// Taken over here from a sealed replica: the sender is a
				// stale copy, and its state is not acknowledged.
				h.logs.Info("replica_handler: refused a state of a worker taken over here", slog.String("worker", r.Worker),
					slog.Uint64("epoch", r.Epoch), slog.Uint64("floor", sealed.Floor))
				ctx.Respond(&Fenced{Worker: r.Worker, Epoch: sealed.Floor})
				return
			}
			h.logs.Warn("replica store refused a state", slog.String("worker", r.Worker), slog.Any("err", err))
			ctx.Respond(&NeedKeyframe{Worker: r.Worker, Epoch: r.Epoch, HaveSeq: 0})
			return
		}
		ctx.Respond(&Ack{Worker: r.Worker, Epoch: r.Epoch, Seq: r.Seq})
	case *ListReplicas:
		ctx.Respond(h.list(func(Replica) bool { return true }, false))
	case *ReplicasByOwner:
		ctx.Respond(h.list(func(r Replica) bool { return r.Owner == m.Owner }, true))
	case *GetReplica:
		r, ok := h.cfg.Store.Get(m.Worker)
		ctx.Respond(&ReplicaResult{Replica: r, Found: ok})
	case *DropReplica:
		r, ok := h.cfg.Store.Get(m.Worker)
		h.cfg.Store.Delete(m.Worker)
		if h.in != nil {
			h.in.forget(m.Worker)
		}
		ctx.Respond(&ReplicaResult{Replica: r, Found: ok})
	}
}

func (h *ReplicaHandler) list(keep func(Replica) bool, withState bool) *ReplicaList {
	out := &ReplicaList{Now: h.cfg.Now()}
	h.cfg.Store.Range(func(r Replica) bool {
		if keep(r) {
			if !withState {
				r.State = nil
			}
			out.Replicas = append(out.Replicas, r)
		}
		return true
	})
	slices.SortFunc(out.Replicas, func(a, b Replica) int { return cmp.Compare(a.Worker, b.Worker) })
	return out
}

// receiverState gives the receiver middleware the handler's store, codecs
// and reassembly buffers.
func (h *ReplicaHandler) receiverState() (*ReceiverConfig, *inbound) {
	if h.in == nil {
		h.in = &inbound{reassembler: newReassembler(h.cfg.MaxFrameBytes, h.cfg.MaxReassemblyBytes),
			decoders: map[string]*delta.Decoder{}, copies: map[string]*resync.Copy{}, adm: h.adm}
	}
	return &h.cfg, h.in
}

// replicaActor is implemented by actors that can sit behind ReplicaReceiver.
type replicaActor interface {
	receiverState() (*ReceiverConfig, *inbound)
}

// ReplicaReceiver is the receiver middleware of a replica_handler: it takes
// Chunk messages (Go values or their term form) off the mailbox path,
// reassembles and decodes frames, and passes the handler a ReplicaUpdate for
// each new state; the handler never sees chunks. It answers the sender
// itself for what does not reach the handler: ChunkAck per chunk, Ack for a
// duplicate, NeedKeyframe for a gap, a checksum mismatch or a broken chunk
// stream, Fenced for a lower epoch. Other messages pass through untouched.
// The actor behind it must be a ReplicaHandler.
func ReplicaReceiver() actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			ra, ok := ctx.Actor().(replicaActor)
			if !ok {
				next(ctx, env)
				return
			}
			pm, err := protocolMessage(env.Message)
			if err != nil {
				ctx.Logger().Warn("replica_handler: dropped a malformed message", slog.Any("err", err))
				return
			}
			reply := func(m any) {
				if env.Sender != nil {
					ctx.ActorSystem().Root.Send(env.Sender, m)
				}
			}
			switch m := pm.(type) {
			case *LinkPing:
				// In mailbox order: everything the link sent before it has
				// been handled and answered.
				reply(&LinkPong{Mark: m.Mark})
				return
			case *ResyncQuery:
				cfg, in := ra.receiverState()
				reply(in.resyncQuery(cfg, m))
				return
			case *DigestQuery:
				cfg, _ := ra.receiverState()
				reply(digestOf(cfg.Store, m.Owner))
				return
			case *Resync:
				cfg, in := ra.receiverState()
				answer, upd := in.resyncStep(cfg, m)
				if answer != nil {
					reply(answer)
				}
				if upd != nil {
					next(ctx, &actor.MessageEnvelope{Header: env.Header, Message: upd, Sender: env.Sender})
				}
				return
			}
			c, ok := pm.(*Chunk)
			if !ok {
				next(ctx, env)
				return
			}
			if err := c.validate(); err != nil {
				ctx.Logger().Warn("replica_handler: dropped a malformed chunk", slog.Any("err", err))
				return
			}
			cfg, in := ra.receiverState()
			reply(&ChunkAck{Worker: c.Worker, Epoch: c.Epoch, Seq: c.Seq, Index: c.Index})
			data, problem := in.add(c)
			if problem != "" {
				logger(cfg, ctx).Warn("replica_handler: discarded a partial frame", slog.String("worker", c.Worker),
					slog.Uint64("seq", c.Seq), slog.String("why", problem))
				have, _ := cfg.Store.Get(c.Worker)
				reply(&NeedKeyframe{Worker: c.Worker, Epoch: c.Epoch, HaveSeq: have.Seq})
			}
			if data == nil {
				return
			}
			owner, upd, answer, err := receiveFrame(cfg, in, data, c)
			if err != nil {
				logger(cfg, ctx).Info("replica_handler: frame not applied", slog.String("worker", c.Worker),
					slog.Uint64("seq", c.Seq), slog.Any("err", err))
			}
			if answer != nil {
				reply(answer)
			}
			// Admission: the frame is applied either way (it was in
			// flight); a node over its rate is told to back off.
			if in.adm != nil && owner != nil {
				if b := in.adm.admit(*owner, c.Worker, len(data), logger(cfg, ctx)); b != nil {
					reply(b)
				}
			}
			if upd != nil {
				next(ctx, &actor.MessageEnvelope{Header: env.Header, Message: upd, Sender: env.Sender})
			}
		}
	}
}

func logger(cfg *ReceiverConfig, ctx actor.ReceiverContext) *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return ctx.Logger()
}

// receiveFrame decodes a reassembled frame and applies it with the
// worker's delta.Decoder. It returns the node the envelope names (nil when
// the envelope does not decode), the update for the handler (nil when the
// state did not advance) and the answer the middleware sends itself (nil
// when the handler answers).
func receiveFrame(cfg *ReceiverConfig, in *inbound, data []byte, c *Chunk) (*string, *ReplicaUpdate, Message, error) {
	have, found := cfg.Store.Get(c.Worker)
	need := &NeedKeyframe{Worker: c.Worker, Epoch: c.Epoch, HaveSeq: have.Seq}
	owner, f, err := decodeEnvelope(data)
	if err == nil && (f.Worker != c.Worker || f.Epoch != c.Epoch || f.Seq != c.Seq) {
		err = fmt.Errorf("%w: frame %q epoch %d seq %d in chunks of %q epoch %d seq %d",
			ErrMalformed, f.Worker, f.Epoch, f.Seq, c.Worker, c.Epoch, c.Seq)
	}
	if err != nil {
		return nil, nil, need, err
	}
	dec := in.decoder(c.Worker, have, found)
	res, err := dec.Apply(f)
	switch res.Outcome {
	case delta.Applied:
		delete(in.copies, c.Worker) // a frame supersedes a comparison under way
		r := have
		if !found {
			r = Replica{Worker: f.Worker}
		}
		r.Owner, r.Epoch, r.Seq, r.State, r.Updated = owner, res.Epoch, res.Seq, res.State, cfg.Now()
		if f.Kind == delta.FrameKeyframe {
			r.Keyframes++
		} else {
			r.Deltas++
		}
		r.Bytes += uint64(len(data))
		return &owner, &ReplicaUpdate{Replica: r}, nil, nil
	case delta.Duplicate:
		return &owner, nil, &Ack{Worker: c.Worker, Epoch: res.Epoch, Seq: res.Seq}, nil
	case delta.Refused:
		if errors.Is(err, delta.ErrStaleEpoch) {
			return &owner, nil, &Fenced{Worker: c.Worker, Epoch: res.Epoch}, err
		}
		return &owner, nil, need, err
	default: // NeedKeyframe: a gap, a checksum mismatch, a corrupt payload
		need.HaveSeq = res.Seq
		return &owner, nil, need, err
	}
}

// inbound is a replica_handler's receiving state: frames being reassembled,
// each worker's stream decoder (which holds the same state term as the
// store, so a replica is kept once) and the Merkle comparisons under way.
type inbound struct {
	*reassembler
	decoders map[string]*delta.Decoder
	copies   map[string]*resync.Copy
	adm      *admission // nil behind an actor other than ReplicaHandler
}

func (in *inbound) forget(worker string) {
	in.drop(worker)
	delete(in.decoders, worker)
	delete(in.copies, worker)
}

// decoder returns worker's stream decoder, resumed from the stored replica
// when the handler has none yet (it restarted, and its table did not): the
// next delta applies instead of asking for a keyframe.
func (in *inbound) decoder(worker string, have Replica, found bool) *delta.Decoder {
	dec := in.decoders[worker]
	if dec == nil {
		if found {
			dec = delta.ResumeDecoder(worker, have.State, have.Epoch, have.Seq)
		} else {
			dec = delta.NewDecoder(worker)
		}
		in.decoders[worker] = dec
	}
	return dec
}

// resyncQuery answers a worker that opens a resync: what the handler holds
// of it, with the Hello of a comparison over it (a Copy kept until the
// comparison ends, a frame supersedes it or another query replaces it).
// A replica of a higher epoch answers Fenced, as a frame would.
func (in *inbound) resyncQuery(cfg *ReceiverConfig, q *ResyncQuery) Message {
	delete(in.copies, q.Worker)
	// The query comes through the worker's link, after the last chunk the
	// link sent for it: a frame still being reassembled was given up.
	in.drop(q.Worker)
	have, found := cfg.Store.Get(q.Worker)
	if !found || have.State == nil {
		return &ResyncStatus{Worker: q.Worker}
	}
	if have.Epoch > q.Epoch {
		return &Fenced{Worker: q.Worker, Epoch: have.Epoch}
	}
	// The decoder follows the store: the worker's next delta may be based
	// on the stored state.
	if dec := in.decoders[q.Worker]; dec != nil {
		if _, e, sq := dec.State(); e != have.Epoch || sq != have.Seq {
			delete(in.decoders, q.Worker)
		}
	}
	in.decoder(q.Worker, have, true)
	st := &ResyncStatus{Worker: q.Worker, Found: true, Epoch: have.Epoch, Seq: have.Seq, Hash: term.Hash(have.State)}
	cp, err := resync.NewCopy(have.State, cfg.Resync)
	if err != nil {
		return st // no Hello: the worker falls back to a keyframe unless it holds the state
	}
	hello, err := resync.AppendMessage(nil, cp.Start())
	if err != nil || len(hello) > cfg.MaxResyncMessage {
		return st
	}
	in.copies[q.Worker] = cp
	st.Hello = hello
	return st
}

// digestOf returns the Digest of the replicas of owner's workers in st.
func digestOf(st Store, owner string) *Digest {
	d := &Digest{Owner: owner, Workers: map[string]uint64{}}
	st.Range(func(r Replica) bool {
		if r.Owner == owner && r.State != nil {
			d.Workers[r.Worker] = Position{Epoch: r.Epoch, Seq: r.Seq, Hash: term.Hash(r.State)}.Digest()
		}
		return true
	})
	return d
}

// resyncStep takes the worker's next message of a comparison. It returns
// the answer to send (the Copy's next message, Fenced, or NeedKeyframe when
// the comparison cannot go on) and, when the comparison ended, the update
// that stores the replica brought up to the worker's state (checked against
// the worker's root hash by the Copy), which the handler acknowledges.
func (in *inbound) resyncStep(cfg *ReceiverConfig, m *Resync) (Message, *ReplicaUpdate) {
	have, found := cfg.Store.Get(m.Worker)
	if found && have.Epoch > m.Epoch {
		delete(in.copies, m.Worker)
		return &Fenced{Worker: m.Worker, Epoch: have.Epoch}, nil
	}
	need := &NeedKeyframe{Worker: m.Worker, Epoch: m.Epoch, HaveSeq: have.Seq}
	cp := in.copies[m.Worker]
	if cp == nil {
		return need, nil
	}
	msg, err := resync.DecodeMessage(m.Data)
	var (
		out  resync.Message
		done bool
	)
	if err == nil {
		out, done, err = cp.Handle(msg)
	}
	if err != nil {
		delete(in.copies, m.Worker)
		return need, nil
	}
	if done {
		delete(in.copies, m.Worker)
		r := have
		if !found {
			r = Replica{Worker: m.Worker}
		}
		r.Owner, r.Epoch, r.Seq, r.State, r.Updated = m.Owner, m.Epoch, m.Seq, cp.State(), cfg.Now()
		r.Deltas++
		r.Bytes += uint64(len(m.Data))
		in.drop(m.Worker)
		in.decoders[m.Worker] = delta.ResumeDecoder(m.Worker, r.State, r.Epoch, r.Seq)
		return nil, &ReplicaUpdate{Replica: r}
	}
	data, err := resync.AppendMessage(nil, out)
	if err != nil || len(data) > cfg.MaxResyncMessage {
		delete(in.copies, m.Worker)
		return need, nil
	}
	return &Resync{Worker: m.Worker, Owner: m.Owner, Epoch: m.Epoch, Seq: m.Seq, Data: data}, nil
}

// partial is a frame being reassembled.
type partial struct {
	epoch, seq uint64
	total      uint32
	next       uint32
	buf        []byte
}

// reassembler joins chunks into frames with bounded memory. Chunks of one
// worker's frame arrive in order (one link sends them, and actor messages
// between two actors keep their order), so anything else means the stream
// broke: the partial frame is discarded and a keyframe requested.
type reassembler struct {
	maxFrame, maxTotal int
	total              int
	parts              map[string]*partial
}

func newReassembler(maxFrame, maxTotal int) *reassembler {
	return &reassembler{maxFrame: maxFrame, maxTotal: maxTotal, parts: map[string]*partial{}}
}

func (a *reassembler) drop(worker string) {
	if p, ok := a.parts[worker]; ok {
		a.total -= len(p.buf)
		delete(a.parts, worker)
	}
}

// add takes one chunk. It returns the whole frame when c completes one, and
// a description of the problem when it discarded a partial frame (the
// caller asks for a keyframe).
func (a *reassembler) add(c *Chunk) (frame []byte, problem string) {
	p := a.parts[c.Worker]
	if p != nil && (p.epoch != c.Epoch || p.seq != c.Seq) {
		a.drop(c.Worker)
		if c.Index != 0 {
			p, problem = nil, fmt.Sprintf("frame %d restarted by frame %d at chunk %d of %d", p.seq, c.Seq, p.next, p.total)
		} else {
			// A new frame from its start: the link gave the partial one
			// up (its chunks were lost); the new one stands on its own.
			p = nil
		}
	}
	if p == nil {
		if c.Index != 0 {
			if problem == "" {
				problem = fmt.Sprintf("chunk %d of %d without the frame's start", c.Index, c.Total)
			}
			return nil, problem
		}
		if c.Total == 1 {
			if len(c.Bytes) > a.maxFrame || a.total+len(c.Bytes) > a.maxTotal {
				return nil, fmt.Sprintf("frame of %d bytes over the reassembly bounds", len(c.Bytes))
			}
			return c.Bytes, problem
		}
		p = &partial{epoch: c.Epoch, seq: c.Seq, total: c.Total}
		a.parts[c.Worker] = p
	}
	if c.Total != p.total || c.Index != p.next {
		a.drop(c.Worker)
		return nil, fmt.Sprintf("chunk %d of %d where chunk %d of %d was due", c.Index, c.Total, p.next, p.total)
	}
	if len(p.buf)+len(c.Bytes) > a.maxFrame || a.total+len(c.Bytes) > a.maxTotal {
		a.drop(c.Worker)
		return nil, fmt.Sprintf("frame over the reassembly bounds (%d bytes so far)", len(p.buf)+len(c.Bytes))
	}
	p.buf = append(p.buf, c.Bytes...)
	a.total += len(c.Bytes)
	p.next++
	if p.next < p.total {
		return nil, problem
	}
	a.drop(c.Worker)
	return p.buf, problem
}
