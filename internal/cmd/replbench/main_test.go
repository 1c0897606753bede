package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
)

func TestParseRows(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []rowSpec
		bad  bool
	}{
		{in: "small:100,reference:8", want: []rowSpec{{workload.Small, 100}, {workload.Reference, 8}}},
		{in: " large:1 ", want: []rowSpec{{workload.Large, 1}}},
		{in: "ref:2", want: []rowSpec{{workload.Reference, 2}}},
		{in: "small", bad: true},
		{in: "small:0", bad: true},
		{in: "small:-3", bad: true},
		{in: "small:x", bad: true},
		{in: "small:10001", bad: true},
		{in: "huge:1", bad: true},
		{in: "small:1,", bad: true},
		{in: "", bad: true},
	} {
		got, err := parseRows(tc.in)
		if tc.bad {
			require.ErrorIsf(t, err, ErrRows, "%q", tc.in)
			continue
		}
		require.NoErrorf(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestPercentile(t *testing.T) {
	require.Zero(t, percentile(nil, 0.5))
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	require.Equal(t, time.Duration(6), percentile(d, 0.5))
	require.Equal(t, time.Duration(10), percentile(d, 0.99))
	require.Equal(t, time.Duration(1), percentile(d, 0))
}

func TestChunkOverhead(t *testing.T) {
	// {enode_chunk, <<"small-delta-0">>, 1, 10000, 0, 1, <<...>>} in ETF:
	// tags, the atom, the worker id and the small integers.
	o := chunkOverhead("small-delta-0")
	require.Greater(t, o, uint64(len("enode_chunk")+len("small-delta-0")))
	require.Less(t, o, uint64(80))
}

// TestRun runs the whole measurement on two real nodes, small and short:
// each row ends once every worker has a few acknowledged steps, not after
// a fixed time, so the test does not depend on the machine's speed.
func TestRun(t *testing.T) {
	for _, rate := range []float64{0, 500} {
		cfg := defaultConfig()
		cfg.rows = []rowSpec{{workload.Small, 3}}
		cfg.duration = 2 * time.Minute // a bound: the rows end on steps
		cfg.steps = 5
		cfg.rate = rate
		rs, err := run(context.Background(), cfg, io.Discard)
		require.NoError(t, err)
		require.Len(t, rs, 2)
		d, f := rs[0], rs[1]
		require.True(t, d.deltaMode)
		require.False(t, f.deltaMode)
		for _, r := range rs {
			require.GreaterOrEqual(t, r.steps, uint64(3*5))
			require.Greater(t, r.wireBytes, r.frameBytes, "chunks are wrapped as terms")
			require.Zero(t, r.repairs)
			require.NotZero(t, r.lagP50)
			require.GreaterOrEqual(t, r.lagP99, r.lagP50)
			if rate == 0 {
				require.Zero(t, r.coalesced, "closed loop sends every state as its own frame")
				// Frames applied and states acked are counted at two
				// moments an ack's flight apart.
				require.InDelta(t, r.steps, r.keyframes+r.deltas, float64(3*cfg.window))
			}
		}
		require.Positive(t, d.deltas)
		require.Less(t, d.sentBytes, d.fullBytes/2)
		require.Zero(t, f.deltas)
		require.Equal(t, f.sentBytes, f.fullBytes)

		var out bytes.Buffer
		printTable(&out, cfg, rs)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Len(t, lines, 6, out.String()) // two heading lines, a blank, the columns, two rows
		require.Contains(t, lines[3], "steps/s")
		require.Regexp(t, `small\s+3\s+delta\s+\d+`, lines[4])
		require.Regexp(t, `small\s+3\s+full\s+\d+`, lines[5])
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := defaultConfig()
	cfg.rows = []rowSpec{{workload.Small, 1}}
	rs, err := run(ctx, cfg, io.Discard)
	require.Empty(t, rs)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
}
