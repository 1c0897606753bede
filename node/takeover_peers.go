package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// peerReplicaTimeout bounds how long a takeover waits for the other nodes'
// replica services (a round of seals, plus the pieces of any newer state).
// A peer that does not answer in time is left out: its replica can only be
// one from a backup this node replaced, and waiting longer for it would
// delay every worker's failover.
const peerReplicaTimeout = 500 * time.Millisecond

// peerRounds bounds the seal rounds of one takeover: a second round is
// needed only when a peer's replica was of a higher epoch than this node's
// (it is sealed at that epoch too); more than that means replicas keep
// moving under the takeover, and it goes on with the newest it has.
const peerRounds = 3

// newestReplicas seals each of the dead node's workers on every live peer
// at the epoch of the replica this node holds, and returns, per worker, the
// newest replica owned by dead among this node's and the peers' (highest
// epoch, then highest seq). A peer's replica is newer than this node's when
// the backup moved between them: the old backup acknowledged states that
// the new one does not hold yet.
func (c *controller) newestReplicas(dead string, own []actors.Replica) []actors.Replica {
	peers := make([]string, 0, len(c.view))
	for name := range c.view {
		peers = append(peers, name)
	}
	best := make([]actors.Replica, len(own))
	copy(best, own)
	if len(peers) == 0 {
		return best
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(peerReplicaTimeout, c.n.cfg.CallTimeout))
	defer cancel()
	sealed := make([]uint64, len(best)) // the epoch each worker is sealed at on the peers
	todo := make([]int, len(best))
	for i := range best {
		todo[i] = i
	}
	for round := 0; round < peerRounds && len(todo) > 0; round++ {
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			next []int
		)
		for _, i := range todo {
			sealed[i] = best[i].Epoch
			for _, p := range peers {
				wg.Add(1)
				go func(i int, have actors.Replica, peer string) {
					defer wg.Done()
					r, ok, err := c.sealOnPeer(ctx, peer, have)
					if err != nil {
						c.log.Warn("takeover: a peer's replica is unknown", "peer", peer, "worker", have.Worker, "err", err)
						return
					}
					if !ok || r.Owner != dead {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if newer(r, best[i]) {
						c.log.Info("takeover: a peer holds a newer replica", "peer", peer, "worker", r.Worker,
							"epoch", r.Epoch, "seq", r.Seq, "own_epoch", have.Epoch, "own_seq", have.Seq)
						best[i] = r
					}
				}(i, best[i], p)
			}
		}
		wg.Wait()
		for _, i := range todo {
			if best[i].Epoch > sealed[i] {
				// Seal the others (and this node) at the newer epoch too.
				if t := c.replicas; t != nil {
					if _, _, err := t.SealWorker(best[i].Worker, best[i].Epoch); err != nil {
						c.log.Warn("takeover: cannot seal a replica here", "worker", best[i].Worker, "err", err)
					}
				}
				next = append(next, i)
			}
		}
		todo = next
	}
	return best
}

// newer reports whether replica a is newer than b (of the same worker).
func newer(a, b actors.Replica) bool {
	return a.Epoch > b.Epoch || a.Epoch == b.Epoch && a.Seq > b.Seq
}

// sealOnPeer asks peer's replica service to seal have.Worker at have.Epoch
// and returns its replica when it is newer than have (false when it is not,
// or when peer has none).
func (c *controller) sealOnPeer(ctx context.Context, peer string, have actors.Replica) (actors.Replica, bool, error) {
	to := ProcessID{Name: ReplicaServiceName, Node: peer}
	id := term.BinaryString(have.Worker)
	res, err := c.serviceCall(ctx, to, term.NewTuple(atomSeal, id, term.Uint(have.Epoch), term.Uint(have.Seq)))
	if err != nil {
		return actors.Replica{}, false, err
	}
	tag, _ := res.Tag()
	switch {
	case tag == atomUnchanged || tag == atomError && res.Len() == 2 && res.At(1) == term.Atom("not_found"):
		return actors.Replica{}, false, nil
	case tag != atomReplica || res.Len() != 7 || !term.Equal(res.At(1), id):
		return actors.Replica{}, false, fmt.Errorf("unexpected answer %s", term.Format(res))
	}
	owner, ok1 := binaryText(res.At(2))
	epoch, ok2 := term.UintOf(res.At(3))
	seq, ok3 := term.UintOf(res.At(4))
	size, ok4 := term.UintOf(res.At(5))
	first, ok5 := res.At(6).(*term.Binary)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !first.IsBinary() || uint64(first.Len()) > size {
		return actors.Replica{}, false, fmt.Errorf("malformed answer %s", term.Format(res))
	}
	r := actors.Replica{Worker: have.Worker, Owner: owner, Epoch: epoch, Seq: seq}
	if !newer(r, have) {
		return actors.Replica{}, false, nil
	}
	etf := first.AppendTo(make([]byte, 0, size))
	for uint64(len(etf)) < size {
		res, err := c.serviceCall(ctx, to, term.NewTuple(atomGetChunk, id, term.Uint(epoch), term.Uint(seq), term.Int(len(etf))))
		if err != nil {
			return actors.Replica{}, false, err
		}
		tag, _ := res.Tag()
		piece, isBin := res.At(res.Len() - 1).(*term.Binary)
		if tag != atomChunk || res.Len() != 4 || !isBin || !piece.IsBinary() || piece.Len() == 0 ||
			uint64(len(etf)+piece.Len()) > size {
			// {error, moved} included: the peer's replica moved on, and
			// the replica this node holds is what is left.
			return actors.Replica{}, false, fmt.Errorf("piece at %d: %s", len(etf), term.Format(res))
		}
		etf = piece.AppendTo(etf)
	}
	st, err := term.Decode(etf)
	if err != nil {
		return actors.Replica{}, false, fmt.Errorf("state: %w", err)
	}
	r.State = st
	return r, true, nil
}

// serviceCall calls a replica service and checks that the answer is a
// tuple.
func (c *controller) serviceCall(ctx context.Context, to ProcessID, req term.Term) (*term.Tuple, error) {
	res, err := c.n.Call(ctx, to, req)
	if err != nil {
		return nil, err
	}
	t, ok := res.(*term.Tuple)
	if !ok || t.Len() == 0 {
		return nil, fmt.Errorf("unexpected answer %v", res)
	}
	return t, nil
}
