package ets

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/term"
)

// Objects that fit a record come back exactly (1 and 1.0, -0.0, the
// bytes); objects that do not are refused, and so kept whole.
func TestRecordRoundTrip(t *testing.T) {
	fits := []*term.Tuple{
		term.NewTuple(term.Int(1)),
		term.NewTuple(term.Int(1), term.Float(1)),
		term.NewTuple(term.Float(math.Copysign(0, -1)), term.Int(math.MinInt64), term.Int(math.MaxInt64)),
		term.NewTuple(term.Int(1<<40), term.BinaryString("10.200.100.250")),
		term.NewTuple(term.Atom(""), term.BinaryString(""), term.Int(300), term.Float(math.Inf(1))),
		term.NewTuple(term.BinaryString(strings.Repeat("k", 20))),
		term.NewTuple(term.Atom(strings.Repeat("a", 16)), term.Float(2.5)),
	}
	for _, obj := range fits {
		r, ok := encodeRec(obj)
		require.True(t, ok, "%v", obj)
		got, ok := r.tuple()
		require.True(t, ok)
		requireObject(t, true, obj, got)
		require.Equal(t, term.Hash(obj), term.Hash(got))
		require.Zero(t, term.Compare(obj, got))
		for i := range obj.Len() {
			e, ok := r.elem(i)
			require.True(t, ok)
			require.True(t, term.Equal(obj.At(i), e))
		}
	}
	refused := []*term.Tuple{
		term.NewTuple(),
		term.NewTuple(term.Int(1), term.Int(2), term.Int(3), term.Int(4)),
		term.NewTuple(term.Int(1), term.Int(2), term.Int(3), term.Int(4), term.Int(5)),
		term.NewTuple(term.Int(1), term.BinaryString(strings.Repeat("k", 17))),
		term.NewTuple(term.BinaryString(strings.Repeat("k", 21))),
		term.NewTuple(term.Integer(new(big.Int).Lsh(big.NewInt(1), 70))),
		term.NewTuple(term.Int(1), term.NewTuple()),
		term.NewTuple(term.NewBitstring([]byte{1}, 3)),
	}
	for _, obj := range refused {
		_, ok := encodeRec(obj)
		require.False(t, ok, "%v", obj)
	}
	// A meta word no writer stores is refused, not trusted.
	for _, meta := range []uint64{0, 5, 1 | tagBinary<<3 | 31<<11, 2 | tagBinary<<3 | tagBinary<<5 | 16<<11 | 16<<16} {
		_, ok := (&rec{meta: meta}).tuple()
		require.False(t, ok, "meta %#x", meta)
	}
}

// Readers racing writers that switch objects between records and whole
// tuples (and move them between leaves) always read an object some
// writer stored for the key.
func TestOrderedRecordsConcurrentReaders(t *testing.T) {
	o, err := New(Options{Kind: OrderedSet, Compact: true})
	require.NoError(t, err)
	view, _ := o.View()
	const keys = 2000
	// Version v of key k: a record for even v, a whole tuple for odd v;
	// its value tells v, and its key k.
	object := func(k, v int) *term.Tuple {
		if v%2 == 0 {
			return term.NewTuple(term.Int(int64(k)), term.Int(int64(v)), term.BinaryString(fmt.Sprint(k)))
		}
		return term.NewTuple(term.Int(int64(k)), term.Int(int64(v)), term.BinaryString(strings.Repeat(fmt.Sprint(k), 30)))
	}
	check := func(k int, obj *term.Tuple) error {
		v, ok := obj.At(1).(term.Int)
		if !ok || obj.Len() != 3 {
			return fmt.Errorf("key %d: torn object %v", k, obj)
		}
		if want := object(k, int(v)); !term.Equal(want, obj) {
			return fmt.Errorf("key %d: got %v, want %v", k, obj, want)
		}
		return nil
	}
	for k := range keys {
		require.NoError(t, o.Insert(object(k*2, 0)))
	}
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	readers(&wg, 2, stop, errs, func() error {
		for obj := range view.All() {
			if err := check(int(obj.At(0).(term.Int)), obj); err != nil {
				return err
			}
		}
		return nil
	})
	for round := 1; round <= 6; round++ {
		for k := range keys {
			require.NoError(t, o.Insert(object(k*2, round)))
			// Odd keys come and go, so leaves split and empty.
			if round%2 == 0 {
				require.NoError(t, o.Insert(object(k*2+1, round)))
			} else {
				_, err := o.Delete(term.Int(int64(k*2 + 1)))
				require.NoError(t, err)
			}
			obj, ok, err := view.Lookup(term.Int(int64(k * 2)))
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, check(k*2, obj))
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	checkTree(t, o.t.st)
}
