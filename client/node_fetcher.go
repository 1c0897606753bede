package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// NodeFetcher reads replicas from the spare nodes of a cluster, through a
// node of it: the replica service (node.ReplicaServiceName, started with
// node.StartReplicaService) of every live spare is asked, and the newest
// replica wins (after a change of backup the old spare may still hold an
// older one). A spare that is the node itself is read from its table
// directly. States too large for one message are read in pieces.
type NodeFetcher struct {
	n *node.Node
}

var _ Fetcher = (*NodeFetcher)(nil)

// NewNodeFetcher returns a Fetcher reading through n.
func NewNodeFetcher(n *node.Node) *NodeFetcher { return &NodeFetcher{n: n} }

// maxMoves bounds how many times a piecewise read starts again because the
// replica moved on under it.
const maxMoves = 4

// Fetch asks every live spare for worker's replica and returns the newest
// answer: the state, or "unchanged" (nil State) when no spare has one
// newer than have. Errors: ErrNoSpare without a live spare,
// ErrUnknownWorker when every spare answered that it has no replica of
// the worker, ErrTimeout when ctx ended, ErrUnavailable (wrapping the
// cause) when no spare could be read, ErrBadReply for a malformed answer.
func (f *NodeFetcher) Fetch(ctx context.Context, worker string, have Version) (Entry, error) {
	if worker == "" {
		return Entry{}, fmt.Errorf("%w: empty worker id", ErrUnknownWorker)
	}
	var spares []string
	for _, m := range f.n.Members() {
		if m.Role == node.RoleSpare && m.Alive {
			spares = append(spares, m.Name)
		}
	}
	if len(spares) == 0 {
		return Entry{}, fmt.Errorf("%w: reading %s through %s", ErrNoSpare, worker, f.n.Name())
	}
	slices.Sort(spares)
	type answer struct {
		e     Entry
		found bool
		err   error
	}
	answers := make([]answer, len(spares))
	var wg sync.WaitGroup
	for i, s := range spares {
		wg.Go(func() {
			e, found, err := f.fetchFrom(ctx, s, worker, have)
			answers[i] = answer{e, found, err}
		})
	}
	wg.Wait()
	var best *Entry
	var firstErr error
	for i := range answers {
		a := &answers[i]
		switch {
		case a.err != nil:
			if firstErr == nil {
				firstErr = a.err
			}
		case a.found && (best == nil || a.e.Version.Compare(best.Version) > 0 ||
			a.e.Version == best.Version && best.State == nil && a.e.State != nil):
			best = &a.e
		}
	}
	switch {
	case best != nil:
		return *best, nil
	case firstErr == nil:
		return Entry{}, fmt.Errorf("%w: %s: no replica on %v", ErrUnknownWorker, worker, spares)
	case errors.Is(firstErr, ErrBadReply):
		return Entry{}, firstErr
	case errors.Is(ctx.Err(), context.Canceled):
		return Entry{}, fmt.Errorf("client: %s: %w: %w", worker, ctx.Err(), firstErr)
	case ctx.Err() != nil || errors.Is(firstErr, node.ErrTimeout):
		return Entry{}, fmt.Errorf("%w: %s: %w", ErrTimeout, worker, firstErr)
	}
	return Entry{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, worker, firstErr)
}

// fetchFrom reads worker's replica from one spare; found is false when
// the spare keeps none.
func (f *NodeFetcher) fetchFrom(ctx context.Context, spare, worker string, have Version) (Entry, bool, error) {
	if spare == f.n.Name() {
		r, ok, err := f.n.Replica(worker)
		if err != nil {
			return Entry{}, false, fmt.Errorf("%w: %s: local replica table: %w", ErrBadReply, worker, err)
		}
		if !ok {
			return Entry{}, false, nil
		}
		e := Entry{Worker: worker, Owner: r.Owner, Source: spare, Version: Version{r.Epoch, r.Seq}}
		if have.IsZero() || e.Version.Compare(have) > 0 {
			e.State = r.State
		}
		return e, true, nil
	}
	for range maxMoves {
		e, found, err := f.readRemote(ctx, spare, worker, have)
		if !errors.Is(err, errMoved) {
			return e, found, err
		}
	}
	return Entry{}, false, fmt.Errorf("%w: %s on %s kept moving during %d piecewise reads", ErrUnavailable, worker, spare, maxMoves)
}

// errMoved says the replica moved on during a piecewise read.
var errMoved = errors.New("client: replica moved on")

var (
	atomGetReplica = term.Atom("get_replica")
	atomGetChunk   = term.Atom("get_chunk")
	atomReplica    = term.Atom("replica")
	atomUnchanged  = term.Atom("unchanged")
	atomChunk      = term.Atom("chunk")
	atomError      = term.Atom("error")
	atomNotFound   = term.Atom("not_found")
	atomMoved      = term.Atom("moved")
)

// reply is a replica service's answer to get_replica, parsed.
type reply struct {
	found   bool   // false: {error, not_found}
	moved   bool   // {error, moved}
	owner   string // the rest is set for {replica, ...} and {unchanged, ...}
	version Version
	size    uint64       // the whole encoded state's length; 0 for unchanged
	first   *term.Binary // the first piece of the encoded state; nil for unchanged
}

// parseReply reads the answer res to a get_replica of worker id.
func parseReply(id *term.Binary, res *term.Tuple) (reply, error) {
	tag, _ := res.Tag()
	switch {
	case tag == atomError && res.Len() == 2 && res.At(1) == atomNotFound:
		return reply{}, nil
	case tag == atomError && res.Len() == 2 && res.At(1) == atomMoved:
		return reply{moved: true}, nil
	case tag == atomUnchanged && res.Len() == 4:
		epoch, ok1 := term.UintOf(res.At(2))
		seq, ok2 := term.UintOf(res.At(3))
		if ok1 && ok2 && term.Equal(res.At(1), id) {
			return reply{found: true, version: Version{epoch, seq}}, nil
		}
	case tag == atomReplica && res.Len() == 7:
		owner, ok1 := res.At(2).(*term.Binary)
		epoch, ok2 := term.UintOf(res.At(3))
		seq, ok3 := term.UintOf(res.At(4))
		size, ok4 := term.UintOf(res.At(5))
		first, ok5 := res.At(6).(*term.Binary)
		if ok1 && ok2 && ok3 && ok4 && ok5 && term.Equal(res.At(1), id) && owner.IsBinary() && first.IsBinary() &&
			uint64(first.Len()) <= size && size <= maxStateSize && (first.Len() > 0 || size == 0) {
			return reply{found: true, owner: string(owner.Bytes()), version: Version{epoch, seq}, size: size, first: first}, nil
		}
	}
	return reply{}, fmt.Errorf("%w: %s", ErrBadReply, term.Format(res))
}

// maxStateSize bounds the size a replica answer may announce: the buffer
// for the state is allocated from it.
const maxStateSize = 1 << 31

// parsePiece reads the answer res to a get_chunk of worker id at offset
// off, for a state of size bytes.
func parsePiece(id *term.Binary, res *term.Tuple, off, size uint64) (*term.Binary, error) {
	if tag, _ := res.Tag(); tag == atomError && res.Len() == 2 && res.At(1) == atomMoved {
		return nil, errMoved
	}
	if tag, _ := res.Tag(); tag == atomChunk && res.Len() == 4 && term.Equal(res.At(1), id) {
		at, ok := term.UintOf(res.At(2))
		piece, isBin := res.At(3).(*term.Binary)
		if ok && isBin && piece.IsBinary() && at == off && piece.Len() > 0 && off+uint64(piece.Len()) <= size {
			return piece, nil
		}
	}
	return nil, fmt.Errorf("%w: piece at %d: %s", ErrBadReply, off, term.Format(res))
}

// readRemote does one read from a spare's replica service.
func (f *NodeFetcher) readRemote(ctx context.Context, spare, worker string, have Version) (Entry, bool, error) {
	to := node.ProcessID{Name: node.ReplicaServiceName, Node: spare}
	id := term.BinaryString(worker)
	req := term.NewTuple(atomGetReplica, id)
	if !have.IsZero() {
		req = term.NewTuple(atomGetReplica, id, term.Uint(have.Epoch), term.Uint(have.Seq))
	}
	res, err := f.call(ctx, to, req)
	if err != nil {
		return Entry{}, false, err
	}
	r, err := parseReply(id, res)
	switch {
	case err != nil:
		return Entry{}, false, fmt.Errorf("%s from %s: %w", worker, spare, err)
	case r.moved:
		return Entry{}, false, errMoved
	case !r.found:
		return Entry{}, false, nil
	case r.first == nil:
		return Entry{Worker: worker, Source: spare, Version: r.version}, true, nil
	}
	etf := make([]byte, 0, r.size)
	etf = r.first.AppendTo(etf)
	for uint64(len(etf)) < r.size {
		req := term.NewTuple(atomGetChunk, id, term.Uint(r.version.Epoch), term.Uint(r.version.Seq), term.Int(len(etf)))
		res, err := f.call(ctx, to, req)
		if err != nil {
			return Entry{}, false, err
		}
		piece, err := parsePiece(id, res, uint64(len(etf)), r.size)
		if err != nil {
			return Entry{}, false, fmt.Errorf("%s from %s: %w", worker, spare, err)
		}
		etf = piece.AppendTo(etf)
	}
	state, err := term.Decode(etf)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%w: %s from %s: state: %w", ErrBadReply, worker, spare, err)
	}
	return Entry{Worker: worker, Owner: r.owner, Source: spare, Version: r.version, State: state, Size: int(r.size)}, true, nil
}

// call does one Call to a spare's replica service and checks that the
// answer is a tuple.
func (f *NodeFetcher) call(ctx context.Context, to node.ProcessID, req term.Term) (*term.Tuple, error) {
	res, err := f.n.Call(ctx, to, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", to, err)
	}
	t, ok := res.(*term.Tuple)
	if !ok || t.Len() == 0 {
		return nil, fmt.Errorf("%w: %s answered %v", ErrBadReply, to, res)
	}
	return t, nil
}
