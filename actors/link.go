package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/delta"
)

// linkFrame asks a link to send one encoded frame of a worker's stream.
type linkFrame struct {
	worker    string
	workerPID *actor.PID
	epoch     uint64
	seq       uint64
	kind      delta.FrameKind
	data      []byte
}

// linkDetach tells a link that a worker no longer sends through it: its
// queued frames are dropped and replies for it are no longer forwarded.
type linkDetach struct {
	worker string
	pid    *actor.PID
}

// linkTick is the link's timer: it checks for lost credits.
type linkTick struct{}

// LinkStats is a snapshot of a link's scheduler, for tests and status.
type LinkStats struct {
	Streams     int    // workers attached
	QueuedBytes int    // frame bytes waiting to be sent
	InFlight    int    // chunks sent and not yet acknowledged
	ChunksSent  uint64 // chunks sent since the link started
	Resets      uint64 // times lost credits were written off
}

// linkStatsRequest asks a link for its LinkStats.
type linkStatsRequest struct{}

// LinkStatus returns the state of the link that carries this actor
// system's replication streams to the replica_handler at dest (for status
// pages). It fails when no worker has sent to dest yet.
func LinkStatus(system *actor.ActorSystem, dest *actor.PID, timeout time.Duration) (LinkStats, error) {
	pid := actor.NewPID(system.Address(), linkName(dest))
	res, err := system.Root.RequestFuture(pid, &linkStatsRequest{}, timeout).Result()
	if err != nil {
		return LinkStats{}, fmt.Errorf("actors: link to %v: %w", dest, err)
	}
	st, ok := res.(*LinkStats)
	if !ok {
		return LinkStats{}, fmt.Errorf("actors: link to %v: unexpected answer %T", dest, res)
	}
	return *st, nil
}

// outFrame is a frame being sent chunk by chunk.
type outFrame struct {
	linkFrame
	total uint32
	next  uint32
}

func (f *outFrame) remaining() int { return int(f.total - f.next) }

type linkStream struct {
	worker string
	pid    *actor.PID
	queue  []*outFrame
}

// link is the actor that carries the replication streams of a node's
// workers to one destination replica_handler. It interleaves them: frames
// are cut into chunks and at each turn the link sends a chunk of the frame
// with the fewest chunks left (so a one-chunk delta overtakes a 40 MB
// keyframe that is under way), alternating with plain round robin over the
// streams (so a big keyframe is never starved). At most maxInFlight chunks
// are unacknowledged at a time, so a slow destination holds chunks here,
// where small frames can still overtake them, rather than in the transport's
// queue, where they cannot. Replies from the replica (Ack, NeedKeyframe,
// Fenced) come to the link, which forwards them to the worker; a Backoff
// goes to every worker the link carries.
type link struct {
	dest          *actor.PID
	chunkSize     int
	maxInFlight   int
	creditTimeout time.Duration
	drop          func(*Chunk) bool // test hook: true drops the chunk

	streams     map[string]*linkStream
	order       []string // round-robin order of stream ids
	cursor      int
	smallest    bool // whose turn: smallest-first or round robin
	inFlight    int
	queued      int
	lastCredit  time.Time
	timer       *time.Timer
	chunksSent  uint64
	resets      uint64
	self        *actor.PID
	actorSystem *actor.ActorSystem
}

// linkName is the name of the link actor to dest: one per destination per
// actor system, found by name so that no registry is needed.
func linkName(dest *actor.PID) string { return "enode-link/" + dest.Address + "/" + dest.Id }

// linkSpawnMu serializes the spawning of link actors. It guards no data:
// protoactor adds a named process to its registry before the process's
// mailbox has its dispatcher, so a second worker that finds the link by name
// (ErrNameExists) and sends to it at once races the first worker's spawn
// (go test -race caught it). Holding the lock across SpawnNamed makes the
// second worker wait until the spawn is complete.
var linkSpawnMu sync.Mutex

// linkTo returns the PID of the link to dest, spawning it at the root of
// the actor system when it does not exist yet. The first worker to use a
// destination sets the link's chunking parameters.
func linkTo(system *actor.ActorSystem, dest *actor.PID, cfg *ReplicationConfig) (*actor.PID, error) {
	props := actor.PropsFromProducer(func() actor.Actor {
		return &link{
			dest: dest, chunkSize: cfg.ChunkSize, maxInFlight: cfg.MaxInFlightChunks,
			creditTimeout: cfg.AckTimeout, drop: cfg.dropChunk, streams: map[string]*linkStream{},
		}
	})
	linkSpawnMu.Lock()
	defer linkSpawnMu.Unlock()
	pid, err := system.Root.SpawnNamed(props, linkName(dest))
	if errors.Is(err, actor.ErrNameExists) {
		return pid, nil
	}
	return pid, err
}

func (l *link) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		l.self, l.actorSystem = ctx.Self(), ctx.ActorSystem()
		l.lastCredit = time.Now()
	case *actor.Stopping:
		if l.timer != nil {
			l.timer.Stop()
		}
	case *linkFrame:
		l.enqueue(m)
		l.pump(ctx)
	case *linkDetach:
		if s, ok := l.streams[m.worker]; ok && (m.pid == nil || samePID(s.pid, m.pid)) {
			for _, f := range s.queue {
				l.queued -= len(f.data)
			}
			delete(l.streams, m.worker)
		}
	case *linkTick:
		l.timer = nil
		if l.inFlight > 0 && time.Since(l.lastCredit) >= l.creditTimeout {
			// The destination stopped answering: write the credits off. The
			// chunks may be lost; the replica will find a broken stream and
			// ask for a keyframe, or the worker's ack timeout will resend.
			l.inFlight = 0
			l.resets++
			l.lastCredit = time.Now()
			l.pump(ctx)
		}
		l.arm()
	case *linkStatsRequest:
		ctx.Respond(&LinkStats{Streams: len(l.streams), QueuedBytes: l.queued, InFlight: l.inFlight,
			ChunksSent: l.chunksSent, Resets: l.resets})
	case *actor.DeadLetterResponse:
		// A chunk went to a destination that does not exist: its credit
		// comes back; the worker's ack timeout deals with the lost frame.
		if l.inFlight > 0 {
			l.inFlight--
		}
		l.pump(ctx)
	default:
		pm, err := protocolMessage(m)
		if err != nil {
			ctx.Logger().Warn("replication link: dropped a malformed reply", slog.Any("err", err))
			return
		}
		l.reply(ctx, pm)
	}
}

func (l *link) reply(ctx actor.Context, pm Message) {
	var worker string
	switch r := pm.(type) {
	case *ChunkAck:
		if l.inFlight > 0 {
			l.inFlight--
		}
		l.lastCredit = time.Now()
		l.pump(ctx)
		return
	case *Ack:
		worker = r.Worker
	case *NeedKeyframe:
		worker = r.Worker
	case *Fenced:
		worker = r.Worker
	case *Backoff:
		// The destination is over this node's rate: every worker the
		// link carries holds its next frame.
		for _, s := range l.streams {
			ctx.Send(s.pid, pm)
		}
		return
	default:
		return
	}
	if s, ok := l.streams[worker]; ok {
		ctx.Send(s.pid, pm)
	}
}

func (l *link) enqueue(m *linkFrame) {
	s, ok := l.streams[m.worker]
	if !ok || !samePID(s.pid, m.workerPID) {
		if ok {
			for _, f := range s.queue {
				l.queued -= len(f.data)
			}
		} else {
			l.order = append(l.order, m.worker)
		}
		s = &linkStream{worker: m.worker, pid: m.workerPID}
		l.streams[m.worker] = s
	}
	if m.kind == delta.FrameKeyframe {
		// A keyframe supersedes every frame of the stream not yet started.
		kept := s.queue[:0]
		for i, f := range s.queue {
			if i == 0 && f.next > 0 {
				kept = append(kept, f)
				continue
			}
			l.queued -= len(f.data)
		}
		s.queue = kept
	}
	total := (len(m.data) + l.chunkSize - 1) / l.chunkSize
	if total == 0 {
		total = 1
	}
	s.queue = append(s.queue, &outFrame{linkFrame: *m, total: uint32(total)})
	l.queued += len(m.data)
}

// pump sends chunks while credits last.
func (l *link) pump(ctx actor.Context) {
	for l.inFlight < l.maxInFlight {
		s := l.pick()
		if s == nil {
			break
		}
		f := s.queue[0]
		lo := int(f.next) * l.chunkSize
		hi := min(lo+l.chunkSize, len(f.data))
		c := &Chunk{Worker: f.worker, Epoch: f.epoch, Seq: f.seq, Index: f.next, Total: f.total, Bytes: f.data[lo:hi]}
		f.next++
		if f.next == f.total {
			s.queue = s.queue[1:]
			l.queued -= len(f.data)
		}
		l.chunksSent++
		if l.drop != nil && l.drop(c) {
			continue
		}
		l.inFlight++
		ctx.Request(l.dest, c)
	}
	l.arm()
}

// pick chooses the stream to send the next chunk of, or nil.
func (l *link) pick() *linkStream {
	l.compact()
	if len(l.order) == 0 {
		return nil
	}
	l.smallest = !l.smallest
	if l.smallest {
		var best *linkStream
		for _, id := range l.order {
			s := l.streams[id]
			if len(s.queue) > 0 && (best == nil || s.queue[0].remaining() < best.queue[0].remaining()) {
				best = s
			}
		}
		return best
	}
	for range l.order {
		l.cursor = (l.cursor + 1) % len(l.order)
		if s := l.streams[l.order[l.cursor]]; len(s.queue) > 0 {
			return s
		}
	}
	return nil
}

// compact drops detached streams from the round-robin order.
func (l *link) compact() {
	kept := l.order[:0]
	for _, id := range l.order {
		if _, ok := l.streams[id]; ok {
			kept = append(kept, id)
		}
	}
	l.order = kept
	if l.cursor >= len(l.order) {
		l.cursor = 0
	}
}

// arm starts the credit timer while chunks are in flight.
func (l *link) arm() {
	if l.timer != nil || l.inFlight == 0 || l.creditTimeout <= 0 {
		return
	}
	system, self := l.actorSystem, l.self
	l.timer = time.AfterFunc(l.creditTimeout, func() { system.Root.Send(self, &linkTick{}) })
}
