package actors

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/term"
)

// DefaultReplicaTable is the name under which a replica_handler registers
// its table in ReceiverConfig.Registry when ReceiverConfig.Table is empty.
const DefaultReplicaTable term.Atom = "enode_replicas"

// ErrReplicaRow is returned by ReplicaView reads for a row that is not a
// replica record (the table was written by something else than a
// ReplicaTable).
var ErrReplicaRow = errors.New("actors: malformed replica row")

// tagReplica is the record tag of a replica row.
const tagReplica term.Atom = "enode_replica"

// replicaKeyPos is the 0-based position of the worker id in a row.
const replicaKeyPos = 1

// The row of one worker's replica, an Erlang record kept in a protected
// ordered_set keyed on the worker id (keypos 2 in Erlang's numbering):
//
//	{enode_replica, Worker :: binary, Owner :: binary, Epoch, Seq, State,
//	 UpdatedUnixNano, Keyframes, Deltas, Bytes}
//
// An Erlang node reading the table sees plain terms; the order is the
// workers' byte order, so listings come out sorted.
const replicaArity = 10

// replicaRow returns r as a row.
func replicaRow(r Replica) *term.Tuple {
	var updated int64
	if !r.Updated.IsZero() {
		updated = r.Updated.UnixNano()
	}
	state := r.State
	if state == nil {
		state = term.Undefined
	}
	return term.Record(tagReplica, term.BinaryString(r.Worker), term.BinaryString(r.Owner),
		term.Uint(r.Epoch), term.Uint(r.Seq), state, term.Int(updated),
		term.Uint(r.Keyframes), term.Uint(r.Deltas), term.Uint(r.Bytes))
}

// rowReplica reads a row back; withState false leaves State nil.
func rowReplica(t *term.Tuple, withState bool) (Replica, error) {
	if t == nil || t.Len() != replicaArity || t.At(0) != tagReplica {
		return Replica{}, fmt.Errorf("%w: not an %s record of arity %d", ErrReplicaRow, tagReplica, replicaArity)
	}
	d := fieldDecoder{tup: t, tag: tagReplica}
	r := Replica{Worker: d.str(1), Owner: d.str(2), Epoch: d.u64(3), Seq: d.u64(4),
		Keyframes: d.u64(7), Deltas: d.u64(8), Bytes: d.u64(9)}
	switch ns := t.At(6).(type) {
	case term.Int:
		if ns != 0 {
			r.Updated = time.Unix(0, int64(ns))
		}
	default:
		d.fail(6, "want an integer, got "+kindOf(t.At(6)))
	}
	if withState && t.At(5) != term.Undefined {
		r.State = t.At(5)
	}
	if d.err != nil {
		return Replica{}, fmt.Errorf("%w: %w", ErrReplicaRow, d.err)
	}
	return r, nil
}

// ReplicaTable is a Store in an ets table: a protected ordered_set with one
// row per worker, written only by its owner (the replica_handler) and read
// by anyone holding its ReplicaView, without going through the handler's
// mailbox. The table lives outside the handler actor, so a handler that
// crashes and restarts finds every replica where it was.
//
// The Store methods are for the handler's goroutine; View hands out the
// read side, which is safe for concurrent use. Seal, for the node that takes
// workers over, is safe to call from any goroutine.
//
// Sealing. A takeover must start each worker from a state at least as new
// as any state this table acknowledged for it. Reading the view alone does
// not promise that: a frame the handler is applying (or has queued) when
// the view is read is stored and acknowledged just after. Seal closes that
// window: under one lock with Put, it reads the rows of a dead owner and
// raises each worker's epoch floor past the row's epoch; from then on Put
// refuses a state below the floor with a *SealedError (the handler answers
// Fenced, never Ack). So every state the table acknowledges for that epoch
// is in what Seal returned. Floors only grow and stay for the table's life
// (one integer per worker taken over here), also after the row is dropped.
type ReplicaTable struct {
	owner *ets.Owner
	view  *ets.View
	// byHandler marks the table ReceiverConfig.Validate made: the
	// replica_handler deletes it when it stops for good.
	byHandler bool

	mu     sync.Mutex        // orders Put against Seal
	floors map[string]uint64 // worker -> lowest epoch Put accepts; under mu
}

// SealedError is Put's refusal of a state whose epoch is below the floor
// Seal set for its worker: the worker runs elsewhere from a sealed replica
// with a higher epoch, and this state must not be acknowledged.
type SealedError struct {
	Worker string
	Epoch  uint64 // the state's epoch
	Floor  uint64 // the lowest epoch accepted (the taken-over copy's)
}

func (e *SealedError) Error() string {
	return fmt.Sprintf("actors: replica of %q sealed: epoch %d below %d", e.Worker, e.Epoch, e.Floor)
}

var _ Store = (*ReplicaTable)(nil)

// NewReplicaTable creates a replica table named name in reg (DefaultReplicaTable
// when name is empty), or an unnamed one when reg is nil. The caller owns
// it: pass it as ReceiverConfig.Store and Close it when the handler is done.
func NewReplicaTable(reg *ets.Registry, name term.Atom) (*ReplicaTable, error) {
	opts := ets.Options{Kind: ets.OrderedSet, Access: ets.Protected, KeyPos: replicaKeyPos}
	var (
		o   *ets.Owner
		err error
	)
	if reg != nil {
		if name == "" {
			name = DefaultReplicaTable
		}
		o, err = reg.New(name, opts)
	} else {
		o, err = ets.New(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("actors: replica table: %w", err)
	}
	v, err := o.View()
	if err != nil {
		return nil, fmt.Errorf("actors: replica table: %w", err)
	}
	return &ReplicaTable{owner: o, view: v}, nil
}

// Get returns the replica of worker; a row that cannot be read counts as
// absent (it is replaced by the next keyframe).
func (t *ReplicaTable) Get(worker string) (Replica, bool) {
	r, ok, err := t.View().Get(worker)
	if err != nil {
		return Replica{}, false
	}
	return r, ok
}

// Put stores r under r.Worker. It fails once the table is deleted.
func (t *ReplicaTable) Put(r Replica) error {
	if r.Worker == "" {
		return fmt.Errorf("%w: replica without a worker id", ErrReplicaRow)
	}
	row := replicaRow(r) // built outside the lock
	t.mu.Lock()
	defer t.mu.Unlock()
	if floor := t.floors[r.Worker]; r.Epoch < floor {
		return &SealedError{Worker: r.Worker, Epoch: r.Epoch, Floor: floor}
	}
	if err := t.owner.Insert(row); err != nil {
		return fmt.Errorf("actors: replica table: %w", err)
	}
	return nil
}

// Seal returns the replicas whose owner is owner, with their states, sorted
// by worker id, and from then on refuses (in Put) every state of those
// workers with an epoch at or below the returned replica's: what a node
// calls before it starts a dead owner's workers from these replicas with
// epoch+1. A replica sealed already (by SealWorker: another node is taking
// that worker over from that epoch) is left out, so that one worker is
// taken over once per epoch. Safe for concurrent use with the handler's Put.
func (t *ReplicaTable) Seal(owner string) ([]Replica, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs, err := t.View().ByOwner(owner)
	if err != nil {
		return nil, err
	}
	out := rs[:0]
	for _, r := range rs {
		if r.Epoch < t.floors[r.Worker] {
			continue
		}
		t.raiseFloorLocked(r.Worker, r.Epoch+1)
		out = append(out, r)
	}
	return out, nil
}

// SealWorker refuses (in Put) every state of worker with an epoch at or
// below epoch from now on, and returns the replica of worker as it stands
// (false when there is none): what a node taking worker over with epoch+1
// asks of the other nodes' tables, so that a stale copy still running
// (paused or partitioned, not dead) is not acknowledged by them either.
// Safe for concurrent use with the handler's Put.
func (t *ReplicaTable) SealWorker(worker string, epoch uint64) (Replica, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok, err := t.View().Get(worker)
	if err != nil {
		return Replica{}, false, err
	}
	t.raiseFloorLocked(worker, epoch+1)
	return r, ok, nil
}

func (t *ReplicaTable) raiseFloorLocked(worker string, floor uint64) {
	if t.floors == nil {
		t.floors = map[string]uint64{}
	}
	t.floors[worker] = max(t.floors[worker], floor)
}

// Delete removes the replica of worker and reports whether it existed.
func (t *ReplicaTable) Delete(worker string) bool {
	ok, err := t.owner.Delete(term.BinaryString(worker))
	return err == nil && ok
}

// Range calls fn for every readable replica, in worker order, until fn
// returns false.
func (t *ReplicaTable) Range(fn func(Replica) bool) {
	for row := range t.view.All() {
		r, err := rowReplica(row, true)
		if err != nil {
			continue
		}
		if !fn(r) {
			return
		}
	}
}

// View returns the read-only side of the table, for status, takeover and
// readers on any goroutine.
func (t *ReplicaTable) View() *ReplicaView { return &ReplicaView{v: t.view} }

// Close deletes the table (its name is free again and every view reads
// ErrDeleted). Closing twice is harmless.
func (t *ReplicaTable) Close() error {
	if err := t.owner.DeleteTable(); err != nil && !errors.Is(err, ets.ErrDeleted) {
		return fmt.Errorf("actors: replica table: %w", err)
	}
	return nil
}

// ReplicaView reads a replica table without going through the
// replica_handler: each read sees a whole row as the handler last wrote it
// (rows are immutable tuples swapped atomically), never a half-updated one.
// It is safe for concurrent use. Get one from ReplicaTable.View, or by name
// with OpenReplicaView.
type ReplicaView struct{ v *ets.View }

// OpenReplicaView returns the view of the replica table registered as name
// in reg (DefaultReplicaTable when name is empty): how node's status and
// takeover code find the table of the replica_handler it configured with
// ReceiverConfig.Registry.
func OpenReplicaView(reg *ets.Registry, name term.Atom) (*ReplicaView, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registry", ErrConfig)
	}
	if name == "" {
		name = DefaultReplicaTable
	}
	v, err := reg.View(name)
	if err != nil {
		return nil, fmt.Errorf("actors: replica table: %w", err)
	}
	return &ReplicaView{v: v}, nil
}

// Get returns the replica of worker, with its state.
func (rv *ReplicaView) Get(worker string) (Replica, bool, error) {
	row, ok, err := rv.v.Lookup(term.BinaryString(worker))
	if err != nil || !ok {
		return Replica{}, false, err
	}
	r, err := rowReplica(row, true)
	if err != nil {
		return Replica{}, false, err
	}
	return r, true, nil
}

// List returns every replica sorted by worker id; withState false leaves
// State nil (what a status page wants of multi-megabyte states).
func (rv *ReplicaView) List(withState bool) ([]Replica, error) {
	return rv.collect(func(Replica) bool { return true }, withState)
}

// ByOwner returns the replicas whose owner is owner, with their states,
// sorted by worker id: what to start on takeover of owner.
func (rv *ReplicaView) ByOwner(owner string) ([]Replica, error) {
	return rv.collect(func(r Replica) bool { return r.Owner == owner }, true)
}

// Len returns the number of replicas.
func (rv *ReplicaView) Len() (int, error) { return rv.v.Size() }

// Table returns the underlying ets view, for ets-level reads (Select,
// Fold, First/Next paging).
func (rv *ReplicaView) Table() *ets.View { return rv.v }

func (rv *ReplicaView) collect(keep func(Replica) bool, withState bool) ([]Replica, error) {
	if _, err := rv.v.Size(); err != nil { // deleted: say so rather than list nothing
		return nil, err
	}
	var out []Replica
	for row := range rv.v.All() {
		r, err := rowReplica(row, withState)
		if err != nil {
			return nil, err
		}
		if keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}
