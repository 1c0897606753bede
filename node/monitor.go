package node

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/node/internal/remote"
	"google.golang.org/protobuf/types/known/anypb"
)

// Reason says why a monitored process is gone.
type Reason uint8

// The reasons of a Down message.
const (
	ReasonNormal       Reason = iota + 1 // it stopped
	ReasonCrashed                        // it failed and its supervisor stopped it instead of restarting it
	ReasonNoProc                         // it did not exist when the monitor was set up
	ReasonNoConnection                   // its node could not be reached (unknown, or the connection broke)
	ReasonNodeDown                       // its node left or was declared dead by failure detection
)

func (r Reason) valid() bool { return r >= ReasonNormal && r <= ReasonNodeDown }

// String returns the reason as Erlang writes it in a DOWN message:
// "normal", "crashed", "noproc", "noconnection", "nodedown".
func (r Reason) String() string {
	switch r {
	case ReasonNormal:
		return "normal"
	case ReasonCrashed:
		return "crashed"
	case ReasonNoProc:
		return "noproc"
	case ReasonNoConnection:
		return "noconnection"
	case ReasonNodeDown:
		return "nodedown"
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MonitorRef identifies one monitor; it is unique on the node that set it
// up.
type MonitorRef uint64

// Down is delivered to the watcher, once, when the process it monitors is
// gone (Erlang's {'DOWN', Ref, process, Object, Reason}).
type Down struct {
	Ref    MonitorRef
	Name   ProcessID  // the monitored name, for a monitor by name
	PID    *actor.PID // the monitored process, when known
	Reason Reason
}

// Monitor sets up a monitor of the process registered as to on its node:
// watcher (a process of this node) gets one *Down when it stops, crashes,
// or its node goes down, or at once when there is no such process
// (ReasonNoProc) or the node is unknown (ReasonNoConnection). Crashes are
// reported as such for processes spawned with Node.Props. It fails only
// for a bad name or a watcher that is not a local PID.
//
// Monitor returns once the target's node has the monitor in place (or the
// Down is already on its way), waiting at most Config.CallTimeout, so that
// whatever happens to the target afterwards is reported with its real
// reason. The wait is one round trip to the target's node.
func (n *Node) Monitor(watcher *actor.PID, to ProcessID) (MonitorRef, error) {
	if err := checkName(to.Name); err != nil {
		return 0, err
	}
	node := to.Node
	if node == "" {
		node = n.cfg.Name
	}
	return n.monitor(watcher, monitorCmd{name: ProcessID{Name: to.Name, Node: node}, target: to.Name, byName: true, node: node})
}

// MonitorPID is Monitor for a process given by PID.
func (n *Node) MonitorPID(watcher, pid *actor.PID) (MonitorRef, error) {
	if pid == nil {
		return 0, fmt.Errorf("%w: nil PID", ErrNoProc)
	}
	pid = freshPID(pid)
	cmd := monitorCmd{pid: pid, target: pid.Id}
	if n.isLocal(pid) {
		cmd.node = n.cfg.Name
	} else {
		cmd.node = n.nodeAt(pid.Address)
	}
	return n.monitor(watcher, cmd)
}

func (n *Node) monitor(watcher *actor.PID, cmd monitorCmd) (MonitorRef, error) {
	if n.stopped() {
		return 0, ErrStopped
	}
	if watcher == nil || !n.isLocal(watcher) {
		return 0, fmt.Errorf("%w: watcher %v", ErrNotLocal, watcher)
	}
	cmd.ref = MonitorRef(n.refs.Add(1))
	cmd.watcher = watcher
	cmd.ready = make(chan struct{})
	n.system.Root.Send(n.monitorPID, cmd)
	timer := time.NewTimer(n.cfg.CallTimeout)
	defer timer.Stop()
	select {
	case <-cmd.ready:
	case <-timer.C:
		// The monitor stands; its Down comes when the node is found dead.
	}
	return cmd.ref, nil
}

// Demonitor cancels a monitor; no Down is delivered for it afterwards
// (one already in the watcher's mailbox stays there).
func (n *Node) Demonitor(ref MonitorRef) {
	if !n.stopped() {
		n.system.Root.Send(n.monitorPID, demonitorCmd{ref: ref})
	}
}

// nodeAt returns the name of the live member at a remote address, or "".
func (n *Node) nodeAt(addr string) string {
	n.members.mu.Lock()
	defer n.members.mu.Unlock()
	for _, p := range n.members.peers {
		if p.RemoteAddr == addr {
			return p.Name
		}
	}
	return ""
}

func (n *Node) countExits() int {
	c := 0
	n.exits.Range(func(any, any) bool { c++; return true })
	return c
}

// exitRecord follows a monitored local process's failures, written by the
// receiver middleware of Node.Props: failed is set when a message handler
// panics and cleared when the process restarts; crashed is set if it stops
// while failed.
type exitRecord struct{ failed, crashed atomic.Bool }

// Local messages to the monitor service.
type (
	// statsReq asks the monitor service for its table sizes (tests).
	statsReq     struct{}
	monitorStats struct{ Out, In, Watchers, Exits int }

	monitorCmd struct {
		ref     MonitorRef
		watcher *actor.PID
		name    ProcessID
		pid     *actor.PID
		target  string // pid id or name
		byName  bool
		node    string        // "" when the PID's node is unknown
		ready   chan struct{} // closed when the monitor is in place or Down delivered
	}
	demonitorCmd struct{ ref MonitorRef }
	nodeDown     struct{ name string }
	endpointDown struct{ addr string }
	registered   struct {
		name string
		pid  *actor.PID
	}
)

// outMonitor is a monitor set up by a process of this node.
type outMonitor struct {
	cmd   monitorCmd
	addr  string // the target node's remote address
	ready bool   // cmd.ready is closed
}

func (om *outMonitor) setReady() {
	if !om.ready {
		om.ready = true
		close(om.cmd.ready)
	}
}

// inKey identifies a monitor of a local process asked for by some node.
type inKey struct {
	origin string // the origin node's remote address
	ref    uint64
}

type inMonitor struct {
	originNode string
	targetID   string
}

// monitorService is the node's actor that owns every monitor, on both
// ends: it forwards this node's monitors to the target's node (to itself
// for a local target) and delivers Down to watchers; it watches local
// processes for other nodes' monitors and for registered names; and it
// turns membership and connection losses into Down messages.
type monitorService struct {
	n          *Node
	out        map[MonitorRef]*outMonitor
	in         map[inKey]inMonitor
	byTarget   map[string]map[inKey]struct{}      // local pid id -> monitors of it
	registered map[string][]string                // local pid id -> its names
	byWatcher  map[string]map[MonitorRef]struct{} // watcher pid id -> its monitors
}

func newMonitorService(n *Node) *monitorService {
	return &monitorService{
		n:          n,
		out:        map[MonitorRef]*outMonitor{},
		in:         map[inKey]inMonitor{},
		byTarget:   map[string]map[inKey]struct{}{},
		registered: map[string][]string{},
		byWatcher:  map[string]map[MonitorRef]struct{}{},
	}
}

func (s *monitorService) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case monitorCmd:
		s.monitorOut(ctx, m)
	case demonitorCmd:
		s.demonitorOut(ctx, m.ref)
	case registered:
		s.registered[m.pid.Id] = append(s.registered[m.pid.Id], m.name)
		ctx.Watch(m.pid)
	case *actor.Terminated:
		s.watcherGone(ctx, m.Who.Id)
		s.terminated(ctx, m)
	case statsReq:
		ctx.Respond(monitorStats{Out: len(s.out), In: len(s.in), Watchers: len(s.byWatcher), Exits: s.n.countExits()})
	case nodeDown:
		s.nodeDown(ctx, m.name)
	case endpointDown:
		for ref, om := range s.out {
			if om.addr == m.addr && om.cmd.node != s.n.cfg.Name {
				s.deliver(ctx, ref, ReasonNoConnection, nil)
			}
		}
	case *anypb.Any:
		msg, ok, err := parseSys(m)
		if !ok || err != nil {
			s.n.log.Warn("monitor service: dropping bad message", "type", m.TypeUrl, "err", err)
			return
		}
		switch r := msg.(type) {
		case monitorReq:
			s.monitorIn(ctx, r)
		case demonitorReq:
			s.demonitorIn(inKey{r.Origin, r.Ref})
		case monitorAck:
			if om, ok := s.out[MonitorRef(r.Ref)]; ok {
				om.setReady()
			}
		case downMsg:
			var pid *actor.PID
			if r.PIDID != "" {
				pid = actor.NewPID(r.PIDAddr, r.PIDID)
			}
			s.deliver(ctx, MonitorRef(r.Ref), r.Reason, pid)
		}
	}
}

// serviceAt is the monitor service of the node at a remote address.
func serviceAt(addr string) *actor.PID { return actor.NewPID(addr, monitorName) }

func (s *monitorService) monitorOut(ctx actor.Context, m monitorCmd) {
	n := s.n
	om := &outMonitor{cmd: m}
	s.out[m.ref] = om
	// As in Erlang, a watcher's monitors end with it.
	set := s.byWatcher[m.watcher.Id]
	if set == nil {
		set = map[MonitorRef]struct{}{}
		s.byWatcher[m.watcher.Id] = set
		ctx.Watch(m.watcher)
	}
	set[m.ref] = struct{}{}
	req := monitorReq{Ref: uint64(m.ref), Origin: n.remoteAddr, OriginNode: n.cfg.Name, Target: m.target, ByName: m.byName}
	if m.node == n.cfg.Name {
		om.addr = n.remoteAddr
		s.monitorIn(ctx, req)
		om.setReady()
		return
	}
	// The membership table is updated before nodeDown is sent here, so a
	// node found now will have its later NodeDown seen after this.
	peer, ok := n.members.peer(m.node)
	if !ok || (m.pid != nil && peer.RemoteAddr != m.pid.Address) {
		s.deliver(ctx, m.ref, ReasonNoConnection, m.pid)
		return
	}
	om.addr = peer.RemoteAddr
	ctx.Send(serviceAt(peer.RemoteAddr), req.wire())
}

func (s *monitorService) demonitorOut(ctx actor.Context, ref MonitorRef) {
	om, ok := s.out[ref]
	if !ok {
		return
	}
	s.forget(ref, om)
	if om.addr == s.n.remoteAddr {
		s.demonitorIn(inKey{s.n.remoteAddr, uint64(ref)})
		return
	}
	ctx.Send(serviceAt(om.addr), demonitorReq{Ref: uint64(ref), Origin: s.n.remoteAddr}.wire())
}

// monitorIn sets up a monitor of a local process for node r.Origin.
func (s *monitorService) monitorIn(ctx actor.Context, r monitorReq) {
	n := s.n
	var pid *actor.PID
	if r.ByName {
		pid = n.Whereis(r.Target)
	} else if _, ok := n.system.ProcessRegistry.GetLocal(r.Target); ok {
		pid = n.system.NewLocalPID(r.Target)
	}
	key := inKey{r.Origin, r.Ref}
	if pid == nil {
		s.sendDown(ctx, key, ReasonNoProc, nil)
		return
	}
	s.in[key] = inMonitor{originNode: r.OriginNode, targetID: pid.Id}
	set := s.byTarget[pid.Id]
	if set == nil {
		set = map[inKey]struct{}{}
		s.byTarget[pid.Id] = set
		n.exits.LoadOrStore(pid.Id, &exitRecord{})
	}
	set[key] = struct{}{}
	ctx.Watch(pid)
	if r.Origin != n.remoteAddr {
		ctx.Send(serviceAt(r.Origin), monitorAck{Ref: r.Ref}.wire())
	}
}

func (s *monitorService) demonitorIn(key inKey) {
	im, ok := s.in[key]
	if !ok {
		return
	}
	delete(s.in, key)
	if set := s.byTarget[im.targetID]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(s.byTarget, im.targetID)
			s.n.exits.Delete(im.targetID)
		}
	}
}

// forget removes one of this node's monitors from the tables.
func (s *monitorService) forget(ref MonitorRef, om *outMonitor) {
	delete(s.out, ref)
	if set := s.byWatcher[om.cmd.watcher.Id]; set != nil {
		delete(set, ref)
		if len(set) == 0 {
			delete(s.byWatcher, om.cmd.watcher.Id)
		}
	}
}

// watcherGone cancels the monitors of a watcher that terminated.
func (s *monitorService) watcherGone(ctx actor.Context, id string) {
	for ref := range s.byWatcher[id] {
		s.demonitorOut(ctx, ref)
	}
}

// terminated handles the end of a watched local process.
func (s *monitorService) terminated(ctx actor.Context, t *actor.Terminated) {
	n := s.n
	id := t.Who.Id
	pid := n.system.NewLocalPID(id)
	for _, name := range s.registered[id] {
		n.unregisterPID(name, pid)
	}
	delete(s.registered, id)
	reason := ReasonNormal
	if rec, ok := n.exits.LoadAndDelete(id); ok && rec.(*exitRecord).crashed.Load() {
		reason = ReasonCrashed
	}
	if t.Why == actor.TerminatedReason_NotFound {
		reason = ReasonNoProc
	}
	for key := range s.byTarget[id] {
		delete(s.in, key)
		s.sendDown(ctx, key, reason, pid)
	}
	delete(s.byTarget, id)
}

// sendDown tells a monitor's origin (this node or another) that the target
// is gone.
func (s *monitorService) sendDown(ctx actor.Context, key inKey, reason Reason, pid *actor.PID) {
	if key.origin == s.n.remoteAddr {
		s.deliver(ctx, MonitorRef(key.ref), reason, pid)
		return
	}
	d := downMsg{Ref: key.ref, Reason: reason}
	if pid != nil {
		d.PIDAddr, d.PIDID = pid.Address, pid.Id
	}
	ctx.Send(serviceAt(key.origin), d.wire())
}

// deliver sends Down to the watcher of one of this node's monitors, once.
func (s *monitorService) deliver(ctx actor.Context, ref MonitorRef, reason Reason, pid *actor.PID) {
	om, ok := s.out[ref]
	if !ok {
		return // demonitored, or already delivered
	}
	s.forget(ref, om)
	om.setReady()
	if pid == nil {
		pid = om.cmd.pid
	}
	d := &Down{Ref: ref, PID: pid, Reason: reason}
	if om.cmd.byName {
		d.Name = om.cmd.name
	}
	ctx.Send(om.cmd.watcher, d)
}

func (s *monitorService) nodeDown(ctx actor.Context, name string) {
	for ref, om := range s.out {
		if om.cmd.node == name {
			s.deliver(ctx, ref, ReasonNodeDown, nil)
		}
	}
	for key, im := range s.in {
		if im.originNode == name {
			s.demonitorIn(key)
		}
	}
}

// endpointSub forwards protoactor's "connection to a node lost" events to
// the monitor service, and has the replication link to that node probe its
// replica_handler on "lost" and "(re)connected" (actors.ProbeLink).
type endpointSub struct {
	once sync.Once
	stop func()
}

func subscribeEndpoints(n *Node) *endpointSub {
	es := n.system.EventStream
	sub := es.SubscribeWithPredicate(func(ev any) {
		switch t := ev.(type) {
		case *remote.EndpointTerminatedEvent:
			n.system.Root.Send(n.monitorPID, endpointDown{addr: t.Address})
			// What the workers' link had sent over the lost connection
			// may be gone: it probes the replica_handler there at once
			// rather than after StallTimeout of silence.
			actors.ProbeLink(n.system, actor.NewPID(t.Address, replicaHandlerName))
		case *remote.EndpointConnectedEvent:
			actors.ProbeLink(n.system, actor.NewPID(t.Address, replicaHandlerName))
		}
	}, func(ev any) bool {
		switch ev.(type) {
		case *remote.EndpointTerminatedEvent, *remote.EndpointConnectedEvent:
			return true
		}
		return false
	})
	return &endpointSub{stop: func() { es.Unsubscribe(sub) }}
}

func (e *endpointSub) cancel() { e.once.Do(e.stop) }
