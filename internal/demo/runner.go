package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// Errors of the runner.
var (
	// ErrOptions is returned by Options.Validate (and Start) for a wrong
	// option; the message names it.
	ErrOptions = errors.New("demo: invalid options")
	// ErrSettle is returned by Runner.Settle when the workers' states could
	// not be brought to an acknowledged standstill (no backup, a worker
	// that does not answer, acks that do not come before the deadline).
	ErrSettle = errors.New("demo: cannot settle")
)

// Options say how to run one demo node: the node itself and its workers.
type Options struct {
	Name     string    // "name@host"
	Role     node.Role // active or spare
	Gossip   string    // memberlist listen address ("127.0.0.1:0")
	Remote   string    // protoactor remote listen address ("127.0.0.1:0")
	Seeds    []string  // gossip addresses to join
	Secret   []byte    // cluster secret; empty: plaintext
	LAN      bool      // memberlist's LAN failure detection instead of the local profile
	Workers  int       // workers to start on an active node
	Variant  workload.Variant
	Step     time.Duration        // time between two steps of every worker
	Keyframe delta.KeyframePolicy // nil: the adaptive default
	NoDelta  bool                 // full state every replication
	Seed     uint64               // workload seed
	Logger   *slog.Logger         // nil: discard
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("%w: workers must be >= 0, got %d", ErrOptions, o.Workers)
	}
	if o.Step <= 0 {
		return fmt.Errorf("%w: step must be > 0, got %v", ErrOptions, o.Step)
	}
	return nil
}

// ParseKeyframe reads a keyframe policy: "adaptive" or "every:N" (N >= 1).
func ParseKeyframe(s string) (delta.KeyframePolicy, error) {
	if s == "adaptive" {
		return delta.DefaultAdaptive(), nil
	}
	if rest, ok := strings.CutPrefix(s, "every:"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && n >= 1 {
			return delta.Every(n), nil
		}
	}
	return nil, fmt.Errorf("%w: keyframe policy %q: want adaptive or every:N with N >= 1", ErrOptions, s)
}

// ParseRole reads "active" or "spare".
func ParseRole(s string) (node.Role, error) {
	switch s {
	case "active":
		return node.RoleActive, nil
	case "spare":
		return node.RoleSpare, nil
	}
	return 0, fmt.Errorf("%w: role %q: want active or spare", ErrOptions, s)
}

// WorkerID is the id of worker i of the node named nodeName: "active1-w03"
// for worker 3 of active1@127.0.0.1.
func WorkerID(nodeName string, i int) string {
	short, _, _ := strings.Cut(nodeName, "@")
	return fmt.Sprintf("%s-w%02d", short, i)
}

// Runner is one running demo node: the node, its status service, its workers
// and the driver that steps them every Options.Step. Create it with Start
// and stop it with Close.
type Runner struct {
	n    *node.Node
	opts Options

	mu         sync.Mutex
	paused     bool
	behaviours map[string]*Worker // the newest behaviour built for each worker id

	stop     chan struct{}
	done     chan struct{}
	closeOne sync.Once
	closeErr error
}

// Start starts the node (joining Options.Seeds), its status service and,
// on an active node, Options.Workers workers, and starts stepping them.
func Start(o Options) (*Runner, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	cfg := node.LocalConfig(o.Name)
	if o.LAN {
		cfg.Failure = node.LANFailureDetection()
	}
	cfg.Role = o.Role
	if o.Gossip != "" {
		cfg.GossipAddr = o.Gossip
	}
	if o.Remote != "" {
		cfg.RemoteAddr = o.Remote
	}
	cfg.Seeds = o.Seeds
	cfg.Secret = o.Secret
	cfg.Logger = o.Logger
	cfg.Replication = actors.DefaultReplicationConfig()
	cfg.Replication.Delta = !o.NoDelta
	if o.Keyframe != nil {
		cfg.Replication.Policy = o.Keyframe
	}
	r := &Runner{opts: o, stop: make(chan struct{}), done: make(chan struct{}), behaviours: map[string]*Worker{}}
	cfg.Workers = func(id string) (actors.Behaviour, error) {
		w := NewWorker(id, o.Variant, o.Seed)
		r.mu.Lock()
		r.behaviours[id] = w
		r.mu.Unlock()
		return w, nil
	}
	n, err := node.Start(cfg)
	if err != nil {
		return nil, err
	}
	r.n = n
	if err := SpawnStatusService(n, r.Status); err != nil {
		_ = n.Shutdown()
		return nil, fmt.Errorf("demo: status service: %w", err)
	}
	if o.Role == node.RoleActive {
		for i := 1; i <= o.Workers; i++ {
			if _, err := n.StartWorker(WorkerID(o.Name, i)); err != nil {
				_ = n.Shutdown()
				return nil, fmt.Errorf("demo: start worker %d: %w", i, err)
			}
		}
	}
	go r.drive()
	return r, nil
}

// Node returns the runner's node.
func (r *Runner) Node() *node.Node { return r.n }

// drive sends every worker of the node (its own and those it took over) a
// step every Options.Step, until Close. A worker slower than the step
// interval finds several steps in its mailbox; it handles them in turn.
func (r *Runner) drive() {
	defer close(r.done)
	t := time.NewTicker(r.opts.Step)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		paused := r.paused
		r.mu.Unlock()
		if paused {
			continue
		}
		ws, err := r.n.Workers()
		if err != nil {
			continue // stopping
		}
		for _, w := range ws {
			_ = r.n.SendPID(w.PID, StepMsg) // a worker gone since the listing misses one step
		}
	}
}

// Status returns the node's status, with the state Version of each worker.
func (r *Runner) Status() (Status, error) {
	st, err := NodeStatus(r.n)
	if err != nil {
		return st, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range st.Workers {
		if b, ok := r.behaviours[w.ID]; ok {
			st.Workers[i].Version, st.Workers[i].Restored = b.Version(), b.RestoredVersion()
		}
	}
	return st, nil
}

// Settle stops stepping the workers, waits until every worker's newest state
// is acknowledged by its replica, and returns the status with the hash of
// every worker's state and of every replica this node keeps. Stepping stays
// stopped. Call it on every node of a cluster, then compare each worker's
// hash and Seq with its replica's on its owner's backup.
func (r *Runner) Settle(ctx context.Context) (Status, error) {
	r.mu.Lock()
	r.paused = true
	r.mu.Unlock()
	ws, err := r.n.Workers()
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrSettle, err)
	}
	type synced struct{ seq, hash, epoch uint64 }
	want := make(map[string]synced, len(ws))
	for _, w := range ws {
		res, err := r.n.Call(ctx, node.ProcessID{Name: w.ID}, SyncMsg)
		if err != nil {
			return Status{}, fmt.Errorf("%w: sync %s: %w", ErrSettle, w.ID, err)
		}
		var s synced
		if err := unmarshalSync(res, &s.seq, &s.hash, &s.epoch); err != nil {
			return Status{}, fmt.Errorf("%w: sync %s: %w", ErrSettle, w.ID, err)
		}
		want[w.ID] = s
	}
	for {
		st, err := r.Status()
		if err != nil {
			return Status{}, fmt.Errorf("%w: %w", ErrSettle, err)
		}
		pending := ""
		for i, w := range st.Workers {
			s, ok := want[w.ID]
			if !ok {
				continue // started since the listing: not ours to check
			}
			if w.Acked < s.seq {
				pending = fmt.Sprintf("%s acked %d of %d", w.ID, w.Acked, s.seq)
			}
			st.Workers[i].Hash = s.hash
		}
		if pending == "" {
			for i, rep := range st.Replicas {
				rr, ok, err := r.n.Replica(rep.Worker)
				if err != nil {
					return Status{}, fmt.Errorf("%w: replica %s: %w", ErrSettle, rep.Worker, err)
				}
				if ok && rr.State != nil {
					st.Replicas[i].Hash = term.Hash(rr.State)
					st.Replicas[i].Seq = rr.Seq
					if t, ok := rr.State.(*term.Tuple); ok && CheckState(t) == nil {
						st.Replicas[i].Version = versionOf(t)
					}
				}
			}
			return st, nil
		}
		select {
		case <-ctx.Done():
			backup := st.Backup
			if backup == "" {
				backup = "none"
			}
			return Status{}, fmt.Errorf("%w: %s (backup %s): %w", ErrSettle, pending, backup, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops stepping and shuts the node down. It is idempotent.
func (r *Runner) Close() error {
	r.closeOne.Do(func() {
		close(r.stop)
		<-r.done
		r.closeErr = r.n.Shutdown()
	})
	return r.closeErr
}

// Halt stops stepping and halts the node as a kill would (see node.Halt).
func (r *Runner) Halt() error {
	r.closeOne.Do(func() {
		close(r.stop)
		<-r.done
		r.closeErr = r.n.Halt()
	})
	return r.closeErr
}

// unmarshalSync reads a worker's answer to SyncMsg: {Seq, Hash, Epoch}.
func unmarshalSync(v any, seq, hash, epoch *uint64) error {
	t, ok := v.(*term.Tuple)
	if !ok || t.Len() != 3 {
		return fmt.Errorf("unexpected sync answer %v", v)
	}
	for i, p := range []*uint64{seq, hash, epoch} {
		if err := term.Unmarshal(t.At(i), p); err != nil {
			return fmt.Errorf("sync answer field %d: %w", i, err)
		}
	}
	return nil
}
