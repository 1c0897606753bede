package chaos

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Flags of the suite. -chaos.duration and -chaos.faults select the long
// profile of the soak scenario; -chaos.seed replays a run.
var (
	flagDuration = flag.Duration("chaos.duration", 0, "soak duration (0: the short profile, about 40 s)")
	flagFaults   = flag.Int("chaos.faults", 0, "stop the soak after this many faults (0: no limit but the duration)")
	flagSeed     = flag.Uint64("chaos.seed", 0, "random seed (0: derived from the clock, printed in the figures)")
	flagVerbose  = flag.Bool("chaos.v", false, "log every fault and copy the nodes' warnings to the test log")
)

// nodeBinary is the node binary built once per test run by TestMain.
// It is written once, before any test runs, and only read afterwards.
var nodeBinary string

// TestMain builds the node binary (the worker-backup example, whose node mode
// is what the demo runs) into a temporary directory once for the whole run.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "enode-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: temp dir:", err)
		os.Exit(1)
	}
	nodeBinary = filepath.Join(dir, "enode-node")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", nodeBinary, "github.com/enode-dev/enode/examples/worker-backup")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: building the node binary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "chaos: node binary built in %v\n", time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
