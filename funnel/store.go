package funnel

import (
	"hash/maphash"
	"math"
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
// original, at 8 bytes a key. An entry moves at most once per grain (1/128
// of the TTL), so a hot key costs no list work, and an idle key is removed
// at most one grain after its TTL.
//
// Entries are 64 bytes, one cache line, in fixed-size chunks addressed by
// slot number, with keys of up to 23 bytes (any IPv4 address, most IPv6
// prefixes) inside them. The key index is an open-addressing table of
// 8-byte slots (32 bits of the key's hash and the entry's slot number), so
// a decision usually touches two cache lines: its index slot and its entry.
// When the live count falls to a quarter of its peak, the entries and the
// index are rebuilt at the live size, which gives the memory of expired
// keys back.
type store struct {
	capacity float64
	perNano  float64 // leak rate, room per nanosecond
	ttl      int64
	grain    int64
	seed     maphash.Seed

	slots  []uint64 // hash>>32 << 32 | ref; 0 is empty; len 0 or a power of two
	chunks [][]entry
	long   map[uint32]string // keys longer than inlineKey, by ref
	free   uint32            // free list of refs, linked through entry.next
	used   uint32            // refs handed out (the next fresh one)
	head   uint32            // expiry list; refs, 0 is none
	tail   uint32
	n      int
	peak   int
	now    int64 // latest time seen: the store's clock never goes back
}

// entry is one key's funnel; a ref is its slot number plus one.
type entry struct {
	room  float64 // remaining room at last
	last  int64   // last update, ns
	moved int64   // when it last moved to the tail of the expiry list
	prev  uint32
	next  uint32
	h     uint64 // the key's hash
	klen  uint8  // key length, or longKey
	kin   [inlineKey]byte
}

const (
	inlineKey = 23
	longKey   = 255
	chunkBits = 12
	chunkSize = 1 << chunkBits
	// rebuildMin is the peak below which shrinking is not worth a rebuild.
	rebuildMin = 1024
	// minSlots is the smallest index.
	minSlots = 64
)

func newStore(capacity, perSecond float64, ttl time.Duration) *store {
	return &store{
		capacity: capacity,
		perNano:  perSecond / 1e9,
		ttl:      int64(ttl),
		grain:    max(int64(ttl)/128, 1),
		seed:     maphash.MakeSeed(),
		long:     map[uint32]string{},
	}
}

func (s *store) at(ref uint32) *entry {
	i := ref - 1
	return &s.chunks[i>>chunkBits][i&(chunkSize-1)]
}

// keyOf returns the key of entry ref.
func (s *store) keyOf(ref uint32, e *entry) string {
	if e.klen == longKey {
		return s.long[ref]
	}
	return string(e.kin[:e.klen])
}

func (s *store) keyIs(ref uint32, e *entry, key string) bool {
	if e.klen == longKey {
		return s.long[ref] == key
	}
	return int(e.klen) == len(key) && string(e.kin[:e.klen]) == key
}

// find returns the ref of key and its index slot, or 0.
func (s *store) find(key string, h uint64) (ref uint32, slot int) {
	if len(s.slots) == 0 {
		return 0, 0
	}
	mask := uint64(len(s.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		sl := s.slots[i]
		if sl == 0 {
			return 0, 0
		}
		if sl>>32 == tag {
			ref := uint32(sl)
			if e := s.at(ref); e.h == h && s.keyIs(ref, e, key) {
				return ref, int(i)
			}
		}
	}
}

// slotOf returns the index slot of ref, whose key has hash h.
func (s *store) slotOf(ref uint32, h uint64) int {
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for uint32(s.slots[i]) != ref {
		i = (i + 1) & mask
	}
	return int(i)
}

// place puts ref, whose key has hash h and is not in the index, in slots.
func place(slots []uint64, h uint64, ref uint32) {
	mask := uint64(len(slots) - 1)
	i := h & mask
	for slots[i] != 0 {
		i = (i + 1) & mask
	}
	slots[i] = h>>32<<32 | uint64(ref)
}

// resizeIndex rebuilds the index with size slots from the live entries.
func (s *store) resizeIndex(size int) {
	old := s.slots
	s.slots = make([]uint64, size)
	for _, sl := range old {
		if sl != 0 {
			ref := uint32(sl)
			place(s.slots, s.at(ref).h, ref)
		}
	}
}

// unindex empties index slot i and shifts the rest of its run back, so
// probing needs no tombstones.
func (s *store) unindex(i int) {
	mask := len(s.slots) - 1
	for {
		j := i
		for {
			j = (j + 1) & mask
			if s.slots[j] == 0 {
				s.slots[i] = 0
				return
			}
			home := int(s.at(uint32(s.slots[j])).h) & mask
			// Move slot j back to i unless its home lies cyclically in (i, j].
			if (i <= j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
				break
			}
		}
		s.slots[i] = s.slots[j]
		i = j
	}
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
	return s.decideHashed(key, maphash.String(s.seed, key), cost, now)
}

// decideHashed is decide for a key whose hash is known.
func (s *store) decideHashed(key string, h uint64, cost float64, now int64) Decision {
	if now < s.now {
		now = s.now
	}
	s.now = now
	var e *entry
	if ref, _ := s.find(key, h); ref != 0 {
		e = s.at(ref)
		e.room = min(s.capacity, e.room+float64(now-e.last)*s.perNano)
		e.last = now
		if now-e.moved >= s.grain {
			s.unlink(e)
			e.moved = now
			s.pushTail(ref, e)
		}
	} else {
		e = s.add(key, h, now)
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

// decideBatch decides keys[i] at cost costs[i] (1 when costs is nil) into
// out[i], calling before(key) first when it is set, and removes at most
// budget idle keys after each decision: bounded expiry work per access.
func (s *store) decideBatch(keys []string, costs []float64, out []Decision, now int64, budget int, before func(string)) {
	for i, k := range keys {
		if before != nil {
			before(k)
		}
		cost := 1.0
		if costs != nil {
			cost = costs[i]
		}
		out[i] = s.decide(k, cost, now)
		s.expire(now, budget)
	}
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
		s.remove(ref, e)
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

// add creates key's entry with a full funnel.
func (s *store) add(key string, h uint64, now int64) *entry {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.resizeIndex(max(minSlots, 2*len(s.slots)))
	}
	ref := s.alloc()
	e := s.at(ref)
	*e = entry{room: s.capacity, last: now, moved: now, h: h}
	if len(key) <= inlineKey {
		e.klen = uint8(copy(e.kin[:], key))
	} else {
		e.klen = longKey
		s.long[ref] = string([]byte(key)) // a copy: the caller's key may pin a larger buffer
	}
	s.pushTail(ref, e)
	place(s.slots, h, ref)
	s.n++
	s.peak = max(s.peak, s.n)
	return e
}

// remove deletes entry ref.
func (s *store) remove(ref uint32, e *entry) {
	s.unindex(s.slotOf(ref, e.h))
	if e.klen == longKey {
		delete(s.long, ref)
	}
	s.unlink(e)
	*e = entry{next: s.free}
	s.free = ref
	s.n--
}

// rebuild copies the live entries, in expiry order, into fresh chunks and
// a fresh index sized for them, and drops the old ones.
func (s *store) rebuild() {
	chunks := make([][]entry, 0, (s.n+chunkSize-1)/chunkSize)
	long := map[uint32]string{}
	var used, prev uint32
	for ref := s.head; ref != 0; {
		e := s.at(ref)
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
		if e.klen == longKey {
			long[used] = s.long[ref]
		}
		prev = used
		ref = e.next
	}
	s.chunks, s.long, s.used, s.free = chunks, long, used, 0
	s.head, s.tail = 0, 0
	if used > 0 {
		s.head, s.tail = 1, used
	}
	s.slots = nil
	if s.n > 0 {
		size := minSlots
		for size*3 < s.n*4*2 { // half full at most, so growth is not immediate
			size *= 2
		}
		s.slots = make([]uint64, size)
		for ref := uint32(1); ref <= used; ref++ {
			place(s.slots, s.at(ref).h, ref)
		}
	}
	s.peak = s.n
}
