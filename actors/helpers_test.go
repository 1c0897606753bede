package actors

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// quiet is a logger that drops everything, so test output stays readable.
func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newSystem returns an actor system that is shut down when the test ends.
func newSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet() }))
	t.Cleanup(sys.Shutdown)
	return sys
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// spawnHandler starts a replica_handler and returns its PID.
func spawnHandler(t testing.TB, sys *actor.ActorSystem, cfg ReceiverConfig) *actor.PID {
	t.Helper()
	props, err := ReplicaHandlerProps(cfg)
	require.NoError(t, err)
	pid, err := sys.Root.SpawnNamed(props, "replica_handler")
	require.NoError(t, err)
	return pid
}

func request[T any](t testing.TB, sys *actor.ActorSystem, pid *actor.PID, msg any) T {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, msg, time.Minute).Result()
	require.NoError(t, err)
	v, ok := res.(T)
	require.Truef(t, ok, "answer %T", res)
	return v
}

func getReplica(t testing.TB, sys *actor.ActorSystem, handler *actor.PID, worker string) (Replica, bool) {
	r := request[*ReplicaResult](t, sys, handler, &GetReplica{Worker: worker})
	return r.Replica, r.Found
}

// stepBehaviour runs the reference workload: each "step" message applies
// one seeded step and replies with the new state's hash; "state" replies
// with the state itself; "crash" panics.
type stepBehaviour struct {
	variant workload.Variant
	initial term.Term // when set, Init returns it instead of a workload state
	stepper *workload.Stepper
	inits   *int32Counter
}

type int32Counter struct {
	mu sync.Mutex
	n  int
}

func (c *int32Counter) add() {
	if c != nil {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
}

func (c *int32Counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (b *stepBehaviour) Init(*WorkerContext) (any, error) {
	b.inits.add()
	if b.initial != nil {
		return b.initial, nil
	}
	return workload.State(b.variant, 7), nil
}

func (b *stepBehaviour) Handle(ctx *WorkerContext, state any, msg any) (any, any, error) {
	switch msg {
	case "step":
		s := b.stepper.Step(state.(*term.Tuple), int64(ctx.Seq()))
		return s, term.Hash(s), nil
	case "state":
		return state, state, nil
	case "replicate":
		ctx.Replicate()
		return state, nil, nil
	case "crash":
		panic("crash requested")
	case "fail":
		return state, nil, errors.New("failure requested")
	}
	return state, nil, nil
}

func newStepper(v workload.Variant) *stepBehaviour {
	return &stepBehaviour{variant: v, stepper: workload.NewStepper(v, 1)}
}

// startWorker spawns a worker at the root and returns its PID and stats.
func startWorker(t testing.TB, sys *actor.ActorSystem, spec WorkerSpec) (*actor.PID, *WorkerStats) {
	t.Helper()
	props, stats, err := WorkerProps(spec)
	require.NoError(t, err)
	pid, err := sys.Root.SpawnNamed(props, spec.ID)
	require.NoError(t, err)
	return pid, stats
}

// workerState asks the worker for its state.
func workerState(t testing.TB, sys *actor.ActorSystem, pid *actor.PID) term.Term {
	return request[term.Term](t, sys, pid, "state")
}

// converged waits until the replica of worker has the worker's state.
func converged(t testing.TB, sys *actor.ActorSystem, handler, pid *actor.PID, worker string) Replica {
	t.Helper()
	want := term.Hash(workerState(t, sys, pid))
	var r Replica
	waitFor(t, "replica of "+worker+" to match the worker", func() bool {
		var ok bool
		r, ok = getReplica(t, sys, handler, worker)
		return ok && term.Hash(r.State) == want
	})
	return r
}

func spec(id string, b Behaviour, backup *actor.PID, rc ReplicationConfig) WorkerSpec {
	return WorkerSpec{ID: id, Owner: "a@127.0.0.1", Behaviour: b, Backup: backup, Replication: rc, Logger: quiet()}
}
