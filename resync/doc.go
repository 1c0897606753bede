// Package resync brings a copy of a worker's state (a replica on a spare)
// back in line with the source (the worker) after a restart, a partition or
// with a brand-new spare, sending only what differs.
//
// Two paths, chosen by CatchUp: when the worker's delta.Outbox still holds
// every delta since the copy's (epoch, seq), the merged delta is sent in one
// round trip. Otherwise the two sides compare Merkle trees built over the
// state term's own structure: tuple elements, list and binary index ranges
// (fan-out FanOut, boundaries fixed by the range alone, so both sides derive
// the same ones whatever their terms' internal layout), and map buckets by
// key hash prefix, down to elements, keys and short byte ranges. Hashes are
// term.Hash of subterms, cached on immutable terms, so hashing a state that
// shares most subterms with a hashed one costs about the change.
//
// The comparison is two pure state machines, Copy and Source (no
// goroutines, clocks or sockets), and both sides compare, so that each round
// trip descends two levels:
//
//   - the copy opens (MsgHello) with its root hash and its expansions of the
//     first HelloDepth levels: each node's shape (kind, length, map keys)
//     and its children's hashes;
//   - the source compares them with its own and answers (MsgAsk) with its
//     expansions of the nodes that differ;
//   - the copy compares those with its own and answers (MsgHashes) with its
//     expansions of only the children that differ, or a bare marker for a
//     differing child that is a leaf or smaller than ReplaceBelow, or, when
//     it sees a node differently (another length, other keys), its own
//     expansion of that node;
//   - and so on. After MaxRounds round trips at most, the source sends a
//     delta.Spec of the differing subterms (MsgDone), which the copy applies
//     and checks against the source's root hash, or the whole state
//     (MsgKeyframe) when the measured divergence makes that cheaper, and at
//     once for a copy that has no state.
//
// Messages have a compact wire form (AppendMessage, DecodeMessage); Sync
// runs a whole exchange in memory and counts round trips and bytes.
//
// # Figures
//
// On the reference workload (go test ./resync/ -run Figures -v; keyframe
// 3,945,987 bytes), with DefaultConfig (fan-out 16, two levels in the
// Hello, three round trips at most):
//
//	path                   round trips   bytes      of which hashes   delta    true change
//	outbox covers          1             18,030     -                 -        -
//	1% sessions diverged   3             86,903     78,664            8,239    5,348
//	50% sessions diverged  3             1,651,350  1,259,260         392,090  248,078
//	brand-new copy         1             3,946,011  (keyframe)
//
// With 1% diverged the delta is 1.5 times the true change: it names the
// changed field of each differing session. Descending into small records
// costs hashes; when most records differ, that costs about 7% more in all
// than sending them whole would (50%: 1,548,332 bytes before this
// protocol), still well under a keyframe.
//
// DiffWorkers runs the same comparison over worker id -> state hash maps, so
// that after a partition a node finds which workers differ without looking
// at their states.
//
// # Usage
//
//	res, err := resync.Sync(workerState, replicaState, resync.DefaultConfig())
//	// res.State equals workerState; res.RoundTrips <= 3 on the reference state
package resync
