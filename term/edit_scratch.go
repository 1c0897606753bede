package term

// EditScratch is the working memory of ListEdits and MapEdits kept from
// one call to the next, for a caller that diffs often (the delta sender,
// once per step): with it, finding the edits between two versions of a
// state allocates nothing once the buffers have grown. Its results are
// valid until its next call. The zero value is ready to use; it is not safe
// for concurrent use.
type EditScratch struct {
	list    listDiffer
	mapd    mapDiffer
	changes []MapChange
	collect func(key, oldV, newV Term) bool
	// The roots the walks start from, here so that they need no
	// allocation.
	lroots [2]lspan
	mroots [2]*mnode
}

// MapChange is a key whose value is not the same in two maps: OldV is nil
// for a key only in the new map, NewV for a key only in the old one.
type MapChange struct{ Key, OldV, NewV Term }

// maxScratchElems bounds what an EditScratch keeps of a buffer between
// calls, so that one huge diff does not pin its memory.
const maxScratchElems = 1 << 16

// ListEdits is the package's ListEdits, in s's memory.
func (s *EditScratch) ListEdits(old, new *List) []ListEdit {
	if old.root == new.root {
		return nil
	}
	if old.root == nil || new.root == nil {
		s.list.out = append(s.list.out[:0], ListEdit{0, old.Len(), 0, new.Len()})
		return s.list.out
	}
	d := &s.list
	d.out, d.buf = d.out[:0], d.buf[:0]
	s.lroots = [2]lspan{{old.root, 0}, {new.root, 0}}
	d.seq(s.lroots[0:1], s.lroots[1:2], 0, old.Len(), 0, new.Len())
	out := d.out
	d.buf, d.ea, d.eb = trimScratch(d.buf), trimScratch(d.ea), trimScratch(d.eb)
	if cap(d.out) > maxScratchElems {
		d.out = nil
	}
	return out
}

// MapChanges returns, in map-key order, the keys whose values are not the
// same in old and new, as MapEdits finds them, in s's memory.
func (s *EditScratch) MapChanges(old, new *Map) []MapChange {
	s.changes = s.changes[:0]
	if old.root == new.root {
		return nil
	}
	if s.collect == nil {
		s.collect = func(k, ov, nv Term) bool {
			s.changes = append(s.changes, MapChange{k, ov, nv})
			return true
		}
	}
	d := &s.mapd
	d.fn, d.stop, d.buf = s.collect, false, d.buf[:0]
	s.mroots = [2]*mnode{old.root, new.root}
	xs, ys := s.mroots[0:1], s.mroots[1:2]
	if old.root == nil {
		xs = nil
	}
	if new.root == nil {
		ys = nil
	}
	d.seq(xs, ys)
	d.buf = trimScratch(d.buf)
	d.ka, d.va, d.kb, d.vb = trimScratch(d.ka), trimScratch(d.va), trimScratch(d.kb), trimScratch(d.vb)
	out := s.changes
	if cap(s.changes) > maxScratchElems {
		s.changes = nil
	}
	return out
}

// trimScratch empties a buffer for the next call, or drops it when it grew
// past maxScratchElems.
func trimScratch[T any](b []T) []T {
	if cap(b) > maxScratchElems {
		return nil
	}
	return b[:0]
}
