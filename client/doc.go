// Package client reads workers' replicated states, from any node, through a
// cache. A reader asks for a worker by id and gets an Entry: the state, the
// worker's owner, and its Version (epoch, sequence number) in the worker's
// replication stream.
//
// The cache (Cache) is separate from the two interfaces on top of it, which
// share it: Client.Get is synchronous (ask with a context, get the entry),
// Client.GetAsync asynchronous (ask, get a Future; later Wait with a timeout
// or select on Done, then Result). Both take the same path:
//
//   - a fresh entry (checked by a source less than TTL ago) answers at once;
//   - a missing entry is fetched; an expired one is revalidated from its
//     Version, so a source whose replica has not moved answers "unchanged"
//     instead of sending the state again;
//   - concurrent reads of one worker share one fetch (they coalesce); a
//     fetch stops when every reader waiting for it has given up.
//
// The cache is bounded (least recently used entries go first, by count and
// optionally by bytes) and monotonic: for each worker it only moves to newer
// versions, and it remembers the newest version it served after evicting
// the state, so a reader never gets a state older than one it already got,
// even from a spare that lags behind (ErrStale when nothing newer is
// available). Counters (Stats) say how many reads hit, missed, expired,
// coalesced, came back unchanged or older than seen (refused), and how
// many were served stale.
//
// With Config.MaxStale set, a read that finds every source down (no live
// spare, none answering, or none in time) is answered from the cache with
// an entry that expired less than MaxStale ago, marked Entry.Stale with its
// Age; it is still the newest state the client handed out for the worker.
// Stats.StaleServed counts such reads.
//
// A Fetcher is where states come from. NodeFetcher reads them through a
// node of the cluster from the replica service (node.StartReplicaService)
// of every live spare, newest answer first, in pieces when a state is
// larger than a message.
//
// # Usage
//
//	n.StartReplicaService()          // on every node that may be a spare
//	c, err := client.New(client.NewNodeFetcher(n), client.DefaultConfig())
//	...
//	defer c.Close()
//	e, err := c.Get(ctx, "session-42")   // e.State, e.Version, e.Owner
//	f := c.GetAsync("session-43")
//	if f.Wait(50 * time.Millisecond) {
//		e, err := f.Result()
//		...
//	}
package client
