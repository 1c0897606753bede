package delta

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// diffFloor runs AppendDiff's diff of x → y and returns the floor it
// found.
func diffFloor(x, y term.Term, opts DiffOptions) int {
	e := NewDiffer(opts).w
	e.buf = []byte{specVersion}
	_, floor := e.diff(x, y, 0)
	return floor
}

// TestDiffSizeFloorIsLowerBound: the floor never exceeds the exact size,
// so the cost rule's decision with it is valueSize's (the wire tests check
// the bytes against Encode(Diff), which sizes exactly). Written values
// count as many bytes as valueSize gives them.
func TestDiffSizeFloorIsLowerBound(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	optsList := []DiffOptions{{}, {MaxDepth: 2}, {Window: 1}}
	for n := range 5000 {
		x := randTerm(r, 4)
		y := mutateN(r, x, 1+r.IntN(6))
		switch n % 5 {
		case 0:
			y = randTerm(r, 4)
		case 1:
			y = deepCopy(y)
		case 2:
			x = y
		}
		exact := valueSize(y, infinite)
		require.LessOrEqual(t, diffFloor(x, y, optsList[n%len(optsList)]), exact, n)
		if b, err := appendValue(nil, y); err == nil {
			require.Len(t, b, exact, n)
		}
	}
}

// TestDiffSizeFloorSkipsSharedFields: a record's fields that the new
// version shares with the old count as their type's least size, however
// large they are, and only what changed is sized.
func TestDiffSizeFloorSkipsSharedFields(t *testing.T) {
	big := term.NewBinary(make([]byte, 1000))
	old := term.Record("r", term.Int(1000), big, term.NewTuple(term.Int(5), term.Atom("x")))
	nw := old.Set(3, old.At(3).(*term.Tuple).Set(0, term.Int(6)))
	// tag+arity, atom, int, binary: 2 each; the changed pair: 2 + (2 + 2).
	// The changed pair's spec (tag, count, edit, replace: 6 bytes) keeps it
	// nested, its floor is 2 + (2 + 2).
	require.Equal(t, 2+2+2+2+(2+2+2), diffFloor(old, nw, DiffOptions{}))
	require.Greater(t, valueSize(nw, infinite), 1000)

	// A workload step's edited sessions: the floor alone rules out sending
	// the record whole, so valueSize does not read its shared fields.
	v := workload.Reference
	s0 := workload.State(v, 42)
	s1 := workload.NewStepper(v, 3).Step(s0, workload.InitialTimestampMs+1000)
	l0, l1 := s0.At(workload.FieldSessions).(*term.List), s1.At(workload.FieldSessions).(*term.List)
	edited := 0
	for i := range min(l0.Len(), l1.Len()) {
		a, b := l0.At(i), l1.At(i)
		if term.Identical(a, b) {
			continue
		}
		s := Diff(a, b)
		wire, err := Encode(s)
		require.NoError(t, err)
		n := len(wire) - 1 // without the version byte
		if _, ok := s.(Replace); ok {
			continue // a shifted record (an append or a dropped head)
		}
		require.Greater(t, 1+diffFloor(a, b, DiffOptions{}), n, i)
		edited++
	}
	require.GreaterOrEqual(t, edited, 90)
}
