// Package ets is Erlang Term Storage for enode: in-memory tables of tuples,
// keyed by a term at a fixed position, that many goroutines read at once
// while one owner writes.
//
// A table is a set (keys distinct by exact equality, =:=, so 1 and 1.0 are
// two keys), an ordered_set (keys in Erlang term order, under which 1 and
// 1.0 are one key, exactly as in ETS), a bag (many objects per key, in
// insertion order, no two equal) or a duplicate_bag (equal objects too).
// Objects are *term.Tuple values; the key is the element at Options.KeyPos
// (0-based; Erlang's keypos 1 is 0).
//
// # Ownership and protection
//
// Protection is a matter of which handle you hold, not of runtime checks on
// the caller's identity. Creating a table returns its *Owner. The owner
// hands out the other handles:
//
//   - Protected (the default): View returns a read-only *View.
//   - Private: View and Writer refuse; nobody else reads the table.
//   - Public: Writer returns a *Writer, which anyone may use to write.
//
// When the owner stops it calls Exit. With an heir set, the table passes to
// the heir, which is told through its Heir function (Erlang's
// {'ETS-TRANSFER', Tab, FromPid, HeirData}) and receives a fresh *Owner;
// every handle of the old owner then refuses to write. Without an heir the
// table is deleted and every handle returns ErrDeleted.
//
// Named tables live in a Registry, one per node (no package-level state):
// Registry.View and Registry.Writer give the handle the table's protection
// allows to whoever asks by name.
//
// # Compact sets
//
// A set created with Options.Compact keeps objects of numbers unboxed: a
// key that is a binary or atom of up to 20 bytes or an integer, with up
// to four integers or floats, takes a 64-byte record and an 8-byte index
// slot. Such tables hold any object (others are kept whole), and
// UpdateNumbers, UpdateNumbersBatch and LookupNumbers read and rewrite
// the numbers in place, building no term: what a per-key counter or rate
// limiter (package funnel) does millions of times a second.
//
// # Small objects in an ordered_set
//
// An ordered_set created with Options.Compact keeps a small object inline
// in its B+tree leaf, unboxed, as ETS copies objects out of the process
// heap: a tuple of up to four elements, each an integer, a float, or an
// atom or binary of up to 20 bytes, whose elements fit in 24 bytes (a
// number takes 8, an atom or binary its length rounded up to 8). {Stamp,
// Key} with a key of up to 16 bytes and {K, V} of numbers fit. Such an
// object costs its 40-byte slot and nothing else: no heap object, no
// pointer for the garbage collector to mark. A read builds the tuple
// again, so Lookup returns a tuple equal (=:=, 1 and 1.0 kept apart) to
// the one inserted but not the same pointer. Any other object is kept
// whole. It is an option, not the rule, because building the tuple makes
// a lookup about twice as slow as handing back the stored pointer, and
// because a slot that can hold a record takes 40 bytes where a default
// ordered_set's takes 16 (a pointer and the key's order prefix), which
// a table of large objects would pay for nothing: it suits a large,
// long-lived index of small objects (the funnel's expiry index) more than
// a table read far more often than written. The two layouts are two
// instantiations of one B+tree, chosen when the table is created.
//
// # Concurrency
//
// Every handle is safe for concurrent use. Reads never take a table-wide
// lock: a set (and a bag) is split into shards with a reader/writer lock
// each, and an ordered_set is a B+tree whose readers take no lock at all:
// they check a version on each node they read and start again if a writer
// changed it meanwhile. Its writers lock the one leaf they change, and take
// a table lock only to split or remove a leaf. An ordered_set keeps its
// objects in its leaves' slots, 16 bytes per object (a pointer to it and
// its key's order prefix), 40 when the table is Compact (the object
// itself when small, else a pointer to it), and no heap object of its own
// per entry. Each single-object operation is atomic; UpdateCounter is an
// atomic read-modify-write. Traversals (Next, All, Select, Fold) see each
// object at most once but, as in ETS without safe_fixtable, may or may
// not see objects inserted or deleted while they run.
//
// # Usage
//
//	owner, _ := ets.New(ets.Options{Kind: ets.OrderedSet})
//	_ = owner.Insert(term.NewTuple(term.Atom("alice"), term.Int(3)))
//	view, _ := owner.View()          // hand this to readers
//	obj, ok, _ := view.Lookup(term.Atom("alice"))
package ets
