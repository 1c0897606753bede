package node

import (
	"fmt"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Registered names.
//
// A name is an alias in protoactor's process registry: Register adds the
// process's mailbox under the name as a second id, so the PID
// {node's remote address, name} routes straight to the process, locally and
// from other nodes, with no extra hop and no name-server actor. The node
// keeps its own name table beside it (for Whereis and cleanup) and its
// monitor service watches every registered process, removing its names
// when it terminates, as Erlang does.
type names struct {
	mu sync.Mutex
	m  map[string]*actor.PID // name -> the process's own PID
}

func (t *names) all() []*actor.PID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*actor.PID, 0, len(t.m))
	for _, p := range t.m {
		out = append(out, p)
	}
	return out
}

// checkName reports whether name may be registered.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("%w: %q: must be 1 to 255 bytes", ErrBadName, name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("%w: %q: contains '/'", ErrBadName, name)
	case strings.HasPrefix(name, "$") || strings.HasPrefix(name, "enode."):
		return fmt.Errorf("%w: %q: '$' and \"enode.\" prefixes are reserved", ErrBadName, name)
	case name == "deadletter" || name == "eventstream" || name == "activator" || name == "EndpointSupervisor" || strings.HasPrefix(name, "future$"):
		return fmt.Errorf("%w: %q: reserved by protoactor", ErrBadName, name)
	}
	return nil
}

// Register registers a live local process under name (Erlang's
// register/2). It fails with ErrBadName, ErrNameTaken (also when the name
// is another process's id), or ErrNotLocal. The name is removed when the
// process terminates.
func (n *Node) Register(name string, pid *actor.PID) error {
	if n.stopped() {
		return ErrStopped
	}
	if err := checkName(name); err != nil {
		return err
	}
	if pid == nil || !n.isLocal(pid) {
		return fmt.Errorf("%w: %v", ErrNotLocal, pid)
	}
	proc, ok := n.system.ProcessRegistry.GetLocal(pid.Id)
	if !ok {
		return fmt.Errorf("%w: %v", ErrNotLocal, pid)
	}
	own := n.system.NewLocalPID(pid.Id)
	n.names.mu.Lock()
	if _, taken := n.names.m[name]; taken {
		n.names.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	if _, absent := n.system.ProcessRegistry.Add(proc, name); !absent {
		n.names.mu.Unlock()
		return fmt.Errorf("%w: %q is a process id", ErrNameTaken, name)
	}
	n.names.m[name] = own
	n.names.mu.Unlock()
	n.system.Root.Send(n.monitorPID, registered{name: name, pid: own})
	return nil
}

// Unregister removes a registered name (Erlang's unregister/1); the process
// itself goes on. It reports whether the name was registered.
func (n *Node) Unregister(name string) bool {
	n.names.mu.Lock()
	defer n.names.mu.Unlock()
	if _, ok := n.names.m[name]; !ok {
		return false
	}
	delete(n.names.m, name)
	// Remove the alias only: ProcessRegistry.Remove would mark the
	// process itself dead.
	n.system.ProcessRegistry.LocalPIDs.GetBucket(name).Remove(name)
	return true
}

// unregisterPID removes name if it still belongs to pid (when pid died).
func (n *Node) unregisterPID(name string, pid *actor.PID) {
	n.names.mu.Lock()
	defer n.names.mu.Unlock()
	if p, ok := n.names.m[name]; ok && p.Id == pid.Id {
		delete(n.names.m, name)
		n.system.ProcessRegistry.LocalPIDs.GetBucket(name).Remove(name)
	}
}

// Whereis returns the PID registered under name on this node, or nil
// (Erlang's whereis/1).
func (n *Node) Whereis(name string) *actor.PID {
	n.names.mu.Lock()
	defer n.names.mu.Unlock()
	if p, ok := n.names.m[name]; ok {
		return n.system.NewLocalPID(p.Id)
	}
	return nil
}

// Spawn spawns props and registers the process under name, atomically: on
// any error nothing is left running. Use props from n.Props so that the
// process receives terms and reports crashes to monitors.
func (n *Node) Spawn(name string, props *actor.Props) (*actor.PID, error) {
	if n.stopped() {
		return nil, ErrStopped
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	pid := n.system.Root.Spawn(props)
	if err := n.Register(name, pid); err != nil {
		_ = n.system.Root.StopFuture(pid).Wait()
		return nil, err
	}
	return pid, nil
}

// isLocal reports whether pid lives on this node.
func (n *Node) isLocal(pid *actor.PID) bool {
	return pid.Address == n.system.Address() || pid.Address == "nonhost"
}
