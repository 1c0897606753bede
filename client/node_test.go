package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/client"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
)

// counter is the test worker: its state is {counter, Id, N, Pad}; "incr"
// adds one to N. Pad (padSize bytes) never changes.
type counter struct{ padSize int }

func (c counter) Init(ctx *actors.WorkerContext) (any, error) {
	pad := make([]byte, c.padSize)
	for i := range pad {
		pad[i] = byte(i * 7)
	}
	return term.NewTuple(term.Atom("counter"), term.BinaryString(ctx.ID()), term.Int(0), term.NewBinary(pad)), nil
}

func (counter) Handle(_ *actors.WorkerContext, state any, msg any) (any, any, error) {
	st := state.(*term.Tuple)
	if msg == term.Atom("incr") {
		return st.Set(2, st.At(2).(term.Int)+1), nil, nil
	}
	return st, nil, nil
}

func withCounters(padSize int) nodetest.Option {
	return nodetest.WithConfig(func(cfg *node.Config) {
		cfg.Workers = func(id string) (actors.Behaviour, error) { return counter{padSize}, nil }
	})
}

func incr(t testing.TB, n *node.Node, id string, times int) {
	t.Helper()
	for range times {
		require.NoError(t, n.Send(node.ProcessID{Name: id}, term.Atom("incr")))
	}
}

func counterN(t testing.TB, st term.Term) int64 {
	t.Helper()
	tup, ok := st.(*term.Tuple)
	require.True(t, ok, "state %v", st)
	return int64(tup.At(2).(term.Int))
}

// waitReplica waits until spare's replica of id has counted to n.
func waitReplica(t testing.TB, spare *node.Node, id string, n int64) actors.Replica {
	t.Helper()
	var r actors.Replica
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		var ok bool
		var err error
		r, ok, err = spare.Replica(id)
		require.NoError(t, err)
		return ok && counterN(t, r.State) == n
	}, "replica of %s on %s at %d", id, spare.Name(), n)
	return r
}

// cluster starts an active node and a spare, both running the replica
// service, and worker w1 on the active node counted to 5 and replicated.
func cluster(t *testing.T, padSize int, opts ...nodetest.Option) (active, spare *node.Node) {
	t.Helper()
	c := nodetest.Start(t, 2, append([]nodetest.Option{withCounters(padSize)}, opts...)...)
	active, spare = c.Nodes[0], c.Nodes[1]
	for _, n := range c.Nodes {
		require.NoError(t, n.StartReplicaService())
	}
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		b, ok, err := active.Backup()
		return err == nil && ok && b == spare.Name()
	}, "the spare is the active node's backup")
	_, err := active.StartWorker("w1")
	require.NoError(t, err)
	incr(t, active, "w1", 5)
	waitReplica(t, spare, "w1", 5)
	return active, spare
}

func TestReadReplicaAcrossNodes(t *testing.T) {
	active, spare := cluster(t, 4096)
	clk := newClock()
	c := newClient(t, client.NewNodeFetcher(active), clk, nil)

	e := get(t, c, "w1")
	r, ok, err := spare.Replica("w1")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, term.Equal(r.State, e.State))
	require.Equal(t, client.Version{Epoch: r.Epoch, Seq: r.Seq}, e.Version)
	require.Equal(t, active.Name(), e.Owner)
	require.Equal(t, spare.Name(), e.Source)
	require.Positive(t, e.Size)
	require.Equal(t, int64(5), counterN(t, e.State))

	// The worker steps on; the client sees the new state once its TTL
	// has passed, not before.
	incr(t, active, "w1", 3)
	r2 := waitReplica(t, spare, "w1", 8)
	require.Greater(t, r2.Seq, r.Seq)
	require.Equal(t, e.Version, get(t, c, "w1").Version, "fresh: no refetch")
	clk.Advance(ttl)
	e2 := get(t, c, "w1")
	require.Equal(t, client.Version{Epoch: r2.Epoch, Seq: r2.Seq}, e2.Version)
	require.Equal(t, int64(8), counterN(t, e2.State))

	// Expired again with no step: the spare answers "unchanged".
	clk.Advance(ttl)
	e3 := get(t, c, "w1")
	require.Same(t, e2.State.(*term.Tuple), e3.State.(*term.Tuple))
	st := c.Stats()
	require.Equal(t, uint64(1), st.Unchanged)
	require.Equal(t, uint64(3), st.Fetches)

	_, err = c.Get(context.Background(), "nobody")
	require.ErrorIs(t, err, client.ErrUnknownWorker)

	// The spare reads its own table without a call.
	local := client.NewNodeFetcher(spare)
	le, err := local.Fetch(context.Background(), "w1", client.Version{})
	require.NoError(t, err)
	require.True(t, term.Equal(e2.State, le.State))
	le, err = local.Fetch(context.Background(), "w1", le.Version)
	require.NoError(t, err)
	require.Nil(t, le.State, "unchanged")
}

func TestReadLargeReplicaInPieces(t *testing.T) {
	const pad = 300 << 10
	active, spare := cluster(t, pad, nodetest.WithConfig(func(cfg *node.Config) {
		cfg.Workers = func(id string) (actors.Behaviour, error) { return counter{pad}, nil }
		cfg.MaxMessageSize = 128 << 10 // the state needs 3 pieces
		cfg.Replication.ChunkSize = 64 << 10
	}))
	f := client.NewNodeFetcher(active)
	e, err := f.Fetch(context.Background(), "w1", client.Version{})
	require.NoError(t, err)
	r, _, err := spare.Replica("w1")
	require.NoError(t, err)
	require.True(t, term.Equal(r.State, e.State))
	require.Greater(t, e.Size, pad)
}

func TestNodeFetcherErrors(t *testing.T) {
	t.Run("no spare", func(t *testing.T) {
		c := nodetest.Start(t, 1)
		_, err := client.NewNodeFetcher(c.Nodes[0]).Fetch(context.Background(), "w1", client.Version{})
		require.ErrorIs(t, err, client.ErrNoSpare)
	})
	t.Run("no replica service", func(t *testing.T) {
		c := nodetest.Start(t, 2)
		// Every node runs the service from Start; take its name away.
		require.True(t, c.Nodes[1].Unregister(node.ReplicaServiceName))
		_, err := client.NewNodeFetcher(c.Nodes[0]).Fetch(context.Background(), "w1", client.Version{})
		require.ErrorIs(t, err, client.ErrUnavailable)
		require.ErrorIs(t, err, node.ErrNoProc)
	})
	t.Run("timeout", func(t *testing.T) {
		c := nodetest.Start(t, 2)
		require.NoError(t, c.Nodes[1].StartReplicaService())
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := client.NewNodeFetcher(c.Nodes[0]).Fetch(ctx, "w1", client.Version{})
		require.ErrorIs(t, err, client.ErrTimeout)
		require.ErrorIs(t, err, node.ErrTimeout)
	})
	t.Run("canceled", func(t *testing.T) {
		c := nodetest.Start(t, 2)
		require.NoError(t, c.Nodes[1].StartReplicaService())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := client.NewNodeFetcher(c.Nodes[0]).Fetch(ctx, "w1", client.Version{})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, client.ErrTimeout)
	})
}

func TestReplicaServiceProtocol(t *testing.T) {
	active, spare := cluster(t, 64)
	require.NoError(t, spare.StartReplicaService(), "a second start is a no-op")
	r, _, err := spare.Replica("w1")
	require.NoError(t, err)
	etf, err := term.Encode(r.State)
	require.NoError(t, err)
	id := term.BinaryString("w1")
	i := func(v uint64) term.Term { return term.Int(v) }
	for _, tc := range []struct {
		req, want string
	}{
		{"status", "{error,badarg}"},
		{"{get_replica}", "{error,badarg}"},
		{"{get_replica,42}", "{error,badarg}"},
		{"{get_replica,<<>>}", "{error,badarg}"},
		{`{get_replica,<<"w1">>,-1,0}`, "{error,badarg}"},
		{`{get_replica,<<"w1">>,1}`, "{error,badarg}"},
		{`{get_replica,<<"nobody">>}`, "{error,not_found}"},
		{`{get_chunk,<<"w1">>,1,0,0,0}`, "{error,badarg}"},
		{fmt.Sprintf(`{get_chunk,<<"w1">>,%d,%d,0}`, r.Epoch, r.Seq+100), "{error,moved}"},
		{fmt.Sprintf(`{get_chunk,<<"w1">>,%d,%d,%d}`, r.Epoch, r.Seq, len(etf)+1), "{error,badarg}"},
		{fmt.Sprintf(`{get_replica,<<"w1">>,%d,%d}`, r.Epoch, r.Seq), term.Format(term.NewTuple(term.Atom("unchanged"), id, i(r.Epoch), i(r.Seq)))},
		{fmt.Sprintf(`{get_replica,<<"w1">>,%d,%d}`, r.Epoch+1, 0), term.Format(term.NewTuple(term.Atom("unchanged"), id, i(r.Epoch), i(r.Seq)))},
		{`{get_replica,<<"w1">>}`, term.Format(term.NewTuple(term.Atom("replica"), id, term.BinaryString(active.Name()), i(r.Epoch), i(r.Seq), term.Int(len(etf)), term.NewBinary(etf)))},
		{fmt.Sprintf(`{get_chunk,<<"w1">>,%d,%d,%d}`, r.Epoch, r.Seq, len(etf)-3), term.Format(term.NewTuple(term.Atom("chunk"), id, term.Int(len(etf)-3), term.NewBinary(etf[len(etf)-3:])))},
	} {
		req, err := term.Parse(tc.req)
		require.NoError(t, err, tc.req)
		res, err := active.Call(context.Background(), node.ProcessID{Name: node.ReplicaServiceName, Node: spare.Name()}, req)
		require.NoError(t, err, tc.req)
		require.Equal(t, tc.want, term.Format(res.(term.Term)), tc.req)
	}
}

// TestServeStaleWhenNodesAreStopped reads through NodeFetcher, then stops
// the spare, then the reading node too: with MaxStale the reader keeps the
// newest state it saw, marked stale with its age; without, the read fails.
func TestServeStaleWhenNodesAreStopped(t *testing.T) {
	active, spare := cluster(t, 64)
	clk := newClock()
	edit := func(cfg *client.Config) { cfg.FetchTimeout = 2 * time.Second }
	plain := newClient(t, client.NewNodeFetcher(active), clk, edit)
	c := newClient(t, client.NewNodeFetcher(active), clk, func(cfg *client.Config) {
		edit(cfg)
		cfg.MaxStale = time.Minute
	})
	seen := get(t, c, "w1")
	require.False(t, seen.Stale)
	require.Equal(t, int64(5), counterN(t, seen.State))
	get(t, plain, "w1")

	require.NoError(t, spare.Halt())
	clk.Advance(ttl)
	e := get(t, c, "w1")
	require.True(t, e.Stale)
	require.Equal(t, ttl, e.Age)
	require.Equal(t, seen.Version, e.Version)
	require.True(t, term.Equal(seen.State, e.State))
	_, err := plain.Get(context.Background(), "w1")
	require.Error(t, err)
	require.True(t, errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrNoSpare) || errors.Is(err, client.ErrTimeout), "%v", err)

	// Once the active node has found the spare dead there is no spare to
	// ask at all; then the reading node itself stops.
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool {
		_, err := client.NewNodeFetcher(active).Fetch(context.Background(), "w1", client.Version{})
		return errors.Is(err, client.ErrNoSpare)
	}, "%s sees no live spare", active.Name())
	clk.Advance(ttl)
	e = get(t, c, "w1")
	require.True(t, e.Stale)
	require.Equal(t, 2*ttl, e.Age)
	require.NoError(t, active.Halt())
	clk.Advance(ttl)
	e = get(t, c, "w1")
	require.True(t, e.Stale)
	require.Equal(t, seen.Version, e.Version)
	require.Equal(t, uint64(3), c.Stats().StaleServed)
}
