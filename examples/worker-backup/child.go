package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/enode-dev/enode/internal/demo"
	"github.com/enode-dev/enode/internal/workload"
)

// childEnv marks a process started by the demo as one of its nodes: the
// binary re-executes itself with this variable set.
const childEnv = "ENODE_WORKER_BACKUP_NODE"

// statusEvery is how often a node reports its status to the coordinator.
const statusEvery = 500 * time.Millisecond

// line is one JSON line a node writes on its stdout for the coordinator.
type line struct {
	Type   string       `json:"type"` // ready, status, settled, error
	Node   string       `json:"node,omitempty"`
	Gossip string       `json:"gossip,omitempty"`
	Status *demo.Status `json:"status,omitempty"`
	Error  string       `json:"error,omitempty"`
}

// runChild runs one node of the demo cluster. It reports on stdout (JSON
// lines) and takes commands on stdin: "settle" stops stepping and reports
// the settled status; end of input (the coordinator is gone) halts the node.
func runChild(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker-backup node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "node name")
	role := fs.String("role", "active", "active or spare")
	join := fs.String("join", "", "comma-separated gossip addresses to join")
	workers := fs.Int("workers", 8, "workers")
	state := fs.String("state", "reference", "small, reference or large")
	step := fs.Duration("step", 100*time.Millisecond, "step interval")
	keyframe := fs.String("keyframe", "adaptive", "keyframe policy")
	deltas := fs.Bool("delta", true, "keyframes and deltas (false: full state)")
	seed := fs.Uint64("seed", 1, "workload seed")
	verbose := fs.Bool("v", false, "log warnings")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", *name, err)
		return 1
	}
	r, err := demo.ParseRole(*role)
	if err != nil {
		return fail(err)
	}
	v, err := workload.ParseVariant(*state)
	if err != nil {
		return fail(err)
	}
	kf, err := demo.ParseKeyframe(*keyframe)
	if err != nil {
		return fail(err)
	}
	// Quiet by default: a killed peer makes the transport log lost
	// connections, which is the demo working, not failing.
	level := slog.LevelError + 4
	if *verbose {
		level = slog.LevelWarn
	}
	opts := demo.Options{
		Name: *name, Role: r, Gossip: "127.0.0.1:0", Remote: "127.0.0.1:0",
		Workers: *workers, Variant: v, Step: *step, Keyframe: kf, NoDelta: !*deltas, Seed: *seed,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if *join != "" {
		opts.Seeds = strings.Split(*join, ",")
	}
	runner, err := demo.Start(opts)
	if err != nil {
		return fail(err)
	}
	defer runner.Halt()

	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	emit := func(l line) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(l)
	}
	emit(line{Type: "ready", Node: *name, Gossip: runner.Node().GossipAddr()})

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if st, err := runner.Status(); err == nil {
				emit(line{Type: "status", Node: *name, Status: &st})
			}
		}
	}()
	defer func() { close(done); wg.Wait() }()

	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "settle":
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			st, err := runner.Settle(ctx)
			cancel()
			if err != nil {
				emit(line{Type: "error", Node: *name, Error: err.Error()})
				continue
			}
			emit(line{Type: "settled", Node: *name, Status: &st})
		default:
			emit(line{Type: "error", Node: *name, Error: fmt.Sprintf("unknown command %q", cmd)})
		}
	}
	return 0
}

// isChild reports whether this process is one of the demo's nodes.
func isChild() bool { return os.Getenv(childEnv) == "1" }
