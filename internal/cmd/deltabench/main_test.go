package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
)

func TestSimulate(t *testing.T) {
	// Every(10): a keyframe then nine deltas, over and over.
	per, interval := simulate(delta.Every(10), 1000, []int{10}, 100)
	require.InDelta(t, (1000+9*10)/10.0, per, 1e-9)
	require.InDelta(t, 10, interval, 1e-9)

	// Adaptive with a flat fraction of 1: a keyframe once the deltas since
	// the last one reach its size, so about twice the delta per send.
	per, interval = simulate(delta.Adaptive{MaxInterval: 1 << 20, Start: 1, End: 1}, 1000, []int{10}, 10_000)
	require.InDelta(t, 100, interval, 1)
	require.InDelta(t, 20, per, 0.5)

	per, interval = simulate(delta.Every(10), 1000, nil, 100)
	require.Zero(t, per)
	require.Zero(t, interval)
}
