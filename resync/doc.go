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
// goroutines, clocks or sockets): the copy opens with its root hash and the
// hashes of its first HelloDepth levels; the source answers with the nodes
// that differ (MsgAsk), the copy hashes their children, and so on; only
// differing subtrees are opened. After MaxRounds round trips at most, the
// source sends a delta.Spec of the differing subterms (MsgDone), which the
// copy applies and checks against the source's root hash, or the whole state
// (MsgKeyframe) when the measured divergence makes that cheaper, and at once
// for a copy that has no state. Messages have a compact wire form
// (AppendMessage, DecodeMessage); Sync runs a whole exchange in memory and
// counts round trips and bytes.
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
