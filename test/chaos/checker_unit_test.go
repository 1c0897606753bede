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

// TestMatchFailovers feeds the failover matcher orderings that matching by
// time alone gets wrong: two faults of one node (the second a long pause
// after a restart), one failure's takeovers detected on both sides of a
// second boundary, a short pause just before a kill of the same node, a
// takeover of a node that was not faulted, one long after its node's fault,
// and takeovers listed out of order.
func TestMatchFailovers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ns := func(ms int) int64 { return at(ms).UnixNano() }
	to := func(worker, from string, detMs, runMs int) takeoverRecord {
		return takeoverRecord{By: "spare1", TakeoverStatus: demo.TakeoverStatus{Worker: worker, From: from, DetectedNs: ns(detMs), RunningNs: ns(runMs)}}
	}
	faults := []fault{
		{kind: "kill-active", node: "a", at: at(0)},      // 0: taken over at 300-320
		{kind: "stop-active", node: "a", at: at(10_000)}, // 1: a restarted, active again, paused; taken over at 10_250
		{kind: "kill-spare", node: "s", at: at(12_000)},  // 2: no takeover; declared down at 12_400
		{kind: "stop-active", node: "b", at: at(20_700)}, // 3: detected 20_999 and 21_001 (one failure)
		{kind: "pause-short", node: "c", at: at(30_000)}, // 4: not detected
		{kind: "kill-active", node: "c", at: at(30_200)}, // 5: taken over at 30_500
		{kind: "kill-active", node: "d", at: at(40_000)}, // 6: nothing came of it
		{kind: "pause-short", node: "a", at: at(50_000)}, // 7: declared down after a's next fault only
		{kind: "kill-spare", node: "a", at: at(50_100)},  // 8: declared down at 50_400
	}
	tos := []takeoverRecord{
		to("c-w1", "c", 30_500, 30_510),
		to("a-w2", "a", 300, 320),
		to("b-w1", "b", 20_999, 21_002),
		to("a-w1", "a", 300, 310),
		to("a-w1", "a", 10_250, 10_260),
		to("b-w2", "b", 21_001, 21_003),
		to("e-w1", "e", 25_000, 25_010), // e was never faulted
		to("d-w1", "d", 90_000, 90_010), // 50 s after d's fault: another failure
	}
	downs := map[string][]time.Time{"s": {at(12_400)}, "a": {at(300), at(10_250), at(50_400)}, "c": {at(30_500)}}
	out, unplanned := matchFailovers(faults, tos, downs)
	require.Len(t, out, len(faults))
	want := []faultOutcome{
		{takeovers: 2, detected: true, detect: 300 * time.Millisecond, failover: 320 * time.Millisecond},
		{takeovers: 1, detected: true, detect: 250 * time.Millisecond, failover: 260 * time.Millisecond},
		{detected: true, detect: 400 * time.Millisecond},
		{takeovers: 2, detected: true, detect: 299 * time.Millisecond, failover: 303 * time.Millisecond},
		{},
		{takeovers: 1, detected: true, detect: 300 * time.Millisecond, failover: 310 * time.Millisecond},
		{},
		{},
		{detected: true, detect: 300 * time.Millisecond},
	}
	for i := range want {
		require.Equal(t, want[i], out[i], "fault %d (%s %s)", i, faults[i].kind, faults[i].node)
	}
	require.Equal(t, 2, unplanned, "e's false detection and d's late failure")
}

// TestMedian: the median of an even count is the mean of the middle two.
func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	require.Equal(t, 20*time.Millisecond, median(ms(10, 20, 90)))
	require.Equal(t, 25*time.Millisecond, median(ms(10, 20, 30, 90)))
	require.Equal(t, "median 25ms, max 90ms (n=4)", quantiles(ms(90, 10, 30, 20)))
}

// TestCheckerBoundsDualWindow: two live copies for longer than
// maxDualWindow are a violation while the run goes on, not only at the end.
func TestCheckerBoundsDualWindow(t *testing.T) {
	c := newChecker()
	t0 := time.Unix(1000, 0)
	live := map[int]bool{1: true, 2: true}
	w := []demo.WorkerStatus{{ID: "a-w01", Epoch: 1}}
	for ms := 0; ms <= int(maxDualWindow/time.Millisecond)+200; ms += 100 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		c.Observe(snapshot{node: "a", inc: 1, at: now, st: demo.Status{Node: "a", Workers: w}}, live)
		if ms < int(maxDualWindow/time.Millisecond) {
			require.Empty(t, c.Violations(), "at %d ms", ms)
		}
		c.Observe(snapshot{node: "b", inc: 2, at: now, st: demo.Status{Node: "b", Workers: w}}, live)
	}
	vs := c.Violations()
	require.Len(t, vs, 1)
	require.Equal(t, kindDup, vs[0].kind)
	require.Equal(t, "a-w01", vs[0].worker)
}

// TestCheckerGoroutineGrowth: a node process whose goroutines grow past the
// slack under the same load is a violation; more goroutines under a larger
// load (a takeover's workers) are not.
func TestCheckerGoroutineGrowth(t *testing.T) {
	c := newChecker()
	t0 := time.Unix(1000, 0)
	live := map[int]bool{1: true}
	obs := func(sec, goroutines, workers int) {
		st := demo.Status{Node: "a", Role: "active", Process: demo.ProcessStatus{Goroutines: goroutines}}
		for i := range workers {
			st.Workers = append(st.Workers, demo.WorkerStatus{ID: demo.WorkerID("a@h", i+1), Epoch: 1})
		}
		now := t0.Add(time.Duration(sec) * time.Second)
		c.Observe(snapshot{node: "a", inc: 1, at: now, st: st}, live)
		c.CheckLoad(live, now)
	}
	obs(0, 200, 3)
	obs(1, 200+goroutineSlack(200), 3) // within the slack
	obs(2, 600, 6)                     // a new load: a new baseline
	require.Empty(t, c.Violations())
	obs(3, 201+goroutineSlack(200), 3)
	vs := c.Violations()
	require.Len(t, vs, 1)
	require.Equal(t, kindGrowth, vs[0].kind)
	obs(4, goroutineCap+1, 6)
	require.Len(t, c.Violations(), 3, "above the cap, and above the 6-worker baseline's slack")
}
