package node

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Faults injects network faults between the nodes that share it: it drops
// their gossip (memberlist) packets and refuses and cuts their remote (gRPC)
// connections, as a real partition would. Nodes opt in through
// Config.Faults; the nodetest package wires it for tests. Faults are keyed
// by node name and take effect at once: cutting two nodes also closes the
// remote connections already open between them.
//
// A Faults is safe for concurrent use. It is a test seam: production nodes
// leave Config.Faults nil and pay nothing for it.
type Faults struct {
	mu       sync.Mutex
	addrs    map[string]string // gossip or remote address -> node name
	cut      map[[2]string]bool
	isolated map[string]bool
	conns    map[*faultConn]struct{}
}

// ErrFaultInjected is the error of a connection refused by Faults.
var ErrFaultInjected = errors.New("node: connection refused by fault injection")

// NewFaults returns a Faults with no fault in effect.
func NewFaults() *Faults {
	return &Faults{
		addrs:    map[string]string{},
		cut:      map[[2]string]bool{},
		isolated: map[string]bool{},
		conns:    map[*faultConn]struct{}{},
	}
}

// Cut drops all traffic between nodes a and b, both ways.
func (f *Faults) Cut(a, b string) {
	f.mu.Lock()
	f.cut[[2]string{a, b}], f.cut[[2]string{b, a}] = true, true
	f.closeBlockedLocked()
	f.mu.Unlock()
}

// Isolate drops all traffic between node name and every other node.
func (f *Faults) Isolate(name string) {
	f.mu.Lock()
	f.isolated[name] = true
	f.closeBlockedLocked()
	f.mu.Unlock()
}

// Heal removes every fault; connections are re-established on demand.
func (f *Faults) Heal() {
	f.mu.Lock()
	clear(f.cut)
	clear(f.isolated)
	f.mu.Unlock()
}

// register records the addresses a node listens on, so that traffic to
// them can be attributed to the node.
func (f *Faults) register(name string, addrs ...string) {
	f.mu.Lock()
	for _, a := range addrs {
		f.addrs[a] = name
	}
	f.mu.Unlock()
}

func (f *Faults) blocked(from, toAddr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blockedLocked(from, toAddr)
}

func (f *Faults) blockedLocked(from, toAddr string) bool {
	if f.isolated[from] {
		return true
	}
	to, ok := f.addrs[toAddr]
	return ok && (f.isolated[to] || f.cut[[2]string{from, to}])
}

func (f *Faults) closeBlockedLocked() {
	for c := range f.conns {
		if f.blockedLocked(c.from, c.to) {
			delete(f.conns, c)
			_ = c.Conn.Close()
		}
	}
}

// dialer returns the gRPC dialer of node self: it refuses blocked
// addresses and tracks the connections it makes so that a later cut closes
// them.
func (f *Faults) dialer(self string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		if f.blocked(self, addr) {
			return nil, ErrFaultInjected
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		fc := &faultConn{Conn: c, f: f, from: self, to: addr}
		f.mu.Lock()
		if f.blockedLocked(self, addr) { // cut while dialing
			f.mu.Unlock()
			_ = c.Close()
			return nil, ErrFaultInjected
		}
		f.conns[fc] = struct{}{}
		f.mu.Unlock()
		return fc, nil
	}
}

// faultConn is a tracked remote connection.
type faultConn struct {
	net.Conn
	f        *Faults
	from, to string
}

func (c *faultConn) Close() error {
	c.f.mu.Lock()
	delete(c.f.conns, c)
	c.f.mu.Unlock()
	return c.Conn.Close()
}

// faultTransport is memberlist's network transport with outgoing packets
// and stream connections dropped when Faults blocks them. Blocking outgoing
// traffic on both ends is a full partition, so incoming traffic needs no
// filter (and no extra goroutine).
type faultTransport struct {
	*memberlist.NetTransport
	f    *Faults
	self string
}

var _ memberlist.NodeAwareTransport = (*faultTransport)(nil)

func (t *faultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *faultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.f.blocked(t.self, a.Addr) {
		return time.Now(), nil // lost on the wire
	}
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *faultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *faultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.f.blocked(t.self, a.Addr) {
		return nil, ErrFaultInjected
	}
	return t.NetTransport.DialAddressTimeout(a, timeout)
}
