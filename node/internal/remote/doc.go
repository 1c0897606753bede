// Package remote is protoactor-go's remote package (Apache License 2.0, see
// LICENSE; github.com/asynkron/protoactor-go, version
// v0.0.0-20240822202345-3c0e61ca19c9, package remote) with the changes enode
// needs, so that several nodes can share one Go process (tests) and a peer
// cannot crash a node:
//
//   - Remote.Start no longer calls grpclog.SetLoggerV2: it wrote gRPC's
//     process-wide logger on every start, a data race with the gRPC
//     goroutines of every other node in the process (go test -race failed
//     on any multi-node test);
//   - the endpoint writer does not sleep 2 s after its last failed
//     connection attempt, so a failed connection does not keep a goroutine
//     past its node's shutdown;
//   - the proto serializer returns an error for an unknown message type
//     instead of dereferencing nil (a panic in a gRPC handler goroutine,
//     which ends the process);
//   - the endpoint reader checks the indexes in a peer's message batch and
//     answers the unimplemented ListProcesses and GetProcessDiagnostics
//     with codes.Unimplemented; both were panics in a gRPC handler;
//   - an endpoint reader no longer closes the channel the endpoint
//     manager's stop sends on (a data race, and a panic when the two met);
//   - the endpoint manager's stopped flag and the endpoint reader's
//     suspended flag are atomic: both were plain bools written during
//     shutdown while gRPC and actor goroutines read them (data races), and
//     stop no longer clears the connections map that senders still read;
//   - Config.Outbound and Config.Inbound hook every user message on its way
//     into and out of the wire (enode encodes and decodes Erlang terms
//     there, so every actor of a node sends and receives terms);
//   - the JSON serializer (and its gogo/protobuf dependency) is left out;
//   - the protobuf package is renamed from "remote" to "enode.remote" (file
//     "enode/remote.proto", gRPC service "enode.remote.Remoting"), so that
//     this copy and upstream's can be linked into one binary without a
//     protobuf registration conflict. enode nodes therefore speak only to
//     enode nodes, which is the intent.
//
// Modified files carry a "Modified for enode" first line. The rest is
// upstream's code as it was; its queues (internal/queue/mpsc and goring)
// are copied under internal/ because Go does not let another module import
// them.
package remote
