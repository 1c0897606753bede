package term

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// The benchmarks use the reference workload's shapes (workload.md): a list
// of session tuples, a map of binary-keyed counters and a blob, at the
// reference size and at the 10x size, so a cost that grows with the state
// rather than with the change shows as a ratio between the two.

func benchSessions(n int) *List {
	e := make([]Term, n)
	for i := range e {
		e[i] = Record("session", Int(i), Record("timestamp", Int(86996746+i)),
			Record("tid", Int(i%7)), BinaryString(fmt.Sprintf("user-%010d", i)))
	}
	return listOwning(e, nil)
}

func benchCounters(n int) *Map {
	m := EmptyMap()
	for i := 1; i <= n; i++ {
		m = m.Put(BinaryString("ctr-"+strconv.Itoa(i)), Int(i))
	}
	return m
}

var listSizes = []int{32000, 320000}
var mapSizes = []int{10000, 100000}

func BenchmarkListAt(b *testing.B) {
	for _, n := range listSizes {
		l := benchSessions(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				_ = l.At(i)
				i = (i + 7919) % n
			}
		})
	}
}

func BenchmarkListSet(b *testing.B) {
	for _, n := range listSizes {
		l := benchSessions(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				l = l.Set(i, Int(i))
				i = (i + 7919) % n
			}
		})
	}
}

func BenchmarkListAppend(b *testing.B) {
	for _, n := range listSizes {
		l := benchSessions(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				_ = l.Append(Int(1))
			}
		})
	}
}

func BenchmarkListDropHead(b *testing.B) {
	for _, n := range listSizes {
		l := benchSessions(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				_ = l.Delete(0, 1)
			}
		})
	}
}

func BenchmarkListOwning(b *testing.B) {
	for _, n := range listSizes {
		e := benchSessions(n).Elems()
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				_ = listOwning(e, nil)
			}
		})
	}
}

func BenchmarkListAll(b *testing.B) {
	for _, n := range listSizes {
		l := benchSessions(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				c := 0
				for range l.All() {
					c++
				}
			}
		})
	}
}

// benchListStep returns a list and the list after one workload step on it:
// 100 random sessions replaced, and with structural the rarer changes too
// (an appended session, a dropped head).
func benchListStep(n int, structural bool) (*List, *List) {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	old := benchSessions(n)
	next := old
	for range 100 {
		i := r.IntN(n)
		s := next.At(i).(*Tuple)
		next = next.Set(i, s.Set(2, Record("timestamp", Int(r.Int64()))))
	}
	if structural {
		next = next.Append(Record("session", Int(n))).Delete(0, 1)
	}
	return old, next
}

func BenchmarkListEdits(b *testing.B) {
	for _, structural := range []bool{false, true} {
		for _, n := range listSizes {
			old, next := benchListStep(n, structural)
			name := fmt.Sprintf("sets/%d", n)
			if structural {
				name = fmt.Sprintf("sets+append+drophead/%d", n)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					_ = ListEdits(old, next)
				}
			})
		}
	}
}

// BenchmarkListRehash measures the hash of a list after 100 Sets, with the
// old list's hashes cached: only the changed paths are hashed again.
func BenchmarkListRehash(b *testing.B) {
	for _, n := range listSizes {
		old, next := benchListStep(n, false)
		Hash(old)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				fresh := rebuildPaths(old, next)
				b.StartTimer()
				_ = Hash(fresh)
			}
		})
	}
}

// rebuildPaths returns a list equal to next whose changed paths (relative to
// old) are new, uncached nodes, as a fresh step would make them.
func rebuildPaths(old, next *List) *List {
	l := old
	for _, e := range ListEdits(old, next) {
		if e.OldHi-e.OldLo == e.NewHi-e.NewLo {
			for i := e.OldLo; i < e.OldHi; i++ {
				l = l.Set(i, next.At(i-e.OldLo+e.NewLo))
			}
		}
	}
	return l
}

func BenchmarkMapGet(b *testing.B) {
	for _, n := range mapSizes {
		m := benchCounters(n)
		keys := make([]Term, 1024)
		for i := range keys {
			keys[i] = BinaryString("ctr-" + strconv.Itoa(1+i*7919%n))
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				_, _ = m.Get(keys[i&1023])
				i++
			}
		})
	}
}

func BenchmarkMapPut(b *testing.B) {
	for _, n := range mapSizes {
		m := benchCounters(n)
		keys := make([]Term, 1024)
		for i := range keys {
			keys[i] = BinaryString("ctr-" + strconv.Itoa(1+i*7919%n))
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				m = m.Put(keys[i&1023], Int(i))
				i++
			}
		})
	}
}

func BenchmarkMapEdits(b *testing.B) {
	for _, n := range mapSizes {
		r := rand.New(rand.NewPCG(uint64(n), 2))
		old := benchCounters(n)
		next := old
		for range 50 {
			k := BinaryString("ctr-" + strconv.Itoa(1+r.IntN(n)))
			next = next.Update(k, func(v Term, _ bool) Term { return v.(Int) + 1 })
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				MapEdits(old, next, func(_, _, _ Term) bool { return true })
			}
		})
	}
}

func BenchmarkBinaryEdits(b *testing.B) {
	for _, mib := range []int{1, 8} {
		blob := make([]byte, mib<<20)
		for i := range blob {
			blob[i] = "0123456789abcdef"[i%16]
		}
		old := NewBinary(blob)
		next := old.Set(12345*mib, make([]byte, 64))
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			for b.Loop() {
				_ = BinaryEdits(old, next, 16)
			}
		})
	}
}

func BenchmarkEqualAfterStep(b *testing.B) {
	for _, n := range listSizes {
		old, next := benchListStep(n, false)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				_ = Equal(old, next)
			}
		})
	}
}
