package demo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// Messages a demo worker understands. They are local messages: the node's
// step driver sends them to its own workers.
const (
	// StepMsg makes the worker do one workload step (and replicate).
	StepMsg = term.Atom("step")
	// SyncMsg asks for {Seq, Hash} of the worker's current state without
	// changing it, so nothing is replicated: after all steps sent before it
	// have been handled, the answer is exactly what the replica must reach.
	SyncMsg = term.Atom("sync")
)

// ErrNotWorkload is returned when a replica handed to a demo worker on
// takeover is not a workload state.
var ErrNotWorkload = errors.New("demo: replica is not a workload state")

// Worker is the behaviour of a demo worker: its state is the reference
// workload's state of its variant and every StepMsg applies one seeded step.
// The newest state is also kept where the node's status service can read it.
type Worker struct {
	id      string
	variant workload.Variant
	seed    uint64

	mu      sync.Mutex
	stepper *workload.Stepper

	version  atomic.Int64 // Version field of the newest state
	restored atomic.Int64 // Version of the replica it was restored from; 0 when started fresh
}

var (
	_ actors.Behaviour = (*Worker)(nil)
	_ actors.Restorer  = (*Worker)(nil)
)

// NewWorker returns the behaviour of worker id: variant's state, steps from
// a generator seeded with seed and the id (so workers differ, and a run with
// the same seed repeats).
func NewWorker(id string, v workload.Variant, seed uint64) *Worker {
	return &Worker{id: id, variant: v, seed: seed ^ idHash(id)}
}

// Init builds the worker's initial state (the workload's state of worker
// number idHash(id) mod 1e6).
func (w *Worker) Init(ctx *actors.WorkerContext) (any, error) {
	w.mu.Lock()
	w.stepper = workload.NewStepper(w.variant, w.seed)
	w.mu.Unlock()
	st := workload.State(w.variant, int(idHash(w.id)%1_000_000))
	w.version.Store(versionOf(st))
	return st, nil
}

// Restore starts from the replica's state after a takeover, with a step
// generator seeded anew for the new epoch.
func (w *Worker) Restore(ctx *actors.WorkerContext, replica term.Term) (any, error) {
	if err := CheckState(replica); err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.stepper = workload.NewStepper(w.variant, w.seed^ctx.Epoch()*0x9e3779b97f4a7c15)
	w.mu.Unlock()
	v := versionOf(replica.(*term.Tuple))
	w.version.Store(v)
	w.restored.Store(v)
	return replica, nil
}

// Handle applies one step for StepMsg and answers SyncMsg; other messages
// are ignored (the state is returned unchanged, so nothing is replicated).
func (w *Worker) Handle(ctx *actors.WorkerContext, state any, msg any) (any, any, error) {
	s, ok := state.(*term.Tuple)
	if !ok {
		return nil, nil, fmt.Errorf("%w: state is %T", ErrNotWorkload, state)
	}
	switch msg {
	case StepMsg:
		next, err := w.step(s)
		if err != nil {
			return nil, nil, err
		}
		w.version.Store(versionOf(next))
		return next, nil, nil
	case SyncMsg:
		return s, term.NewTuple(term.Int(int64(ctx.Seq())), hashTerm(s), term.Int(int64(ctx.Epoch()))), nil
	}
	return s, nil, nil
}

// step applies one workload step; a state whose inner shape Step does not
// expect (a corrupt replica) is an error, not a crash of the node.
func (w *Worker) step(s *term.Tuple) (next *term.Tuple, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			next, err = nil, fmt.Errorf("%w: step: %v", ErrNotWorkload, r)
		}
	}()
	return w.stepper.Step(s, time.Now().UnixMilli()), nil
}

// Version returns the Version field of the worker's newest state: 1 after
// Init, +1 at each step. A fresh worker replicates Init's state as Seq 1 and
// each step as the next, so its acknowledged Seq is an acknowledged Version.
func (w *Worker) Version() int64 { return w.version.Load() }

// RestoredVersion returns the Version of the replica the worker was restored
// from on takeover, or 0 for a worker started fresh.
func (w *Worker) RestoredVersion() int64 { return w.restored.Load() }

// versionOf reads the Version of a workload state (CheckState'd).
func versionOf(s *term.Tuple) int64 {
	v, _ := s.At(workload.FieldVersion).(term.Int)
	return int64(v)
}

// CheckState reports whether t has the shape Stepper.Step needs:
// {worker_state, W, Version, TimestampMs, Sessions, Counters, Blob}.
func CheckState(t term.Term) error {
	s, ok := t.(*term.Tuple)
	if !ok || s.Len() != 7 {
		return fmt.Errorf("%w: %s", ErrNotWorkload, kindOf(t))
	}
	if tag, _ := s.Tag(); tag != "worker_state" {
		return fmt.Errorf("%w: tag %s", ErrNotWorkload, term.Format(s.At(0)))
	}
	if _, ok := s.At(workload.FieldVersion).(term.Int); !ok {
		return fmt.Errorf("%w: version is %s", ErrNotWorkload, kindOf(s.At(workload.FieldVersion)))
	}
	if _, ok := s.At(workload.FieldSessions).(*term.List); !ok {
		return fmt.Errorf("%w: sessions are %s", ErrNotWorkload, kindOf(s.At(workload.FieldSessions)))
	}
	if _, ok := s.At(workload.FieldCounters).(*term.Map); !ok {
		return fmt.Errorf("%w: counters are %s", ErrNotWorkload, kindOf(s.At(workload.FieldCounters)))
	}
	if _, ok := s.At(workload.FieldBlob).(*term.Binary); !ok {
		return fmt.Errorf("%w: blob is %s", ErrNotWorkload, kindOf(s.At(workload.FieldBlob)))
	}
	return nil
}

func kindOf(t term.Term) string {
	if t == nil {
		return "nil"
	}
	return t.Kind().String()
}

// hashTerm is term.Hash as an Erlang integer (a big one above 2^63-1).
func hashTerm(t term.Term) term.Term {
	h, err := term.Marshal(term.Hash(t))
	if err != nil {
		// Marshal of a uint64 cannot fail.
		return term.Int(0)
	}
	return h
}

// idHash is a stable 64-bit hash of a worker id.
func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
