package actors

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
)

// recorder stands in for a replica_handler: it records the chunks it gets
// and does not acknowledge them; the test hands credits back itself.
type recorder struct {
	mu     sync.Mutex
	chunks []*Chunk
	acked  int // chunks credited by the test
	pid    *actor.PID
}

// next returns the ack of the oldest chunk not acknowledged yet.
func (r *recorder) next() *ChunkAck {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.chunks[r.acked]
	r.acked++
	return &ChunkAck{Worker: c.Worker, Epoch: c.Epoch, Seq: c.Seq, Index: c.Index}
}

func (r *recorder) spawn(sys *actor.ActorSystem) *actor.PID {
	r.pid = sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if ch, ok := c.Message().(*Chunk); ok {
			r.mu.Lock()
			r.chunks = append(r.chunks, ch)
			r.mu.Unlock()
		}
	}))
	return r.pid
}

func (r *recorder) len() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.chunks) }

func (r *recorder) all() []*Chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Chunk(nil), r.chunks...)
}

func testLink(t *testing.T, sys *actor.ActorSystem, dest *actor.PID, chunkSize, inFlight int) *actor.PID {
	rc := DefaultReplicationConfig()
	rc.ChunkSize, rc.MaxInFlightChunks, rc.AckTimeout, rc.StallTimeout = chunkSize, inFlight, time.Hour, time.Hour
	l, _, err := linkTo(sys, dest, &rc)
	require.NoError(t, err)
	again, _, err := linkTo(sys, dest, &rc)
	require.NoError(t, err)
	require.True(t, samePID(l, again), "one link per destination")
	return l
}

// credit acknowledges one chunk and waits for the link to send the next.
func credit(t *testing.T, sys *actor.ActorSystem, link *actor.PID, rec *recorder, want int) {
	sys.Root.Send(link, rec.next())
	waitFor(t, "the next chunk", func() bool { return rec.len() >= want })
}

func TestLinkSmallFrameOvertakesKeyframe(t *testing.T) {
	sys := newSystem(t)
	rec := &recorder{}
	link := testLink(t, sys, rec.spawn(sys), 10, 2)
	workerA, workerB := actor.NewPID("local", "a"), actor.NewPID("local", "b")
	big := bytes.Repeat([]byte{'k'}, 1000) // 100 chunks
	sys.Root.Send(link, &linkFrame{worker: "a", workerPID: workerA, epoch: 1, seq: 1, kind: delta.FrameKeyframe, data: big})
	sys.Root.Send(link, &linkFrame{worker: "b", workerPID: workerB, epoch: 1, seq: 7, kind: delta.FrameDelta, data: []byte("small")})
	waitFor(t, "two chunks in flight", func() bool { return rec.len() == 2 })
	for n := 3; n <= 101; n++ {
		credit(t, sys, link, rec, n)
	}
	got := rec.all()
	require.Len(t, got, 101)
	require.Equal(t, "b", got[2].Worker, "the one-chunk delta goes at the first free credit, not after 100 chunks")
	var joined []byte
	next := uint32(0)
	for _, c := range got {
		if c.Worker == "a" {
			require.Equal(t, next, c.Index, "a frame's chunks go in order")
			require.Equal(t, uint32(100), c.Total)
			next++
			joined = append(joined, c.Bytes...)
		}
	}
	require.Equal(t, big, joined)
}

func TestLinkDoesNotStarveKeyframe(t *testing.T) {
	sys := newSystem(t)
	rec := &recorder{}
	link := testLink(t, sys, rec.spawn(sys), 10, 1)
	big := bytes.Repeat([]byte{'k'}, 1000)
	sys.Root.Send(link, &linkFrame{worker: "a", workerPID: actor.NewPID("local", "a"), epoch: 1, seq: 1, kind: delta.FrameKeyframe, data: big})
	for i := range 3 {
		w := string(rune('b' + i))
		for s := range 10 {
			sys.Root.Send(link, &linkFrame{worker: w, workerPID: actor.NewPID("local", w), epoch: 1, seq: uint64(s + 2), kind: delta.FrameDelta, data: []byte("d")})
		}
	}
	waitFor(t, "the first chunk", func() bool { return rec.len() == 1 })
	for n := 2; n <= 41; n++ {
		credit(t, sys, link, rec, n)
	}
	keyChunks := 0
	for _, c := range rec.all() {
		if c.Worker == "a" {
			keyChunks++
		}
	}
	require.GreaterOrEqual(t, keyChunks, 10, "the keyframe keeps getting turns among 30 small frames")
}

func TestLinkKeyframeSupersedesQueuedFrames(t *testing.T) {
	sys := newSystem(t)
	rec := &recorder{}
	link := testLink(t, sys, rec.spawn(sys), 10, 1)
	w := actor.NewPID("local", "a")
	sys.Root.Send(link, &linkFrame{worker: "a", workerPID: w, epoch: 1, seq: 1, kind: delta.FrameKeyframe, data: bytes.Repeat([]byte{1}, 30)})
	sys.Root.Send(link, &linkFrame{worker: "a", workerPID: w, epoch: 1, seq: 2, kind: delta.FrameDelta, data: []byte{2}})
	sys.Root.Send(link, &linkFrame{worker: "a", workerPID: w, epoch: 1, seq: 3, kind: delta.FrameKeyframe, data: []byte{3}})
	waitFor(t, "the first chunk", func() bool { return rec.len() == 1 })
	for n := 2; n <= 4; n++ {
		credit(t, sys, link, rec, n)
	}
	var seqs []uint64
	for _, c := range rec.all() {
		seqs = append(seqs, c.Seq)
	}
	require.Equal(t, []uint64{1, 1, 1, 3}, seqs, "the started keyframe completes; the queued delta is dropped")
	st, err := LinkStatus(sys, rec.pid, time.Minute)
	require.NoError(t, err)
	require.Zero(t, st.QueuedBytes)
	require.Equal(t, 1, st.Streams)
	require.Equal(t, uint64(4), st.ChunksSent)
	_, err = LinkStatus(sys, actor.NewPID("elsewhere:1", "nobody"), time.Minute)
	require.Error(t, err)
}

func TestReassembler(t *testing.T) {
	c := func(w string, seq uint64, i, n uint32, b string) *Chunk {
		return &Chunk{Worker: w, Epoch: 1, Seq: seq, Index: i, Total: n, Bytes: []byte(b)}
	}
	type step struct {
		chunk   *Chunk
		frame   string // the frame completed, "" for none
		problem bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 1, 1, 3, "cd"), "", false}, {c("w", 1, 2, 3, "e"), "abcde", false}}},
		{"single chunk", []step{{c("w", 1, 0, 1, "xyz"), "xyz", false}}},
		{"no start", []step{{c("w", 1, 1, 3, "cd"), "", true}}},
		// A new frame's first chunk: the link gave the partial frame up.
		{"restart mid-frame", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 2, 0, 2, "AB"), "", false}, {c("w", 2, 1, 2, "C"), "ABC", false}}},
		{"restart by a later chunk", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 2, 1, 2, "C"), "", true}}},
		{"total changes", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 1, 1, 4, "cd"), "", true}, {c("w", 1, 2, 4, "e"), "", true}}},
		{"chunk skipped", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 1, 2, 3, "e"), "", true}}},
		{"chunk repeated", []step{{c("w", 1, 0, 3, "ab"), "", false}, {c("w", 1, 0, 3, "ab"), "", true}}},
		{"workers interleave", []step{{c("w", 1, 0, 2, "ab"), "", false}, {c("v", 4, 0, 2, "12"), "", false}, {c("w", 1, 1, 2, "c"), "abc", false}, {c("v", 4, 1, 2, "3"), "123", false}}},
		{"frame over the per-worker bound", []step{{c("w", 1, 0, 3, "123456"), "", false}, {c("w", 1, 1, 3, "789012"), "", true}}},
		{"single chunk over the bound", []step{{c("w", 1, 0, 1, "12345678901"), "", true}}},
		{"over the total bound", []step{{c("w", 1, 0, 2, "123456"), "", false}, {c("v", 1, 0, 2, "123456"), "", false}, {c("u", 1, 0, 2, "123456"), "", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newReassembler(10, 15)
			for i, s := range tt.steps {
				frame, problem := a.add(s.chunk)
				require.Equal(t, s.frame, string(frame), "step %d frame", i)
				require.Equal(t, s.problem, problem != "", "step %d problem %q", i, problem)
				held := 0
				for _, p := range a.parts {
					held += len(p.buf)
				}
				require.Equal(t, held, a.total, "step %d: the byte count follows the partial frames", i)
				require.LessOrEqual(t, a.total, 15)
			}
		})
	}
}
