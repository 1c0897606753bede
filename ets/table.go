package ets

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"sync"
	"sync/atomic"

	"github.com/enode-dev/enode/term"
)

// Errors returned by table operations; they are wrapped with the table's
// name or the offending value, so test them with errors.Is.
var (
	// ErrDeleted is returned by every operation on a table that has been
	// deleted (its owner exited without an heir, or called Delete).
	ErrDeleted = errors.New("ets: table deleted")
	// ErrNotOwner is returned by a write through an *Owner handle whose
	// ownership has passed to someone else (GiveAway or heir transfer).
	ErrNotOwner = errors.New("ets: not the table's owner")
	// ErrAccess is returned when a handle the table's protection forbids is
	// asked for: a View of a private table, a Writer of a non-public one.
	ErrAccess = errors.New("ets: access denied by the table's protection")
	// ErrBadObject is returned when an object is nil or too short to have
	// an element at the table's key position.
	ErrBadObject = errors.New("ets: object has no key at the table's key position")
	// ErrBadKey is returned for a nil key.
	ErrBadKey = errors.New("ets: nil key")
	// ErrNotFound is returned by UpdateCounter without a default object when
	// the key is absent, and by Next or Prev on a set for a key that is not
	// in the table (ETS's badarg).
	ErrNotFound = errors.New("ets: key not found")
	// ErrBadCounter is returned by UpdateCounter when the position is the key
	// position or out of range, the element there is not a 64-bit integer,
	// or the result would overflow 64 bits.
	ErrBadCounter = errors.New("ets: bad counter position or value")
	// ErrNotOrdered is returned by key-range operations on a set or a bag.
	ErrNotOrdered = errors.New("ets: operation needs an ordered_set")
	// ErrNotSet is returned by UpdateCounter on a bag or duplicate_bag, as
	// ETS refuses update_counter there.
	ErrNotSet = errors.New("ets: operation needs a set or ordered_set")
	// ErrNameTaken is returned by Registry.New for a name already in use.
	ErrNameTaken = errors.New("ets: table name already in use")
	// ErrNoTable is returned by Registry look-ups for an unknown name.
	ErrNoTable = errors.New("ets: no table with that name")
	// ErrBadOptions is returned by New for options out of range.
	ErrBadOptions = errors.New("ets: bad options")
	// ErrNotNumbers is returned by UpdateNumbers and LookupNumbers when the
	// object under the key has an element, besides its key, that is not an
	// integer or a float, or more than MaxNumbersArity elements.
	ErrNotNumbers = errors.New("ets: object is not all numbers")
	// ErrNotCompact is returned by UpdateNumbers on a table created
	// without Options.Compact.
	ErrNotCompact = errors.New("ets: table is not compact")
)

// Kind is the table type: how keys are compared and kept.
type Kind uint8

const (
	// Set keeps keys distinct by exact equality (=:=, term.Equal), in an
	// unspecified (hash) order.
	Set Kind = iota
	// OrderedSet keeps keys in Erlang term order (term.Compare), under which
	// 1 and 1.0 are the same key.
	OrderedSet
	// Bag keeps any number of objects per key (keys distinct by =:=, in
	// hash order), in insertion order, but no two equal (=:=) objects.
	Bag
	// DuplicateBag is a Bag that keeps equal objects too.
	DuplicateBag
)

// String returns the ETS name of the kind: set or ordered_set.
func (k Kind) String() string {
	switch k {
	case Set:
		return "set"
	case OrderedSet:
		return "ordered_set"
	case Bag:
		return "bag"
	case DuplicateBag:
		return "duplicate_bag"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Access is the table's protection: who besides the owner gets a handle.
type Access uint8

const (
	// Protected tables give others a read-only View. It is the default, as
	// in ETS.
	Protected Access = iota
	// Private tables give others nothing.
	Private
	// Public tables give anyone a Writer.
	Public
)

// String returns the ETS name of the protection.
func (a Access) String() string {
	switch a {
	case Protected:
		return "protected"
	case Private:
		return "private"
	case Public:
		return "public"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// TransferReason says why a table changed owner.
type TransferReason uint8

const (
	// ByHeir: the previous owner exited and the table passed to its heir.
	ByHeir TransferReason = iota + 1
	// ByGiveAway: the previous owner gave the table away.
	ByGiveAway
)

// String names the reason as ETS's operations do: heir or give_away.
func (r TransferReason) String() string {
	switch r {
	case ByHeir:
		return "heir"
	case ByGiveAway:
		return "give_away"
	}
	return fmt.Sprintf("TransferReason(%d)", uint8(r))
}

// Transfer is the notice a new owner receives, Erlang's {'ETS-TRANSFER',
// Tab, FromPid, Data}: the new owner's handle, why, and the data the
// previous owner attached (the heir data or the gift data).
type Transfer struct {
	Table  *Owner
	Reason TransferReason
	Data   term.Term
}

// Heir receives a table when ownership passes to it. It is called
// synchronously by Exit or GiveAway, so it should only hand the notice on
// (send it to an actor or a channel) and not block.
type Heir func(Transfer)

// Options configure a table. The zero value is a protected set keyed on the
// first element, with no heir.
type Options struct {
	// Kind is Set (default), OrderedSet, Bag or DuplicateBag.
	Kind Kind
	// Access is Protected (default), Private or Public.
	Access Access
	// KeyPos is the 0-based tuple position of the key (Erlang's keypos - 1);
	// default 0.
	KeyPos int
	// Heir, when set, receives the table when the owner exits; HeirData goes
	// with it. Without an heir the table is deleted when the owner exits.
	Heir     Heir
	HeirData term.Term
	// Compact, for a Set, keeps small objects of numbers unboxed: a key
	// that is a binary or atom of up to 20 bytes or an integer, and up to
	// four other elements, each an integer or a float, take a 64-byte
	// record and an 8-byte index slot, where a generic object takes
	// several heap objects. Other objects are kept whole, so the table
	// holds any object; UpdateNumbers and LookupNumbers reach the numbers
	// with no term built. Lookup builds each object it returns. ETS's
	// compressed option plays the same part.
	//
	// Compact, for an OrderedSet, keeps small tuples inline in the
	// B+tree's leaves (see the package doc): 40 bytes each and nothing for
	// the garbage collector to mark, at the price of building the tuple
	// on every read.
	Compact bool
}

func (o Options) validate() error {
	if o.Kind > DuplicateBag {
		return fmt.Errorf("%w: Kind %d", ErrBadOptions, o.Kind)
	}
	if o.Access > Public {
		return fmt.Errorf("%w: Access %d", ErrBadOptions, o.Access)
	}
	if o.KeyPos < 0 || o.KeyPos > math.MaxInt32 {
		return fmt.Errorf("%w: KeyPos %d", ErrBadOptions, o.KeyPos)
	}
	if o.Compact && o.Kind != Set && o.Kind != OrderedSet {
		return fmt.Errorf("%w: Compact is for a set or an ordered_set, not %v", ErrBadOptions, o.Kind)
	}
	return nil
}

// store is a table's data structure. Implementations are safe for
// concurrent use; reads take no table-wide lock.
type store interface {
	lookup(key term.Term) *term.Tuple
	// insert adds or replaces obj (only adds when onlyNew) and reports
	// whether it was stored.
	insert(obj *term.Tuple, onlyNew bool) bool
	delete(key term.Term) bool
	// update atomically replaces the object under key with f(old); old is
	// nil when absent. f returning nil removes the key (it has no effect
	// on an absent key); f returning an error leaves the table unchanged.
	// A bag refuses with ErrNotSet.
	update(key term.Term, f func(old *term.Tuple) (*term.Tuple, error)) error
	first() term.Term
	last() term.Term
	// next and prev return the neighbouring key; nil at the end. A set
	// returns errNoKey when key is absent.
	next(key term.Term) (term.Term, error)
	prev(key term.Term) (term.Term, error)
	all(yield func(*term.Tuple) bool)
	size() int
	memory() int64
	clear()
}

var errNoKey = ErrNotFound

// ownerToken identifies one owner; a transfer replaces it.
type ownerToken struct{ _ byte }

type table struct {
	name   term.Atom // "" when unnamed
	kind   Kind
	access Access
	keyPos int
	st     store
	reg    *Registry

	// owner is the current owner's token; nil once deleted. Every
	// operation loads it once.
	owner atomic.Pointer[ownerToken]

	mu       sync.Mutex // serialises ownership changes
	heir     Heir
	heirData term.Term
}

// New creates an unnamed table and returns its owner's handle.
func New(opts Options) (*Owner, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return newTable("", opts, nil), nil
}

func newTable(name term.Atom, opts Options, reg *Registry) *Owner {
	t := &table{name: name, kind: opts.Kind, access: opts.Access, keyPos: opts.KeyPos,
		reg: reg, heir: opts.Heir, heirData: opts.HeirData}
	switch {
	case opts.Kind == OrderedSet:
		t.st = newOrdered(opts.KeyPos, opts.Compact)
	case opts.Kind == Bag || opts.Kind == DuplicateBag:
		t.st = newBag(opts.KeyPos, opts.Kind == DuplicateBag)
	case opts.Compact:
		t.st = newCompactSet(opts.KeyPos)
	default:
		t.st = newHashSet(opts.KeyPos)
	}
	tok := &ownerToken{}
	t.owner.Store(tok)
	return &Owner{Writer: Writer{View: View{t: t}, tok: tok}}
}

func (t *table) errf(err error) error {
	if err != nil && t.name != "" {
		return fmt.Errorf("%w (table %s)", err, t.name)
	}
	return err
}

func (t *table) keyOf(obj *term.Tuple) (term.Term, error) {
	if obj == nil || obj.Len() <= t.keyPos {
		return nil, t.errf(ErrBadObject)
	}
	return obj.At(t.keyPos), nil
}

// View is a read-only handle: what a protected table gives to everyone but
// its owner. It is safe for concurrent use.
type View struct{ t *table }

func (v View) live() error {
	if v.t.owner.Load() == nil {
		return v.t.errf(ErrDeleted)
	}
	return nil
}

// Name returns the table's registered name, "" for an unnamed table.
func (v View) Name() term.Atom { return v.t.name }

// Kind returns the table's type.
func (v View) Kind() Kind { return v.t.kind }

// Access returns the table's protection.
func (v View) Access() Access { return v.t.access }

// KeyPos returns the 0-based key position.
func (v View) KeyPos() int { return v.t.keyPos }

// Lookup returns the object under key (ets:lookup/2). For an ordered_set a
// key equal in term order finds it (1.0 finds the object keyed 1). For a
// bag it is the key's first object; LookupAll returns them all.
func (v View) Lookup(key term.Term) (*term.Tuple, bool, error) {
	if err := v.live(); err != nil {
		return nil, false, err
	}
	if key == nil {
		return nil, false, ErrBadKey
	}
	obj := v.t.st.lookup(key)
	return obj, obj != nil, nil
}

// LookupAll returns every object under key, in insertion order for a bag
// (ets:lookup/2's list): none or one for a set or ordered_set.
func (v View) LookupAll(key term.Term) ([]*term.Tuple, error) {
	if err := v.live(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, ErrBadKey
	}
	if b, ok := v.t.st.(*bag); ok {
		return b.lookupAll(key), nil
	}
	if obj := v.t.st.lookup(key); obj != nil {
		return []*term.Tuple{obj}, nil
	}
	return nil, nil
}

// LookupElement returns element pos (0-based) of the object under key
// (ets:lookup_element/3); ok is false when the key is absent or the object
// is too short.
func (v View) LookupElement(key term.Term, pos int) (term.Term, bool, error) {
	obj, ok, err := v.Lookup(key)
	if !ok || err != nil || pos < 0 || pos >= obj.Len() {
		return nil, false, err
	}
	return obj.At(pos), true, nil
}

// Member reports whether key is in the table (ets:member/2).
func (v View) Member(key term.Term) (bool, error) {
	_, ok, err := v.Lookup(key)
	return ok, err
}

// First returns the first key (ets:first/1); ok is false for an empty
// table. For a set the order is the table's internal hash order.
func (v View) First() (term.Term, bool, error) {
	if err := v.live(); err != nil {
		return nil, false, err
	}
	k := v.t.st.first()
	return k, k != nil, nil
}

// Last returns the last key (ets:last/1); for a set it is First, as in ETS.
func (v View) Last() (term.Term, bool, error) {
	if err := v.live(); err != nil {
		return nil, false, err
	}
	k := v.t.st.last()
	return k, k != nil, nil
}

// Next returns the key after key (ets:next/2); ok is false at the end. On
// an ordered_set key need not be in the table; on a set it must be, or the
// error is ErrNotFound.
func (v View) Next(key term.Term) (term.Term, bool, error) {
	if err := v.live(); err != nil {
		return nil, false, err
	}
	if key == nil {
		return nil, false, ErrBadKey
	}
	k, err := v.t.st.next(key)
	if err != nil {
		return nil, false, v.t.errf(err)
	}
	return k, k != nil, nil
}

// Prev returns the key before key (ets:prev/2); for a set it is Next, as
// in ETS.
func (v View) Prev(key term.Term) (term.Term, bool, error) {
	if err := v.live(); err != nil {
		return nil, false, err
	}
	if key == nil {
		return nil, false, ErrBadKey
	}
	k, err := v.t.st.prev(key)
	if err != nil {
		return nil, false, v.t.errf(err)
	}
	return k, k != nil, nil
}

// All iterates over every object: in key order for an ordered_set, in hash
// order for a set. The iteration holds no lock while the loop body runs,
// so the body may write to the table. A deleted table yields nothing.
func (v View) All() iter.Seq[*term.Tuple] {
	return func(yield func(*term.Tuple) bool) {
		if v.live() != nil {
			return
		}
		v.t.st.all(yield)
	}
}

// Range iterates, in key order, over the objects of an ordered_set whose
// keys k satisfy lo <= k <= hi in term order: the key-range select
// (ets:select/2 with a guarded key range). A nil bound is open. It fails
// with ErrNotOrdered on a set.
func (v View) Range(lo, hi term.Term) (iter.Seq[*term.Tuple], error) {
	if err := v.live(); err != nil {
		return nil, err
	}
	o, ok := v.t.st.(orderedSet)
	if !ok {
		return nil, v.t.errf(ErrNotOrdered)
	}
	return func(yield func(*term.Tuple) bool) { o.rangeObjs(lo, hi, yield) }, nil
}

// Select returns the objects for which match returns true, in traversal
// order, at most limit of them when limit > 0 (ets:select/2 with a match
// specification written as a Go predicate).
func (v View) Select(match func(*term.Tuple) bool, limit int) ([]*term.Tuple, error) {
	if err := v.live(); err != nil {
		return nil, err
	}
	var out []*term.Tuple
	for obj := range v.All() {
		if match(obj) {
			out = append(out, obj)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Fold calls f on every object with the accumulator, starting from acc, and
// returns the last accumulator (ets:foldl/3).
func (v View) Fold(acc term.Term, f func(obj *term.Tuple, acc term.Term) term.Term) (term.Term, error) {
	if err := v.live(); err != nil {
		return nil, err
	}
	for obj := range v.All() {
		acc = f(obj, acc)
	}
	return acc, nil
}

// Info is what ets:info/1 reports that matters here.
type Info struct {
	Name   term.Atom
	Kind   Kind
	Access Access
	KeyPos int
	// Size is the number of objects.
	Size int
	// Memory is an estimate, in bytes, of what the table holds: its own
	// structure plus the objects (terms shared with other tables or values
	// are counted in full).
	Memory int64
}

// Info returns the table's size and memory with its settings.
func (v View) Info() (Info, error) {
	if err := v.live(); err != nil {
		return Info{}, err
	}
	return Info{Name: v.t.name, Kind: v.t.kind, Access: v.t.access, KeyPos: v.t.keyPos,
		Size: v.t.st.size(), Memory: v.t.st.memory()}, nil
}

// Size returns the number of objects (ets:info(T, size)).
func (v View) Size() (int, error) {
	if err := v.live(); err != nil {
		return 0, err
	}
	return v.t.st.size(), nil
}

// Writer is a read-write handle: the owner's writes, and what a public
// table gives to anyone. It is safe for concurrent use.
type Writer struct {
	View
	tok *ownerToken // the owner's token; nil for a public table's writer
}

func (w Writer) writable() error {
	cur := w.t.owner.Load()
	switch {
	case cur == nil:
		return w.t.errf(ErrDeleted)
	case w.tok != nil && cur != w.tok:
		return w.t.errf(ErrNotOwner)
	}
	return nil
}

// Insert stores obj, replacing any object with the same key (ets:insert/2).
func (w Writer) Insert(obj *term.Tuple) error {
	if err := w.writable(); err != nil {
		return err
	}
	if _, err := w.t.keyOf(obj); err != nil {
		return err
	}
	w.t.st.insert(obj, false)
	return nil
}

// InsertNew stores obj only when its key is absent and reports whether it
// did (ets:insert_new/2).
func (w Writer) InsertNew(obj *term.Tuple) (bool, error) {
	if err := w.writable(); err != nil {
		return false, err
	}
	if _, err := w.t.keyOf(obj); err != nil {
		return false, err
	}
	return w.t.st.insert(obj, true), nil
}

// Delete removes the object under key and reports whether there was one
// (ets:delete/2).
func (w Writer) Delete(key term.Term) (bool, error) {
	if err := w.writable(); err != nil {
		return false, err
	}
	if key == nil {
		return false, ErrBadKey
	}
	return w.t.st.delete(key), nil
}

// DeleteObject removes the objects exactly equal (=:=) to obj
// (ets:delete_object/2): in a set or ordered_set the object under obj's
// key if it equals obj (in an ordered_set, key included, so {1.0, x} does
// not remove {1, x}); in a duplicate_bag every copy. It reports whether it
// removed any.
func (w Writer) DeleteObject(obj *term.Tuple) (bool, error) {
	if err := w.writable(); err != nil {
		return false, err
	}
	key, err := w.t.keyOf(obj)
	if err != nil {
		return false, err
	}
	if b, ok := w.t.st.(*bag); ok {
		return b.deleteObject(obj), nil
	}
	removed := false
	err = w.t.st.update(key, func(old *term.Tuple) (*term.Tuple, error) {
		if old == nil || !term.Equal(old, obj) {
			return old, nil
		}
		removed = true
		return nil, nil
	})
	return removed, err
}

// DeleteAll removes every object (ets:delete_all_objects/1).
func (w Writer) DeleteAll() error {
	if err := w.writable(); err != nil {
		return err
	}
	w.t.st.clear()
	return nil
}

// UpdateCounter atomically adds incr to the integer at position pos
// (0-based) of the object under key and returns the new value
// (ets:update_counter/3,4); a bag refuses with ErrNotSet. When the key is absent and def is non-nil, def
// (whose key is replaced by key) is inserted first, as update_counter/4
// does; without def the error is ErrNotFound. Concurrent calls on one key
// never lose an increment.
func (w Writer) UpdateCounter(key term.Term, pos int, incr int64, def *term.Tuple) (int64, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	if key == nil {
		return 0, ErrBadKey
	}
	if w.t.kind == Bag || w.t.kind == DuplicateBag {
		return 0, w.t.errf(ErrNotSet)
	}
	if pos == w.t.keyPos || pos < 0 {
		return 0, w.t.errf(fmt.Errorf("%w: position %d", ErrBadCounter, pos))
	}
	var result int64
	err := w.t.st.update(key, func(old *term.Tuple) (*term.Tuple, error) {
		if old == nil {
			if def == nil {
				return nil, w.t.errf(ErrNotFound)
			}
			if def.Len() <= w.t.keyPos {
				return nil, w.t.errf(ErrBadObject)
			}
			old = def.Set(w.t.keyPos, key)
		}
		if pos >= old.Len() {
			return nil, w.t.errf(fmt.Errorf("%w: position %d of a %d-tuple", ErrBadCounter, pos, old.Len()))
		}
		cur, ok := old.At(pos).(term.Int)
		if !ok {
			return nil, w.t.errf(fmt.Errorf("%w: element %d is %v, not an integer", ErrBadCounter, pos, old.At(pos).Kind()))
		}
		sum := int64(cur) + incr
		if (incr > 0 && sum < int64(cur)) || (incr < 0 && sum > int64(cur)) {
			return nil, w.t.errf(fmt.Errorf("%w: %d + %d overflows", ErrBadCounter, cur, incr))
		}
		result = sum
		return old.Set(pos, term.Int(sum)), nil
	})
	return result, err
}

// Owner is the handle of the table's owner: all reads and writes, plus
// handing out the other handles, heir and transfer, and deletion. Only the
// current owner's handle writes; after a transfer the old one returns
// ErrNotOwner.
type Owner struct{ Writer }

// View returns the read-only handle to give to others; a private table
// refuses with ErrAccess.
func (o *Owner) View() (*View, error) {
	if err := o.writable(); err != nil {
		return nil, err
	}
	if o.t.access == Private {
		return nil, o.t.errf(ErrAccess)
	}
	return &View{t: o.t}, nil
}

// PublicWriter returns a writer for anyone; only a public table gives one
// (ErrAccess otherwise).
func (o *Owner) PublicWriter() (*Writer, error) {
	if err := o.writable(); err != nil {
		return nil, err
	}
	if o.t.access != Public {
		return nil, o.t.errf(ErrAccess)
	}
	return &Writer{View: View{t: o.t}}, nil
}

// SetHeir sets (or, with a nil heir, clears) who receives the table when
// the owner exits (ets:setopts(T, {heir, Pid, Data})).
func (o *Owner) SetHeir(h Heir, data term.Term) error {
	o.t.mu.Lock()
	defer o.t.mu.Unlock()
	if err := o.writable(); err != nil {
		return err
	}
	o.t.heir, o.t.heirData = h, data
	return nil
}

// GiveAway makes to the new owner now (ets:give_away/3): to is called with the
// new owner's handle and data, and this handle stops writing.
func (o *Owner) GiveAway(to Heir, data term.Term) error {
	if to == nil {
		return fmt.Errorf("%w: nil recipient", ErrBadOptions)
	}
	o.t.mu.Lock()
	if err := o.writable(); err != nil {
		o.t.mu.Unlock()
		return err
	}
	next := o.handOver()
	o.t.mu.Unlock()
	to(Transfer{Table: next, Reason: ByGiveAway, Data: data})
	return nil
}

// handOver installs a new owner token and returns its handle; t.mu is held.
func (o *Owner) handOver() *Owner {
	tok := &ownerToken{}
	o.t.owner.Store(tok)
	return &Owner{Writer: Writer{View: View{t: o.t}, tok: tok}}
}

// Exit is the owner stopping: the table passes to the heir, which is told
// with a Transfer, or, without an heir, is deleted. Calling it again, or on
// a handle that no longer owns the table, does nothing.
func (o *Owner) Exit() {
	o.t.mu.Lock()
	if o.writable() != nil {
		o.t.mu.Unlock()
		return
	}
	heir, data := o.t.heir, o.t.heirData
	if heir == nil {
		o.deleteLocked()
		o.t.mu.Unlock()
		return
	}
	next := o.handOver()
	o.t.mu.Unlock()
	heir(Transfer{Table: next, Reason: ByHeir, Data: data})
}

// DeleteTable deletes the table now (ets:delete/1): every handle then returns
// ErrDeleted and its name is free again.
func (o *Owner) DeleteTable() error {
	o.t.mu.Lock()
	defer o.t.mu.Unlock()
	if err := o.writable(); err != nil {
		return err
	}
	o.deleteLocked()
	return nil
}

func (o *Owner) deleteLocked() {
	o.t.owner.Store(nil)
	o.t.st.clear()
	if o.t.reg != nil {
		o.t.reg.unregister(o.t.name, o.t)
	}
}
