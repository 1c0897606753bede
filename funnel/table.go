package funnel

import (
	"fmt"
	"math"
	"time"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/term"
)

// Positions of a funnel object {Key, Room, Last, Stamp} in the funnels
// table, and of an index object {Stamp, Key} in the expiry index.
const (
	posRoom  = 1 // float: remaining room at Last
	posLast  = 2 // integer: last update, ns on the limiter's clock
	posStamp = 3 // integer: the key's entry in the expiry index
	arity    = 4

	idxKey = 1
)

// Heir data naming the two tables of a shard, so the heir knows which
// table a transfer hands it.
var (
	funnelsTable = term.Atom("funnels")
	indexTable   = term.Atom("expiry_index")
)

// tables is one owner's funnel state, held entirely in two ets tables
// that the owner owns:
//
//   - funnels, a Compact set of {Key, Room, Last, Stamp}: per key only the
//     remaining room and the time of the last update, plus Stamp, the key
//     of its object in the index;
//   - index, an ordered_set of {Stamp, Key} ordered by Stamp, a time of
//     access to the microsecond (stampBits more bits keep stamps
//     distinct): the table keyed by last access of the Erlang original.
//     Its first object is the idlest key, or one that was touched since
//     it was indexed.
//
// A request only updates its funnel: the index is written when a key is
// new and when expiry reaches a key's index object. Expiry looks at the
// first object: when its stamp is a TTL old, the key is removed if its
// funnel was not touched since, and otherwise indexed again at its last
// update. Every stamp is at or before its funnel's last update (but for
// keys that arrive faster than stampBits can tell apart, whose stamps run
// a little ahead), so no key is due before the first object is, and a key
// goes about when its TTL has passed. Each access and each idle step
// handles at most a budget of index objects.
//
// Re-indexing inserts the new index object before the funnel names it and
// deletes the old one after, so an owner that crashes midway leaves at
// worst an index object no funnel names, which expiry drops when it
// reaches it; every funnel's Stamp is always in the index.
//
// The struct holds no state of its own beyond the table handles and hints
// it can recompute: a restarted owner makes a fresh one over the tables it
// inherits. It is used by the owner goroutine only; time comes in as an
// argument.
type tables struct {
	capacity float64
	perNano  float64 // leak rate, room per nanosecond
	ttl      int64

	funnels *ets.Owner
	index   *ets.Owner

	stamp   int64 // the largest stamp handed out
	headDue int64 // no key is due before this; 0 when unknown
}

// stampBits are the low bits of a stamp below its microsecond.
const stampBits = 10

// stampAt is the first stamp of the microsecond of time t (ns).
func stampAt(t int64) int64 { return max(t, 0) / 1000 << stampBits }

// stampTime is the time (ns) of the microsecond of stamp s.
func stampTime(s int64) int64 { return s >> stampBits * 1000 }

// newTables makes a shard's two tables; both pass to heir when their owner
// exits.
func newTables(heir ets.Heir) (funnels, index *ets.Owner, err error) {
	funnels, err = ets.New(ets.Options{Kind: ets.Set, Compact: true, Heir: heir, HeirData: funnelsTable})
	if err != nil {
		return nil, nil, err
	}
	index, err = ets.New(ets.Options{Kind: ets.OrderedSet, Compact: true, Heir: heir, HeirData: indexTable})
	if err != nil {
		return nil, nil, err
	}
	return funnels, index, nil
}

// openTables is an owner's view of the tables it was handed.
func openTables(capacity, perSecond float64, ttl time.Duration, funnels, index *ets.Owner) (*tables, error) {
	tb := &tables{
		capacity: capacity,
		perNano:  perSecond / 1e9,
		ttl:      int64(ttl),
		funnels:  funnels,
		index:    index,
	}
	last, ok, err := index.Last()
	if err != nil {
		return nil, err
	}
	if ok {
		s, isInt := last.(term.Int)
		if !isInt {
			return nil, fmt.Errorf("funnel: expiry index holds key %v, not a stamp", last)
		}
		tb.stamp = int64(s)
	}
	return tb, nil
}

// exit ends the owner's tenure: the tables pass to their heir.
func (tb *tables) exit() {
	tb.funnels.Exit()
	tb.index.Exit()
}

// nextStamp returns a stamp for a key new at now, larger than every stamp
// handed out before.
func (tb *tables) nextStamp(now int64) int64 {
	tb.stamp = max(tb.stamp+1, stampAt(now))
	return tb.stamp
}

// reindex inserts an index object for key at the first free stamp from
// its last update, spread over the microsecond by the key's hash, and
// returns the stamp.
func (tb *tables) reindex(key *term.Binary, last int64) (int64, error) {
	s := stampAt(last) | int64(term.Hash(key)&(1<<stampBits-1))
	for {
		ok, err := tb.index.InsertNew(term.NewTuple(term.Int(s), key))
		if err != nil || ok {
			tb.stamp = max(tb.stamp, s)
			return s, err
		}
		s++
	}
}

// Decision is the verdict on one request.
type Decision struct {
	// Allowed says whether the request fits in the funnel (and took room).
	Allowed bool
	// Remaining is the room left after the decision.
	Remaining float64
	// RetryAfter is, for a refused request, how long until the same
	// request would fit; 0 when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the funnel has leaked empty (all its
	// capacity free again) if no more requests come.
	ResetAfter time.Duration
}

// decide takes cost room from key's funnel at time now if it fits.
func (tb *tables) decide(key string, cost float64, now int64) (Decision, error) {
	var (
		d      Decision
		idxErr error
	)
	err := tb.funnels.UpdateNumbers(key, func(ns ets.Numbers, found bool) (ets.Numbers, bool) {
		ns, d, idxErr = tb.take(ns, found, key, cost, now)
		return ns, idxErr == nil
	})
	if err == nil {
		err = idxErr
	}
	return d, err
}

// take is the decision on funnel ns (found false for a new key) at time
// now: the funnel after it, and the verdict. A new key is indexed before
// its funnel names the stamp. A key's clock never goes back: a now before
// its last update is taken as that update's time.
func (tb *tables) take(ns ets.Numbers, found bool, key string, cost float64, now int64) (ets.Numbers, Decision, error) {
	var d Decision
	room, last := tb.capacity, now
	if found {
		room, _ = ns.Float(posRoom)
		prev := lastOf(&ns)
		last = max(prev, now)
		room = min(tb.capacity, room+float64(last-prev)*tb.perNano)
	} else {
		ns.SetArity(arity)
		stamp := tb.nextStamp(now)
		if err := tb.index.Insert(term.NewTuple(term.Int(stamp), term.NewBinary([]byte(key)))); err != nil {
			return ns, d, err
		}
		ns.SetInt(posStamp, stamp)
	}
	if cost <= room {
		room -= cost
		d.Allowed = true
	} else {
		d.RetryAfter = tb.duration(cost - room)
	}
	d.Remaining = room
	d.ResetAfter = tb.duration(tb.capacity - room)
	ns.SetFloat(posRoom, room)
	ns.SetInt(posLast, last)
	return ns, d, nil
}

// lastOf returns the last update of the funnel ns holds.
func lastOf(ns *ets.Numbers) int64 {
	v, _ := ns.Int(posLast)
	return v
}

// decideBatch decides keys[i] at cost costs[i] (1 when costs is nil) into
// out[i], in one batched update of the funnels table (a repeated key is
// decided in order), after calling before(key) for every key when it is
// set; then it handles at most budget expiry index objects per key:
// bounded expiry work per access.
func (tb *tables) decideBatch(keys []string, costs []float64, out []Decision, now int64, budget int, before func(string)) error {
	if before != nil {
		for _, k := range keys {
			before(k)
		}
	}
	var idxErr error
	err := tb.funnels.UpdateNumbersBatch(keys, func(i int, ns ets.Numbers, found bool) (ets.Numbers, bool) {
		cost := 1.0
		if costs != nil {
			cost = costs[i]
		}
		ns, out[i], idxErr = tb.take(ns, found, keys[i], cost, now)
		return ns, idxErr == nil
	})
	if err == nil {
		err = idxErr
	}
	if err != nil {
		return err
	}
	_, _, err = tb.expire(now, budget*len(keys))
	return err
}

// duration is how long the funnel takes to leak room.
func (tb *tables) duration(room float64) time.Duration {
	if room <= 0 {
		return 0
	}
	ns := math.Ceil(room / tb.perNano)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// head returns the first index object: its stamp and key (ok false for
// an empty index).
func (tb *tables) head() (stamp int64, key *term.Binary, ok bool, err error) {
	first, ok, err := tb.index.First()
	if err != nil || !ok {
		return 0, nil, false, err
	}
	obj, ok, err := tb.index.Lookup(first)
	if err != nil || !ok {
		return 0, nil, false, err
	}
	s, _ := first.(term.Int)
	key, _ = obj.At(idxKey).(*term.Binary)
	if key == nil {
		return 0, nil, false, fmt.Errorf("funnel: expiry index object %v has no binary key", obj)
	}
	return int64(s), key, true, nil
}

// expire handles at most budget objects from the head of the expiry index
// that are a TTL old: each key idle for the TTL is removed with its
// funnel, each key touched since it was indexed is indexed again at its
// last update, and each index object no funnel names is dropped. It
// reports how many it handled and whether more are due now.
func (tb *tables) expire(now int64, budget int) (handled int, more bool, err error) {
	for {
		if tb.headDue != 0 && now < tb.headDue {
			return handled, false, nil
		}
		stamp, key, ok, err := tb.head()
		if err != nil || !ok {
			tb.headDue = 0
			return handled, false, err
		}
		if due := stampTime(stamp) + tb.ttl; now < due {
			tb.headDue = due
			return handled, false, nil
		}
		if handled == budget {
			return handled, true, nil
		}
		tb.headDue = 0
		handled++
		if err := tb.expireHead(stamp, key, now); err != nil {
			return handled, false, err
		}
	}
}

// expireHead handles the index object {stamp, key} that is a TTL old.
func (tb *tables) expireHead(stamp int64, key *term.Binary, now int64) error {
	ks := string(key.Bytes())
	var ns ets.Numbers
	found, err := tb.funnels.LookupNumbers(ks, &ns)
	if err != nil {
		return err
	}
	fs, _ := ns.Int(posStamp)
	last := lastOf(&ns)
	switch {
	case !found || fs != stamp:
		// Left by a crash midway through re-indexing.
	case now-last >= tb.ttl:
		if _, err := tb.funnels.Delete(key); err != nil {
			return err
		}
	default:
		next, err := tb.reindex(key, last)
		if err != nil {
			return err
		}
		err = tb.funnels.UpdateNumbers(ks, func(ns ets.Numbers, found bool) (ets.Numbers, bool) {
			ok := found && ns.SetInt(posStamp, next)
			return ns, ok
		})
		if err != nil {
			return err
		}
	}
	_, err = tb.index.Delete(term.Int(stamp))
	return err
}

// nextDue returns when the first index object comes due (ok false for an
// empty index).
func (tb *tables) nextDue() (int64, bool, error) {
	first, ok, err := tb.index.First()
	if err != nil || !ok {
		return 0, false, err
	}
	s, isInt := first.(term.Int)
	if !isInt {
		return 0, false, fmt.Errorf("funnel: expiry index holds key %v, not a stamp", first)
	}
	return stampTime(int64(s)) + tb.ttl, true, nil
}

// size returns the number of funnels.
func (tb *tables) size() (int, error) { return tb.funnels.Size() }
