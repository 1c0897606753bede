package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/extensions"

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

// linkControl asks a link to send a worker's resync message (ResyncQuery,
// or Resync of a Merkle comparison) to the destination after every chunk
// it sent for the worker, so that the handler sees them in that order, and
// to forward the answer. The worker's queued frames are dropped: a resync
// supersedes them.
type linkControl struct {
	worker    string
	workerPID *actor.PID
	msg       Message
}

// linkLost tells a worker that its link found chunks, frames, replies or
// a resync message of its stream lost (see link): what the worker had in
// flight is gone, and the link drops its deltas until it resyncs (or sends
// a keyframe).
type linkLost struct {
	link *actor.PID
}

// linkProbe asks a link to probe its destination at once, when it has
// anything unanswered (the transport reported the connection lost).
type linkProbe struct{}

// linkTick is the link's timer: it checks for a stalled destination.
type linkTick struct{}

// LinkStats is a snapshot of a link's scheduler, for tests and status.
type LinkStats struct {
	Streams     int    // workers attached
	QueuedBytes int    // frame bytes waiting to be sent
	InFlight    int    // chunks sent and not yet acknowledged
	ChunksSent  uint64 // chunks sent since the link started
	Pings       uint64 // LinkPings sent: the destination was silent for StallTimeout with something unanswered
	Losses      uint64 // times a worker's stream was found to have lost something (each told to resync)
	Resets      uint64 // times everything unanswered was written off after AckTimeout of silence
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

// flightChunk is a chunk sent and not yet acknowledged; pos is its place
// in the order of everything the link sent.
type flightChunk struct {
	worker     string
	epoch, seq uint64
	index      uint32
	pos        uint64
	at         time.Time // when it went out
}

// unanswered is a frame whose chunks all went out, waiting for its answer.
type unanswered struct {
	seq, pos uint64
	at       time.Time // when its last chunk went out
}

type linkStream struct {
	worker string
	pid    *actor.PID
	queue  []*outFrame
	// waiting are the frames sent whole and not answered yet, in order;
	// ctl is the place of the resync message waiting for its answer (0
	// for none).
	waiting []unanswered
	ctl     uint64
	// ctlResync: the ctl message is a Resync of a comparison (answered by
	// a Resync, an Ack of ctlSeq or a NeedKeyframe), not a ResyncQuery
	// (answered by a ResyncStatus).
	ctlResync bool
	ctlSeq    uint64
	ctlAt     time.Time
	// lost: something of the stream was lost and the worker was told; its
	// deltas are dropped until a resync message or a keyframe comes.
	lost bool
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
// Fenced, ResyncStatus, Resync) come to the link, which forwards them to
// the worker; a Backoff goes to every worker the link carries.
//
// Loss. protoactor's remote delivers at most once: what is sent while a
// connection is re-established (a reset, a paused peer) is dropped, chunks,
// replies and resync messages alike, and nobody says so. It does keep the
// order of what it delivers between two processes. The link numbers all it
// sends and keeps what is unanswered: chunks without a ChunkAck, frames
// sent whole without an answer, a resync message without its answer. When
// something has been unanswered for StallTimeout, the link sends a
// LinkPing (again every StallTimeout while it lasts), however busy the
// link is with other streams. The handler answers LinkPong in mailbox
// order, after every answer to what came before the ping; so when the pong
// arrives, whatever was sent before the ping and is still unanswered was
// lost. A ping is only a question: a slow answer is never taken for a
// loss. Each
// worker with a loss is told (linkLost) and resyncs through the link; its
// queued frames are dropped. A slow but live destination is never declared
// lost: a keyframe whose chunks are credited makes progress, and a handler
// busy decoding a 40 MB keyframe answers the ping late, after that
// keyframe's Ack. Only if the destination says nothing at all for
// AckTimeout does the link write everything off (Resets).
type link struct {
	dest          *actor.PID
	chunkSize     int
	maxInFlight   int
	stallTimeout  time.Duration
	creditTimeout time.Duration
	drop          func(*Chunk) bool  // test hook: true drops the chunk (sent and lost)
	dropReply     func(Message) bool // test hook: true drops the reply (lost on the way back)

	streams     map[string]*linkStream
	order       []string // round-robin order of stream ids
	cursor      int
	smallest    bool // whose turn: smallest-first or round robin
	flight      []flightChunk
	queued      int
	pos         uint64     // messages sent to dest (chunks, resync messages, pings)
	heard       time.Time  // the last word from dest, or when the link started waiting for one
	clock       *linkClock // heard, for the link's workers
	pinged      time.Time  // the last LinkPing
	timer       *time.Timer
	chunksSent  uint64
	pings       uint64
	losses      uint64
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
func linkTo(system *actor.ActorSystem, dest *actor.PID, cfg *ReplicationConfig) (*actor.PID, *linkClock, error) {
	linkSpawnMu.Lock()
	defer linkSpawnMu.Unlock()
	ext, _ := system.Extensions.Get(linksExtID).(*linksExt)
	if ext == nil {
		ext = &linksExt{clocks: map[string]*linkClock{}}
		system.Extensions.Register(ext)
	}
	name := linkName(dest)
	clock := ext.clocks[name]
	if clock == nil {
		clock = &linkClock{}
		ext.clocks[name] = clock
	}
	props := actor.PropsFromProducer(func() actor.Actor {
		return &link{
			dest: dest, chunkSize: cfg.ChunkSize, maxInFlight: cfg.MaxInFlightChunks,
			stallTimeout: cfg.StallTimeout, creditTimeout: cfg.AckTimeout, clock: clock,
			drop: cfg.dropChunk, dropReply: cfg.dropReply, streams: map[string]*linkStream{},
		}
	})
	pid, err := system.Root.SpawnNamed(props, name)
	if errors.Is(err, actor.ErrNameExists) {
		return pid, clock, nil
	}
	return pid, clock, err
}

// linkClock is when a link last heard from its destination (or began to
// wait for a word from it), for the link's workers: a worker does not give
// its frames up for lack of an ack while the destination is talking (a
// slow keyframe is progressing; the link's probe finds real losses).
type linkClock struct {
	heard atomic.Int64 // unix nanoseconds
}

// silentFor reports whether the link has not heard from its destination
// for d.
func (c *linkClock) silentFor(d time.Duration) bool {
	return c == nil || time.Since(time.Unix(0, c.heard.Load())) >= d
}

// linksExt keeps an actor system's link clocks (an actor system extension,
// so that it goes with the system), by link name; guarded by linkSpawnMu.
type linksExt struct {
	clocks map[string]*linkClock
}

var linksExtID = extensions.NextExtensionID()

func (*linksExt) ExtensionID() extensions.ExtensionID { return linksExtID }

func (l *link) hear(t time.Time) {
	l.heard = t
	l.clock.heard.Store(t.UnixNano())
}

// ProbeLink asks the link that carries this actor system's replication
// streams to the replica_handler at dest to probe it at once (a LinkPing,
// when anything is unanswered) instead of waiting for StallTimeout of
// silence: node calls it when the transport reports the connection to
// dest's node lost or re-established. It does nothing when no worker has
// sent to dest.
func ProbeLink(system *actor.ActorSystem, dest *actor.PID) {
	pid := actor.NewPID(system.Address(), linkName(dest))
	if _, ok := system.ProcessRegistry.GetLocal(pid.Id); ok {
		system.Root.Send(pid, &linkProbe{})
	}
}

func (l *link) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		l.self, l.actorSystem = ctx.Self(), ctx.ActorSystem()
		l.hear(time.Now())
	case *actor.Stopping:
		if l.timer != nil {
			l.timer.Stop()
		}
	case *linkFrame:
		l.enqueue(m)
		l.pump(ctx)
	case *linkControl:
		l.control(ctx, m)
	case *linkDetach:
		if s, ok := l.streams[m.worker]; ok && (m.pid == nil || samePID(s.pid, m.pid)) {
			for _, f := range s.queue {
				l.queued -= len(f.data)
			}
			delete(l.streams, m.worker)
		}
	case *linkTick:
		l.timer = nil
		l.check(ctx)
		l.arm()
	case *linkProbe:
		if l.unanswered() {
			l.ping(ctx)
		}
	case *linkStatsRequest:
		ctx.Respond(&LinkStats{Streams: len(l.streams), QueuedBytes: l.queued, InFlight: len(l.flight),
			ChunksSent: l.chunksSent, Pings: l.pings, Losses: l.losses, Resets: l.resets})
	case *actor.DeadLetterResponse:
		// A message went to a destination that does not exist, or found
		// no connection: in order, the oldest chunk in flight.
		if len(l.flight) > 0 {
			c := l.flight[0]
			l.flight = l.flight[1:]
			if s, ok := l.streams[c.worker]; ok {
				l.lose(ctx, s)
			}
		}
		l.pump(ctx)
	default:
		pm, err := protocolMessage(m)
		if err != nil {
			ctx.Logger().Warn("replication link: dropped a malformed reply", slog.Any("err", err))
			return
		}
		if pm == nil || l.dropReply != nil && l.dropReply(pm) {
			return
		}
		l.hear(time.Now())
		l.reply(ctx, pm)
	}
}

// unanswered reports whether anything the link sent waits for an answer.
func (l *link) unanswered() bool {
	return len(l.flight) > 0 || !l.oldest().IsZero() // chunks in flight: the common case, no walk over the streams
}

// oldest returns when the longest unanswered message went out (zero when
// nothing is unanswered).
func (l *link) oldest() time.Time {
	var t time.Time
	older := func(u time.Time) {
		if t.IsZero() || u.Before(t) {
			t = u
		}
	}
	if len(l.flight) > 0 {
		older(l.flight[0].at) // in the order sent
	}
	for _, s := range l.streams {
		if len(s.waiting) > 0 {
			older(s.waiting[0].at)
		}
		if s.ctl != 0 {
			older(s.ctlAt)
		}
	}
	return t
}

// send sends m to the destination, with the link as sender, and returns
// its place in the order of the link's messages.
func (l *link) send(ctx actor.Context, m any) uint64 {
	if !l.unanswered() {
		l.hear(time.Now()) // the silence that counts starts now
	}
	l.pos++
	ctx.Request(l.dest, m)
	return l.pos
}

// check pings the destination when something has been unanswered for
// StallTimeout (at most once per StallTimeout), and writes everything off
// after AckTimeout of silence.
func (l *link) check(ctx actor.Context) {
	oldest := l.oldest()
	if oldest.IsZero() {
		return
	}
	now := time.Now()
	quiet := now.Sub(l.heard)
	switch {
	case l.creditTimeout > 0 && quiet >= l.creditTimeout:
		// Not even a pong for AckTimeout: the destination is gone or
		// cut off. Everything unanswered is lost; the credits come back.
		l.resets++
		l.settle(ctx, l.pos+1)
		l.hear(now)
	case l.stallTimeout > 0 && now.Sub(oldest) >= l.stallTimeout && now.Sub(l.pinged) >= l.stallTimeout:
		l.ping(ctx)
	}
}

func (l *link) ping(ctx actor.Context) {
	l.pings++
	l.pinged = time.Now()
	l.pos++ // the ping's own place: everything before it has a lower one
	ctx.Request(l.dest, &LinkPing{Mark: l.pos})
	l.arm()
}

// settle ends the wait for what was sent before mark: what is still
// unanswered was lost, and its streams' workers are told.
func (l *link) settle(ctx actor.Context, mark uint64) {
	lost := map[string]bool{}
	kept := l.flight[:0]
	for _, c := range l.flight {
		if c.pos < mark {
			lost[c.worker] = true
			continue
		}
		kept = append(kept, c)
	}
	clear(l.flight[len(kept):])
	l.flight = kept
	for id, s := range l.streams {
		if s.ctl != 0 && s.ctl < mark || len(s.waiting) > 0 && s.waiting[0].pos < mark {
			lost[id] = true
		}
	}
	for id := range lost {
		if s, ok := l.streams[id]; ok {
			l.lose(ctx, s)
		}
	}
	l.pump(ctx)
}

// lose gives a stream's unanswered and queued frames up and tells its
// worker to resync.
func (l *link) lose(ctx actor.Context, s *linkStream) {
	for _, f := range s.queue {
		l.queued -= len(f.data)
	}
	s.queue, s.waiting, s.ctl, s.lost = nil, nil, 0, true
	l.losses++
	ctx.Send(s.pid, &linkLost{link: l.self})
}

// control sends a worker's resync message after its stream's chunks.
func (l *link) control(ctx actor.Context, m *linkControl) {
	s := l.stream(m.worker, m.workerPID)
	for _, f := range s.queue {
		l.queued -= len(f.data)
	}
	s.queue, s.lost = nil, false
	s.ctlResync, s.ctlSeq = false, 0
	if r, ok := m.msg.(*Resync); ok {
		s.ctlResync, s.ctlSeq = true, r.Seq
	}
	s.ctl, s.ctlAt = l.send(ctx, m.msg), time.Now()
	l.arm()
}

// reply takes an answer from the destination: it settles what it answers
// and forwards it to its worker.
func (l *link) reply(ctx actor.Context, pm Message) {
	var (
		worker   string
		resynced bool // an answer to the stream's resync message
	)
	switch r := pm.(type) {
	case *ChunkAck:
		for i, c := range l.flight {
			if c.worker == r.Worker && c.epoch == r.Epoch && c.seq == r.Seq && c.index == r.Index {
				l.flight = append(l.flight[:i], l.flight[i+1:]...)
				break
			}
		}
		l.pump(ctx)
		return
	case *LinkPong:
		l.settle(ctx, r.Mark)
		return
	// The rules below err on one side: an answer that might be to
	// something else leaves it unanswered, so a loss is never missed; at
	// worst the worker resyncs once more than needed.
	case *Ack:
		worker = r.Worker
		if s, ok := l.streams[worker]; ok {
			// The replica holds r.Seq: every frame up to it is settled.
			s.waiting = slices.DeleteFunc(s.waiting, func(u unanswered) bool { return u.seq <= r.Seq })
			if s.ctlResync && r.Seq == s.ctlSeq {
				s.ctl = 0 // a comparison's Done, applied
			}
		}
	case *NeedKeyframe:
		// A frame's answer, or a broken chunk stream's: the frames stay
		// waiting until the keyframe that follows is acknowledged.
		worker = r.Worker
		if s, ok := l.streams[worker]; ok && s.ctlResync {
			s.ctl = 0 // the comparison cannot go on
		}
	case *Fenced:
		worker = r.Worker
		if s, ok := l.streams[worker]; ok {
			s.waiting, s.ctl = s.waiting[:0], 0
		}
	case *ResyncStatus:
		worker, resynced = r.Worker, true
	case *Resync:
		worker, resynced = r.Worker, true
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
	s, ok := l.streams[worker]
	if !ok {
		return
	}
	if resynced {
		s.ctl = 0
	}
	ctx.Send(s.pid, pm)
}

// stream returns worker's stream, starting a new one when the worker is
// new or another incarnation (its old stream's queue is dropped).
func (l *link) stream(worker string, pid *actor.PID) *linkStream {
	s, ok := l.streams[worker]
	if ok && samePID(s.pid, pid) {
		return s
	}
	if ok {
		for _, f := range s.queue {
			l.queued -= len(f.data)
		}
	} else {
		l.order = append(l.order, worker)
	}
	s = &linkStream{worker: worker, pid: pid}
	l.streams[worker] = s
	return s
}

func (l *link) enqueue(m *linkFrame) {
	s := l.stream(m.worker, m.workerPID)
	if m.kind == delta.FrameKeyframe {
		s.lost = false
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
	} else if s.lost {
		return // sent before the worker learned of the loss; it resyncs
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
	for len(l.flight) < l.maxInFlight {
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
		var pos uint64
		if l.drop != nil && l.drop(c) {
			if !l.unanswered() {
				l.hear(time.Now())
			}
			l.pos++ // sent, and lost on the way
			pos = l.pos
		} else {
			pos = l.send(ctx, c)
		}
		now := time.Now()
		l.flight = append(l.flight, flightChunk{worker: c.Worker, epoch: c.Epoch, seq: c.Seq, index: c.Index, pos: pos, at: now})
		if f.next == f.total {
			s.waiting = append(s.waiting, unanswered{seq: f.seq, pos: pos, at: now})
		}
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

// arm starts the timer while something is unanswered: it ticks every
// half StallTimeout (or AckTimeout without one).
func (l *link) arm() {
	if l.timer != nil || !l.unanswered() {
		return
	}
	d := l.stallTimeout / 2
	if d <= 0 {
		d = l.creditTimeout
	}
	if d <= 0 {
		return
	}
	system, self := l.actorSystem, l.self
	l.timer = time.AfterFunc(d, func() { system.Root.Send(self, &linkTick{}) })
}
