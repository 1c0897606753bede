// Package node runs Erlang-style nodes: a node has a name
// ("worker1@127.0.0.1"), runs actors (protoactor-go), registers some of
// them under names, and talks to the registered processes of other nodes
// as {Name, Node}, the way Erlang distribution does. Nodes find each other
// and detect each other's failures with memberlist (SWIM gossip), publish
// small metadata (role, remote address, user key/values), and report
// nodes coming and going as events, like net_kernel:monitor_nodes.
//
// # Usage
//
//	a, err := node.Start(node.LocalConfig("a@127.0.0.1"))
//	...
//	defer a.Shutdown()
//	cfg := node.LocalConfig("b@127.0.0.1")
//	cfg.Seeds = []string{a.GossipAddr()}
//	b, err := node.Start(cfg)
//	...
//	a.Spawn("echo", a.PropsFromFunc(func(ctx actor.Context) {
//		if t, ok := ctx.Message().(term.Term); ok {
//			ctx.Respond(t)
//		}
//	}))
//	reply, err := b.Call(ctx, node.ProcessID{Name: "echo", Node: "a@127.0.0.1"}, term.Atom("hi"))
//
// # Names
//
// Register adds the process under its name as an alias in protoactor's
// process registry, so the PID {node's remote address, name} reaches the
// process directly, from anywhere, with no name-server actor in the path.
// Send and Call resolve {Name, Node} with the membership: the node's remote
// address comes from its published metadata. Names are removed when their
// process terminates.
//
// # Messages
//
// A message is a protobuf message (carried as is), a term.Term, a TermForm
// (sent as its term), or a Go value that term.Marshal turns into a term.
// Terms bound for another node travel in the External Term Format, wrapped
// in an anypb.Any. Send and Call encode at send time, so the sender gets
// the error (ErrUnserializable, ErrTooLarge); what actors send, respond or
// forward with their own context is encoded by the transport's outbound
// hook. The receiving node decodes before delivery, so every actor receives
// term.Term. Between processes of one node, terms are passed as they are
// (they are immutable). Config.MaxMessageSize bounds one message; the
// replication layer chunks larger state itself.
//
// # Monitors
//
// Monitor and MonitorPID deliver one *Down to a local watcher when the
// target stops (ReasonNormal), crashes and is not restarted
// (ReasonCrashed, for actors built with Node.Props), does not exist
// (ReasonNoProc), cannot be reached (ReasonNoConnection) or its node goes
// down (ReasonNodeDown, also when failure detection declares it dead). Each
// node runs one monitor service actor that watches local targets for other
// nodes and turns membership losses into Down messages.
//
// # Security
//
// With Config.Secret set, gossip is encrypted with a key derived from the
// secret and the remote transport runs mutual TLS 1.3 under a CA derived
// from the secret: without the secret a process can neither join nor
// deliver a message. Without a secret everything is plaintext and open to
// anyone who can reach the ports: for development only.
//
// # Replication and takeover
//
// A node of an N+1 cluster is active (it runs workers) or a spare (it keeps
// their replicas). Config.Workers says how to build a worker from its id;
// every node must be able to build every worker, since any spare may take
// over any active node. Config.Replication (actors.DefaultReplicationConfig
// by default) says how workers replicate.
//
//	cfg := node.LocalConfig("a@127.0.0.1")
//	cfg.Workers = func(id string) (actors.Behaviour, error) { return session{}, nil }
//	a, err := node.Start(cfg)
//	pid, err := a.StartWorker("session-42") // supervised, registered as session-42
//	ws, err := a.Workers()                  // id, epoch, seq, acked seq, bytes sent
//	backup, ok, err := a.Backup()
//
// Each node runs a replication controller, an actor fed by MonitorNodes.
// Shutdown first drains the workers: each gets actors.Drain, handles no
// further message, and Shutdown waits (up to Config.DrainTimeout, 5 s by
// default, all workers together) until each one's newest state is
// acknowledged by its backup, so that a graceful stop loses no step; the
// workers not drained in time are logged, and their unacknowledged states
// are lost as on a kill. Then it stops the controller, so the node's
// workers stop before it leaves the membership and the spare that takes
// them over (from those states) never runs them alongside; Halt does not
// drain, and stops the controller once the transport is down, as a kill
// would. Its workers are
// its children, each under its own one_for_one strategy (3 restarts in 5 s,
// then the worker stays stopped). A rejoin loop retries the gossip addresses
// of failed members (see Fencing); stopping it may wait for one join attempt
// (up to Failure.TCPTimeout).
//
// Backup choice. Every node computes, from its own member list, the backup
// of each active node as actors.RendezvousBackup over the live spares: no
// coordinator, and every node agrees once their member lists do. When this
// node's backup changes (a spare joins, leaves, dies or turns active), its
// workers get actors.SetBackup and resync with the new one (a keyframe only
// when it holds no replica or the divergence makes one cheaper; see the
// actors package), or keep their newest state until a spare appears.
//
// Resync after a partition. Before it sends SetBackup, the node asks the new
// backup for the digest of its replicas of this node's workers (worker id ->
// hash of epoch, sequence and state hash; actors.DigestQuery) and compares
// it with its own workers' acknowledged states (resync.DiffWorkers), without
// looking at a state. A worker whose replica is in sync is told where it
// stands (SetBackup.Holds) and goes on with a delta from it, with no round
// trip of its own; only the differing workers resync one by one.
// LastDigestExchange reports the last comparison. Without an answer within
// 200 ms the workers resync one by one.
//
// Spares. A spare starts replica_handler (actors.ReplicaHandlerProps)
// during Start, before joining, so it exists before anyone chooses it.
//
// Takeover. When an active node is declared down (failure detection or a
// graceful leave), the spare that was its backup in the member list just
// before (rendezvous over the live spares, itself included) takes its
// workers over: it starts each with actors.FromReplica (same id and
// registered name, epoch+1, its state sequence continuing from the
// replica's), publishes the active role so that others
// recompute backups, and records the takeover (Takeovers: detection to
// running time; the most recent 1024 records, TakeoverCount counts all).
// Its own workers now replicate to the remaining spares, or to none until
// a spare joins. A spare that holds no replica of the dead node stays a
// spare.
//
// No acknowledged state is lost: each worker starts from a state at least
// as new as any state a live node acknowledged for it. A replica is
// acknowledged only once stored, and the takeover closes each way a newer
// one could exist:
//
//   - It reads its own replicas with actors.ReplicaTable.Seal, under one
//     lock with the handler's stores, not through the handler's mailbox (no
//     wait behind queued frames). From then on the table refuses the dead
//     owner's epoch for those workers and the handler answers such a frame
//     with Fenced: a frame queued or being applied at the read, or sent by
//     a copy that was only paused or partitioned, is never acknowledged
//     (neither before nor after the taken-over replica is dropped).
//   - It asks every live node's replica service to seal each worker too
//     ({seal_replica, ...}, at most 500 ms, in parallel) and starts from the
//     newest replica of the dead owner any of them holds: highest epoch,
//     then highest seq. An earlier backup holds a newer one when the backup
//     moved and the keyframe to the new one had not landed before the owner
//     died. A peer that does not answer in time is left out.
//   - A replica already sealed by another node is skipped: one worker is
//     taken over once per epoch, even by two spares whose member lists
//     disagree, as long as one's seal reaches the other before its own
//     takeover.
//
// This was chosen over a make-before-break backup switch (acks counted only
// once the new backup holds the acked version) because it needs no change
// to the workers' replication protocol and also covers the paused-owner
// window, at the cost of one round trip to the peers during failover. What
// it does not cover: states acknowledged only by a node that is itself down
// or unreachable at takeover (a double fault), and a spare that creates its
// replica table after the seal (it had no replica_handler to acknowledge
// with before).
//
// Fencing. Replicas refuse frames of a lower epoch and answer them with
// actors.Fenced. And when a node this node took workers from comes back (a
// NodeUp: a paused or partitioned node resuming), each taken-over worker's
// old copy is sent Fenced{Worker, Epoch} as {id, OldNode} and monitored
// until it stops; Takeover.DualWindow is the time from the NodeUp to the
// stop. A fenced worker stops at once; a node whose workers were all fenced
// starts replica_handler and turns spare: N+1 rotation. A restarted node
// should be configured as a spare.
//
// memberlist gossips to a member it declared dead only for
// Failure.GossipToTheDeadTime; a node partitioned for longer would never
// rejoin by itself, and its stale copies would run on. So every node retries
// joining the gossip address of each member that failed (not of those that
// left), every max(GossipToTheDeadTime/2, 5*ProbeInterval): for 10 minutes,
// and for as long as a fence against that member is pending.
//
// Limits: one failure at a time. A second active node dying before a spare
// is back has no backup; a spare that turned active keeps the replicas it
// held of other active nodes but does not take them over.
//
// Wire. Workers are given their backup's {replica_handler, Node} PID; the
// replication protocol's messages (actors.Message, a TermForm) cross nodes
// in their term form like every other term. protoactor's remote drops what
// is sent while a connection is re-established; the replication link finds
// such losses with a probe (see the actors package, Loss), and the node
// has it probe at once when the remote transport reports the connection to
// a node lost or re-established (actors.ProbeLink): a worker whose frames
// or acks were lost recovers within milliseconds of the connection's
// return (TestRemoteBlipRecovers), at worst about
// Replication.StallTimeout (2 s) after it.
//
// # Failure detection
//
// LANFailureDetection (the default) is memberlist's LAN profile: a killed
// node is declared dead after about 5 s. LocalFailureDetection (in
// LocalConfig) is for clusters on one machine: about 0.35 s on loopback,
// while a node stalled for up to ~300 ms (a busy or loaded machine) is not
// declared dead
// (BenchmarkFailureDetection).
//
// # Goroutines
//
// Shutdown drains and stops the workers, leaves the membership, stops the
// registered processes and the monitor service, stops the remote transport (closing every connection at
// once) and the actor system, and closes MonitorNodes channels. The node's
// own goroutines end with it; gRPC's connection goroutines and protoactor's
// dead-letter throttle timer (bounded here to 100 ms) end within about
// 100 ms after Shutdown returns.
//
// # protoactor's remote
//
// The node uses a patched copy of protoactor-go's remote package
// (node/internal/remote; its doc lists the changes): upstream's writes
// gRPC's process-wide logger on every start, a data race as soon as two
// nodes share a process, and can be crashed by a peer sending an unknown
// message type.
//
// # Testing
//
// Config.Faults (and the nodetest package, which wires it) drops gossip and
// remote traffic between chosen nodes, for real partitions in one process.
package node
