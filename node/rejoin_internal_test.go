package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRejoinTargets(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := &controller{
		lost: map[string]lostMember{
			"fresh@h":   {gossip: "10.0.0.1:1", since: now.Add(-time.Minute)},
			"old@h":     {gossip: "10.0.0.2:1", since: now.Add(-rejoinWindow - time.Second)},
			"fenced@h":  {gossip: "10.0.0.3:1", since: now.Add(-24 * time.Hour)},
			"edge@h":    {gossip: "10.0.0.4:1", since: now.Add(-rejoinWindow)},
			"another@h": {gossip: "10.0.0.0:1", since: now},
		},
		fences: map[string][]*fenceItem{"fenced@h": {{worker: "w1", from: "fenced@h", epoch: 2}}},
	}
	require.Equal(t, []string{"10.0.0.0:1", "10.0.0.1:1", "10.0.0.3:1", "10.0.0.4:1"}, c.rejoinTargets(now))
	_, kept := c.lost["old@h"]
	require.False(t, kept, "past the window with no fence pending: forgotten")
	// Once the fence is confirmed the old member goes too.
	delete(c.fences, "fenced@h")
	require.Equal(t, []string{"10.0.0.0:1", "10.0.0.1:1"}, c.rejoinTargets(now.Add(time.Second)))
}

func TestRejoinInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    FailureDetection
		want time.Duration
	}{
		{"local", LocalFailureDetection(), 500 * time.Millisecond},
		{"lan", LANFailureDetection(), 15 * time.Second},
		{"no gossip to the dead", FailureDetection{ProbeInterval: time.Second}, 5 * time.Second},
	} {
		cfg := Config{Failure: tc.f}
		require.Equal(t, tc.want, cfg.rejoinInterval(), tc.name)
	}
}
