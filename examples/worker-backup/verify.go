package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/enode-dev/enode/internal/demo"
)

// summary is the result of a run; with --json it is the last stdout line.
type summary struct {
	Nodes      int     `json:"nodes"`
	Spares     int     `json:"spares"`
	Workers    int     `json:"workers"`
	State      string  `json:"state"`
	Keyframe   string  `json:"keyframe"`
	Delta      bool    `json:"delta"`
	DurationMs int64   `json:"duration_ms"`
	Steps      uint64  `json:"steps"`
	StepsPerS  float64 `json:"steps_per_s"`
	BytesSent  uint64  `json:"bytes_sent"`
	BytesFull  uint64  `json:"bytes_full"` // what sending the full state every time would have cost
	SentPct    float64 `json:"sent_pct"`   // bytes_sent / bytes_full, in percent
	Keyframes  uint64  `json:"keyframes"`
	Deltas     uint64  `json:"deltas"`

	Killed           *string     `json:"killed"` // null: no kill
	TakenOverBy      string      `json:"taken_over_by,omitempty"`
	DetectMs         *int64      `json:"detect_ms"`   // kill to the failure being declared
	FailoverMs       *int64      `json:"failover_ms"` // kill to all its workers running again
	WorkersTakenOver []takenOver `json:"workers_taken_over"`

	AckedLost         int      `json:"acked_lost"`
	DuplicateWorkers  int      `json:"duplicate_workers"`
	MissingWorkers    int      `json:"missing_workers"`
	ReplicaMismatches int      `json:"replica_mismatches"`
	Verified          bool     `json:"verified"`
	Failures          []string `json:"failures,omitempty"`
}

// takenOver is one worker of the killed node and what became of it.
type takenOver struct {
	Worker   string `json:"worker"`
	To       string `json:"to"`
	Epoch    uint64 `json:"epoch"`
	Acked    int64  `json:"acked_version"`    // newest acknowledged Version seen before the kill
	Restored int64  `json:"restored_version"` // the Version its new copy started from
}

// verify checks the settled statuses of every live node: every worker runs
// exactly once, every worker's state equals its replica on its owner's
// backup (hash and version), and no worker of the killed node restarted from
// a state older than one that had been acknowledged.
func verify(sum *summary, settled []demo.Status, o options, k *killRecord) {
	fail := func(format string, args ...any) { sum.Failures = append(sum.Failures, fmt.Sprintf(format, args...)) }
	expected := map[string]bool{}
	for i := 1; i <= o.nodes; i++ {
		for j := 1; j <= o.workers; j++ {
			expected[demo.WorkerID(fmt.Sprintf("active%d@127.0.0.1", i), j)] = true
		}
	}
	type owned struct {
		node string
		w    demo.WorkerStatus
	}
	owners := map[string][]owned{}
	byNode := map[string]demo.Status{}
	for _, st := range settled {
		byNode[st.Node] = st
		for _, w := range st.Workers {
			owners[w.ID] = append(owners[w.ID], owned{st.Node, w})
		}
	}
	ids := make([]string, 0, len(expected))
	for id := range expected {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		os := owners[id]
		switch {
		case len(os) == 0:
			sum.MissingWorkers++
			fail("%s runs nowhere", id)
			continue
		case len(os) > 1:
			sum.DuplicateWorkers++
			fail("%s runs %d times (%v)", id, len(os), os)
			continue
		}
		owner, w := os[0].node, os[0].w
		backup := byNode[owner].Backup
		if backup == "" {
			sum.ReplicaMismatches++
			fail("%s on %s has no backup", id, owner)
			continue
		}
		var rep *demo.ReplicaStatus
		for _, r := range byNode[backup].Replicas {
			if r.Worker == id && r.Owner == owner {
				rep = &r
				break
			}
		}
		switch {
		case rep == nil:
			sum.ReplicaMismatches++
			fail("%s on %s: no replica on its backup %s", id, owner, backup)
		case rep.Hash != w.Hash || rep.Version != w.Version:
			sum.ReplicaMismatches++
			fail("%s on %s: state version %d hash %016x, replica on %s version %d hash %016x",
				id, owner, w.Version, w.Hash, backup, rep.Version, rep.Hash)
		}
	}
	for id := range owners {
		if !expected[id] {
			fail("unexpected worker %s", id)
		}
	}
	if k != nil {
		name := k.node
		sum.Killed = &name
		if !k.done {
			fail("the workers of %s were not taken over", k.node)
		} else {
			detect, failover := k.detect.Milliseconds(), k.failover.Milliseconds()
			sum.DetectMs, sum.FailoverMs, sum.TakenOverBy = &detect, &failover, k.to
			for id, acked := range k.acked {
				t, ok := k.taken[id]
				if !ok {
					fail("%s of %s was not taken over", id, k.node)
					continue
				}
				restored := k.restored[id]
				sum.WorkersTakenOver = append(sum.WorkersTakenOver, takenOver{Worker: id, To: k.to, Epoch: t.Epoch, Acked: acked, Restored: restored})
				if restored < acked {
					sum.AckedLost++
					fail("%s restarted from version %d, but version %d had been acknowledged", id, restored, acked)
				}
			}
			sort.Slice(sum.WorkersTakenOver, func(i, j int) bool { return sum.WorkersTakenOver[i].Worker < sum.WorkersTakenOver[j].Worker })
		}
	}
	sum.Verified = len(sum.Failures) == 0
}

// totals keeps the newest counters of every worker incarnation (a worker on
// one node process), so that a killed node's work still counts.
type totals struct {
	last map[totalKey]demo.WorkerStatus
}

type totalKey struct {
	p      *proc
	worker string
}

func newTotals() *totals { return &totals{last: map[totalKey]demo.WorkerStatus{}} }

// observe records the newest status of every node process.
func (t *totals) observe(ps []*proc) {
	for _, p := range ps {
		if st := p.latest(); st != nil {
			for _, w := range st.Workers {
				t.last[totalKey{p, w.ID}] = w
			}
		}
	}
}

// fill writes the run's totals into sum.
func (t *totals) fill(sum *summary, elapsed time.Duration) {
	sum.DurationMs = elapsed.Milliseconds()
	for _, w := range t.last {
		sum.Steps += w.Steps
		sum.BytesSent += w.BytesSent
		sum.BytesFull += w.BytesFull
		sum.Keyframes += w.Keyframes
		sum.Deltas += w.Deltas
	}
	if elapsed > 0 {
		sum.StepsPerS = float64(sum.Steps) / elapsed.Seconds()
	}
	if sum.BytesFull > 0 {
		sum.SentPct = 100 * float64(sum.BytesSent) / float64(sum.BytesFull)
	}
}
