package actors

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/enode-dev/enode/delta"
)

// ErrEnvelope is returned when the bytes of a reassembled frame are not an
// envelope: an unknown version, or a truncated owner name. (What is inside,
// the delta.Frame, has the delta package's errors.)
var ErrEnvelope = errors.New("actors: malformed frame envelope")

// The bytes a worker's chunks carry are an envelope around one delta.Frame:
//
//	version:1 (0xE1)  len(owner):uvarint  owner  frame (delta.AppendFrame)
//
// The owner is the name of the node the worker runs on, recorded with the
// replica so that node can find a dead node's workers; delta.Frame has no
// room for it.
const envelopeVersion = 0xE1

// maxOwnerLen bounds the owner name in an envelope (a node name is
// name@host, far shorter).
const maxOwnerLen = 1024

// appendEnvelope appends the envelope of f, sent by a worker on owner.
func appendEnvelope(dst []byte, owner string, f delta.Frame) ([]byte, error) {
	dst = append(dst, envelopeVersion)
	dst = binary.AppendUvarint(dst, uint64(len(owner)))
	dst = append(dst, owner...)
	return delta.AppendFrame(dst, f)
}

// decodeEnvelope reads an envelope. The frame's payload aliases b.
func decodeEnvelope(b []byte) (owner string, f delta.Frame, err error) {
	if len(b) == 0 || b[0] != envelopeVersion {
		return "", f, fmt.Errorf("%w: no version byte %#x at offset 0", ErrEnvelope, envelopeVersion)
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > maxOwnerLen || n > uint64(len(b)-1-k) {
		return "", f, fmt.Errorf("%w: bad owner length at offset 1", ErrEnvelope)
	}
	off := 1 + k
	owner = string(b[off : off+int(n)])
	f, err = delta.DecodeFrame(b[off+int(n):])
	if err != nil {
		return "", f, fmt.Errorf("actors: frame at offset %d: %w", off+int(n), err)
	}
	return owner, f, nil
}
