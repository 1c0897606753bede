package node_test

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// goroutineStacks returns the stacks of all goroutines.
func goroutineStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// After Shutdown, the goroutines of a busy cluster are gone: the count
// comes back to what it was before the cluster started.
func TestNoGoroutinesOutliveShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		c := nodetest.Start(t, 3, nodetest.WithSecret([]byte("a cluster secret of enough bytes")))
		a, b := c.Nodes[0], c.Nodes[1]
		w := a.MonitorNodes()
		defer w.Cancel()
		in := nodetest.NewInbox(t, b, "inbox")
		_, err := b.Spawn("echo", echo(b))
		require.NoError(t, err)
		for i := range 50 {
			require.NoError(t, a.Send(node.ProcessID{Name: "inbox", Node: b.Name()}, term.Int(i)))
			_, err := a.Call(context.Background(), node.ProcessID{Name: "echo", Node: b.Name()}, term.Int(i))
			require.NoError(t, err)
		}
		for range 50 {
			in.Next(t)
		}
		watcher := nodetest.NewInbox(t, a, "")
		_, err = a.Monitor(watcher.PID(), node.ProcessID{Name: "echo", Node: b.Name()})
		require.NoError(t, err)
		for i := len(c.Nodes) - 1; i >= 0; i-- {
			require.NoError(t, c.Nodes[i].Shutdown())
		}
	}()
	// Goroutines end asynchronously after their owner closed their
	// connections or timers; poll for them.
	justAfter, start := runtime.NumGoroutine(), time.Now()
	deadline := start.Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		<-tick.C
	}
	t.Logf("goroutines: %d before start, %d right after Shutdown, back to %d after %v",
		before, justAfter, runtime.NumGoroutine(), time.Since(start).Round(time.Millisecond))
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, after, goroutineStacks())
	}
}

func TestShutdownIsIdempotentAndOrdered(t *testing.T) {
	c := nodetest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	w := a.MonitorNodes()
	require.NoError(t, b.Shutdown())
	require.NoError(t, b.Shutdown())
	require.NoError(t, b.Halt())
	ev := <-w.Events()
	require.Equal(t, node.NodeDown, ev.Kind)
	require.True(t, ev.Left)
	// its ports are free again
	for _, addr := range []string{b.RemoteAddr()} {
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err, addr)
		require.NoError(t, l.Close())
	}
	require.NoError(t, a.Shutdown())
	_, ok := <-w.Events()
	require.False(t, ok, "the subscription is closed by shutdown")
}

func TestStartErrors(t *testing.T) {
	// a port in use: protoactor would panic; Start returns an error
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cfg := node.LocalConfig("a@127.0.0.1")
	cfg.RemoteAddr = l.Addr().String()
	before := runtime.NumGoroutine()
	_, err = node.Start(cfg)
	require.ErrorIs(t, err, node.ErrStart)
	require.Contains(t, err.Error(), "remote listener")

	cfg = node.LocalConfig("a@127.0.0.1")
	cfg.GossipAddr = l.Addr().String()
	_, err = node.Start(cfg)
	require.ErrorIs(t, err, node.ErrStart)

	// a seed that does not answer
	cfg = node.LocalConfig("a@127.0.0.1")
	cfg.Seeds = []string{"127.0.0.1:1"}
	_, err = node.Start(cfg)
	require.ErrorIs(t, err, node.ErrStart)
	require.True(t, strings.Contains(err.Error(), "joining"), err.Error())

	_, err = node.Start(node.LocalConfig("bad name"))
	require.ErrorIs(t, err, node.ErrInvalidConfig)
	nodetest.WaitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= before },
		"goroutines of failed starts to end (%d before)", before)
}
