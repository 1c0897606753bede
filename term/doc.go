// Package term is Erlang's data model in Go: immutable terms, the External
// Term Format (version 131) codec, the Erlang text form, and marshaling
// between Go values and terms.
//
// A term is one of Atom, Int, BigInt, Float, *Binary, *Tuple, *List, *Map,
// Pid, Port, Ref and *Fun. Terms are never changed after construction.
// Updates build a new term that shares every untouched part with the old one,
// as Erlang's setelement/3 does:
//
//	s2 := s1.Set(3, counters.Put(term.BinaryString("ctr-7"), term.Int(8)))
//
// Here s2 shares every element of s1 but the fourth, and the new counters map
// shares all but one path of its internal tree with the old one. Lists, maps
// and binaries are kept as trees of chunks, so updating one element of a
// 32,000-element list copies a few dozen pointers, not the list. That sharing
// is what makes differences cheap to find: two subterms that are the same
// object are equal without being looked at (Same), and hashes (Hash) are
// cached per object and per chunk.
//
// # Comparing
//
// Equal is Erlang's =:= (1 and 1.0 differ); Compare is Erlang's term order
// (number < atom < reference < fun < port < pid < tuple < map < [] < list <
// bitstring), under which 1 and 1.0 compare equal. Hash is a content hash
// that is stable across processes and machines.
package term
