package funnel

import (
	"math"
	"strings"
	"time"
)

// store is the funnel table of one owner: the pure core, with no
// goroutines and no clock (time comes in as an argument). Per key it keeps
// only the remaining room and the time of the last update, plus the links
// of the expiry index.
//
// The expiry index is a doubly linked list of the entries ordered by the
// time each last moved to its tail. Time only moves forward, so moving an
// entry to the tail on access keeps the list sorted by last access: the
// head is always the idlest key, and expiring is popping the head while it
// is due. That is the ordered table keyed by last access of the Erlang
// original, at 8 bytes a key. An entry moves at most once per grain (a
// small fraction of the TTL), so a hot key costs no list work, and an idle
// key is removed at most one grain after its TTL.
//
// Entries live in fixed-size chunks addressed by slot number, so the
// table grows without copying; when the live count falls to a quarter of
// its peak the index map and the chunks are rebuilt at the live size,
// which gives the memory of expired keys back (Go maps never shrink).
type store struct {
	capacity float64
	perNano  float64 // leak rate, room per nanosecond
	ttl      int64
	grain    int64

	index  map[string]uint32 // key -> slot+1
	chunks [][]entry
	free   uint32 // free list of slot+1, linked through entry.next
	used   uint32 // slots handed out (the next fresh slot)
	head   uint32 // expiry list, slot+1; 0 is none
	tail   uint32
	n      int
	peak   int
	now    int64 // latest time seen: the store's clock never goes back
}

type entry struct {
	key   string
	room  float64 // remaining room at last
	last  int64   // last update, ns
	moved int64   // when it last moved to the tail of the expiry list
	prev  uint32  // slot+1
	next  uint32  // slot+1
}

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	// rebuildMin is the peak below which shrinking is not worth a rebuild.
	rebuildMin = 1024
)

func newStore(capacity, perSecond float64, ttl time.Duration) *store {
	return &store{
		capacity: capacity,
		perNano:  perSecond / 1e9,
		ttl:      int64(ttl),
		grain:    max(int64(ttl)/128, 1),
		index:    map[string]uint32{},
	}
}

func (s *store) at(ref uint32) *entry {
	i := ref - 1
	return &s.chunks[i>>chunkBits][i&(chunkSize-1)]
}

func (s *store) alloc() uint32 {
	if s.free != 0 {
		ref := s.free
		s.free = s.at(ref).next
		return ref
	}
	if int(s.used)>>chunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, make([]entry, chunkSize))
	}
	s.used++
	return s.used
}

func (s *store) pushTail(ref uint32, e *entry) {
	e.prev, e.next = s.tail, 0
	if s.tail != 0 {
		s.at(s.tail).next = ref
	} else {
		s.head = ref
	}
	s.tail = ref
}

func (s *store) unlink(e *entry) {
	if e.prev != 0 {
		s.at(e.prev).next = e.next
	} else {
		s.head = e.next
	}
	if e.next != 0 {
		s.at(e.next).prev = e.prev
	} else {
		s.tail = e.prev
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
func (s *store) decide(key string, cost float64, now int64) Decision {
	if now < s.now {
		now = s.now
	}
	s.now = now
	var e *entry
	if ref, ok := s.index[key]; ok {
		e = s.at(ref)
		e.room = min(s.capacity, e.room+float64(now-e.last)*s.perNano)
		e.last = now
		if now-e.moved >= s.grain {
			s.unlink(e)
			e.moved = now
			s.pushTail(ref, e)
		}
	} else {
		ref := s.alloc()
		e = s.at(ref)
		k := strings.Clone(key) // the caller's key may pin a larger buffer
		*e = entry{key: k, room: s.capacity, last: now, moved: now}
		s.pushTail(ref, e)
		s.index[k] = ref
		s.n++
		s.peak = max(s.peak, s.n)
	}
	d := Decision{}
	if cost <= e.room {
		e.room -= cost
		d.Allowed = true
	} else {
		d.RetryAfter = s.duration(cost - e.room)
	}
	d.Remaining = e.room
	d.ResetAfter = s.duration(s.capacity - e.room)
	return d
}

// duration is how long the funnel takes to leak room.
func (s *store) duration(room float64) time.Duration {
	if room <= 0 {
		return 0
	}
	ns := math.Ceil(room / s.perNano)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// peek returns key's funnel as a decision for a zero-cost request, without
// creating or touching the entry.
func (s *store) peek(key string, now int64) (Decision, bool) {
	ref, ok := s.index[key]
	if !ok {
		return Decision{}, false
	}
	e := s.at(ref)
	room := min(s.capacity, e.room+float64(max(now-e.last, 0))*s.perNano)
	return Decision{Allowed: true, Remaining: room, ResetAfter: s.duration(s.capacity - room)}, true
}

// expire removes at most budget idle keys from the head of the expiry
// list and reports how many it removed and whether more are due now.
func (s *store) expire(now int64, budget int) (removed int, more bool) {
	if now < s.now {
		now = s.now
	}
	s.now = now
	for s.head != 0 {
		ref := s.head
		e := s.at(ref)
		if now-e.last < s.ttl {
			// The head moved longest ago but was touched within a grain of
			// that: it, and so every later entry, is not due yet.
			break
		}
		if removed == budget {
			return removed, true
		}
		s.unlink(e)
		delete(s.index, e.key)
		*e = entry{next: s.free}
		s.free = ref
		s.n--
		removed++
	}
	if s.peak >= rebuildMin && s.n*4 <= s.peak {
		s.rebuild()
	}
	return removed, false
}

// nextDue returns when the head of the expiry list comes due (ok false for
// an empty table).
func (s *store) nextDue() (int64, bool) {
	if s.head == 0 {
		return 0, false
	}
	return s.at(s.head).last + s.ttl, true
}

// rebuild copies the live entries, in expiry order, into fresh chunks and
// a fresh map sized for them, and drops the old ones.
func (s *store) rebuild() {
	index := make(map[string]uint32, s.n)
	chunks := make([][]entry, 0, (s.n+chunkSize-1)/chunkSize)
	var used uint32
	var prev uint32
	for ref := s.head; ref != 0; {
		e := s.at(ref)
		ref = e.next
		if int(used)>>chunkBits == len(chunks) {
			chunks = append(chunks, make([]entry, chunkSize))
		}
		used++
		ne := &chunks[(used-1)>>chunkBits][(used-1)&(chunkSize-1)]
		*ne = *e
		ne.prev, ne.next = prev, 0
		if prev != 0 {
			chunks[(prev-1)>>chunkBits][(prev-1)&(chunkSize-1)].next = used
		}
		prev = used
		index[ne.key] = used
	}
	s.index, s.chunks, s.used, s.free = index, chunks, used, 0
	s.head, s.tail = 0, 0
	if used > 0 {
		s.head, s.tail = 1, used
	}
	s.peak = s.n
}
