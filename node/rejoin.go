package node

import (
	"slices"
	"time"
)

// Rejoining failed members.
//
// memberlist keeps gossiping to a member it declared dead for
// GossipToTheDeadTime only. A node paused or partitioned for longer never
// hears that it was declared dead, so it never refutes it, and the two
// sides stay apart for good: the taker never learns that the old owner is
// back, and the old owner's stale copies of the taken-over workers run on
// forever. So the node tries, every rejoinInterval, to join the gossip
// addresses of members that failed (not those that left): for rejoinWindow
// after the failure, and for as long as a fence against that member is
// pending. Joining an address where nothing listens fails at once; joining
// a node that is back merges the two sides, and the NodeUp that follows
// triggers the fences.

// rejoinWindow is how long a failed member is retried when no fence is
// pending against it.
const rejoinWindow = 10 * time.Minute

// lostMember is a member that failed, as the rejoin loop retries it.
type lostMember struct {
	gossip string
	since  time.Time
}

// rejoinTargets asks the controller for the gossip addresses to retry.
type rejoinTargets struct{}

// rejoinInterval is the time between two rejoin attempts: half the time
// memberlist keeps gossiping to the dead (before that, its own gossip
// heals a short partition), and at least five probe intervals.
func (c *Config) rejoinInterval() time.Duration {
	return max(c.Failure.GossipToTheDeadTime/2, 5*c.Failure.ProbeInterval)
}

// targets returns the gossip addresses of the failed members to retry,
// forgetting those past the window with no fence pending.
func (c *controller) rejoinTargets(now time.Time) []string {
	var out []string
	for name, l := range c.lost {
		if now.Sub(l.since) > rejoinWindow && len(c.fences[name]) == 0 {
			delete(c.lost, name)
			continue
		}
		out = append(out, l.gossip)
	}
	slices.Sort(out)
	return out
}

// runRejoin is the rejoin loop; it ends when quit is closed.
func (n *Node) runRejoin(quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(n.cfg.rejoinInterval())
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		res, err := n.system.Root.RequestFuture(n.repl.pid, rejoinTargets{}, n.cfg.CallTimeout).Result()
		if err != nil {
			continue
		}
		addrs, _ := res.([]string)
		if len(addrs) == 0 {
			continue
		}
		if k, err := n.ml.Join(addrs); err != nil && k == 0 {
			n.log.Debug("failed members still unreachable", "addrs", addrs, "err", err)
		} else {
			n.log.Info("rejoined failed members", "addrs", addrs, "reached", k)
		}
	}
}
