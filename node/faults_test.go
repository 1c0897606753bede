package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// A partition cuts remote traffic too, including connections already open,
// and healing it brings both membership and messaging back.
func TestPartitionCutsRemoteTraffic(t *testing.T) {
	c := nodetest.Start(t, 3)
	a, b := c.Nodes[0], c.Nodes[1]
	_, err := b.Spawn("echo", echo(b))
	require.NoError(t, err)
	to := node.ProcessID{Name: "echo", Node: b.Name()}
	call := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := a.Call(ctx, to, term.Atom("ping"))
		return err
	}
	require.NoError(t, call(5*time.Second)) // the connection is open

	c.Partition(a, b)
	err = call(300 * time.Millisecond)
	require.Error(t, err)
	require.True(t, errors.Is(err, node.ErrTimeout) || errors.Is(err, node.ErrNoProc) || errors.Is(err, node.ErrUnknownNode), "%v", err)
	// (membership keeps b: SWIM's indirect probes through the third node
	// still reach it, as they should for a partial partition)
	err = call(300 * time.Millisecond)
	require.Error(t, err)

	c.Heal()
	c.WaitConverged()
	nodetest.WaitFor(t, nodetest.DefaultTimeout, func() bool { return call(500*time.Millisecond) == nil }, "calls to work again")
}
