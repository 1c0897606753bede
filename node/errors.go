package node

import "errors"

// Errors returned by the node. They are sentinels: callers check them with
// errors.Is, and the node wraps them with %w to add what went wrong where.
var (
	// ErrInvalidConfig is returned by Config.Validate and Start when a
	// field of the configuration is wrong; the message names the field.
	ErrInvalidConfig = errors.New("node: invalid config")

	// ErrStart is returned by Start when a listener, the membership or the
	// remote transport cannot be brought up (a port in use, an unreachable
	// seed); the wrapped cause says which.
	ErrStart = errors.New("node: cannot start")

	// ErrStopped is returned by every operation on a node after Shutdown or
	// Halt.
	ErrStopped = errors.New("node: stopped")

	// ErrUnknownNode is returned when a message, call or monitor is aimed at
	// a node that is not a live member of the cluster.
	ErrUnknownNode = errors.New("node: unknown node")

	// ErrNoProc is returned when no process is registered under a name on
	// this node, or when a call reaches a node where its target does not
	// exist (the remote side answers with a dead letter).
	ErrNoProc = errors.New("node: no such process")

	// ErrTimeout is returned by Call when no reply came before the deadline.
	ErrTimeout = errors.New("node: call timed out")

	// ErrUnserializable is returned at send time when a message bound for
	// another node can be neither carried as protobuf nor encoded in the
	// External Term Format (a Go channel, a NaN float); it wraps the cause.
	ErrUnserializable = errors.New("node: message cannot be serialized")

	// ErrTooLarge is returned at send time when a message's encoded size
	// exceeds Config.MaxMessageSize. Larger data must be chunked by the
	// caller (the replication layer does).
	ErrTooLarge = errors.New("node: message too large")

	// ErrNameTaken is returned by Register and Spawn when the name is
	// already registered on this node.
	ErrNameTaken = errors.New("node: name already registered")

	// ErrBadName is returned by Register, Spawn and Send for a process name
	// that cannot be registered: empty, longer than 255 bytes, containing
	// '/', or starting with '$' or "enode." (reserved for the runtime).
	ErrBadName = errors.New("node: invalid process name")

	// ErrNotLocal is returned by Register when the PID belongs to another
	// node or to no live process of this node.
	ErrNotLocal = errors.New("node: not a live local process")

	// ErrMetaTooLarge is returned by SetMeta (and Start) when the node's
	// metadata would not fit memberlist's 512-byte limit.
	ErrMetaTooLarge = errors.New("node: metadata too large")

	// ErrBadMeta is returned when a peer's membership metadata cannot be
	// decoded; such a peer is ignored.
	ErrBadMeta = errors.New("node: malformed member metadata")
)
