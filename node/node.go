package node

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/node/internal/remote"
	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Node is one Erlang-style node: a protoactor actor system reachable
// through protoactor's remote transport, a member of a memberlist cluster,
// and a table of registered names. Create it with Start and stop it with
// Shutdown. All methods are safe for concurrent use.
type Node struct {
	cfg        Config
	log        *slog.Logger
	system     *actor.ActorSystem
	remote     *remote.Remote
	ml         *memberlist.Memberlist
	remoteAddr string
	gossipAddr string
	monitorPID *actor.PID
	endpoints  *endpointSub

	members members
	names   names
	exits   sync.Map // pid id -> *exitRecord, for monitored local processes
	refs    atomic.Uint64

	metaMu    sync.Mutex // guards userMeta, metaBytes and cfg.Role (which takeover and fencing change)
	userMeta  map[string]string
	metaBytes []byte

	repl   *replication  // N+1: workers, replica_handler, backup choice, takeover
	tables *ets.Registry // the node's named ets tables

	stopMu  sync.Mutex
	state   atomic.Int32 // running, stopping, stopped
	stopErr error
}

const (
	stateRunning = iota
	stateStopping
	stateStopped
)

// monitorName is the registered id of the node's monitor service actor.
const monitorName = "enode.monitor"

// Start brings a node up: the actor system, the remote transport, the
// membership (joining Config.Seeds). It returns an error wrapping
// ErrInvalidConfig or ErrStart, never panics, and leaves nothing running
// when it fails.
func Start(cfg Config) (*Node, error) { return start(cfg) }

func start(cfg Config) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Seeds = append([]string(nil), cfg.Seeds...)
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: logger.With("node", cfg.Name), userMeta: maps.Clone(cfg.Meta), tables: ets.NewRegistry()}
	n.members.peers = map[string]Member{}
	n.members.leaving = map[string]bool{}
	n.members.subs = map[*NodeWatch]struct{}{}
	n.names.m = map[string]*actor.PID{}

	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
			n.members.closeAll()
			err = fmt.Errorf("%w: %s: %w", ErrStart, cfg.Name, err)
		}
	}()

	// The gossip transport first: its real port and advertised IP are
	// known once it is bound, and the remote transport reuses the IP.
	gHost, gPort, _ := splitHostPort(cfg.GossipAddr)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{gHost}, BindPort: gPort, Logger: memberlistLogger(n.log),
	})
	if err != nil {
		return nil, fmt.Errorf("gossip listener %s: %w", cfg.GossipAddr, err)
	}
	transportOwned := true
	cleanup = append(cleanup, func() {
		if transportOwned {
			_ = nt.Shutdown()
		}
	})
	advHost, advPort := "", nt.GetAutoBindPort()
	if cfg.GossipAdvertise != "" {
		advHost, advPort, _ = splitHostPort(cfg.GossipAdvertise)
	} else if ip := net.ParseIP(gHost); ip == nil || !ip.IsUnspecified() {
		advHost = gHost
	}
	advIP, advPort, err := nt.FinalAdvertiseAddr(advHost, advPort)
	if err != nil {
		return nil, fmt.Errorf("gossip advertise address: %w", err)
	}
	n.gossipAddr = net.JoinHostPort(advIP.String(), strconv.Itoa(advPort))

	n.system = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(demoteHandler{n.log.Handler()}).With("lib", "protoactor")
		}),
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond), // bounds the throttle's timer goroutine
		actor.WithDeadLetterRequestLogging(false),
	)
	cleanup = append(cleanup, n.system.Shutdown)

	if err := n.startRemote(advIP); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, n.stopRemote)

	n.monitorPID, err = n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return newMonitorService(n)
	}), monitorName)
	if err != nil {
		return nil, fmt.Errorf("monitor service: %w", err)
	}
	cleanup = append(cleanup, func() { _ = n.system.Root.StopFuture(n.monitorPID).Wait() })
	n.endpoints = subscribeEndpoints(n)
	cleanup = append(cleanup, n.endpoints.cancel)
	if err := n.startReplication(); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, n.stopReplication)
	// Every node answers replica reads (client.NodeFetcher), spare or not:
	// a node that turns spare later serves from its new table at once.
	if err := n.StartReplicaService(); err != nil {
		return nil, fmt.Errorf("replica service: %w", err)
	}

	n.metaBytes, err = encodeMeta(memberMeta{Name: cfg.Name, Role: cfg.Role, Remote: n.remoteAddr, User: n.userMeta})
	if err != nil {
		return nil, err
	}
	if cfg.Faults != nil {
		cfg.Faults.register(cfg.Name, n.gossipAddr, n.remoteAddr)
	}
	mlc := memberlist.DefaultLANConfig()
	mlc.Name = cfg.Name
	mlc.BindAddr, mlc.BindPort = gHost, nt.GetAutoBindPort()
	mlc.AdvertiseAddr, mlc.AdvertisePort = advIP.String(), advPort
	if cfg.Faults != nil {
		mlc.Transport = &faultTransport{NetTransport: nt, f: cfg.Faults, self: cfg.Name}
	} else {
		mlc.Transport = nt
	}
	f := cfg.Failure
	mlc.ProbeInterval, mlc.ProbeTimeout = f.ProbeInterval, f.ProbeTimeout
	mlc.SuspicionMult, mlc.GossipInterval = f.SuspicionMult, f.GossipInterval
	mlc.PushPullInterval, mlc.TCPTimeout = f.PushPullInterval, f.TCPTimeout
	mlc.DeadNodeReclaimTime, mlc.GossipToTheDeadTime = f.DeadNodeReclaimTime, f.GossipToTheDeadTime
	mlc.Delegate, mlc.Events = delegate{n}, events{n}
	mlc.Logger = memberlistLogger(n.log)
	if len(cfg.Secret) > 0 {
		if mlc.SecretKey, err = gossipKey(cfg.Secret); err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
	}
	ml, err := memberlist.Create(mlc)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	transportOwned = false // memberlist shuts it down from now on
	n.ml = ml
	cleanup = append(cleanup, func() { _ = ml.Shutdown() })
	if len(cfg.Seeds) > 0 {
		if _, err := ml.Join(cfg.Seeds); err != nil {
			return nil, fmt.Errorf("joining %v: %w", cfg.Seeds, err)
		}
	}
	n.runReplication()
	n.log.Info("node started", "remote", n.remoteAddr, "gossip", n.gossipAddr, "role", cfg.Role.String(), "secure", len(cfg.Secret) > 0)
	return n, nil
}

// endpointQueueSize is the initial size of an endpoint writer's queue (it
// grows as needed): a few batches.
const endpointQueueSize = 1024

// startRemote starts protoactor's remote transport. protoactor panics when
// it cannot listen; the panic is turned into an error.
func (n *Node) startRemote(advIP net.IP) (err error) {
	cfg := n.cfg
	host, port, _ := splitHostPort(cfg.RemoteAddr)
	limit := cfg.WriterBatchSize*(cfg.MaxMessageSize+envelopeOverhead) + 64<<10
	serverOpts := []grpc.ServerOption{grpc.MaxRecvMsgSize(limit)}
	dialOpts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit))}
	if len(cfg.Secret) > 0 {
		srv, cli, err := clusterTLS(cfg.Secret, cfg.Name, cfg.CertLifetime)
		if err != nil {
			return err
		}
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(srv)))
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(credentials.NewTLS(cli)))
	} else {
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if cfg.Faults != nil {
		dialOpts = append(dialOpts, grpc.WithContextDialer(cfg.Faults.dialer(cfg.Name)))
	}
	rc := remote.Configure(host, port,
		remote.WithServerOptions(serverOpts...),
		remote.WithDialOptions(dialOpts...),
		remote.WithEndpointWriterBatchSize(cfg.WriterBatchSize),
		// The queue of an endpoint writer grows by doubling as needed;
		// upstream starts it at a million slots (16 MB) for every peer
		// address, and a node that sees peers die and come back on new
		// addresses (every restart on port 0) churned tens of MB per
		// address: the chaos soak's nodes grew past 500 MB of RSS.
		remote.WithEndpointWriterQueueSize(endpointQueueSize),
		remote.WithAdvertisedHost(cfg.RemoteAdvertise),
	)
	// One connection attempt: membership decides whether a node is there,
	// and each retry costs protoactor a 2 s sleep.
	rc.MaxRetryCount = 1
	// Every message of every actor of the node is encoded and decoded here,
	// on the wire side of the transport (see wire.go).
	rc.Outbound = n.forRemote
	rc.Inbound = fromWire
	n.remote = remote.NewRemote(n.system, rc)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("remote listener %s: %v", cfg.RemoteAddr, r)
		}
	}()
	n.remote.Start()
	addr := n.system.Address()
	if h, p, e := net.SplitHostPort(addr); e == nil && cfg.RemoteAdvertise == "" {
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			addr = net.JoinHostPort(advIP.String(), p)
			n.system.ProcessRegistry.Address = addr
		}
	}
	n.remoteAddr = addr
	return nil
}

// stopRemote stops the remote transport at once: the gRPC server is
// stopped (closing every connection) before protoactor's graceful stop,
// which would otherwise wait up to 10 s for peers to hang up.
func (n *Node) stopRemote() {
	n.remote.Shutdown(false)
	n.remote.Shutdown(true)
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Role returns the node's role: Config.Role at start; a spare that takes
// over a dead node's workers turns active, and an active node whose workers
// were all fenced turns spare (see "Replication and takeover").
func (n *Node) Role() Role {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	return n.cfg.Role
}

// RemoteAddr returns the address the node's actors are reached at.
func (n *Node) RemoteAddr() string { return n.remoteAddr }

// GossipAddr returns the node's memberlist address, to give other nodes as
// a seed.
func (n *Node) GossipAddr() string { return n.gossipAddr }

// System returns the node's protoactor actor system, for spawning actors
// and sending from outside this package's helpers.
func (n *Node) System() *actor.ActorSystem { return n.system }

// Logger returns the node's logger (with a "node" attribute).
func (n *Node) Logger() *slog.Logger { return n.log }

// Meta returns a copy of the node's user metadata.
func (n *Node) Meta() map[string]string {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	return maps.Clone(n.userMeta)
}

// SetMeta sets (or, with an empty value, removes) user metadata keys and
// publishes the change to the cluster, where it shows as a NodeUpdate event.
// It fails with ErrMetaTooLarge when the metadata would exceed memberlist's
// 512-byte limit, and changes nothing then. It waits (up to
// Config.CallTimeout) until the update has been gossiped; if that wait
// times out, the error says so, but the new metadata is in place and
// spreads with the next state exchanges.
func (n *Node) SetMeta(kv map[string]string) error {
	if n.stopped() {
		return ErrStopped
	}
	n.metaMu.Lock()
	next := maps.Clone(n.userMeta)
	if next == nil {
		next = map[string]string{}
	}
	for k, v := range kv {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	b, err := encodeMeta(memberMeta{Name: n.cfg.Name, Role: n.cfg.Role, Remote: n.remoteAddr, User: next})
	if err != nil {
		n.metaMu.Unlock()
		return err
	}
	n.userMeta, n.metaBytes = next, b
	n.metaMu.Unlock()
	return n.ml.UpdateNode(n.cfg.CallTimeout)
}

func (n *Node) stopped() bool { return n.state.Load() != stateRunning }

// Shutdown stops the node in order: it drains the workers (they take no
// new message, and Shutdown waits up to Config.DrainTimeout until each
// one's newest state is acknowledged by its backup), stops them, leaves the
// membership (peers see a graceful NodeDown at once, and the spare takes
// the workers over from their last states), stops the node's registered
// processes (their monitors elsewhere get their Down) and the remote
// transport, then the actor system, and closes MonitorNodes channels. It is
// idempotent: later calls return the first call's result. Do not call it
// from one of the node's own actors: it waits for them to stop.
func (n *Node) Shutdown() error { return n.stop(true) }

// Halt stops the node as if its process had been killed: it does not leave
// the membership, so peers find out through failure detection (a NodeDown
// with Left unset), and the transport stops before the processes, so
// nothing of their end reaches other nodes. It exists for failure tests;
// it is idempotent, and after Shutdown it does nothing.
func (n *Node) Halt() error { return n.stop(false) }

func (n *Node) stop(graceful bool) error {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.state.Load() == stateStopped {
		return n.stopErr
	}
	n.state.Store(stateStopping)
	if graceful {
		// Workers finish replicating, then stop before the node leaves:
		// the spare that takes them over starts from their last states
		// and never runs them alongside these.
		n.drainWorkers()
		n.stopReplication()
	}
	var errs []error
	if graceful {
		if err := n.announceLeaving(); err != nil {
			// Best effort: without it peers see the leave as a failure.
			n.log.Warn("leave announcement not confirmed", "err", err)
		}
		if err := n.ml.Leave(n.cfg.LeaveTimeout); err != nil {
			errs = append(errs, fmt.Errorf("leave: %w", err))
		}
	}
	if err := n.ml.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("membership shutdown: %w", err))
	}
	n.endpoints.cancel()
	if graceful {
		// The processes stop first, so their monitors on other nodes
		// learn how they ended.
		n.stopActors()
		n.stopRemote()
	} else {
		// As if killed: nothing leaves the node any more.
		n.stopRemote()
		n.stopReplication()
		n.stopActors()
	}
	n.system.Shutdown()
	n.members.closeAll()
	n.state.Store(stateStopped)
	n.stopErr = errors.Join(errs...)
	n.log.Info("node stopped", "graceful", graceful)
	return n.stopErr
}

// drainWorkers sends every worker a Drain (it handles no further message)
// and waits, up to Config.DrainTimeout in all, for each one's newest state
// to be acknowledged by its backup; it logs the workers not drained in
// time. The futures it waits on end with their timeouts at the latest.
func (n *Node) drainWorkers() {
	if n.cfg.DrainTimeout <= 0 || n.repl == nil {
		return
	}
	start := time.Now()
	deadline := start.Add(n.cfg.DrainTimeout)
	res, err := n.system.Root.RequestFuture(n.repl.pid, listWorkers{}, n.cfg.DrainTimeout).Result()
	if err != nil {
		n.log.Warn("workers not drained: replication controller", "err", err)
		return
	}
	ws := res.([]WorkerInfo)
	if len(ws) == 0 {
		return
	}
	futures := make([]*actor.Future, len(ws))
	for i, w := range ws {
		// A future with a negative timeout would never time out.
		futures[i] = n.system.Root.RequestFuture(w.PID, &actors.Drain{}, max(time.Until(deadline), time.Millisecond))
	}
	undrained := map[string]bool{}
	for i, f := range futures {
		if _, err := f.Result(); err != nil {
			undrained[ws[i].ID] = true
		}
	}
	n.log.Info("workers drained", "workers", len(ws), "undrained", len(undrained), "took", time.Since(start))
	if len(undrained) == 0 {
		return
	}
	// Their counters now, for the log (the first listing predates Drain).
	if res, err := n.system.Root.RequestFuture(n.repl.pid, listWorkers{}, n.cfg.CallTimeout).Result(); err == nil {
		ws = res.([]WorkerInfo)
	}
	for _, w := range ws {
		if undrained[w.ID] {
			n.log.Warn("worker not drained in time: its newest states are lost on takeover", "worker", w.ID,
				"seq", w.Status.Seq, "acked_seq", w.Status.AckedSeq, "timeout", n.cfg.DrainTimeout)
		}
	}
}

// announceLeaving publishes the leaving flag in the node's metadata and
// waits (up to LeaveTimeout) for the update to be sent.
func (n *Node) announceLeaving() error {
	n.metaMu.Lock()
	b, err := encodeMeta(memberMeta{Name: n.cfg.Name, Role: n.cfg.Role, Remote: n.remoteAddr, User: n.userMeta, Leaving: true})
	if err == nil {
		n.metaBytes = b
	}
	n.metaMu.Unlock()
	if err != nil {
		return err
	}
	return n.ml.UpdateNode(n.cfg.LeaveTimeout)
}

// stopActors stops the registered processes, then the monitor service, and
// waits (boundedly) for them to finish.
func (n *Node) stopActors() {
	var futures []*actor.Future
	for _, pid := range n.names.all() {
		futures = append(futures, n.system.Root.StopFuture(pid))
	}
	for _, f := range futures {
		_ = f.Wait()
	}
	_ = n.system.Root.StopFuture(n.monitorPID).Wait()
}
