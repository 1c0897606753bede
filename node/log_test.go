package node_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/stretchr/testify/require"
)

// capture records what reaches it, with the attributes of With.
type capture struct {
	level slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex
	recs  *[]map[string]string
}

func newCapture(level slog.Level) capture {
	return capture{level: level, mu: &sync.Mutex{}, recs: &[]map[string]string{}}
}

func (c capture) Enabled(_ context.Context, l slog.Level) bool { return l >= c.level }
func (c capture) WithAttrs(as []slog.Attr) slog.Handler {
	c.attrs = append(append([]slog.Attr(nil), c.attrs...), as...)
	return c
}
func (c capture) WithGroup(string) slog.Handler { return c }
func (c capture) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	for _, a := range c.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	c.mu.Lock()
	*c.recs = append(*c.recs, m)
	c.mu.Unlock()
	return nil
}

func (c capture) records() []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]string(nil), *c.recs...)
}

func runLogged(t *testing.T, h slog.Handler) {
	c := nodetest.Start(t, 2, nodetest.WithConfig(func(cfg *node.Config) { cfg.Logger = slog.New(h) }))
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		require.NoError(t, c.Nodes[i].Shutdown())
	}
}

func TestLibraryLogsGoToTheNodeLoggerAtDebug(t *testing.T) {
	debug := newCapture(slog.LevelDebug)
	runLogged(t, debug)
	libs := map[string]bool{}
	for _, r := range debug.records() {
		require.NotEmpty(t, r["node"], "every record names its node: %v", r)
		libs[r["lib"]] = true
	}
	require.True(t, libs["protoactor"], "protoactor's logs reach the node's logger")
	require.True(t, libs["memberlist"], "memberlist's logs reach the node's logger")

	info := newCapture(slog.LevelInfo)
	runLogged(t, info)
	for _, r := range info.records() {
		require.Empty(t, r["lib"], "a library record above debug in a quiet run: %v", r)
	}
}
