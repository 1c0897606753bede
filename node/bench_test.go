package node_test

import (
	"context"
	"testing"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
	"github.com/enode-dev/enode/term"
)

// BenchmarkCall measures a gen_server-style call round trip between two
// nodes on loopback (plaintext and mutual TLS) with a small term.
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []nodetest.Option
	}{{"plaintext", nil}, {"tls", []nodetest.Option{nodetest.WithSecret([]byte("a cluster secret of enough bytes"))}}} {
		b.Run(tc.name, func(b *testing.B) {
			c := nodetest.Start(b, 2, tc.opts...)
			a, s := c.Nodes[0], c.Nodes[1]
			if _, err := s.Spawn("echo", echo(s)); err != nil {
				b.Fatal(err)
			}
			to := node.ProcessID{Name: "echo", Node: s.Name()}
			msg := term.NewTuple(term.Atom("get"), term.Int(42))
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				if _, err := a.Call(ctx, to, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSend64KiB measures one-way throughput of 64 KiB binary chunks
// (the replication layer's frame size) between two nodes over mutual TLS,
// waiting for all of them to arrive.
func BenchmarkSend64KiB(b *testing.B) {
	c := nodetest.Start(b, 2, nodetest.WithSecret([]byte("a cluster secret of enough bytes")))
	a, s := c.Nodes[0], c.Nodes[1]
	in := nodetest.NewInbox(b, s, "sink")
	to := node.ProcessID{Name: "sink", Node: s.Name()}
	chunk := term.NewBinary(make([]byte, 64<<10))
	b.SetBytes(64 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i += 512 {
		n := min(512, b.N-i)
		for range n {
			if err := a.Send(to, chunk); err != nil {
				b.Fatal(err)
			}
		}
		for range n {
			in.Next(b)
		}
	}
}
