package delta

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// requireSameWire checks AppendDiff against its reference, Encode of Diff:
// the same bytes, appended after what the buffer held.
func requireSameWire(t *testing.T, old, new term.Term, opts DiffOptions, args ...any) []byte {
	t.Helper()
	msg := []any{"case %v", args}
	want, wantErr := Encode(DiffWith(old, new, opts))
	prefix := []byte("prefix")
	got, err := AppendDiff(append([]byte(nil), prefix...), old, new, opts)
	if wantErr != nil {
		require.Error(t, err, msg...)
		require.True(t, errors.Is(err, ErrInvalidSpec), msg...)
		return nil
	}
	require.NoError(t, err, msg...)
	require.Equal(t, prefix, got[:len(prefix)], msg...)
	require.Equal(t, want, got[len(prefix):], msg...)
	return want
}

func TestAppendDiffMatchesEncodeOfDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	optsList := []DiffOptions{{}, {MaxDepth: 2}, {MaxDepth: -1}, {Window: 1}, {Window: 3, BinaryGap: 1}}
	var differs []*Differ
	for _, o := range optsList {
		differs = append(differs, NewDiffer(o))
	}
	for n := range 3000 {
		x := randTerm(r, 4)
		y := mutateN(r, x, 1+r.IntN(6))
		if n%7 == 0 {
			y = randTerm(r, 4)
		}
		opts := optsList[n%len(optsList)]
		want := requireSameWire(t, x, y, opts, n)
		// A Differ reused across all the cases gives the same bytes.
		got, err := differs[n%len(optsList)].AppendDiff(nil, x, y)
		if want == nil {
			require.Error(t, err, n)
		} else {
			require.NoError(t, err, n)
			require.Equal(t, want, got, n)
		}
		requireSameWire(t, deepCopy(x), deepCopy(y), opts, n)
		requireSameWire(t, x, deepCopy(x), opts, n)
		requireSameWire(t, x, x, opts, n)
	}
}

// Long sequences: op and entry counts of 128 and more take a wider varint
// than the one byte AppendDiff reserves for them.
func TestAppendDiffManyOps(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	elems := make([]term.Term, 3000)
	for k := range elems {
		elems[k] = term.NewTuple(term.Atom("e"), term.Int(k), term.NewTuple(term.Int(k), term.Int(-k)))
	}
	l0 := term.NewList(elems...)
	m0 := term.EmptyMap()
	for k := range 1000 {
		m0 = m0.Put(term.Int(k), term.NewTuple(term.Int(k), term.Atom("v")))
	}
	for n := range 40 {
		l1, m1 := l0, m0
		edits := []int{1, 60, 130, 300, 1000}[n%5]
		for range edits {
			k := r.IntN(l1.Len())
			switch r.IntN(4) {
			case 0:
				l1 = l1.Delete(k, k+1)
			case 1:
				l1 = l1.Insert(k, term.Int(k))
			default:
				l1 = l1.Set(k, term.NewTuple(term.Atom("e"), term.Int(k), term.NewTuple(term.Int(r.IntN(9)), term.Int(-k))))
			}
			key := term.Int(r.IntN(1200))
			switch r.IntN(3) {
			case 0:
				m1 = m1.Remove(key)
			case 1:
				m1 = m1.Put(key, term.Int(n))
			default:
				m1 = m1.Put(key, term.NewTuple(key, term.Atom("w")))
			}
		}
		x := term.NewTuple(l0, m0, term.Atom("same"))
		y := term.NewTuple(l1, m1, term.Atom("same"))
		wire := requireSameWire(t, x, y, DiffOptions{}, n)
		got, err := ApplyEncoded(x, wire)
		require.NoError(t, err)
		requireEqualTerms(t, y, got, n)
		requireSameWire(t, l0, l1, DiffOptions{Window: 1}, n)
		requireSameWire(t, m0, m1, DiffOptions{}, n)
		requireSameWire(t, deepCopy(x), deepCopy(y), DiffOptions{}, n)
	}
}

func TestAppendDiffWorkloadSteps(t *testing.T) {
	for _, v := range []workload.Variant{workload.Small, workload.Reference} {
		steps := map[workload.Variant]int{workload.Small: 60, workload.Reference: 8}[v]
		st := workload.NewStepper(v, 7)
		cur := workload.State(v, 42)
		var replica term.Term = cur
		for k := 1; k <= steps; k++ {
			next := st.Step(cur, workload.InitialTimestampMs+int64(k)*1000)
			wire := requireSameWire(t, cur, next, DiffOptions{}, v, k)
			var err error
			replica, err = ApplyEncoded(replica, wire)
			require.NoError(t, err)
			cur = next
		}
		requireEqualTerms(t, cur, replica, v)
	}
}

func TestAppendDiffEdgeCases(t *testing.T) {
	x := tup(a("r"), i(1), term.NewList(i(1), i(2)))
	for _, c := range []struct {
		name     string
		old, new term.Term
	}{
		{"nil old", nil, x},
		{"nil new", x, nil},
		{"same", x, x},
		{"equal, not shared", x, deepCopy(x)},
		{"kind change", x, term.NewList(i(1))},
		{"improper tail", term.ImproperList([]term.Term{i(1), i(2), i(3), i(4), i(5)}, a("t")),
			term.ImproperList([]term.Term{i(1), i(2), i(3), i(4), i(5)}, a("u"))},
		{"NaN float", tup(i(1), i(2), i(3), i(4), i(5), i(6)), tup(i(1), i(2), i(3), i(4), i(5), term.Float(math.NaN()))},
		{"NaN float inserted", term.NewList(i(1), i(2), i(3), i(4)), term.NewList(i(1), term.Float(math.NaN()), i(2), i(3), i(4))},
		{"NaN float in a map", term.EmptyMap().Put(i(1), i(1)), term.EmptyMap().Put(i(1), term.Float(math.NaN()))},
	} {
		t.Run(c.name, func(t *testing.T) { requireSameWire(t, c.old, c.new, DiffOptions{}) })
	}
}

func TestEncoderPayloadIsEncodeOfDiff(t *testing.T) {
	st := workload.NewStepper(workload.Small, 3)
	cur := workload.State(workload.Small, 42)
	enc, err := NewEncoder(EncoderConfig{Worker: "w", Policy: Every(1 << 30)})
	require.NoError(t, err)
	_, err = enc.Encode(cur)
	require.NoError(t, err)
	for k := 1; k <= 20; k++ {
		next := st.Step(cur, workload.InitialTimestampMs+int64(k)*1000)
		f, err := enc.Encode(next)
		require.NoError(t, err)
		require.Equal(t, FrameDelta, f.Kind)
		want, err := Encode(Diff(cur, next))
		require.NoError(t, err)
		require.Equal(t, want, f.Payload, k)
		cur = next
	}
}

// valueSize with a limit (the cost rule's question) answers exactly up to
// the limit, and with some number above it past the limit, also when it
// stops early on a container's element count.
func TestValueSizeLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for k := range 1500 {
		v := randTerm(r, 4)
		if k%10 == 0 {
			elems := make([]term.Term, r.IntN(300))
			for e := range elems {
				elems[e] = randTerm(r, 1)
			}
			v = term.NewList(elems...)
		}
		size := valueSize(v, infinite)
		for _, lim := range []int{0, 1, size / 3, size / 2, size - 1, size, size + 1} {
			got := valueSize(v, lim)
			if size <= lim {
				require.Equal(t, size, got, "%#v limit %d", v, lim)
			} else {
				require.Greater(t, got, lim, "%#v limit %d", v, lim)
			}
		}
	}
}

// FuzzAppendDiff checks AppendDiff against Encode of Diff on random terms
// and edit sequences chosen by the fuzzer's seeds.
func FuzzAppendDiff(f *testing.F) {
	for k := range 8 {
		f.Add(uint64(k), uint64(k*7+1), uint8(k))
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64, edits uint8) {
		r := rand.New(rand.NewPCG(s1, s2))
		x := randTerm(r, 4)
		y := mutateN(r, x, int(edits%16))
		opts := DiffOptions{MaxDepth: int(edits % 5), Window: int(edits % 9)}
		requireSameWire(t, x, y, opts)
		requireSameWire(t, deepCopy(x), y, opts)
	})
}

// A Differ, as the Encoder keeps it, allocates nothing once its memory
// has grown.
func TestDifferReusesMemory(t *testing.T) {
	s0, s1 := benchStates(workload.Reference)
	d := NewDiffer(DiffOptions{})
	buf, err := d.AppendDiff(nil, s0, s1)
	require.NoError(t, err)
	want := append([]byte(nil), buf...)
	allocs := testing.AllocsPerRun(10, func() {
		buf, err = d.AppendDiff(buf[:0], s0, s1)
	})
	require.NoError(t, err)
	require.Zero(t, allocs)
	require.Equal(t, want, buf)
	// And it keeps giving AppendDiff's bytes, whatever it diffed before.
	requireSameWire(t, s1, s0, DiffOptions{})
	got, err := d.AppendDiff(nil, s1, s0)
	require.NoError(t, err)
	wantBack, err := AppendDiff(nil, s1, s0, DiffOptions{})
	require.NoError(t, err)
	require.Equal(t, wantBack, got)
}
