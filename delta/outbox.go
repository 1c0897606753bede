package delta

import "fmt"

// Entry is a pending delta of an Outbox: Spec turns the state at sequence
// From-1 into the state at To.
type Entry struct {
	From, To uint64
	Spec     Spec
}

// Outbox is the bounded queue of deltas a worker has not yet seen
// acknowledged: while the receiver is slow or unreachable the worker goes
// on pushing, and the queue never holds more than its bound. When a push
// goes past the bound, adjacent entries are merged pairwise (their
// intervals joined, their specs merged), which halves the queue; the merged
// entries can still bring a receiver at any entry boundary to the latest
// state, in one spec. Like the streams it is a pure data structure, not
// safe for concurrent use.
type Outbox struct {
	bound   int
	entries []Entry
	last    uint64 // To of the last entry pushed, or the keyframe of Reset
}

// NewOutbox returns an empty outbox that holds at most bound entries
// (at least 2).
func NewOutbox(bound int) (*Outbox, error) {
	if bound < 2 {
		return nil, fmt.Errorf("%w: outbox bound %d < 2", ErrConfig, bound)
	}
	return &Outbox{bound: bound, entries: make([]Entry, 0, bound+1)}, nil
}

// Len returns the number of entries.
func (o *Outbox) Len() int { return len(o.entries) }

// Entries returns a copy of the entries, oldest first.
func (o *Outbox) Entries() []Entry { return append([]Entry(nil), o.entries...) }

// Push adds the delta from state from-1 to state to. It must follow the
// last one pushed (from = last To + 1; after Reset(seq), from = seq + 1),
// except for the first push into a new outbox. A push that does not follow
// is refused with ErrGap: the caller should send a keyframe and Reset.
func (o *Outbox) Push(from, to uint64, s Spec) error {
	if from == 0 || to < from {
		return fmt.Errorf("%w: outbox entry [%d, %d]", ErrGap, from, to)
	}
	if o.last != 0 && o.last+1 != from {
		return fmt.Errorf("%w: outbox entry [%d, %d] after sequence %d", ErrGap, from, to, o.last)
	}
	o.entries = append(o.entries, Entry{From: from, To: to, Spec: s})
	o.last = to
	if len(o.entries) > o.bound {
		o.halve()
	}
	return nil
}

// halve merges adjacent entries pairwise.
func (o *Outbox) halve() {
	out := o.entries[:0]
	for k := 0; k < len(o.entries); k += 2 {
		if k+1 == len(o.entries) {
			out = append(out, o.entries[k])
			break
		}
		x, y := o.entries[k], o.entries[k+1]
		out = append(out, Entry{From: x.From, To: y.To, Spec: Merge(x.Spec, y.Spec)})
	}
	clear(o.entries[len(out):])
	o.entries = out
}

// Ack drops the entries the receiver no longer needs: those with To <= seq.
func (o *Outbox) Ack(seq uint64) {
	k := 0
	for k < len(o.entries) && o.entries[k].To <= seq {
		k++
	}
	n := copy(o.entries, o.entries[k:])
	clear(o.entries[n:])
	o.entries = o.entries[:n]
}

// Reset empties the outbox after a keyframe of sequence seq has been sent:
// the next push must start at seq + 1.
func (o *Outbox) Reset(seq uint64) {
	clear(o.entries)
	o.entries = o.entries[:0]
	o.last = seq
}

// Since returns the one spec that brings a receiver at sequence acked to
// the latest state, and that state's sequence. Entries with To <= acked are
// skipped. It returns an error wrapping ErrNeedKeyframe when the entries
// cannot do it: the first one needed starts after acked+1 (the deltas in
// between are gone), or acked falls inside a merged entry, or the merged
// spec is Invalid. A receiver already at the latest sequence gets Keep and
// acked.
func (o *Outbox) Since(acked uint64) (Spec, uint64, error) {
	if acked >= o.last {
		return Keep{}, acked, nil
	}
	k := 0
	for k < len(o.entries) && o.entries[k].To <= acked {
		k++
	}
	if k == len(o.entries) {
		return nil, 0, fmt.Errorf("%w: receiver at %d, the deltas up to %d are gone", ErrNeedKeyframe, acked, o.last)
	}
	if first := o.entries[k]; first.From != acked+1 {
		return nil, 0, fmt.Errorf("%w: receiver at %d, pending deltas cover [%d, %d]", ErrNeedKeyframe, acked, first.From, o.entries[len(o.entries)-1].To)
	}
	var s Spec = Keep{}
	for _, e := range o.entries[k:] {
		s = Merge(s, e.Spec)
	}
	if inv, ok := s.(Invalid); ok {
		return nil, 0, fmt.Errorf("%w: pending deltas do not compose: %s", ErrNeedKeyframe, inv.Reason)
	}
	return s, o.entries[len(o.entries)-1].To, nil
}
