package actors

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/enode-dev/enode/funnel"
	"github.com/enode-dev/enode/term"
)

// AdmissionConfig is the replica_handler's admission control: every
// sending node (the owner named in its frames) goes through a funnel
// (leaky bucket) of Capacity bytes that leaks Rate bytes a second. A frame
// that does not fit is still applied and acknowledged (it was in flight:
// acknowledged work is never dropped), but its sender is told to Backoff
// for the funnel's retry-after, and that node's workers send no new frame
// until then, merging their states meanwhile as they do when their window
// is full. So a node that floods the spare is slowed to its rate, and the
// other nodes' frames keep getting through.
type AdmissionConfig struct {
	// Disabled switches admission control off: every frame is admitted and
	// no Backoff is ever sent. Default false.
	Disabled bool
	// Capacity is each node's burst, in frame bytes. A frame larger than
	// Capacity is charged Capacity (it needs an empty funnel). Default
	// 128 MiB.
	Capacity float64
	// Rate is each node's sustained rate, in frame bytes per second.
	// Default 64 MiB/s.
	Rate float64
	// TTL is how long an idle node's funnel is kept; it must be at least
	// Capacity/Rate. Default 5 minutes.
	TTL time.Duration
	// Clock is the funnel's time source; tests pass a *funnel.ManualClock.
	// Default funnel.SystemClock().
	Clock funnel.Clock
}

// DefaultAdmissionConfig returns admission control on, with the defaults.
func DefaultAdmissionConfig() AdmissionConfig {
	return AdmissionConfig{
		Capacity: 128 << 20,       // three large-workload keyframes back to back
		Rate:     64 << 20,        // about a core's worth of delta decoding
		TTL:      5 * time.Minute, // funnel's idle timeout
		Clock:    funnel.SystemClock(),
	}
}

// validate fills defaults for zero fields and checks the rest.
func (c *AdmissionConfig) validate() error {
	if c.Disabled {
		return nil
	}
	d := DefaultAdmissionConfig()
	if c.Capacity == 0 {
		c.Capacity = d.Capacity
	}
	if c.Rate == 0 {
		c.Rate = d.Rate
	}
	if c.TTL == 0 {
		c.TTL = d.TTL
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	switch {
	case !(c.Capacity > 0) || math.IsInf(c.Capacity, 0):
		return fmt.Errorf("%w: Admission.Capacity %v", ErrConfig, c.Capacity)
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("%w: Admission.Rate %v", ErrConfig, c.Rate)
	case c.TTL < 0 || c.TTL.Seconds() < c.Capacity/c.Rate:
		return fmt.Errorf("%w: Admission.TTL %v shorter than Capacity/Rate", ErrConfig, c.TTL)
	}
	return nil
}

// Backoff tells a sending node to send no new replication frame for
// RetryAfter: the replica_handler's funnel for Node is over its rate.
// Frames already sent are still applied and acknowledged. The handler
// sends it to the link that carried the frame, which passes it to every
// worker it carries; a worker of Node then merges its states until
// RetryAfter has passed (capped by ReplicationConfig.MaxBackoff) and sends
// the newest one as one delta. Worker names the worker whose frame went
// over, for logs.
//
// Term form: {enode_backoff, Node :: binary, Worker :: binary,
// RetryAfterMs :: integer}, the wait rounded up to whole milliseconds.
type Backoff struct {
	Node       string
	Worker     string
	RetryAfter time.Duration
}

func (*Backoff) isProtocol() {}

var _ Message = (*Backoff)(nil)

// ToTerm returns {enode_backoff, Node, Worker, RetryAfterMs}.
func (b *Backoff) ToTerm() term.Term {
	ms := uint64(0)
	if b.RetryAfter > 0 {
		ms = uint64((b.RetryAfter + time.Millisecond - 1) / time.Millisecond)
	}
	return term.Record(tagBackoff, term.BinaryString(b.Node), term.BinaryString(b.Worker), term.Uint(ms))
}

// backoffFromTerm decodes the fields of an enode_backoff record.
func backoffFromTerm(d *fieldDecoder) Message {
	if !d.arity(4) {
		return nil
	}
	b := &Backoff{Node: d.str(1), Worker: d.str(2)}
	ms := d.u64(3)
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		d.fail(3, "retry-after out of range")
		return nil
	}
	b.RetryAfter = time.Duration(ms) * time.Millisecond
	return b
}

// AdmissionStatsRequest asks a replica_handler for its AdmissionStats (a
// local request).
type AdmissionStatsRequest struct{}

// NodeAdmission is what a replica_handler's admission control saw of one
// sending node since the handler was spawned.
type NodeAdmission struct {
	Node          string
	Frames        uint64 // frames whose envelope named this node
	Bytes         uint64 // their bytes
	Refused       uint64 // frames over the node's rate (applied, answered with Backoff)
	RefusedBytes  uint64
	MaxRetryAfter time.Duration // the longest Backoff sent
}

// AdmissionStats answers AdmissionStatsRequest: one entry per node that
// sent a frame, sorted by node. Enabled is false when admission control is
// off (Nodes is then empty).
type AdmissionStats struct {
	Enabled bool
	Nodes   []NodeAdmission
}

// Node returns the entry of node (zero when it sent nothing).
func (s *AdmissionStats) Node(node string) NodeAdmission {
	for _, n := range s.Nodes {
		if n.Node == node {
			return n
		}
	}
	return NodeAdmission{Node: node}
}

// admission is a replica_handler's admission control. It outlives the
// handler's incarnations (so a restart forgets no funnel); the limiter is
// started by the first incarnation and closed when the handler stops for
// good. Only the handler's goroutine uses it.
type admission struct {
	cfg   AdmissionConfig
	lim   *funnel.Limiter
	nodes map[string]*NodeAdmission
}

// maxTrackedNodes bounds the per-node counters a handler keeps (the
// funnels themselves expire with their TTL).
const maxTrackedNodes = 4096

func newAdmission(cfg AdmissionConfig) *admission {
	return &admission{cfg: cfg, nodes: map[string]*NodeAdmission{}}
}

// start starts the limiter when it is not running.
func (a *admission) start() error {
	if a.cfg.Disabled || a.lim != nil {
		return nil
	}
	fc := funnel.DefaultConfig()
	fc.Capacity, fc.Rate, fc.TTL, fc.Clock = a.cfg.Capacity, a.cfg.Rate, a.cfg.TTL, a.cfg.Clock
	lim, err := funnel.New(fc)
	if err != nil {
		return fmt.Errorf("%w: Admission: %w", ErrConfig, err)
	}
	a.lim = lim
	return nil
}

// stop closes the limiter; start makes a new one.
func (a *admission) stop() {
	if a.lim != nil {
		_ = a.lim.Close()
		a.lim = nil
	}
}

// admit charges a frame of size bytes from node, worker to node's funnel
// and returns the Backoff to send when it did not fit (nil when it did, or
// when admission is off). A limiter that fails admits: admission control
// slows senders down, it never loses frames.
func (a *admission) admit(node, worker string, size int, logs *slog.Logger) *Backoff {
	if a.cfg.Disabled || a.lim == nil {
		return nil
	}
	n := a.nodes[node]
	if n == nil {
		n = &NodeAdmission{Node: node}
		if len(a.nodes) < maxTrackedNodes { // owner names come off the wire: bound the map
			a.nodes[node] = n
		}
	}
	n.Frames++
	n.Bytes += uint64(size)
	d, err := a.lim.AllowN(node, min(float64(size), a.cfg.Capacity))
	if err != nil {
		if !errors.Is(err, funnel.ErrOwnerRestarted) {
			logs.Warn("replica_handler: admission control failed; frame admitted", slog.String("node", node), slog.Any("err", err))
		}
		return nil
	}
	if d.Allowed {
		return nil
	}
	n.Refused++
	n.RefusedBytes += uint64(size)
	ra := max(d.RetryAfter, time.Millisecond)
	n.MaxRetryAfter = max(n.MaxRetryAfter, ra)
	return &Backoff{Node: node, Worker: worker, RetryAfter: ra}
}

// stats returns a snapshot of the per-node counters.
func (a *admission) stats() *AdmissionStats {
	s := &AdmissionStats{Enabled: !a.cfg.Disabled}
	for _, n := range a.nodes {
		s.Nodes = append(s.Nodes, *n)
	}
	slices.SortFunc(s.Nodes, func(x, y NodeAdmission) int { return cmp.Compare(x.Node, y.Node) })
	return s
}
