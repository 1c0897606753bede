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
// # Failure detection
//
// LANFailureDetection (the default) is memberlist's LAN profile: a killed
// node is declared dead after about 5 s. LocalFailureDetection (in
// LocalConfig) is for clusters on one machine: about 0.3 s on loopback
// (BenchmarkFailureDetection).
//
// # Goroutines
//
// Shutdown leaves the membership, stops the registered processes and the
// monitor service, stops the remote transport (closing every connection at
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
