package actors

import "github.com/cespare/xxhash/v2"

// RendezvousBackup chooses the backup of the active node among the live
// spares by rendezvous (highest random weight) hashing: each spare scores
// hash(active, spare) and the highest score wins (ties, which need a 64-bit
// collision, go to the smaller name). Every node that sees the same spares
// computes the same answer, with no coordinator; the answer does not depend
// on the order of spares; and when a spare leaves, only the active nodes it
// backed up move (to their second choice). A spare named like active is not
// a candidate. It reports false when there is no candidate.
func RendezvousBackup(active string, spares []string) (string, bool) {
	var (
		best      string
		bestScore uint64
		found     bool
	)
	for _, s := range spares {
		if s == active {
			continue
		}
		score := rendezvousScore(active, s)
		if !found || score > bestScore || (score == bestScore && s < best) {
			best, bestScore, found = s, score, true
		}
	}
	return best, found
}

// rendezvousScore hashes the pair with a separator that cannot occur in a
// node name's length prefix, so ("ab","c") and ("a","bc") differ.
func rendezvousScore(active, spare string) uint64 {
	d := xxhash.New()
	var n [8]byte
	l := uint64(len(active))
	for i := range n {
		n[i] = byte(l >> (8 * i))
	}
	_, _ = d.Write(n[:])
	_, _ = d.WriteString(active)
	_, _ = d.WriteString(spare)
	return d.Sum64()
}
