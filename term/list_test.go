package term

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkRope verifies the tree invariants under x and returns its element
// count: leaves hold 1..max elements, inner nodes 1..max children of one
// height below them with correct running counts, and every non-root node is
// at least half full.
func checkRope(t testing.TB, x *lnode, root bool) int {
	t.Helper()
	if x.h == 0 {
		require.NotEmpty(t, x.elems)
		require.LessOrEqual(t, len(x.elems), ropeLeafMax)
		if !root {
			require.GreaterOrEqual(t, len(x.elems), ropeLeafMin, "underfull leaf")
		}
		require.Equal(t, len(x.elems), x.n)
		return x.n
	}
	require.NotEmpty(t, x.kids)
	require.LessOrEqual(t, len(x.kids), ropeNodeMax)
	if root {
		require.GreaterOrEqual(t, len(x.kids), 2, "root with one child")
	} else {
		require.GreaterOrEqual(t, len(x.kids), ropeNodeMin, "underfull node")
	}
	end := 0
	for _, c := range x.kids {
		require.Equal(t, x.h-1, c.node.h)
		end += checkRope(t, c.node, false)
		require.Equal(t, end, c.end)
	}
	require.Equal(t, end, x.n)
	return end
}

// checkList verifies l against the model elements and tail (nil: proper).
func checkList(t testing.TB, l *List, model []Term, tail Term) {
	t.Helper()
	require.Equal(t, len(model), l.Len())
	if l.root != nil {
		checkRope(t, l.root, true)
		// A balanced tree: leaves at least half full, nodes at least half
		// full, so the height is bounded by the log of the length.
		maxH := 0
		for c := len(model) / ropeLeafMin; c >= 1; c /= ropeNodeMin {
			maxH++
		}
		require.LessOrEqual(t, int(l.root.h), maxH)
	}
	_, tailIsList := l.tail.(*List)
	require.False(t, tailIsList, "tail is a list")
	if len(model) == 0 && tail == nil {
		require.Same(t, Nil(), l)
	}
	require.Equal(t, tail == nil, l.IsProper())
	got := l.Elems()
	require.Len(t, got, len(model))
	for i := range model {
		require.True(t, Same(model[i], got[i]), "element %d", i)
	}
	n := 0
	for i, e := range l.All() {
		require.Equal(t, n, i)
		require.True(t, Same(model[i], e))
		n++
	}
	require.Equal(t, len(model), n)
	for k := range min(len(model), 64) {
		i := (k * 7919) % len(model)
		require.True(t, Same(model[i], l.At(i)))
	}
	ref := ImproperList(model, tail)
	if tail == nil {
		ref = NewList(model...)
	}
	require.Equal(t, Hash(ref), Hash(l), "hash depends on construction")
	require.True(t, Equal(ref, l))
	require.Zero(t, Compare(ref, l))
}

func leafSet(l *List) map[*lnode]bool {
	s := map[*lnode]bool{}
	if l.root != nil {
		var walk func(x *lnode)
		walk = func(x *lnode) {
			if x.h == 0 {
				s[x] = true
				return
			}
			for _, c := range x.kids {
				walk(c.node)
			}
		}
		walk(l.root)
	}
	return s
}

// newLeaves counts the leaves of b that are not leaves of a.
func newLeaves(a, b *List) int {
	sa := leafSet(a)
	n := 0
	for x := range leafSet(b) {
		if !sa[x] {
			n++
		}
	}
	return n
}

func ints(lo, hi int) []Term {
	e := make([]Term, 0, hi-lo)
	for i := lo; i < hi; i++ {
		e = append(e, Int(i))
	}
	return e
}

// tuples returns n distinct small tuples, like the workload's sessions.
func tuples(n int) []Term {
	e := make([]Term, n)
	for i := range e {
		e[i] = NewTuple(Atom("s"), Int(i))
	}
	return e
}

func TestListBasics(t *testing.T) {
	require.Same(t, Nil(), NewList())
	require.Same(t, Nil(), ImproperList(nil, Nil()))
	l := ImproperList([]Term{Int(1)}, NewList(Int(2), Int(3)))
	checkList(t, l, ints(1, 4), nil)
	imp := ImproperList(ints(0, 3), Atom("t"))
	checkList(t, imp, ints(0, 3), Atom("t"))
	require.Equal(t, Atom("t"), imp.Tail())
	checkList(t, imp.WithTail(Nil()), ints(0, 3), nil)
	checkList(t, imp.WithTail(imp), append(ints(0, 3), ints(0, 3)...), Atom("t"))
	checkList(t, imp.Append(Int(3)), ints(0, 4), Atom("t"))
	checkList(t, imp.Slice(1, 3), ints(1, 3), nil)
	checkList(t, imp.Delete(0, 3), nil, Atom("t"))
	checkList(t, NewList(Int(1)).Delete(0, 1), nil, nil)
	checkList(t, Charlist("hé"), []Term{Int('h'), Int('é')}, nil)
	for _, n := range []int{1, 63, 64, 65, 2047, 2048, 2049, 70000} {
		checkList(t, NewList(ints(0, n)...), ints(0, n), nil)
		checkList(t, listOwning(ints(0, n), Int(7)), ints(0, n), Int(7))
	}
}

func TestListPanics(t *testing.T) {
	l := NewList(ints(0, 100)...)
	for name, f := range map[string]func(){
		"at-neg":     func() { l.At(-1) },
		"at-end":     func() { l.At(100) },
		"set-end":    func() { l.Set(100, Int(0)) },
		"set-nil":    func() { l.Set(0, nil) },
		"insert-far": func() { l.Insert(101, Int(0)) },
		"insert-nil": func() { l.Insert(0, nil) },
		"delete-rev": func() { l.Delete(5, 4) },
		"delete-far": func() { l.Delete(5, 101) },
		"slice-neg":  func() { l.Slice(-1, 3) },
		"nil-at":     func() { Nil().At(0) },
	} {
		require.Panics(t, f, name)
	}
}

// TestListModel runs random operation sequences against a plain slice
// model, checking contents, tree shape, hashes and that the previous list is
// left unchanged.
func TestListModel(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 11))
		model := ints(0, r.IntN(3000))
		var tail Term
		l := NewList(model...)
		for step := range 1500 {
			prev, prevModel := l, append([]Term(nil), model...)
			n := len(model)
			op := r.IntN(11)
			switch {
			case op <= 2 && n > 0:
				i := r.IntN(n)
				v := Int(r.Int64())
				l, model[i] = l.Set(i, v), v
			case op == 3:
				vs := ints(-r.IntN(70)-1, 0)
				i := r.IntN(n + 1)
				l = l.Insert(i, vs...)
				model = append(model[:i:i], append(vs, model[i:]...)...)
			case op == 4 && n > 0:
				i := r.IntN(n)
				j := i + r.IntN(min(n-i, 1+r.IntN(200))+1)
				l = l.Delete(i, j)
				model = append(model[:i:i], model[j:]...)
			case op == 5:
				v := Int(step)
				l, model = l.Append(v), append(model, v)
			case op == 6 && n > 0:
				l, model = l.Delete(0, 1), model[1:]
			case op == 7 && n > 0:
				i := r.IntN(n)
				j := i + r.IntN(n-i+1)
				l, model, tail = l.Slice(i, j), model[i:j:j], nil
			case op == 8:
				if tail == nil {
					tail = Atom("tl")
				} else {
					tail = nil
				}
				l = l.WithTail(map[bool]Term{true: Nil(), false: tail}[tail == nil])
			case op == 9 && n > 0:
				i := r.IntN(n)
				l = l.Update(i, func(e Term) Term { return NewTuple(e) })
				model[i] = l.At(i)
			case op == 10:
				other := ints(0, r.IntN(300))
				l = l.WithTail(ImproperList(other, tail))
				model = append(model[:n:n], other...)
			}
			if step%50 == 0 || l.Len() < 300 {
				checkList(t, l, model, tail)
			}
			if step%97 == 0 {
				pe := prev.Elems()
				require.Len(t, pe, len(prevModel), "old list changed")
				for i := range pe {
					require.True(t, Same(prevModel[i], pe[i]), "old list changed at %d", i)
				}
			}
			checkEdits(t, prev, l)
		}
		checkList(t, l, model, tail)
	}
}

// checkEdits verifies ListEdits(a, b): in order, non-overlapping, within
// bounds, and applying them to a gives b, with every element outside them
// the same object in both lists. It returns the total size of the edits.
func checkEdits(t testing.TB, a, b *List) int {
	t.Helper()
	edits := ListEdits(a, b)
	ea, eb := a.Elems(), b.Elems()
	var got []Term
	pa, pb, size := 0, 0, 0
	for _, e := range edits {
		require.True(t, pa <= e.OldLo && e.OldLo <= e.OldHi && e.OldHi <= len(ea), "edit %+v after %d in %d", e, pa, len(ea))
		require.True(t, pb <= e.NewLo && e.NewLo <= e.NewHi && e.NewHi <= len(eb), "edit %+v after %d in %d", e, pb, len(eb))
		require.Equal(t, e.OldLo-pa, e.NewLo-pb, "unchanged stretches differ in length")
		require.False(t, e.OldLo == e.OldHi && e.NewLo == e.NewHi, "empty edit")
		for i := pa; i < e.OldLo; i++ {
			require.True(t, Same(ea[i], eb[i-pa+pb]), "difference outside edits at old %d", i)
		}
		got = append(got, ea[pa:e.OldLo]...)
		got = append(got, eb[e.NewLo:e.NewHi]...)
		pa, pb = e.OldHi, e.NewHi
		size += max(e.OldHi-e.OldLo, e.NewHi-e.NewLo)
	}
	require.Equal(t, len(ea)-pa, len(eb)-pb)
	for i := pa; i < len(ea); i++ {
		require.True(t, Same(ea[i], eb[i-pa+pb]), "difference outside edits at old %d", i)
	}
	got = append(got, ea[pa:]...)
	require.Len(t, got, len(eb))
	return size
}

// TestListSharing checks that single updates copy O(log n) nodes and that
// ListEdits finds them as small edits.
func TestListSharing(t *testing.T) {
	for _, n := range []int{32000, 320000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(n), 3))
			l := listOwning(tuples(n), nil)
			cases := []struct {
				name     string
				f        func(*List) *List
				leaves   int // at most this many new leaves
				editSize int // at most this much total edit size
			}{
				{"set", func(l *List) *List { return l.Set(r.IntN(l.Len()), Int(-1)) }, 1, 1},
				{"append", func(l *List) *List { return l.Append(Int(-1)) }, 2, 1},
				{"drop-head", func(l *List) *List { return l.Delete(0, 1) }, 2, 1},
				{"insert", func(l *List) *List { return l.Insert(r.IntN(l.Len()), Int(-1), Int(-2)) }, 4, 2},
				{"delete", func(l *List) *List { i := r.IntN(l.Len() - 5); return l.Delete(i, i+3) }, 4, 3},
			}
			for _, c := range cases {
				for range 1000000 / n {
					next := c.f(l)
					require.LessOrEqual(t, newLeaves(l, next), c.leaves, c.name)
					require.LessOrEqual(t, checkEdits(t, l, next), c.editSize, c.name)
					l = next
				}
			}
			checkRope(t, l.root, true)
			require.LessOrEqual(t, int(l.root.h), 3)
		})
	}
}

// TestListEditsMany applies a workload-like step (many sets, an append, a
// dropped head, an insert and a delete in the middle) and checks that the
// edits stay close to the number of changes.
func TestListEditsMany(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	l := listOwning(tuples(32000), nil)
	for range 20 {
		next := l
		for range 100 {
			next = next.Set(r.IntN(next.Len()), Int(r.Int64()))
		}
		next = next.Append(Int(1)).Delete(0, 1)
		i := r.IntN(next.Len())
		next = next.Insert(i, Int(2)).Delete(i+500, i+501)
		size := checkEdits(t, l, next)
		// Sets that fall in the leaves rebuilt by a shift (at most two per
		// structural change) are merged into its edit.
		require.LessOrEqual(t, size, 100+4*2*ropeLeafMax)
		l = next
	}
	// Rebuilt lists share nothing: the edits fall back to element identity.
	e := l.Elems()
	require.Empty(t, ListEdits(l, NewList(e...)))
	require.Equal(t, []ListEdit{{0, 0, 0, 2}}, ListEdits(Nil(), NewList(Int(1), Int(2))))
	require.Equal(t, []ListEdit{{0, 2, 0, 0}}, ListEdits(NewList(Int(1), Int(2)), Nil()))
}

func FuzzListOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 200, 100, 50})
	f.Add([]byte{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4})
	f.Add([]byte{5, 255, 5, 255, 6, 0, 6, 0, 2, 128})
	f.Fuzz(func(t *testing.T, ops []byte) {
		model := ints(0, 500)
		l := NewList(model...)
		for k := 0; k+1 < len(ops); k += 2 {
			prev := l
			n := len(model)
			arg := int(ops[k+1])
			switch ops[k] % 6 {
			case 0:
				if n > 0 {
					i := arg * n / 256
					l, model[i] = l.Set(i, Int(k)), Int(k)
				}
			case 1:
				i := arg * (n + 1) / 256
				vs := ints(1000, 1000+arg%100)
				l = l.Insert(i, vs...)
				model = append(model[:i:i], append(vs, model[i:]...)...)
			case 2:
				i := arg * (n + 1) / 256
				j := min(n, i+arg%80)
				l = l.Delete(i, j)
				model = append(model[:i:i], model[j:]...)
			case 3:
				i := arg * (n + 1) / 256
				l, model = l.Slice(i, n), model[i:]
			case 4:
				vs := ints(0, arg)
				l, model = l.Append(vs...), append(model[:n:n], vs...)
			case 5:
				l = l.WithTail(NewList(model...))
				model = append(model[:n:n], model...)
			}
			checkEdits(t, prev, l)
		}
		checkList(t, l, model, nil)
	})
}
