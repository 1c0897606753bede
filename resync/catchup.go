package resync

import (
	"errors"
	"fmt"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

// Position is where a copy stands in a worker's stream.
type Position struct {
	Epoch uint64
	Seq   uint64
}

// Plan says how to bring one copy up to date.
type Plan struct {
	// Covered is set when the outbox still holds every delta since the
	// copy's sequence: Spec (merged) turns the copy's state into the state
	// at Seq, in one round trip.
	Covered bool
	Spec    delta.Spec
	Seq     uint64
	// Reason says why the outbox does not cover the copy (Covered unset):
	// the caller then runs the Merkle comparison (Source/Copy, or Sync).
	Reason string
}

// CatchUp decides, for a copy that reports its position, between the
// one-round-trip catch-up from the worker's outbox and the Merkle path. The
// outbox covers the copy when the epochs match and Outbox.Since can merge
// the pending deltas from the copy's sequence on; a copy from another
// epoch, or one whose point the outbox has merged past or dropped, takes
// the Merkle path. It never errs on the side of too little: a covered
// answer is exactly what Outbox.Since returns.
func CatchUp(out *delta.Outbox, epoch uint64, copyAt Position) (Plan, error) {
	if out == nil {
		return Plan{Reason: "no outbox"}, nil
	}
	if copyAt.Epoch != epoch {
		return Plan{Reason: fmt.Sprintf("copy at epoch %d, worker at %d", copyAt.Epoch, epoch)}, nil
	}
	spec, seq, err := out.Since(copyAt.Seq)
	if errors.Is(err, delta.ErrNeedKeyframe) {
		return Plan{Reason: err.Error()}, nil
	}
	if err != nil {
		return Plan{}, fmt.Errorf("resync: outbox: %w", err)
	}
	return Plan{Covered: true, Spec: spec, Seq: seq}, nil
}

// WorkerDigest is a node's view of the states it holds: worker id to the
// term.Hash of the worker's state.
type WorkerDigest map[string]uint64

// digestTerm is the map #{<<"id">> => Hash} that the comparison runs over.
func digestTerm(d WorkerDigest) *term.Map {
	ps := make([]term.Pair, 0, len(d))
	for id, h := range d {
		ps = append(ps, term.Pair{Key: term.BinaryString(id), Value: term.Int(int64(h))})
	}
	return term.MapOf(ps...)
}

// DiffWorkers runs the Merkle comparison over two nodes' digests (the
// source's and the copy's) and returns the ids of the workers whose states
// differ or that only one side has, with what the exchange cost. Only
// hashes of states travel; no state is looked at. Both digests hash the
// same way on both nodes, so after a partition a spare finds the workers
// to resync in a few round trips, whatever the number of workers.
func DiffWorkers(source, copyDigest WorkerDigest, cfg Config) ([]string, Result, error) {
	src := digestTerm(source)
	var cp term.Term
	if len(copyDigest) > 0 {
		cp = digestTerm(copyDigest)
	}
	res, err := Sync(src, cp, cfg)
	if err != nil {
		return nil, res, err
	}
	var out []string
	if m, ok := res.Delta.(delta.Map); ok {
		// The usual case: the delta names exactly the differing workers.
		for _, e := range m.Entries {
			if b, ok := e.Key.(*term.Binary); ok {
				out = append(out, string(b.Bytes()))
			}
		}
		return out, res, nil
	}
	// The source sent its whole digest (a keyframe, or a map replaced
	// because the copy had workers the source has not): the copy now has
	// both digests and compares them itself.
	got, ok := res.State.(*term.Map)
	if !ok {
		return nil, res, fmt.Errorf("%w: digest is not a map", ErrProtocol)
	}
	for k, v := range got.All() {
		id := string(k.(*term.Binary).Bytes())
		if h, ok := copyDigest[id]; !ok || int64(h) != int64(v.(term.Int)) {
			out = append(out, id)
		}
	}
	for id := range copyDigest {
		if _, ok := got.Get(term.BinaryString(id)); !ok {
			out = append(out, id)
		}
	}
	return out, res, nil
}
