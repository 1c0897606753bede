// Package nodetest starts clusters of enode nodes inside one test binary,
// on 127.0.0.1 with free ports and fast failure detection, and injects
// real partitions between them: gossip packets are dropped and remote
// connections refused and cut (node.Faults). Everything it starts is
// stopped by t.Cleanup. Waiting is done by polling a condition against a
// deadline, never by sleeping for a fixed time.
//
// # Usage
//
//	c := nodetest.Start(t, 3)                 // n1@127.0.0.1 .. n3@127.0.0.1, joined
//	in := nodetest.NewInbox(t, c.Nodes[1], "echo")
//	require.NoError(t, c.Nodes[0].Send(node.ProcessID{Name: "echo", Node: "n2@127.0.0.1"}, term.Atom("hi")))
//	msg := in.Next(t)                         // term.Atom("hi")
//	c.Partition(c.Nodes[0], c.Nodes[1])       // a real partition, both ways
//	c.Heal()
package nodetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/node"
)

// DefaultTimeout bounds every wait of this package unless told otherwise.
// It is generous (a loaded CI machine), not an expected duration.
const DefaultTimeout = 10 * time.Second

// Cluster is a set of nodes started by Start or Add, sharing one Faults.
type Cluster struct {
	t      testing.TB
	Faults *node.Faults
	Nodes  []*node.Node
	secret []byte
	config func(*node.Config)
}

// Option changes how Start configures the cluster's nodes.
type Option func(*Cluster)

// WithSecret gives every node of the cluster this secret.
func WithSecret(secret []byte) Option { return func(c *Cluster) { c.secret = secret } }

// WithConfig lets the test change each node's configuration before it
// starts (after the harness set name, seeds, secret and faults).
func WithConfig(f func(*node.Config)) Option { return func(c *Cluster) { c.config = f } }

// Name returns the name of the i-th node (from 1) that Start gives.
func Name(i int) string { return fmt.Sprintf("n%d@127.0.0.1", i) }

// Start starts n nodes (named by Name; all RoleActive but the last, which
// is RoleSpare when n > 1), joins them and waits until every node sees all
// of them. It fails the test if any of that fails.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Faults: node.NewFaults()}
	for _, o := range opts {
		o(c)
	}
	for i := 1; i <= n; i++ {
		role := node.RoleActive
		if n > 1 && i == n {
			role = node.RoleSpare
		}
		c.Add(Name(i), role)
	}
	c.WaitConverged()
	return c
}

// FailureDetection is the failure detection of the nodes the harness
// starts: node.LocalFailureDetection, which tolerates a node stalled for a
// few hundred milliseconds (two cores, -race, other jobs) while a node that
// is really gone is still declared dead in about half a second. Tests that
// measure another profile set it with WithConfig.
func FailureDetection() node.FailureDetection { return node.LocalFailureDetection() }

// Config returns the configuration the cluster gives a new node: LocalConfig
// with FailureDetection, the cluster's secret and faults, and the first node
// as seed.
func (c *Cluster) Config(name string, role node.Role) node.Config {
	cfg := node.LocalConfig(name)
	cfg.Failure = FailureDetection()
	cfg.Role = role
	cfg.Secret = c.secret
	cfg.Faults = c.Faults
	if len(c.Nodes) > 0 {
		cfg.Seeds = []string{c.Nodes[0].GossipAddr()}
	}
	if c.config != nil {
		c.config(&cfg)
	}
	return cfg
}

// Add starts one more node joined to the cluster; it is shut down at the
// end of the test. It does not wait for the others to see it.
func (c *Cluster) Add(name string, role node.Role) *node.Node {
	c.t.Helper()
	n, err := node.Start(c.Config(name, role))
	if err != nil {
		c.t.Fatalf("nodetest: starting %s: %v", name, err)
	}
	c.t.Cleanup(func() { _ = n.Shutdown() })
	c.Nodes = append(c.Nodes, n)
	return n
}

// Node returns the cluster's node with this name, or nil.
func (c *Cluster) Node(name string) *node.Node {
	for _, n := range c.Nodes {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

// Partition cuts all traffic between a and b, both ways.
func (c *Cluster) Partition(a, b *node.Node) { c.Faults.Cut(a.Name(), b.Name()) }

// Isolate cuts all traffic between n and every other node.
func (c *Cluster) Isolate(n *node.Node) { c.Faults.Isolate(n.Name()) }

// Heal removes every partition.
func (c *Cluster) Heal() { c.Faults.Heal() }

// WaitConverged waits until every running node sees exactly the running
// nodes of the cluster as alive members.
func (c *Cluster) WaitConverged() {
	c.t.Helper()
	var live []*node.Node
	for _, n := range c.Nodes {
		if n.Members() != nil {
			live = append(live, n)
		}
	}
	for _, n := range live {
		WaitMembers(c.t, n, names(live)...)
	}
}

func names(ns []*node.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name()
	}
	return out
}

// WaitMembers waits until n's alive members are exactly want (names, in
// any order).
func WaitMembers(t testing.TB, n *node.Node, want ...string) {
	t.Helper()
	WaitFor(t, DefaultTimeout, func() bool {
		ms := n.Members()
		if len(ms) != len(want) {
			return false
		}
		seen := map[string]bool{}
		for _, m := range ms {
			seen[m.Name] = m.Alive
		}
		for _, w := range want {
			if !seen[w] {
				return false
			}
		}
		return true
	}, "%s to see members %v", n.Name(), want)
}

// WaitFor polls cond until it holds or timeout passes; then it fails the
// test with the formatted description of what was awaited.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("nodetest: timed out after %v waiting for "+format, append([]any{timeout}, args...)...)
		}
		<-tick.C
	}
}

// Inbox is a process that queues every message it receives for the test
// to take with Next. Lifecycle messages (Started, Stopping...) are skipped.
type Inbox struct {
	pid *actor.PID
	ch  chan any
}

// NewInbox spawns an inbox on n (with n.Props, so terms arrive as terms),
// registered under name unless name is empty. It holds up to 1024 unread
// messages; more fail the test.
func NewInbox(t testing.TB, n *node.Node, name string) *Inbox {
	t.Helper()
	in := &Inbox{ch: make(chan any, 1024)}
	props := n.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case actor.AutoReceiveMessage, actor.SystemMessage, *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
			return
		}
		select {
		case in.ch <- ctx.Message():
		default:
			t.Errorf("nodetest: inbox %q overflowed", name)
		}
	})
	var err error
	if name == "" {
		in.pid = n.System().Root.Spawn(props)
	} else if in.pid, err = n.Spawn(name, props); err != nil {
		t.Fatalf("nodetest: spawning inbox %q: %v", name, err)
	}
	return in
}

// PID returns the inbox's PID.
func (in *Inbox) PID() *actor.PID { return in.pid }

// Next returns the next message, failing the test after DefaultTimeout.
func (in *Inbox) Next(t testing.TB) any {
	t.Helper()
	timer := time.NewTimer(DefaultTimeout)
	defer timer.Stop()
	select {
	case m := <-in.ch:
		return m
	case <-timer.C:
		t.Fatalf("nodetest: no message in inbox %s after %v", in.pid, DefaultTimeout)
		return nil
	}
}

// Empty reports whether no message is waiting.
func (in *Inbox) Empty() bool { return len(in.ch) == 0 }
