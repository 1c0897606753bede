//go:build chaoshooks

package actors

import "os"

// ChaosHookEnv names the environment variable that selects a fault hook in
// a binary built with -tags chaoshooks (the chaos suite's checker tests):
//
//	ignore-fenced  workers ignore Fenced: a stale copy keeps running after
//	               a takeover (fencing broken);
//	ack-unstored   the replica_handler stores the first state of each
//	               worker epoch and acknowledges every later one without
//	               storing it: a takeover starts from that first state
//	               (acknowledgement broken).
//
// Any other value, or none, leaves the runtime as it is.
const ChaosHookEnv = "ENODE_CHAOS_HOOK"

func hookIgnoreFenced() bool { return os.Getenv(ChaosHookEnv) == "ignore-fenced" }

func hookAckUnstored(s Store, r Replica) bool {
	if os.Getenv(ChaosHookEnv) != "ack-unstored" {
		return false
	}
	have, ok := s.Get(r.Worker)
	return ok && have.Epoch == r.Epoch
}
