package chaos

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// chaosHookEnv is actors.ChaosHookEnv, which exists only in builds with the
// chaoshooks tag (this test binary is not one): it selects the fault hook
// of the binary hookedBinary builds.
const chaosHookEnv = "ENODE_CHAOS_HOOK"

// hooked is the node binary built with -tags chaoshooks, on first use (only
// the TestCheckerCatches* tests need it).
var hooked struct {
	once sync.Once
	path string
	err  error
}

// hookedBinary builds, once, the node binary with the chaos suite's fault
// hooks compiled in (actors/chaoshooks_on.go) next to nodeBinary, and
// returns its path.
func hookedBinary() (string, error) {
	hooked.once.Do(func() {
		hooked.path = nodeBinary + "-chaoshooks"
		out, err := exec.Command("go", "build", "-tags", "chaoshooks", "-o", hooked.path,
			"github.com/enode-dev/enode/examples/worker-backup").CombinedOutput()
		if err != nil {
			hooked.err = fmt.Errorf("building the node binary with -tags chaoshooks: %w\n%s", err, out)
		}
	})
	return hooked.path, hooked.err
}

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
