// Package funnel is a per-key rate limiter of the "funnel" kind (a leaky
// bucket as a meter), after the ETS-based limiter enode comes from.
//
// Each key has a funnel of constant Capacity that leaks Rate units of room
// back per second. A request takes room (one unit, or its cost); it is
// allowed when it fits, so bursts up to Capacity pass and the sustained rate
// is Rate. Per key the limiter keeps only the remaining room and the time of
// the last update. A Decision says whether the request was allowed, the room
// left, how long until a refused request would fit (RetryAfter, for HTTP's
// Retry-After) and how long until the funnel is empty again (ResetAfter).
//
// # Owners
//
// The funnels live in ets tables (package ets), as in the original: a
// set of {Key, Room, Last, Stamp} (a Compact set, so each funnel is a
// 64-byte record) and an ordered_set of {Stamp, Key}, the expiry index,
// whose objects (for keys of up to 16 bytes) the ordered_set keeps inline
// in 40-byte slots.
// All writes to a key's funnel are made by one owner goroutine, the single
// writer of the original's command process, which owns the tables and
// takes requests in batches: so no key is ever granted more than its room
// however many goroutines ask at once, and batching (DecideBatch) makes
// millions of decisions a second possible. Others read the tables through
// the read-only views Tables returns. Config.Shards > 1 splits keys over
// several owners, two tables each, for more cores.
//
// Owners are supervised, and the supervisor is their tables' heir: an
// owner that panics hands its tables over as it exits (ETS's heir
// transfer), and the restarted owner takes them, so a crash loses no
// funnel state; the request being decided gets ErrOwnerRestarted. Too
// many crashes within RestartWindow stop the owner, as an Erlang
// supervisor's intensity does, and its tables are deleted.
//
// # Expiry
//
// Keys idle for TTL (default five minutes) are forgotten. The index,
// ordered by a time of access, finds the idlest key at once. A request
// only updates its funnel; when a key's index object is a TTL old, the key
// is forgotten if it was not touched since, or indexed again at its last
// update. Every decision handles at most ExpireBudget such index objects,
// and an owner with nothing to do wakes when the first comes due and
// handles at most SweepBudget per step: never a sweep of the whole table.
// The memory of forgotten keys is given back.
//
// Time comes from a Clock: the monotonic system clock by default, a
// ManualClock in tests.
//
// # Usage
//
//	cfg := funnel.DefaultConfig()
//	cfg.Capacity, cfg.Rate = 20, 5 // bursts of 20, 5 a second
//	lim, err := funnel.New(cfg)
//	...
//	defer lim.Close()
//	d, err := lim.Allow(clientIP)
//	if err == nil && !d.Allowed {
//		// refuse; retry after d.RetryAfter
//	}
package funnel
