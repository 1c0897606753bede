package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEndToEnd builds the example, runs a small cluster with a kill and
// checks the JSON summary.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes for about 10 s")
	}
	bin := filepath.Join(t.TempDir(), "worker-backup")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--state", "small", "--workers", "2", "--duration", "8s", "--kill-at", "3s", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	var sum struct {
		Nodes            int      `json:"nodes"`
		Workers          int      `json:"workers"`
		Steps            uint64   `json:"steps"`
		BytesSent        uint64   `json:"bytes_sent"`
		BytesFull        uint64   `json:"bytes_full"`
		Keyframes        uint64   `json:"keyframes"`
		Deltas           uint64   `json:"deltas"`
		Killed           *string  `json:"killed"`
		DetectMs         *int64   `json:"detect_ms"`
		FailoverMs       *int64   `json:"failover_ms"`
		WorkersTakenOver []any    `json:"workers_taken_over"`
		AckedLost        int      `json:"acked_lost"`
		DuplicateWorkers int      `json:"duplicate_workers"`
		Verified         bool     `json:"verified"`
		Failures         []string `json:"failures"`
	}
	require.NoError(t, json.Unmarshal([]byte(last), &sum), "last line: %s\nstderr: %s", last, stderr.String())
	require.NoError(t, runErr, "failures: %v\nstderr: %s", sum.Failures, stderr.String())
	require.True(t, sum.Verified, "failures: %v", sum.Failures)
	require.Equal(t, 3, sum.Nodes)
	require.Equal(t, 6, sum.Workers)
	require.Zero(t, sum.AckedLost)
	require.Zero(t, sum.DuplicateWorkers)
	require.NotNil(t, sum.Killed)
	require.NotNil(t, sum.DetectMs)
	require.NotNil(t, sum.FailoverMs)
	require.GreaterOrEqual(t, *sum.FailoverMs, *sum.DetectMs)
	require.Len(t, sum.WorkersTakenOver, 2)
	require.Positive(t, sum.Steps)
	require.Positive(t, sum.Deltas)
	require.Less(t, sum.BytesSent, sum.BytesFull)
}

// TestFlagErrors: bad flags are one line and exit code 2, before any node
// starts.
func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "0"}, {"--spares", "0"}, {"--workers", "0"}, {"--state", "huge"},
		{"--keyframe", "every:0"}, {"--kill-at", "30s"}, {"--step", "0s"}, {"extra"},
	} {
		var stderr bytes.Buffer
		_, err := parseFlags(args, &stderr)
		require.Error(t, err, args)
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, options{nodes: 3, spares: 1, workers: 8, state: "reference", step: o.step, duration: o.duration,
		killAt: o.killAt, keyframe: "adaptive", delta: true, seed: 1}, o)
	require.Equal(t, "100ms", o.step.String())
	require.Equal(t, "20s", o.duration.String())
	require.Equal(t, "10s", o.killAt.String())
}
