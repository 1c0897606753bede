// Package actors is enode's Erlang-style behaviours on protoactor: the
// worker (a gen_server whose state is replicated), the replica_handler that
// keeps replicas on a spare node, supervisors with Erlang's strategies, and
// the replication path between them.
//
// A worker's code only says what its state is. After each step the worker
// sends its whole state, as a ReplicaState, to the replica_handler on its
// backup node, as {replica_handler, Backup} ! State did in Erlang. A sender
// middleware on the worker takes that message off the mailbox path and
// sends a keyframe or a delta instead (delta.Encoder with an adaptive
// keyframe policy); a receiver middleware on the replica_handler turns the
// frames back into whole states (delta.Decoder), so the handler only ever
// sees states:
//
//	worker ─ReplicaState─▶ [sender middleware: delta.Encoder, window] ─frame─▶
//	  link (chunks, interleaved, credits) ─Chunk…─▶ [ReplicaReceiver:
//	  reassembly, delta.Decoder] ─ReplicaUpdate─▶ ReplicaHandler ─Ack─▶ worker
//
// # Flow control
//
// A worker has at most Window frames unacknowledged. While the window is
// full, or no backup is known, it neither blocks nor queues: the newest
// state replaces the one waiting, and when acks return it goes out as one
// delta from the last sent state (which is what merging the skipped deltas
// would give). NeedKeyframe from the replica makes the next frame a
// keyframe.
//
// # Sequence numbers
//
// One sequence runs through replication: the worker's state sequence, the
// count of states it handed to replication (1 for Init's), continuing
// across takeovers (FromReplica starts from the replica's). Frames carry it
// (a delta's base is the sequence of the state it applies to; merged states
// leave gaps), the replica stores it (Replica.Seq), acks name it, and
// WorkerStatus.Seq/AckedSeq report it.
//
// # Resync
//
// A worker that starts replicating to another backup (SetBackup: a new
// spare, a restarted one, one back after a partition), or whose link found
// something of its stream lost (see Loss), first asks the handler what it holds
// (ResyncQuery, ResyncStatus: epoch, sequence, state hash). If the worker
// still has that state (it keeps its newest acknowledged state and the ones
// sent after it) the next frame is one delta from it: one round trip. If
// the replica holds another state, a Merkle comparison (package resync,
// carried in Resync messages) finds the differing subterms and the worker
// sends a delta of just those; a keyframe goes only to a handler without a
// replica, or when the divergence makes it cheaper. The worker's steps go
// on meanwhile, merging as above. WorkerStatus counts each path, the round
// trips and the bytes. A fresh worker's first frame is a keyframe with no
// question asked.
//
// Frames are cut into chunks (64 KiB by default) by a link actor, one per
// destination replica_handler, which carries every local worker's stream
// to it: at each turn it sends a chunk of the frame with the fewest chunks
// left, alternating with round robin, with a bounded number of chunks in
// flight, so one worker's 40 MB keyframe never holds up another's deltas.
// The worker's resync messages go through the link too, after its chunks.
//
// # Loss
//
// protoactor's remote delivers at most once: what is sent while a
// connection is re-established (a reset, a spare paused and resumed) is
// dropped without a word, chunks, acks and resync messages alike. It never
// reorders what it delivers between two processes. The link numbers what
// it sends and keeps what is unanswered (chunks without a ChunkAck, frames
// without an answer, a resync message without its answer). When something
// has been unanswered for StallTimeout (2 s by default), the link sends a
// LinkPing, however busy it is with other streams; the handler answers
// LinkPong in mailbox order, after the answers to everything sent before
// the ping, so what is still unanswered when the pong comes was lost. The
// link drops what it still holds of those workers' streams and tells them;
// each resyncs (covered delta, Merkle or keyframe, as above). node also
// has the link probe at once when the transport reports the connection to
// the backup's node lost or re-established. A slow destination is not
// taken for a lost one: a keyframe whose chunks are being credited is
// progressing, and a handler busy decoding a 40 MB keyframe answers the
// ping late, after that keyframe's Ack. Only a destination silent for
// AckTimeout (30 s), pong included, has everything unanswered written
// off; a worker, too, gives its frames up after AckTimeout only when its
// link has heard nothing for as long. Nothing is counted acknowledged but
// an Ack or a ResyncStatus naming a state the worker sent, with its hash.
// WorkerStatus.LinkLosses and LinkStats (Pings, Losses, Resets) count it.
//
// # Replica table and admission control
//
// The replica_handler keeps its replicas in an ets table (ReplicaTable: a
// protected ordered_set, one {enode_replica, Worker, Owner, Epoch, Seq,
// State, UpdatedUnixNano, Keyframes, Deltas, Bytes} row per worker). The
// table lives outside the actor, so a handler that crashes and restarts
// keeps every replica (its stream decoders resume from the table); status, takeover and readers read it through a
// ReplicaView (OpenReplicaView with ReceiverConfig.Registry) without going
// through the handler's mailbox.
//
// Each sending node goes through a funnel (AdmissionConfig, bytes per
// second). A frame over its node's rate is still applied and acknowledged;
// its sender gets Backoff, and that node's workers send no new frame until
// the retry-after has passed, merging their states meanwhile, so a
// flooding node cannot starve the others.
//
// # Epochs and fencing
//
// A worker started fresh has epoch 1; one started from its replica on
// takeover (FromReplica) has the replica's epoch + 1 and starts its stream
// with a keyframe. A replica refuses frames of a lower epoch and answers
// them with Fenced; a worker that gets Fenced with a higher epoch stops at
// once, so that a node that was only paused does not run a worker twice.
//
// # Draining
//
// Before a graceful stop, a worker is sent Drain (a local request): it
// handles no further user message and answers Drained once its newest
// state is acknowledged (at once without a backup), so that the takeover
// that follows starts from its last step.
//
// # Wire
//
// Every message that crosses nodes (Chunk, ChunkAck, Ack, NeedKeyframe,
// Fenced, SetBackup, Backoff, ResyncQuery, ResyncStatus, Resync, LinkPing,
// LinkPong) has a term form ({enode_chunk, ...} and so on; ToTerm,
// FromTerm), so a transport that carries Erlang terms can move it; the
// middlewares and the worker accept both forms, so record tuples tagged
// enode_* are reserved: a worker does not hand them to its Behaviour.
// Chunks, resync messages and pings must be sent with a sender (actor
// Request) so that answers find their way back to the link.
//
// # Usage
//
// On a spare node:
//
//	props, err := actors.ReplicaHandlerProps(actors.DefaultReceiverConfig())
//	handler, err := system.Root.SpawnNamed(props, "replica_handler")
//
// On an active node, a worker under a supervisor:
//
//	spec := actors.WorkerSpec{ID: "session-42", Owner: "a@host", Behaviour: b,
//		Backup: handlerPID, Replication: actors.DefaultReplicationConfig()}
//	wprops, stats, err := actors.WorkerProps(spec)
//	sup, err := actors.SupervisorProps(actors.SupervisorSpec{Strategy: actors.OneForOne,
//		Children: []actors.ChildSpec{{Name: spec.ID, Props: wprops}}})
//	system.Root.Spawn(sup)
//
// When membership changes, node computes each active node's backup with
// RendezvousBackup and sends the workers SetBackup; on takeover it asks the
// handler for ReplicasByOwner and starts each worker with FromReplica.
package actors
