package node

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/enode-dev/enode/actors"
)

// Role is what a node is for in an N+1 cluster: an active node runs
// workers, a spare keeps their replicas and takes over when an active node
// dies. The role is published in the node's membership metadata so that
// every node computes the same backup choice.
type Role uint8

// The roles.
const (
	RoleActive Role = iota + 1
	RoleSpare
)

// String returns "active" or "spare".
func (r Role) String() string {
	switch r {
	case RoleActive:
		return "active"
	case RoleSpare:
		return "spare"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// FailureDetection tunes memberlist's SWIM failure detector. A node that
// stops answering is first suspected (after a probe plus indirect probes
// fail) and then declared dead after a suspicion timeout of about
// SuspicionMult * log10(cluster size) * ProbeInterval. See LANFailureDetection
// and LocalFailureDetection for the two profiles.
type FailureDetection struct {
	ProbeInterval       time.Duration // time between probes of a random member
	ProbeTimeout        time.Duration // how long to wait for a probe's ack
	SuspicionMult       int           // suspicion timeout multiplier (see above)
	GossipInterval      time.Duration // time between gossip rounds
	PushPullInterval    time.Duration // time between full state syncs with a random member
	TCPTimeout          time.Duration // timeout of stream connections (joins, push/pull)
	DeadNodeReclaimTime time.Duration // after this, a dead node's name may rejoin from another address (0: never)
	GossipToTheDeadTime time.Duration // keep gossiping to a dead node this long (it may be a false positive)
}

// LANFailureDetection is memberlist's LAN profile: robust on a real network,
// but a hard-killed node is declared dead only after about 5 seconds.
func LANFailureDetection() FailureDetection {
	return FailureDetection{
		ProbeInterval:       1 * time.Second,        // memberlist LAN default
		ProbeTimeout:        500 * time.Millisecond, // memberlist LAN default
		SuspicionMult:       4,                      // memberlist LAN default
		GossipInterval:      200 * time.Millisecond, // memberlist LAN default
		PushPullInterval:    30 * time.Second,       // memberlist LAN default
		TCPTimeout:          10 * time.Second,       // memberlist LAN default
		DeadNodeReclaimTime: 10 * time.Second,       // memberlist's default is never; a restarted node must be able to come back
		GossipToTheDeadTime: 30 * time.Second,       // memberlist LAN default
	}
}

// LocalFailureDetection is tuned for clusters on one machine (loopback):
// a hard-killed node is declared dead in a few hundred milliseconds.
// Do not use it across a real network, where it gives false positives.
func LocalFailureDetection() FailureDetection {
	return FailureDetection{
		ProbeInterval:       100 * time.Millisecond, // loopback round trips are ~50µs
		ProbeTimeout:        100 * time.Millisecond, // one probe interval: a node busy with a keyframe or a GC still answers in time
		SuspicionMult:       2,                      // suspicion timeout ~ 2 probe intervals: a stalled node has ~300 ms to refute
		GossipInterval:      50 * time.Millisecond,  // spread the news fast
		PushPullInterval:    2 * time.Second,        // cheap on loopback; heals missed gossip quickly
		TCPTimeout:          1 * time.Second,        // loopback connects are instant
		DeadNodeReclaimTime: time.Millisecond,       // a restarted node (new port) may take its name back as soon as the old one is dead
		GossipToTheDeadTime: 1 * time.Second,        // a false positive refutes within this
	}
}

// Config is what a node needs to start. Create it with DefaultConfig or
// LocalConfig and change what you need; Validate says which field is wrong.
type Config struct {
	// Name is the node's name, "name@host" as in Erlang
	// ("worker1@127.0.0.1"). It is unique in the cluster.
	Name string

	// Role is RoleActive or RoleSpare.
	Role Role

	// GossipAddr is the "host:port" memberlist listens on (UDP and TCP).
	// Port 0 picks a free port; Node.GossipAddr reports the real one.
	GossipAddr string
	// GossipAdvertise is the "ip:port" other members reach the gossip
	// listener at, when it differs from GossipAddr (NAT, containers).
	// Empty means the bound address (or, bound to all interfaces, the
	// first private IP).
	GossipAdvertise string

	// RemoteAddr is the "host:port" the protoactor remote (gRPC) listens
	// on. Port 0 picks a free port; Node.RemoteAddr reports the real one.
	RemoteAddr string
	// RemoteAdvertise is the "host:port" other nodes reach the remote
	// listener at, when it differs from RemoteAddr. It needs a fixed port.
	RemoteAdvertise string

	// Seeds are gossip addresses ("host:port") of members to join at
	// start. Empty starts a new cluster. Start succeeds when at least one
	// seed answers.
	Seeds []string

	// Secret is the cluster secret. When set, gossip is encrypted with a
	// key derived from it and the remote transport uses mutual TLS with a
	// certificate authority derived from it: a process without the secret
	// can neither join nor deliver messages. Empty runs the cluster in
	// plaintext, which is for development only.
	Secret []byte

	// Failure tunes failure detection; see LANFailureDetection and
	// LocalFailureDetection.
	Failure FailureDetection

	// Meta is the initial user metadata published with the node (small
	// key/values; the whole metadata must fit in 512 bytes). SetMeta
	// changes it at run time.
	Meta map[string]string

	// MaxMessageSize bounds one message's encoded size; larger messages
	// are refused at send time with ErrTooLarge.
	MaxMessageSize int

	// WriterBatchSize is how many messages the remote transport packs in
	// one gRPC frame. The node sizes gRPC's receive limit to
	// WriterBatchSize * (MaxMessageSize + envelope overhead), so a batch
	// is never refused by the receiver.
	WriterBatchSize int

	// EventBuffer is the buffer of each MonitorNodes subscription; a
	// subscriber that falls further behind loses events (counted).
	EventBuffer int

	// LeaveTimeout bounds the graceful leave broadcast in Shutdown.
	LeaveTimeout time.Duration

	// DrainTimeout bounds how long Shutdown waits, before it stops the
	// workers, for each worker's newest state to be acknowledged by its
	// backup (the workers take no new message meanwhile), so that the spare
	// takes them over from their last state. Workers not drained in time
	// are logged and stopped anyway. 0: Shutdown does not wait (the spare
	// starts from the last acknowledged states). Halt never drains.
	DrainTimeout time.Duration

	// CallTimeout is the timeout of a Call whose context has no deadline.
	CallTimeout time.Duration

	// CertLifetime is the lifetime of the TLS certificate the node issues
	// itself (when Secret is set); it is renewed when half of it is gone.
	CertLifetime time.Duration

	// Logger receives the node's logs and, at debug level, protoactor's and
	// memberlist's. Nil discards everything.
	Logger *slog.Logger

	// Faults, when set, lets tests drop the node's gossip and remote
	// traffic to chosen peers (see Faults). Nil in production.
	Faults *Faults

	// replicaStore, when set (by internal tests), wraps the replica
	// handler's store, to hold a frame between its decode and its store.
	replicaStore func(actors.Store) actors.Store

	// Workers builds the worker with a given id; StartWorker and takeover
	// call it. Every node of a cluster must be able to build any worker,
	// since any spare may take over any active node. Nil: this node runs
	// no workers (StartWorker fails, and as a spare it keeps replicas but
	// cannot take over). See "Replication and takeover" in the package doc.
	Workers WorkerFactory

	// Replication configures how this node's workers replicate their
	// state to their backup.
	Replication actors.ReplicationConfig
}

// DefaultConfig returns a configuration for a node on a LAN: every listener
// on all interfaces with a free port, memberlist's LAN failure detection.
func DefaultConfig(name string) Config {
	return Config{
		Name:            name,
		Role:            RoleActive,
		GossipAddr:      "0.0.0.0:0",
		RemoteAddr:      "0.0.0.0:0",
		Failure:         LANFailureDetection(),
		MaxMessageSize:  1 << 20,         // 1 MiB: the replication layer sends 64 KiB chunks
		WriterBatchSize: 64,              // 64 * 1 MiB: gRPC receive limit ~64 MiB
		EventBuffer:     256,             // node events are rare; 256 absorbs a cluster-wide restart
		LeaveTimeout:    time.Second,     // the leave broadcast needs one gossip round or two
		DrainTimeout:    5 * time.Second, // a few ack round trips even behind Backoff or a 40 MB keyframe
		CallTimeout:     5 * time.Second, // gen_server:call's default
		CertLifetime:    24 * time.Hour,  // renewed at 12 h

		Replication: actors.DefaultReplicationConfig(), // deltas, adaptive keyframes, every step, async
	}
}

// LocalConfig returns a configuration for a cluster on one machine: every
// listener on 127.0.0.1 with a free port, and LocalFailureDetection, so a
// hard-killed node is declared dead well under a second.
func LocalConfig(name string) Config {
	c := DefaultConfig(name)
	c.GossipAddr = "127.0.0.1:0"
	c.RemoteAddr = "127.0.0.1:0"
	c.Failure = LocalFailureDetection()
	c.LeaveTimeout = 500 * time.Millisecond
	return c
}

const maxGRPCMessage = 1 << 30 // gRPC cannot take more than this in one frame

// envelopeOverhead is the per-message overhead of protoactor's batch
// envelope (target, sender, type name) over the message itself.
const envelopeOverhead = 1024

// Validate checks the configuration and returns an error wrapping
// ErrInvalidConfig that names the first wrong field.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if err := validateNodeName(c.Name); err != nil {
		return bad("Name", "%v", err)
	}
	if c.Role != RoleActive && c.Role != RoleSpare {
		return bad("Role", "must be RoleActive or RoleSpare, got %v", c.Role)
	}
	if _, _, err := splitHostPort(c.GossipAddr); err != nil {
		return bad("GossipAddr", "%v", err)
	}
	if c.GossipAdvertise != "" {
		if h, p, err := splitHostPort(c.GossipAdvertise); err != nil {
			return bad("GossipAdvertise", "%v", err)
		} else if p == 0 {
			return bad("GossipAdvertise", "needs a port")
		} else if net.ParseIP(h) == nil {
			return bad("GossipAdvertise", "%q: the host must be an IP address", h)
		}
	}
	_, rport, err := splitHostPort(c.RemoteAddr)
	if err != nil {
		return bad("RemoteAddr", "%v", err)
	}
	if c.RemoteAdvertise != "" {
		if _, p, err := splitHostPort(c.RemoteAdvertise); err != nil {
			return bad("RemoteAdvertise", "%v", err)
		} else if p == 0 {
			return bad("RemoteAdvertise", "needs a port")
		}
		if rport == 0 {
			return bad("RemoteAdvertise", "needs a fixed RemoteAddr port (the real port is unknown before start)")
		}
	}
	for i, s := range c.Seeds {
		if _, p, err := splitHostPort(s); err != nil {
			return bad(fmt.Sprintf("Seeds[%d]", i), "%v", err)
		} else if p == 0 {
			return bad(fmt.Sprintf("Seeds[%d]", i), "needs a port")
		}
	}
	f := c.Failure
	switch {
	case f.ProbeInterval <= 0:
		return bad("Failure.ProbeInterval", "must be positive")
	case f.ProbeTimeout <= 0 || f.ProbeTimeout > f.ProbeInterval:
		return bad("Failure.ProbeTimeout", "must be positive and at most ProbeInterval")
	case f.SuspicionMult < 1:
		return bad("Failure.SuspicionMult", "must be at least 1")
	case f.GossipInterval <= 0:
		return bad("Failure.GossipInterval", "must be positive")
	case f.PushPullInterval < 0:
		return bad("Failure.PushPullInterval", "must not be negative")
	case f.TCPTimeout <= 0:
		return bad("Failure.TCPTimeout", "must be positive")
	case f.DeadNodeReclaimTime < 0:
		return bad("Failure.DeadNodeReclaimTime", "must not be negative")
	case f.GossipToTheDeadTime < 0:
		return bad("Failure.GossipToTheDeadTime", "must not be negative")
	}
	if len(c.Secret) > 0 && len(c.Secret) < 16 {
		return bad("Secret", "must be empty (plaintext) or at least 16 bytes")
	}
	if _, err := encodeMeta(memberMeta{Name: c.Name, Role: c.Role, Remote: "255.255.255.255:65535", User: c.Meta}); err != nil {
		return bad("Meta", "%v", err)
	}
	if c.MaxMessageSize < 1024 {
		return bad("MaxMessageSize", "must be at least 1024")
	}
	if c.WriterBatchSize < 1 {
		return bad("WriterBatchSize", "must be at least 1")
	}
	if int64(c.WriterBatchSize)*int64(c.MaxMessageSize+envelopeOverhead) > maxGRPCMessage {
		return bad("WriterBatchSize", "WriterBatchSize*(MaxMessageSize+%d) exceeds gRPC's 1 GiB frame", envelopeOverhead)
	}
	if c.EventBuffer < 1 {
		return bad("EventBuffer", "must be at least 1")
	}
	if c.LeaveTimeout <= 0 {
		return bad("LeaveTimeout", "must be positive")
	}
	if c.DrainTimeout < 0 {
		return bad("DrainTimeout", "must not be negative")
	}
	if c.CallTimeout <= 0 {
		return bad("CallTimeout", "must be positive")
	}
	if len(c.Secret) > 0 && c.CertLifetime < time.Minute {
		return bad("CertLifetime", "must be at least a minute")
	}
	return c.validateReplication()
}

// validateNodeName checks "name@host": both parts non-empty, the name made
// of letters, digits, '_', '-' and '.', the whole at most 255 bytes (an
// Erlang atom).
func validateNodeName(s string) error {
	name, host, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return fmt.Errorf("%q is not name@host", s)
	case name == "" || host == "":
		return fmt.Errorf("%q: name and host must not be empty", s)
	case len(s) > 255:
		return fmt.Errorf("longer than 255 bytes")
	case strings.Contains(host, "@"):
		return fmt.Errorf("%q has more than one '@'", s)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("%q: name part may hold only letters, digits, '_', '-', '.'", s)
		}
	}
	for _, r := range host {
		if r <= ' ' || r == '/' || r == 0x7f {
			return fmt.Errorf("%q: host part has a space, control character or '/'", s)
		}
	}
	return nil
}

// splitHostPort splits "host:port" with a numeric port in 0..65535.
func splitHostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	if h == "" {
		return "", 0, fmt.Errorf("%q has no host", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number in 0..65535", s)
	}
	return h, port, nil
}
