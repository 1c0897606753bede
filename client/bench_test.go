package client_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/client"
	"github.com/enode-dev/enode/internal/demo"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/node/nodetest"
)

func benchClient(b *testing.B, src client.Fetcher, now func() time.Time, edit func(*client.Config)) *client.Client {
	b.Helper()
	cfg := client.DefaultConfig()
	cfg.Now = now
	if edit != nil {
		edit(&cfg)
	}
	c, err := client.New(src, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// BenchmarkGetHit is a read answered by a fresh cache entry.
func BenchmarkGetHit(b *testing.B) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 1)
	c := benchClient(b, src, clk.Now, nil)
	ctx := context.Background()
	if _, err := c.Get(ctx, "w1"); err != nil {
		b.Fatal(err)
	}
	b.Run("sync", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Get(ctx, "w1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("async", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GetAsync("w1").Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Get(ctx, "w1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkGetMissFake is a read that misses and fetches from a source
// that answers at once: the client's own cost of a miss.
func BenchmarkGetMissFake(b *testing.B) {
	src, clk := newSource(), newClock()
	src.set("w1", 1, 1)
	c := benchClient(b, src, clk.Now, nil)
	ctx := context.Background()
	for b.Loop() {
		c.Cache().Remove("w1")
		if _, err := c.Get(ctx, "w1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetMissNodes reads a replica from a spare through an active
// node on loopback: a miss (the whole state crosses, in 1 MiB pieces) and a
// revalidation of an expired entry (the spare answers "unchanged"), for a
// small state, a 256 KiB one and the reference workload's 4 MB state.
func BenchmarkGetMissNodes(b *testing.B) {
	for _, tc := range []struct {
		name    string
		workers node.WorkerFactory
	}{
		{"state=4KiB", func(string) (actors.Behaviour, error) { return counter{4 << 10}, nil }},
		{"state=256KiB", func(string) (actors.Behaviour, error) { return counter{256 << 10}, nil }},
		{"state=reference", func(id string) (actors.Behaviour, error) { return demo.NewWorker(id, workload.Reference, 1), nil }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := nodetest.Start(b, 2, nodetest.WithConfig(func(cfg *node.Config) { cfg.Workers = tc.workers }))
			active, spare := c.Nodes[0], c.Nodes[1]
			for _, n := range c.Nodes {
				if err := n.StartReplicaService(); err != nil {
					b.Fatal(err)
				}
			}
			nodetest.WaitFor(b, nodetest.DefaultTimeout, func() bool {
				bk, ok, err := active.Backup()
				return err == nil && ok && bk == spare.Name()
			}, "backup")
			if _, err := active.StartWorker("w1"); err != nil {
				b.Fatal(err)
			}
			nodetest.WaitFor(b, nodetest.DefaultTimeout, func() bool {
				_, ok, err := spare.Replica("w1")
				return err == nil && ok
			}, "replica of w1")
			clk := newClock()
			cl := benchClient(b, client.NewNodeFetcher(active), clk.Now, nil)
			ctx := context.Background()
			b.Run("miss", func(b *testing.B) {
				var size int
				for b.Loop() {
					cl.Cache().Remove("w1")
					e, err := cl.Get(ctx, "w1")
					if err != nil {
						b.Fatal(err)
					}
					size = e.Size
				}
				b.ReportMetric(float64(size), "state-bytes")
			})
			b.Run("revalidate", func(b *testing.B) {
				for b.Loop() {
					clk.Advance(time.Hour)
					if _, err := cl.Get(ctx, "w1"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkHitRatio drives a read-mostly load: 95% reads and 5% updates
// (a worker steps, so its source moves to a newer version) over 1000
// workers chosen by a Zipf law (s = 1.1), 10,000 operations per simulated
// second, a 100 ms TTL and a cache of 256 or 1024 entries. It reports the hit ratio
// and fetches per read; run it with a fixed -benchtime (e.g. 200000x) for
// figures that do not depend on b.N.
func BenchmarkHitRatio(b *testing.B) {
	for _, size := range []int{256, 1024} {
		b.Run("cache="+strconv.Itoa(size), func(b *testing.B) { hitRatio(b, size) })
	}
}

func hitRatio(b *testing.B, cacheSize int) {
	const workers = 1000
	src, clk := newSource(), newClock()
	names := make([]string, workers)
	seqs := make([]uint64, workers)
	for i := range names {
		names[i] = "w" + strconv.Itoa(i)
		seqs[i] = 1
		src.set(names[i], 1, 1)
	}
	c := benchClient(b, src, clk.Now, func(cfg *client.Config) {
		cfg.Cache.MaxEntries = cacheSize
		cfg.Cache.TTL = 100 * time.Millisecond
	})
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, workers-1)
	ctx := context.Background()
	reads := 0
	for b.Loop() {
		clk.Advance(100 * time.Microsecond)
		w := int(zipf.Uint64())
		if rng.IntN(100) < 5 {
			seqs[w]++
			src.set(names[w], 1, seqs[w])
			continue
		}
		reads++
		if _, err := c.Get(ctx, names[w]); err != nil {
			b.Fatal(err)
		}
	}
	st := c.Stats()
	b.ReportMetric(st.HitRatio(), "hit-ratio")
	if reads > 0 {
		b.ReportMetric(float64(st.Fetches)/float64(reads), "fetches/read")
		b.ReportMetric(float64(st.Fetches-st.Unchanged)/float64(reads), "states/read")
	}
}
