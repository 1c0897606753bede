package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/demo"
)

// TestCheckerDuplicateAndRegression feeds the checker synthetic statuses: a
// worker seen on two live nodes is a duplicate window; a copy restored from
// a Version below an acknowledged one is a lost acknowledged update; a final
// state with two copies is a duplicate.
func TestCheckerDuplicateAndRegression(t *testing.T) {
	c := newChecker()
	t0 := time.Unix(1000, 0)
	live := map[int]bool{1: true, 2: true}
	ws := func(epoch, seq, acked uint64, version, restored int64) []demo.WorkerStatus {
		return []demo.WorkerStatus{{ID: "a-w01", Epoch: epoch, Seq: seq, Acked: acked, Version: version, Restored: restored}}
	}
	c.Observe(snapshot{node: "a", inc: 1, at: t0, st: demo.Status{Node: "a", Workers: ws(1, 20, 20, 20, 0)}}, live)
	require.Empty(t, c.Violations())
	c.Observe(snapshot{node: "b", inc: 2, at: t0.Add(50 * time.Millisecond), st: demo.Status{Node: "b", Workers: ws(2, 11, 11, 10, 10),
		Takeovers: []demo.TakeoverStatus{{Worker: "a-w01", From: "a", Epoch: 2, Seq: 10}}}}, live)
	require.Contains(t, c.Duplicates(), "a-w01")
	vs := c.Violations()
	require.Len(t, vs, 1)
	require.Equal(t, kindLostAck, vs[0].kind)
	c.Observe(snapshot{node: "a", inc: 1, at: t0.Add(300 * time.Millisecond), st: demo.Status{Node: "a"}}, live)
	d, w, n := c.LongestDual(t0.Add(time.Second))
	require.Equal(t, 250*time.Millisecond, d)
	require.Equal(t, "a-w01", w)
	require.Equal(t, 1, n)

	final := []demo.Status{
		{Node: "a", Workers: []demo.WorkerStatus{{ID: "a-w01", Epoch: 1, Version: 30, Hash: 7}}},
		{Node: "b", Workers: []demo.WorkerStatus{{ID: "a-w01", Epoch: 2, Version: 30, Hash: 7}}},
	}
	require.Equal(t, 1, c.VerifySettled([]string{"a-w01"}, final, t0.Add(2*time.Second)))
	kinds := map[string]int{}
	for _, v := range c.Violations() {
		kinds[v.kind]++
	}
	require.Equal(t, 1, kinds[kindDup])
}

// TestCheckerCleanTakeover: a takeover from a replica at the acknowledged
// Version, with one copy at the end equal to its replica, is clean.
func TestCheckerCleanTakeover(t *testing.T) {
	c := newChecker()
	t0 := time.Unix(1000, 0)
	c.Observe(snapshot{node: "a", inc: 1, at: t0, st: demo.Status{Node: "a", Workers: []demo.WorkerStatus{{ID: "a-w01", Epoch: 1, Seq: 20, Acked: 19, Version: 20}}}}, map[int]bool{1: true})
	c.Observe(snapshot{node: "s", inc: 2, at: t0.Add(time.Second), st: demo.Status{Node: "s",
		Workers:   []demo.WorkerStatus{{ID: "a-w01", Epoch: 2, Seq: 25, Acked: 24, Version: 23, Restored: 19}},
		Takeovers: []demo.TakeoverStatus{{Worker: "a-w01", From: "a", Epoch: 2, Seq: 19}}}}, map[int]bool{2: true})
	final := []demo.Status{
		{Node: "s", Backup: "b", Workers: []demo.WorkerStatus{{ID: "a-w01", Epoch: 2, Version: 23, Hash: 9}}},
		{Node: "b", Replicas: []demo.ReplicaStatus{{Worker: "a-w01", Owner: "s", Epoch: 2, Version: 23, Hash: 9}}},
	}
	require.Zero(t, c.VerifySettled([]string{"a-w01"}, final, t0.Add(2*time.Second)))
	require.Empty(t, c.Violations())
}
