package node

import (
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// Member is what the cluster knows about one node, from its published
// metadata and memberlist's view of its health.
type Member struct {
	Name       string            // "name@host"
	Role       Role              // RoleActive or RoleSpare
	RemoteAddr string            // where its actors are reached (protoactor remote)
	GossipAddr string            // its memberlist address
	Meta       map[string]string // its user metadata (a copy)
	Alive      bool              // true but in the Member of a NodeDown event
}

// NodeEventKind says what happened to a node.
type NodeEventKind uint8

// The node events, as Erlang's nodeup and nodedown plus metadata updates.
const (
	NodeUp     NodeEventKind = iota + 1 // a node joined (or came back)
	NodeDown                            // a node left or was declared dead
	NodeUpdate                          // a node changed its metadata
)

// String returns the Erlang-style name: "nodeup", "nodedown", "nodeupdate".
func (k NodeEventKind) String() string {
	switch k {
	case NodeUp:
		return "nodeup"
	case NodeDown:
		return "nodedown"
	case NodeUpdate:
		return "nodeupdate"
	}
	return "nodeevent(" + strconv.Itoa(int(k)) + ")"
}

// NodeEvent is one change of the membership, as seen by this node. Events
// about the node itself are not reported.
type NodeEvent struct {
	Kind   NodeEventKind
	Member Member
	// Left is set on NodeDown when the node left gracefully (Shutdown)
	// rather than being declared dead by failure detection.
	Left bool
}

// NodeWatch is a subscription to node events, like
// net_kernel:monitor_nodes. Events are delivered on a buffered channel; the
// membership never waits for a subscriber: when the buffer is full the
// event is dropped and counted. Cancel (or the node's shutdown) closes the
// channel.
type NodeWatch struct {
	n       *Node
	ch      chan NodeEvent
	dropped atomic.Uint64
}

// Events returns the channel of events. It is closed by Cancel and by the
// node's shutdown.
func (w *NodeWatch) Events() <-chan NodeEvent { return w.ch }

// Dropped returns how many events were lost because the buffer was full.
func (w *NodeWatch) Dropped() uint64 { return w.dropped.Load() }

// Cancel ends the subscription and closes the channel; it is idempotent.
func (w *NodeWatch) Cancel() {
	m := &w.n.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[w]; ok {
		delete(m.subs, w)
		close(w.ch)
	}
}

// members is the node's table of live peers (from memberlist's events) and
// its event subscriptions.
type members struct {
	mu    sync.Mutex
	peers map[string]Member // by node name, without the node itself
	// leaving holds the peers that announced a graceful leave.
	leaving map[string]bool
	subs    map[*NodeWatch]struct{}
	closed  bool
}

// MonitorNodes subscribes to node up, down and update events. Each
// subscription has its own buffer of Config.EventBuffer events. On a stopped
// node the channel is already closed.
func (n *Node) MonitorNodes() *NodeWatch {
	w := &NodeWatch{n: n, ch: make(chan NodeEvent, n.cfg.EventBuffer)}
	m := &n.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		close(w.ch)
		return w
	}
	m.subs[w] = struct{}{}
	return w
}

// publish delivers ev to every subscriber without blocking. Called with
// m.mu held.
func (m *members) publishLocked(ev NodeEvent) {
	for w := range m.subs {
		e := ev
		e.Member.Meta = maps.Clone(ev.Member.Meta)
		select {
		case w.ch <- e:
		default:
			w.dropped.Add(1)
		}
	}
}

// closeAll closes every subscription (at shutdown).
func (m *members) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for w := range m.subs {
		close(w.ch)
	}
	clear(m.subs)
}

// peer returns the live peer with this name.
func (m *members) peer(name string) (Member, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[name]
	return p, ok
}

// peerByRemote reports whether a live peer listens at this remote address.
func (m *members) peerByRemote(addr string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if p.RemoteAddr == addr {
			return true
		}
	}
	return false
}

// Members returns the live members of the cluster, this node included,
// as this node knows them from membership events. A member stays listed
// while it is only suspected of having failed; it goes when it leaves or
// is declared dead (a NodeDown event).
func (n *Node) Members() []Member {
	if n.stopped() {
		return nil
	}
	self := Member{Name: n.cfg.Name, Role: n.Role(), RemoteAddr: n.remoteAddr, GossipAddr: n.gossipAddr, Meta: n.Meta(), Alive: true}
	m := &n.members
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Member, 0, len(m.peers)+1)
	out = append(out, self)
	for _, p := range m.peers {
		p.Meta = maps.Clone(p.Meta)
		out = append(out, p)
	}
	return out
}

// memberOf reads a memberlist node. memberlist mutates its nodes under its
// own lock, so this is only called from its callbacks, which hold it.
func memberOf(mn *memberlist.Node) (mb Member, leaving bool, err error) {
	meta, err := decodeMeta(mn.Meta)
	if err != nil {
		return Member{}, false, err
	}
	return Member{
		Name:       mn.Name,
		Role:       meta.Role,
		RemoteAddr: meta.Remote,
		GossipAddr: net.JoinHostPort(mn.Addr.String(), strconv.Itoa(int(mn.Port))),
		Meta:       meta.User,
		Alive:      true,
	}, meta.Leaving, nil
}

// events receives memberlist's membership callbacks. memberlist calls them
// from its own goroutines with its locks held, so they only update the
// table and hand events on without blocking.
type events struct{ n *Node }

var _ memberlist.EventDelegate = events{}

func (e events) NotifyJoin(mn *memberlist.Node)   { e.n.memberChanged(mn, NodeUp) }
func (e events) NotifyLeave(mn *memberlist.Node)  { e.n.memberChanged(mn, NodeDown) }
func (e events) NotifyUpdate(mn *memberlist.Node) { e.n.memberChanged(mn, NodeUpdate) }

func (n *Node) memberChanged(mn *memberlist.Node, kind NodeEventKind) {
	if mn.Name == n.cfg.Name {
		return
	}
	mb, leaving, err := memberOf(mn)
	if err != nil {
		n.log.Warn("ignoring member with bad metadata", "member", mn.Name, "err", err)
		return
	}
	if mb.Name != mn.Name {
		n.log.Warn("ignoring member whose metadata names another node", "member", mn.Name, "meta_name", mb.Name)
		return
	}
	m := &n.members
	m.mu.Lock()
	ev := NodeEvent{Kind: kind, Member: mb}
	switch kind {
	case NodeUp:
		m.peers[mb.Name] = mb
		delete(m.leaving, mb.Name)
	case NodeUpdate:
		m.peers[mb.Name] = mb
		if leaving {
			// The announcement of a graceful leave is not a user-visible
			// update; it only qualifies the NodeDown that follows.
			m.leaving[mb.Name] = true
			m.mu.Unlock()
			return
		}
	case NodeDown:
		mb.Alive = false
		ev.Member.Alive = false
		ev.Left = m.leaving[mb.Name]
		delete(m.peers, mb.Name)
		delete(m.leaving, mb.Name)
	}
	m.publishLocked(ev)
	m.mu.Unlock()
	n.log.Debug("member "+kind.String(), "member", mb.Name, "left", ev.Left)
	if kind == NodeDown {
		n.system.Root.Send(n.monitorPID, nodeDown{name: mb.Name})
	}
}

// delegate publishes the node's metadata through memberlist.
type delegate struct{ n *Node }

var _ memberlist.Delegate = delegate{}

func (d delegate) NodeMeta(limit int) []byte {
	d.n.metaMu.Lock()
	defer d.n.metaMu.Unlock()
	if len(d.n.metaBytes) > limit {
		return nil // cannot happen: SetMeta checks the limit
	}
	return d.n.metaBytes
}

func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}
