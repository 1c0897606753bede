package actors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
)

func TestReplicationConfigValidate(t *testing.T) {
	c := ReplicationConfig{}
	require.NoError(t, c.Validate())
	d := DefaultReplicationConfig()
	require.Equal(t, d.ChunkSize, c.ChunkSize, "zero fields get defaults")
	require.Equal(t, d.Window, c.Window)
	require.Equal(t, d.AckTimeout, c.AckTimeout)
	require.NotNil(t, c.Policy)
	for name, bad := range map[string]ReplicationConfig{
		"Mode":              {Mode: 7},
		"ChunkSize":         {ChunkSize: -1},
		"Window":            {Window: -1},
		"MaxInFlightChunks": {MaxInFlightChunks: -1},
		"AckTimeout":        {AckTimeout: -time.Second},
		"Policy":            {Policy: delta.Adaptive{MaxInterval: -1}},
	} {
		err := bad.Validate()
		require.ErrorIs(t, err, ErrConfig, name)
		require.Contains(t, err.Error(), name)
	}
}

func TestReceiverConfigValidate(t *testing.T) {
	c := ReceiverConfig{}
	require.NoError(t, c.Validate())
	require.NotNil(t, c.Store)
	require.NotNil(t, c.Now)
	for name, bad := range map[string]ReceiverConfig{
		"MaxFrameBytes":      {MaxFrameBytes: -1},
		"MaxReassemblyBytes": {MaxFrameBytes: 10, MaxReassemblyBytes: 5},
	} {
		err := bad.Validate()
		require.ErrorIs(t, err, ErrConfig, name)
		require.Contains(t, err.Error(), name)
		_, err = ReplicaHandlerProps(bad)
		require.ErrorIs(t, err, ErrConfig)
	}
}

func TestWorkerPropsValidate(t *testing.T) {
	ok := WorkerSpec{ID: "w", Behaviour: newStepper(0), Replication: DefaultReplicationConfig()}
	_, _, err := WorkerProps(ok)
	require.NoError(t, err)
	noID := ok
	noID.ID = ""
	noB := ok
	noB.Behaviour = nil
	badRC := ok
	badRC.Replication.Window = -3
	for _, s := range []WorkerSpec{noID, noB, badRC} {
		_, _, err := WorkerProps(s)
		require.ErrorIs(t, err, ErrConfig)
	}
}
