package funnel

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// BenchKeys returns n distinct client keys that look like IPv4 addresses,
// in random order, their bytes laid out one after another in that order:
// a producer walking the slice reads keys as a server reads fresh requests
// (from cache), while the keys land on random places in the table.
func benchKeys(n int) []string {
	r := rand.New(rand.NewPCG(1, 1))
	perm := r.Perm(n)
	var buf []byte
	offs := make([]int, n+1)
	for i, p := range perm {
		buf = fmt.Appendf(buf, "10.%d.%d.%d", p>>16&255, p>>8&255, p&255)
		offs[i+1] = len(buf)
	}
	all := string(buf)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = all[offs[i]:offs[i+1]]
	}
	return keys
}

// benchDecide runs b.N decisions on 1M distinct keys, in batches of 512,
// from producers goroutines, each walking the keys from its own offset.
func benchDecide(b *testing.B, shards, producers int) {
	keys := benchKeys(1 << 20)
	cfg := DefaultConfig()
	cfg.Shards = shards
	cfg.Capacity, cfg.Rate = 100, 10
	l, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// Every key exists: the figure is for decisions, not first sightings.
	out := make([]Decision, len(keys))
	if err := l.DecideBatch(keys, out); err != nil {
		b.Fatal(err)
	}
	const batch = 512
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / producers
	for p := range producers {
		wg.Go(func() {
			out := make([]Decision, batch)
			at := p * len(keys) / producers
			for done := 0; done < per; {
				n := min(batch, per-done, len(keys)-at)
				done += n
				if err := l.DecideBatch(keys[at:at+n], out); err != nil {
					b.Error(err)
					return
				}
				at = (at + n) % len(keys)
			}
		})
	}
	wg.Wait()
}

func BenchmarkDecideSingleOwner(b *testing.B) { benchDecide(b, 1, 2) }
func BenchmarkDecideSharded(b *testing.B)     { benchDecide(b, 4, 4) }

// BenchmarkTablesDecide measures the owner's own work: decisions on 1M
// existing keys in its ets tables, without the mailbox.
func BenchmarkTablesDecide(b *testing.B) {
	keys := benchKeys(1 << 20)
	tb := testTables(b, 100, 10, 300e9)
	out := make([]Decision, 512)
	for i := 0; i < len(keys); i += 512 {
		if err := tb.decideBatch(keys[i:i+512], nil, out, 0, 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	at := 0
	for done := 0; done < b.N; {
		n := min(512, b.N-done, len(keys)-at)
		if err := tb.decideBatch(keys[at:at+n], nil, out, int64(done), 2, nil); err != nil {
			b.Fatal(err)
		}
		done += n
		at = (at + n) % len(keys)
	}
}

// BenchmarkTablesExpire measures expiry: b.N keys all new at time 0, then
// every one of them forgotten a TTL later, in steps of SweepBudget, as an
// idle owner does. The figure is per key forgotten.
func BenchmarkTablesExpire(b *testing.B) {
	keys := benchKeys(b.N)
	tb := testTables(b, 100, 10, 300e9)
	out := make([]Decision, 512)
	for i := 0; i < len(keys); i += 512 {
		if err := tb.decideBatch(keys[i:min(i+512, len(keys))], nil, out, 0, 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for more := true; more; {
		var err error
		if _, more, err = tb.expire(301e9, 1024); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n, err := tb.size(); err != nil || n != 0 {
		b.Fatalf("%d keys left (%v)", n, err)
	}
}
