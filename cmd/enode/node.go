package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enode-dev/enode/internal/demo"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
)

// runNode runs one node until stop delivers a signal.
func runNode(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	name := fs.String("name", "", "node name, name@host (required)")
	role := fs.String("role", "active", "active (runs workers) or spare (keeps replicas, takes over)")
	bind := fs.String("bind", "127.0.0.1:0", "gossip (memberlist) address, host:port; port 0 picks one")
	remote := fs.String("remote", "", "remote (gRPC) address, host:port (default: the bind host, a free port)")
	join := fs.String("join", "", "comma-separated gossip addresses of members to join")
	var sec secretFlags
	sec.register(fs)
	workers := fs.Int("workers", 0, "demo workers to run on an active node")
	state := fs.String("state", "small", "demo worker state: small (40 KB), reference (4 MB) or large (40 MB)")
	step := fs.Duration("step", 100*time.Millisecond, "time between two steps of each demo worker")
	keyframe := fs.String("keyframe", "adaptive", "keyframe policy: adaptive or every:N")
	deltas := fs.Bool("delta", true, "replicate keyframes and deltas (false: the full state every step)")
	seed := fs.Uint64("seed", 1, "demo workload seed")
	lan := fs.Bool("lan", false, "memberlist's LAN failure detection (about 5 s) instead of the local profile (well under 1 s)")
	logLevel := fs.String("log", "warn", "log level: debug, info, warn, error")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: node: unexpected arguments %v", errUsage, fs.Args())
	}
	if *name == "" {
		return fmt.Errorf("%w: node: --name is required", errUsage)
	}
	r, err := demo.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("%w: node: %v", errUsage, err)
	}
	v, err := workload.ParseVariant(*state)
	if err != nil {
		return fmt.Errorf("%w: node: %v", errUsage, err)
	}
	kf, err := demo.ParseKeyframe(*keyframe)
	if err != nil {
		return fmt.Errorf("%w: node: %v", errUsage, err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: node: --log: %v", errUsage, err)
	}
	secret, err := sec.value()
	if err != nil {
		return err
	}
	if *remote == "" {
		host := (*bind)[:max(strings.LastIndex(*bind, ":"), 0)]
		*remote = host + ":0"
	}
	runner, err := demo.Start(demo.Options{
		Name: *name, Role: r, Gossip: *bind, Remote: *remote, Seeds: splitList(*join), Secret: secret, LAN: *lan,
		Workers: *workers, Variant: v, Step: *step, Keyframe: kf, NoDelta: !*deltas, Seed: *seed,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return err
	}
	n := runner.Node()
	fmt.Fprintf(stdout, "node %s up as %s: gossip %s, remote %s; join it with --join %s\n",
		n.Name(), n.Role(), n.GossipAddr(), n.RemoteAddr(), n.GossipAddr())
	<-stop
	fmt.Fprintf(stdout, "node %s: leaving\n", n.Name())
	if err := runner.Close(); err != nil {
		// The node is down either way; the last member's leave
		// broadcast has no one to reach and times out.
		fmt.Fprintf(stderr, "enode: node %s: %s\n", n.Name(), oneLine(err))
	}
	return nil
}

// runStatus joins the cluster for a moment as a member without workers and
// prints what every member's status service says.
func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	join := fs.String("join", "", "comma-separated gossip addresses of cluster members (required)")
	bind := fs.String("bind", "127.0.0.1:0", "this command's own gossip address while it asks")
	var sec secretFlags
	sec.register(fs)
	asJSON := fs.Bool("json", false, "print the statuses as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for each answer")
	lan := fs.Bool("lan", false, "memberlist's LAN failure detection (use it for a cluster started with --lan)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: status: unexpected arguments %v", errUsage, fs.Args())
	}
	seeds := splitList(*join)
	if len(seeds) == 0 {
		return fmt.Errorf("%w: status: --join is required", errUsage)
	}
	secret, err := sec.value()
	if err != nil {
		return err
	}
	host := (*bind)[:max(strings.LastIndex(*bind, ":"), 0)]
	cfg := node.LocalConfig(fmt.Sprintf("enode-status-%d@%s", os.Getpid(), host))
	if *lan {
		cfg.Failure = node.LANFailureDetection()
	}
	cfg.GossipAddr, cfg.RemoteAddr = *bind, host+":0"
	cfg.Seeds, cfg.Secret = seeds, secret
	cfg.CallTimeout = *timeout
	n, err := node.Start(cfg)
	if err != nil {
		return fmt.Errorf("cannot join %s (is it up, and is the secret right?): %w", strings.Join(seeds, ","), err)
	}
	defer n.Shutdown()
	var sts []demo.Status
	var failed []string
	for _, m := range n.Members() {
		if m.Name == n.Name() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		st, err := demo.QueryStatus(ctx, n, m.Name)
		cancel()
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", m.Name, err))
			continue
		}
		sts = append(sts, hideObserver(st, n.Name()))
	}
	if len(sts) == 0 && len(failed) > 0 {
		return fmt.Errorf("no member answered: %s", strings.Join(failed, "; "))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sts)
	}
	printStatus(stdout, sts, failed)
	return nil
}

// hideObserver drops this command's own node from a member list.
func hideObserver(st demo.Status, self string) demo.Status {
	ms := st.Members[:0]
	for _, m := range st.Members {
		if m.Name != self {
			ms = append(ms, m)
		}
	}
	st.Members = ms
	return st
}

// printStatus prints the cluster as tables: the members, the workers and
// where their replicas stand, and the takeovers.
func printStatus(w io.Writer, sts []demo.Status, failed []string) {
	sort.Slice(sts, func(i, j int) bool { return sts[i].Node < sts[j].Node })
	replicaOf := map[string]demo.ReplicaStatus{} // backup node + worker -> replica
	for _, st := range sts {
		for _, r := range st.Replicas {
			replicaOf[st.Node+"\x00"+r.Worker] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tBACKUP\tWORKERS\tREPLICAS\tMEMBERS SEEN\tGOROUTINES\tRSS\tTHREADS")
	for _, st := range sts {
		backup := st.Backup
		if backup == "" {
			backup = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d MiB\t%d\n", st.Node, st.Role, backup, len(st.Workers), len(st.Replicas), len(st.Members),
			st.Process.Goroutines, st.Process.RSSBytes>>20, st.Process.Threads)
	}
	for _, f := range failed {
		fmt.Fprintf(tw, "%s\t?\t\t\t\t\t\t\t\n", f)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tNODE\tEPOCH\tSEQ\tACKED\tLAG\tKEYFRAMES\tDELTAS\tSENT/FULL\tREPLICA SEQ\tREPLICA AGE")
	for _, st := range sts {
		for _, wk := range st.Workers {
			pct := "-"
			if wk.BytesFull > 0 {
				pct = fmt.Sprintf("%.2f%%", 100*float64(wk.BytesSent)/float64(wk.BytesFull))
			}
			rseq, rage := "-", "-"
			if r, ok := replicaOf[st.Backup+"\x00"+wk.ID]; ok && st.Backup != "" {
				rseq, rage = fmt.Sprint(r.Seq), (time.Duration(r.AgeMs) * time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", wk.ID, st.Node, wk.Epoch, wk.Seq, wk.Acked, wk.Lag,
				wk.Keyframes, wk.Deltas, pct, rseq, rage)
		}
	}
	tw.Flush()
	var tos []string
	for _, st := range sts {
		for _, t := range st.Takeovers {
			tos = append(tos, fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%v", t.Worker, t.From, st.Node, t.Epoch, t.Seq,
				time.Duration(t.RunningNs-t.DetectedNs).Round(time.Microsecond)))
		}
	}
	if len(tos) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TAKEN OVER\tFROM\tTO\tEPOCH\tREPLICA SEQ\tDETECTION TO RUNNING")
		for _, l := range tos {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
}
