package ets

import (
	"sync"
	"testing"

	"github.com/enode-dev/enode/term"
)

// These mirror ../shared/anchors/ets_bench.escript: a public table, each of
// procs goroutines inserting {K, K} for its own run of consecutive integer
// keys, then looking the same keys up. b.N is the total over the procs.
func benchETS(b *testing.B, kind Kind, procs int, lookup bool) {
	o, err := New(Options{Kind: kind, Access: Public})
	if err != nil {
		b.Fatal(err)
	}
	w, err := o.PublicWriter()
	if err != nil {
		b.Fatal(err)
	}
	per := b.N / procs
	if lookup {
		for k := range per * procs {
			_ = w.Insert(term.NewTuple(term.Int(k), term.Int(k)))
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			for k := p * per; k < (p+1)*per; k++ {
				if lookup {
					_, _, _ = w.Lookup(term.Int(k))
				} else {
					_ = w.Insert(term.NewTuple(term.Int(k), term.Int(k)))
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSetInsert1(b *testing.B)        { benchETS(b, Set, 1, false) }
func BenchmarkSetInsert2(b *testing.B)        { benchETS(b, Set, 2, false) }
func BenchmarkSetLookup1(b *testing.B)        { benchETS(b, Set, 1, true) }
func BenchmarkSetLookup2(b *testing.B)        { benchETS(b, Set, 2, true) }
func BenchmarkOrderedSetInsert1(b *testing.B) { benchETS(b, OrderedSet, 1, false) }
func BenchmarkOrderedSetInsert2(b *testing.B) { benchETS(b, OrderedSet, 2, false) }
func BenchmarkOrderedSetLookup1(b *testing.B) { benchETS(b, OrderedSet, 1, true) }
func BenchmarkOrderedSetLookup2(b *testing.B) { benchETS(b, OrderedSet, 2, true) }
