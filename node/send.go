package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// ProcessID names a registered process on a node, as Erlang's {Name, Node}.
// An empty Node means this node.
type ProcessID struct {
	Name string
	Node string
}

// String prints the ProcessID in Erlang notation: {name,'node@host'}.
func (p ProcessID) String() string { return "{" + p.Name + ",'" + p.Node + "'}" }

// resolve finds where a ProcessID's messages go: for this node the
// registered process itself (ErrNoProc when the name is free), for another
// node the PID {its remote address, name} (ErrUnknownNode when the node is
// not a live member).
func (n *Node) resolve(to ProcessID) (pid *actor.PID, local bool, err error) {
	if err := checkName(to.Name); err != nil {
		return nil, false, err
	}
	if to.Node == "" || to.Node == n.cfg.Name {
		pid := n.Whereis(to.Name)
		if pid == nil {
			return nil, true, fmt.Errorf("%w: %s", ErrNoProc, to)
		}
		return pid, true, nil
	}
	peer, ok := n.members.peer(to.Node)
	if !ok {
		return nil, false, fmt.Errorf("%w: %s", ErrUnknownNode, to.Node)
	}
	return actor.NewPID(peer.RemoteAddr, to.Name), false, nil
}

// resolvePID checks that a PID is on this node or on a live member.
func (n *Node) resolvePID(pid *actor.PID) (local bool, err error) {
	if pid == nil {
		return false, fmt.Errorf("%w: nil PID", ErrNoProc)
	}
	if n.isLocal(pid) {
		return true, nil
	}
	if !n.members.peerByRemote(pid.Address) {
		return false, fmt.Errorf("%w: no live member at %s", ErrUnknownNode, pid.Address)
	}
	return false, nil
}

func (n *Node) prepare(msg any, local bool) (any, error) {
	if local {
		return forLocal(msg)
	}
	return n.forRemote(msg)
}

// Send sends msg to a registered process on a node ({Name, Node} ! Msg).
// msg is a protobuf message, a term.Term, or a Go value term.Marshal
// accepts; for another node it is encoded now, so an unserializable or too
// large message fails here (ErrUnserializable, ErrTooLarge). A name that is
// free on this node is ErrNoProc; an unknown node is ErrUnknownNode. As in
// Erlang, a message to a free name on another node is lost silently.
func (n *Node) Send(to ProcessID, msg any) error {
	if n.stopped() {
		return ErrStopped
	}
	pid, local, err := n.resolve(to)
	if err != nil {
		return err
	}
	m, err := n.prepare(msg, local)
	if err != nil {
		return err
	}
	n.system.Root.Send(pid, m)
	return nil
}

// SendPID sends msg to a process by PID, on this node or a live member
// (ErrUnknownNode otherwise). As in Erlang, a message to a process that is
// gone is lost silently.
func (n *Node) SendPID(to *actor.PID, msg any) error {
	if n.stopped() {
		return ErrStopped
	}
	local, err := n.resolvePID(to)
	if err != nil {
		return err
	}
	m, err := n.prepare(msg, local)
	if err != nil {
		return err
	}
	n.system.Root.Send(freshPID(to), m)
	return nil
}

// freshPID copies a PID without its cached process. protoactor caches in
// a *PID the process it resolved to, for the actor system that resolved
// it; with several nodes in one Go process (tests), a PID handed from one
// node to another would otherwise be delivered through the first node's
// system, bypassing the network.
func freshPID(p *actor.PID) *actor.PID {
	return &actor.PID{Address: p.Address, Id: p.Id, RequestId: p.RequestId}
}

// Call sends msg to a registered process and waits for its reply, like
// gen_server:call: the handler answers with ctx.Respond (or Node.Reply).
// The reply is a term.Term for a term, or the protobuf message. Call waits
// until ctx is done, or Config.CallTimeout when ctx has no deadline, and
// then fails with ErrTimeout. A target that does not exist is ErrNoProc;
// so is, for now, a member the transport cannot reach at the moment
// (protoactor answers both with a dead letter), and ErrUnknownNode once
// the membership has declared it down.
func (n *Node) Call(ctx context.Context, to ProcessID, msg any) (any, error) {
	if n.stopped() {
		return nil, ErrStopped
	}
	pid, local, err := n.resolve(to)
	if err != nil {
		return nil, err
	}
	return n.call(ctx, pid, local, msg)
}

// CallPID is Call for a process given by PID.
func (n *Node) CallPID(ctx context.Context, to *actor.PID, msg any) (any, error) {
	if n.stopped() {
		return nil, ErrStopped
	}
	local, err := n.resolvePID(to)
	if err != nil {
		return nil, err
	}
	if local {
		if _, ok := n.system.ProcessRegistry.GetLocal(to.Id); !ok {
			return nil, fmt.Errorf("%w: %s", ErrNoProc, to)
		}
	}
	return n.call(ctx, freshPID(to), local, msg)
}

func (n *Node) call(ctx context.Context, pid *actor.PID, local bool, msg any) (any, error) {
	m, err := n.prepare(msg, local)
	if err != nil {
		return nil, err
	}
	timeout := n.cfg.CallTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("%w: %s: %w", ErrTimeout, pid, context.DeadlineExceeded)
	}
	f := n.system.Root.RequestFuture(pid, m, timeout)
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f.Result()
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		n.system.Root.Stop(f.PID()) // completes the future, ending the goroutine
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %s: %w", ErrTimeout, pid, ctx.Err())
		}
		return nil, ctx.Err()
	}
	switch {
	case errors.Is(r.err, actor.ErrTimeout):
		return nil, fmt.Errorf("%w: %s after %v", ErrTimeout, pid, timeout)
	case errors.Is(r.err, actor.ErrDeadLetter):
		if !local && !n.members.peerByRemote(pid.Address) {
			return nil, fmt.Errorf("%w: %s went down", ErrUnknownNode, pid.Address)
		}
		return nil, fmt.Errorf("%w: %s", ErrNoProc, pid)
	case r.err != nil:
		return nil, r.err
	}
	v, err := fromWire(r.v)
	if err != nil {
		return nil, fmt.Errorf("%w: reply from %s: %w", ErrUnserializable, pid, err)
	}
	return v, nil
}

// Reply answers the message ctx is handling (the reply of a Call), with
// the same encoding and errors as Send. Props' sender middleware also
// encodes what ctx.Respond sends, but can only log a failure; Reply
// returns it.
func (n *Node) Reply(ctx actor.Context, msg any) error {
	to := ctx.Sender()
	if to == nil {
		return fmt.Errorf("%w: the message has no sender to reply to", ErrNoProc)
	}
	m, err := n.prepare(msg, n.isLocal(to))
	if err != nil {
		return err
	}
	ctx.Respond(m)
	return nil
}
