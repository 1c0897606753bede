package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
)

// starts counts how often each named child started.
type starts struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *starts) get(name string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.n[name] }

// child returns the props of a child that counts its starts and panics on
// "crash".
func (s *starts) child(name string) ChildSpec {
	return ChildSpec{Name: name, Props: actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message() {
		case "crash":
			panic(name + " crashed")
		}
		if _, ok := c.Message().(*actor.Started); ok {
			s.mu.Lock()
			s.n[name]++
			s.mu.Unlock()
		}
	})}
}

func (s *starts) counts(names ...string) []int {
	out := make([]int, len(names))
	for i, n := range names {
		out[i] = s.get(n)
	}
	return out
}

// watcher records the Terminated notices of the PIDs it watches.
type watcher struct {
	mu   sync.Mutex
	gone map[string]bool
	pid  *actor.PID
}

func newWatcher(sys *actor.ActorSystem) *watcher {
	w := &watcher{gone: map[string]bool{}}
	w.pid = sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.PID:
			c.Watch(m)
		case *actor.Terminated:
			w.mu.Lock()
			w.gone[m.Who.Id] = true
			w.mu.Unlock()
		}
	}))
	return w
}

func (w *watcher) watch(sys *actor.ActorSystem, pid *actor.PID) { sys.Root.Send(w.pid, pid) }
func (w *watcher) isGone(pid *actor.PID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone[pid.Id]
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func startSupervisor(t *testing.T, sys *actor.ActorSystem, spec SupervisorSpec) *actor.PID {
	props, err := SupervisorProps(spec)
	require.NoError(t, err)
	pid := sys.Root.Spawn(props)
	return pid
}

func childPID(sup *actor.PID, name string) *actor.PID {
	return actor.NewPID(sup.Address, sup.Id+"/"+name)
}

func TestSupervisorStrategies(t *testing.T) {
	tests := []struct {
		strategy Strategy
		want     []int // starts of a, b, c after b crashed once
	}{
		{OneForOne, []int{1, 2, 1}},
		{OneForAll, []int{2, 2, 2}},
		{RestForOne, []int{1, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			sys := newSystem(t)
			s := &starts{n: map[string]int{}}
			sup := startSupervisor(t, sys, SupervisorSpec{Strategy: tt.strategy,
				Children: []ChildSpec{s.child("a"), s.child("b"), s.child("c")}})
			waitFor(t, "children started", func() bool { return fmt.Sprint(s.counts("a", "b", "c")) == "[1 1 1]" })
			sys.Root.Send(childPID(sup, "b"), "crash")
			waitFor(t, "restarts", func() bool { return fmt.Sprint(s.counts("a", "b", "c")) == fmt.Sprint(tt.want) })
			// A second, independent crash of c restarts per the strategy too.
			sys.Root.Send(childPID(sup, "c"), "crash")
			after := map[Strategy][]int{OneForOne: {1, 2, 2}, OneForAll: {3, 3, 3}, RestForOne: {1, 2, 3}}[tt.strategy]
			waitFor(t, "second restarts", func() bool { return fmt.Sprint(s.counts("a", "b", "c")) == fmt.Sprint(after) })
		})
	}
}

func TestSupervisorIntensity(t *testing.T) {
	sys := newSystem(t)
	clock := &fakeClock{now: time.Unix(1000, 0)}
	s := &starts{n: map[string]int{}}
	w := newWatcher(sys)
	sup := startSupervisor(t, sys, SupervisorSpec{Strategy: OneForOne, Intensity: 2, Period: 10 * time.Second, Now: clock.Now,
		Children: []ChildSpec{s.child("a"), s.child("b")}})
	w.watch(sys, sup)
	waitFor(t, "children started", func() bool { return s.get("a") == 1 && s.get("b") == 1 })

	// Two crashes within the period are restarted...
	for i := 2; i <= 3; i++ {
		sys.Root.Send(childPID(sup, "a"), "crash")
		waitFor(t, "restart", func() bool { return s.get("a") == i })
		clock.advance(4 * time.Second)
	}
	// ... and after the period they no longer count.
	clock.advance(10 * time.Second)
	for i := 4; i <= 5; i++ {
		sys.Root.Send(childPID(sup, "a"), "crash")
		waitFor(t, "restart", func() bool { return s.get("a") == i })
	}
	require.False(t, w.isGone(sup))
	// A third crash within the period is one too many: the supervisor
	// stops its children and itself.
	sys.Root.Send(childPID(sup, "b"), "crash")
	waitFor(t, "the supervisor to give up", func() bool { return w.isGone(sup) })
	require.Equal(t, 5, s.get("a"))
	require.Equal(t, 1, s.get("b"), "no restart past the intensity")
}

func TestSupervisorEscalates(t *testing.T) {
	sys := newSystem(t)
	s := &starts{n: map[string]int{}}
	inner, err := SupervisorProps(SupervisorSpec{Strategy: OneForOne, Intensity: -1, Children: []ChildSpec{s.child("x")}})
	require.NoError(t, err)
	outer := startSupervisor(t, sys, SupervisorSpec{Strategy: OneForOne, Intensity: 5,
		Children: []ChildSpec{{Name: "inner", Props: inner}, s.child("y")}})
	innerPID := childPID(outer, "inner")
	waitFor(t, "children started", func() bool { return s.get("x") == 1 && s.get("y") == 1 })
	// The inner supervisor allows no restart: x's crash makes it fail, and
	// the outer one restarts it (which starts x again); y is untouched.
	sys.Root.Send(childPID(innerPID, "x"), "crash")
	waitFor(t, "the inner supervisor restarted", func() bool { return s.get("x") == 2 })
	require.Equal(t, 1, s.get("y"))
}

func TestWorkerUnderSupervisor(t *testing.T) {
	sys := newSystem(t)
	h := spawnHandler(t, sys, quietReceiver())
	inits := &int32Counter{}
	b := newStepper(workload.Small)
	b.inits = inits
	props, stats, err := WorkerProps(spec("w1", b, h, DefaultReplicationConfig()))
	require.NoError(t, err)
	sup := startSupervisor(t, sys, SupervisorSpec{Strategy: OneForOne, Children: []ChildSpec{{Name: "w1", Props: props}}})
	pid := childPID(sup, "w1")
	waitFor(t, "the worker to start", func() bool { return inits.get() == 1 })
	stepN(t, sys, pid, 3)
	converged(t, sys, h, pid, "w1")
	seq := stats.Snapshot().Seq

	sys.Root.Send(pid, "crash") // a panic in Handle
	waitFor(t, "the restart", func() bool { return inits.get() == 2 })
	sys.Root.Send(pid, "fail") // an error from Handle
	waitFor(t, "the second restart", func() bool { return inits.get() == 3 })
	stepN(t, sys, pid, 2)
	r := converged(t, sys, h, pid, "w1")
	require.Greater(t, stats.Snapshot().Seq, seq, "the stream continues across restarts")
	require.Equal(t, uint64(1), r.Epoch)
}

func TestSupervisorSpecValidation(t *testing.T) {
	p := actor.PropsFromFunc(func(actor.Context) {})
	for _, s := range []SupervisorSpec{
		{Strategy: 9},
		{Period: -time.Second},
		{Children: []ChildSpec{{Name: "", Props: p}}},
		{Children: []ChildSpec{{Name: "a"}}},
		{Children: []ChildSpec{{Name: "a", Props: p}, {Name: "a", Props: p}}},
	} {
		_, err := SupervisorProps(s)
		require.ErrorIs(t, err, ErrConfig)
	}
	_, err := NewStrategy(RestForOne, 3, time.Second, nil)
	require.NoError(t, err)
}

func TestNewStrategyRestForOne(t *testing.T) {
	// The standalone strategy, on an ordinary parent actor.
	sys := newSystem(t)
	s := &starts{n: map[string]int{}}
	strat, err := NewStrategy(RestForOne, 3, time.Minute, nil)
	require.NoError(t, err)
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			for _, n := range []string{"a", "b", "c"} {
				_, err := c.SpawnNamed(s.child(n).Props, n)
				if err != nil {
					panic(err)
				}
			}
		}
	}, actor.WithSupervisor(strat)))
	waitFor(t, "children started", func() bool { return fmt.Sprint(s.counts("a", "b", "c")) == "[1 1 1]" })
	sys.Root.Send(childPID(parent, "b"), "crash")
	waitFor(t, "rest_for_one", func() bool { return fmt.Sprint(s.counts("a", "b", "c")) == "[1 2 2]" })
}
