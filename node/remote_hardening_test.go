package node

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/enode-dev/enode/node/internal/remote"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A peer speaking the remote protocol badly gets an error, and the node
// goes on (upstream protoactor panicked in the gRPC handler, which ends the
// process).
func TestRemoteSurvivesBadPeers(t *testing.T) {
	n := startT(t, "a@127.0.0.1", nil)
	_, err := n.Spawn("echo", n.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*wrapperspb.StringValue); ok {
			ctx.Respond(m)
		}
	}))
	require.NoError(t, err)
	conn, err := grpc.Dial(n.RemoteAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := remote.NewRemotingClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err = client.ListProcesses(ctx, &remote.ListProcessesRequest{})
	require.Equal(t, codes.Unimplemented, status.Code(err))
	_, err = client.GetProcessDiagnostics(ctx, &remote.GetProcessDiagnosticsRequest{})
	require.Equal(t, codes.Unimplemented, status.Code(err))

	target := &actor.PID{Address: n.RemoteAddr(), Id: "echo"}
	for name, batch := range map[string]*remote.MessageBatch{
		"target index":  {TypeNames: []string{"google.protobuf.StringValue"}, Targets: []*actor.PID{target}, Envelopes: []*remote.MessageEnvelope{{Target: 5}}},
		"sender index":  {TypeNames: []string{"google.protobuf.StringValue"}, Targets: []*actor.PID{target}, Envelopes: []*remote.MessageEnvelope{{Sender: 3}}},
		"type index":    {TypeNames: nil, Targets: []*actor.PID{target}, Envelopes: []*remote.MessageEnvelope{{TypeId: 1}}},
		"unknown type":  {TypeNames: []string{"no.such.Type"}, Targets: []*actor.PID{target}, Envelopes: []*remote.MessageEnvelope{{}}},
		"negative type": {TypeNames: []string{"google.protobuf.StringValue"}, Targets: []*actor.PID{target}, Envelopes: []*remote.MessageEnvelope{{TypeId: -1}}},
	} {
		stream, err := client.Receive(ctx)
		require.NoError(t, err, name)
		require.NoError(t, stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
			ConnectRequest: &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
				ServerConnection: &remote.ServerConnection{SystemId: "bad-peer", Address: "127.0.0.1:1"}}}}}), name)
		_, err = stream.Recv() // the connect response
		require.NoError(t, err, name)
		require.NoError(t, stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: batch}}), name)
		_, err = stream.Recv()
		require.Error(t, err, "%s: the node ends the stream", name)
	}

	// still serving
	friend := startT(t, "friend@127.0.0.1", nil)
	r, err := friend.system.Root.RequestFuture(actor.NewPID(n.RemoteAddr(), "echo"), wrapperspb.String("ok"), 5*time.Second).Result()
	require.NoError(t, err)
	require.Equal(t, "ok", r.(*wrapperspb.StringValue).GetValue())
}
