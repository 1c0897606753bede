package actors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// BenchmarkReplicaTablePutReference is the replica_handler's store work per
// applied delta: one worker's reference-workload state (~4 MB) replaced by
// its next step. It must cost in proportion to the step, not to the state:
// at 24 workers × 10 steps/s a full walk of both states (about 7.6 ms each
// update before ets accounted memory by difference) needs more than a core
// on the handler's one goroutine, which is what stalled the demo's
// replication.
func BenchmarkReplicaTablePutReference(b *testing.B) {
	tab, err := NewReplicaTable(nil, "")
	require.NoError(b, err)
	b.Cleanup(func() { _ = tab.Close() })
	st := workload.NewStepper(workload.Reference, 1)
	s := workload.State(workload.Reference, 1)
	states := []term.Term{s}
	for i := range 64 {
		s = st.Step(s, int64(i)*100)
		states = append(states, s)
	}
	put := func(i int) {
		require.NoError(b, tab.Put(Replica{Worker: "active1-w01", Owner: "active1@127.0.0.1", Epoch: 1,
			Seq: uint64(i + 1), State: states[i%len(states)], Updated: time.Unix(0, int64(i))}))
	}
	put(0)
	b.ResetTimer()
	for i := range b.N {
		put(1 + i)
	}
}
