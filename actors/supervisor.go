package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// ErrRestartIntensity is the reason a supervisor gives up: its children
// failed more than Intensity times within Period. The supervisor stops its
// children and fails itself with this reason (its own supervisor decides
// what follows); at the root it just stops.
var ErrRestartIntensity = errors.New("actors: restart intensity reached")

// Strategy is an Erlang supervisor's restart strategy.
type Strategy uint8

// The strategies, as in Erlang's supervisor module.
const (
	// OneForOne restarts only the child that failed.
	OneForOne Strategy = iota
	// OneForAll restarts every child when one fails.
	OneForAll
	// RestForOne restarts the child that failed and every child started
	// after it (in ChildSpec order); protoactor has no such strategy.
	RestForOne
)

func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// ChildSpec is one child of a supervisor: its name (unique among its
// siblings) and how to make it.
type ChildSpec struct {
	Name  string
	Props *actor.Props
}

// SupervisorSpec is an Erlang-style supervisor: a strategy, a restart
// intensity (at most Intensity restarts within Period, counting every
// child's restarts together as Erlang does) and children started in order.
type SupervisorSpec struct {
	Strategy  Strategy
	Intensity int           // default 3; a negative value allows no restart
	Period    time.Duration // default 5 s
	Children  []ChildSpec
	// Now is the clock the intensity window is measured with. Default
	// time.Now; tests inject a fake one.
	Now func() time.Time
}

// restartTracker counts restarts within a sliding period.
type restartTracker struct {
	intensity int
	period    time.Duration
	now       func() time.Time
	times     []time.Time
}

// allow records a restart and reports whether it is within the intensity.
func (r *restartTracker) allow() bool {
	if r.intensity < 0 {
		return false
	}
	now := r.now()
	kept := r.times[:0]
	for _, t := range r.times {
		if now.Sub(t) < r.period {
			kept = append(kept, t)
		}
	}
	r.times = append(kept, now)
	return len(r.times) <= r.intensity
}

func (s *SupervisorSpec) normalize() error {
	if s.Intensity == 0 {
		s.Intensity = 3
	}
	if s.Period == 0 {
		s.Period = 5 * time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Strategy > RestForOne {
		return fmt.Errorf("%w: Strategy %d", ErrConfig, s.Strategy)
	}
	if s.Period < 0 {
		return fmt.Errorf("%w: Period %v < 0", ErrConfig, s.Period)
	}
	seen := map[string]bool{}
	for i, c := range s.Children {
		switch {
		case c.Name == "":
			return fmt.Errorf("%w: Children[%d].Name is empty", ErrConfig, i)
		case c.Props == nil:
			return fmt.Errorf("%w: Children[%d].Props is nil", ErrConfig, i)
		case seen[c.Name]:
			return fmt.Errorf("%w: Children[%d].Name %q repeats", ErrConfig, i, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// SupervisorProps returns the Props of a supervisor actor for spec. The
// supervisor spawns its children in order when it starts (as
// <supervisor id>/<child name>) and applies the strategy when one fails (a
// panic, or an error from a Behaviour). A child that stops normally is not
// restarted.
func SupervisorProps(spec SupervisorSpec) (*actor.Props, error) {
	if err := spec.normalize(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisor{spec: spec, restarts: restartTracker{intensity: spec.Intensity, period: spec.Period, now: spec.Now}}
	}), nil
}

// NewStrategy returns spec's strategy and intensity as a protoactor
// SupervisorStrategy, for actors that spawn their own children (use it with
// actor.WithSupervisor). RestForOne follows the order the children were
// spawned in. Each parent needs its own strategy value: it counts restarts.
func NewStrategy(strategy Strategy, intensity int, period time.Duration, now func() time.Time) (actor.SupervisorStrategy, error) {
	s := SupervisorSpec{Strategy: strategy, Intensity: intensity, Period: period, Now: now}
	if err := s.normalize(); err != nil {
		return nil, err
	}
	return &erlangStrategy{strategy: strategy, restarts: restartTracker{intensity: s.Intensity, period: s.Period, now: s.Now}}, nil
}

// erlangStrategy applies an Erlang strategy to a protoactor supervisor.
type erlangStrategy struct {
	strategy Strategy
	restarts restartTracker
	order    func(s actor.Supervisor) []*actor.PID // children in start order
	giveUp   func(s actor.Supervisor, reason, message any)
}

var _ actor.SupervisorStrategy = (*erlangStrategy)(nil)

// HandleFailure restarts children per the strategy, or gives up.
func (e *erlangStrategy) HandleFailure(system *actor.ActorSystem, s actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	children := s.Children()
	if e.order != nil {
		children = e.order(s)
	}
	if !e.restarts.allow() {
		system.Logger().Warn("supervisor: restart intensity reached", slog.Any("child", child), slog.Any("reason", reason))
		s.StopChildren(children...)
		if e.giveUp != nil {
			e.giveUp(s, reason, message)
		} else {
			s.EscalateFailure(fmt.Errorf("%w: last failure: %v", ErrRestartIntensity, reason), message)
		}
		return
	}
	switch e.strategy {
	case OneForOne:
		s.RestartChildren(child)
	case OneForAll:
		s.RestartChildren(children...)
	case RestForOne:
		for i, c := range children {
			if samePID(c, child) {
				s.RestartChildren(children[i:]...)
				return
			}
		}
		s.RestartChildren(child)
	}
}

// supervisor is the actor of SupervisorProps.
type supervisor struct {
	spec     SupervisorSpec
	restarts restartTracker
	ctx      actor.Context
	children []*actor.PID // by ChildSpec index; nil once stopped
	strategy *erlangStrategy
}

var _ actor.SupervisorStrategy = (*supervisor)(nil)

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.ctx = ctx
		s.strategy = &erlangStrategy{strategy: s.spec.Strategy, order: s.order, giveUp: s.giveUp}
		s.strategy.restarts = s.restarts
		s.children = make([]*actor.PID, len(s.spec.Children))
		for i, c := range s.spec.Children {
			pid, err := ctx.SpawnNamed(c.Props, c.Name)
			if err != nil {
				ctx.Logger().Error("supervisor: cannot start a child", slog.String("child", c.Name), slog.Any("err", err))
				continue
			}
			s.children[i] = pid
		}
	case *actor.Terminated:
		for i, c := range s.children {
			if samePID(c, m.Who) {
				s.children[i] = nil
			}
		}
	}
}

// HandleFailure lets the supervisor actor be its children's strategy
// (protoactor asks the actor first), so that it knows their order.
func (s *supervisor) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, message any) {
	s.strategy.HandleFailure(system, sup, child, rs, reason, message)
}

func (s *supervisor) order(actor.Supervisor) []*actor.PID {
	out := make([]*actor.PID, 0, len(s.children))
	for _, c := range s.children {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// giveUp fails the supervisor to its parent, or stops it at the root.
func (s *supervisor) giveUp(sup actor.Supervisor, reason, message any) {
	if s.ctx.Parent() != nil {
		sup.EscalateFailure(fmt.Errorf("%w: last failure: %v", ErrRestartIntensity, reason), message)
		return
	}
	s.ctx.Stop(s.ctx.Self())
}
