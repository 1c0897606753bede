package delta_test

import (
	"errors"
	"fmt"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

func mustParse(s string) term.Term {
	t, err := term.Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// The original system's example: two fields of a record change.
func ExampleDiff() {
	old := mustParse("{user_info,{timestamp,86996746},{tid,1},{loc,{10,11},na}}")
	new := mustParse("{user_info,{timestamp,86996817},{tid,1},{loc,{10,12},na}}")
	spec := delta.Diff(old, new)
	fmt.Println(delta.Format(spec))
	got, err := delta.Apply(old, spec)
	fmt.Println(term.Format(got), err)
	// Output:
	// tuple[retain 1, edit tuple[retain 1, edit =86996817], retain 1, edit tuple[retain 1, edit ={10,12}]]
	// {user_info,{timestamp,86996817},{tid,1},{loc,{10,12},na}} <nil>
}

// Merge folds two deltas into one with the effect of both.
func ExampleMerge() {
	s1 := delta.Diff(mustParse("{hello,1,2,3}"), mustParse("{hello,1,2,4}"))
	s2 := delta.Diff(mustParse("{hello,1,2,4}"), mustParse("{hello,1,1,4}"))
	fmt.Println(delta.Format(delta.Merge(s1, s2)))

	// A key removed, then put back: the merge is a put.
	m := mustParse(`#{a => 1, b => <<"a value that is not worth resending">>}`).(*term.Map)
	m1 := delta.Diff(m, m.Remove(term.Atom("a")))
	m2 := delta.Diff(m.Remove(term.Atom("a")), m.Put(term.Atom("a"), term.Int(2)))
	fmt.Println(delta.Format(m1), delta.Format(m2), delta.Format(delta.Merge(m1, m2)))
	// Output:
	// tuple[retain 2, edit =1, edit =4]
	// map[remove a] map[put a => 2] map[put a => 2]
}

// A list edit costs the change: the head dropped, an element appended.
func ExampleDiff_list() {
	old := mustParse(`[{s,1,<<"user-1">>},{s,2,<<"user-2">>},{s,3,<<"user-3">>},{s,4,<<"user-4">>}]`)
	new := old.(*term.List).Delete(0, 1).Append(mustParse(`{s,5,<<"user-5">>}`))
	fmt.Println(delta.Format(delta.Diff(old, new)))
	// Output:
	// list[delete 1, retain 3, insert {s,5,<<"user-5">>}]
}

// Apply refuses a spec that does not fit the term, and leaves it untouched.
func ExampleApply() {
	spec := delta.Diff(mustParse("{a,b}"), mustParse("{a,c}"))
	_, err := delta.Apply(mustParse("[a,b]"), spec)
	fmt.Println(errors.Is(err, delta.ErrMismatch))
	// Output:
	// true
}

// A stream: the worker's encoder sends a keyframe, then deltas; the
// replica's decoder applies them and checks each state's checksum.
func ExampleEncoder() {
	enc, err := delta.NewEncoder(delta.EncoderConfig{Worker: "worker1", Epoch: 1})
	if err != nil {
		panic(err)
	}
	dec := delta.NewDecoder("worker1")
	state := mustParse("{state,0,[]}").(*term.Tuple)
	for step := range 3 {
		state = state.Set(1, term.Int(step)).Set(2, state.At(2).(*term.List).Append(term.Int(step)))
		f, err := enc.Encode(state)
		if err != nil {
			panic(err)
		}
		wire, err := delta.AppendFrame(nil, f)
		if err != nil {
			panic(err)
		}
		got, err := delta.DecodeFrame(wire)
		if err != nil {
			panic(err)
		}
		res, err := dec.Apply(got)
		fmt.Println(f.Kind, f.Seq, res.Outcome, term.Format(res.State), err)
	}
	// Output:
	// keyframe 1 applied {state,0,[0]} <nil>
	// delta 2 applied {state,1,[0,1]} <nil>
	// delta 3 applied {state,2,[0,1,2]} <nil>
}

// The outbox keeps pending deltas bounded by merging neighbours.
func ExampleOutbox() {
	o, err := delta.NewOutbox(2)
	if err != nil {
		panic(err)
	}
	states := []term.Term{mustParse("{n,0}")}
	for k := 1; k <= 5; k++ {
		states = append(states, mustParse(fmt.Sprintf("{n,%d}", k)))
		if err := o.Push(uint64(k), uint64(k), delta.Diff(states[k-1], states[k])); err != nil {
			panic(err)
		}
	}
	for _, e := range o.Entries() {
		fmt.Printf("[%d,%d] %s\n", e.From, e.To, delta.Format(e.Spec))
	}
	spec, to, err := o.Since(4)
	fmt.Println(delta.Format(spec), to, err)
	_, _, err = o.Since(2)
	fmt.Println(errors.Is(err, delta.ErrNeedKeyframe))
	// Output:
	// [1,4] tuple[retain 1, edit =4]
	// [5,5] tuple[retain 1, edit =5]
	// tuple[retain 1, edit =5] 5 <nil>
	// true
}
