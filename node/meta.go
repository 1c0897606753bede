package node

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/memberlist"
)

// memberMeta is what a node publishes about itself through memberlist's
// node metadata: who it is, what it is for, where its actors are reached,
// and the user's small key/values.
type memberMeta struct {
	Name   string
	Role   Role
	Remote string
	User   map[string]string
	// Leaving is set by a node that is shutting down, just before it
	// leaves, so that peers can tell a graceful leave from a failure
	// (memberlist's leave callback does not say which it was).
	Leaving bool
}

const metaLeaving = 1 // flag bit: the node is leaving

// metaVersion is the first byte of the encoded metadata, so that the format
// can change without old nodes misreading new ones.
const metaVersion = 1

// encodeMeta writes m as: version byte, role byte, flags byte, then length-prefixed
// (uvarint) strings: name, remote address, the number of user pairs, and
// each pair's key and value in key order. It fails when the result exceeds
// memberlist's metadata limit.
func encodeMeta(m memberMeta) ([]byte, error) {
	var flags byte
	if m.Leaving {
		flags |= metaLeaving
	}
	b := []byte{metaVersion, byte(m.Role), flags}
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	str(m.Name)
	str(m.Remote)
	b = binary.AppendUvarint(b, uint64(len(m.User)))
	for _, k := range slices.Sorted(maps.Keys(m.User)) {
		str(k)
		str(m.User[k])
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrMetaTooLarge, len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// decodeMeta reads what encodeMeta wrote; any malformation is an error
// wrapping ErrBadMeta that gives the byte offset.
func decodeMeta(b []byte) (memberMeta, error) {
	var m memberMeta
	off := 0
	fail := func(what string) (memberMeta, error) {
		return memberMeta{}, fmt.Errorf("%w: %s at byte %d", ErrBadMeta, what, off)
	}
	if len(b) < 3 {
		return fail("short header")
	}
	if b[0] != metaVersion {
		return fail(fmt.Sprintf("unknown version %d", b[0]))
	}
	m.Role = Role(b[1])
	if m.Role != RoleActive && m.Role != RoleSpare {
		return fail(fmt.Sprintf("unknown role %d", b[1]))
	}
	if b[2]&^metaLeaving != 0 {
		return fail(fmt.Sprintf("unknown flags %#x", b[2]))
	}
	m.Leaving = b[2]&metaLeaving != 0
	off = 3
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b[off:])
		if n <= 0 || n != len(binary.AppendUvarint(nil, v)) { // minimal encodings only
			return 0, false
		}
		off += n
		return v, true
	}
	str := func() (string, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(b)-off) {
			return "", false
		}
		s := string(b[off : off+int(n)])
		off += int(n)
		return s, true
	}
	var ok bool
	if m.Name, ok = str(); !ok {
		return fail("bad name")
	}
	if m.Remote, ok = str(); !ok {
		return fail("bad remote address")
	}
	n, ok := uv()
	if !ok || n > uint64(len(b)-off)/2 {
		return fail("bad pair count")
	}
	if n > 0 {
		m.User = make(map[string]string, n)
	}
	prev := ""
	for i := uint64(0); i < n; i++ {
		k, ok := str()
		if !ok {
			return fail("bad key")
		}
		if i > 0 && k <= prev {
			return fail("keys out of order")
		}
		v, ok := str()
		if !ok {
			return fail("bad value")
		}
		m.User[k], prev = v, k
	}
	if off != len(b) {
		return fail("trailing bytes")
	}
	return m, nil
}
