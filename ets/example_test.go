package ets_test

import (
	"fmt"

	"github.com/enode-dev/enode/ets"
	"github.com/enode-dev/enode/term"
)

// A replica store as replica_handler keeps it: the handler owns a protected
// table and hands a read-only view to status and takeover; an heir takes
// the table over when the handler stops.
func Example() {
	node := ets.NewRegistry()
	var inherited *ets.Owner
	owner, err := node.New("replicas", ets.Options{
		Kind:     ets.OrderedSet,
		Heir:     func(t ets.Transfer) { inherited = t.Table },
		HeirData: term.Atom("replica_handler"),
	})
	if err != nil {
		panic(err)
	}
	_ = owner.Insert(term.NewTuple(term.Atom("worker2"), term.Int(7)))
	_ = owner.Insert(term.NewTuple(term.Atom("worker1"), term.Int(3)))
	n, _ := owner.UpdateCounter(term.Atom("worker1"), 1, 1, nil)
	fmt.Println("worker1 seq", n)

	status, _ := node.View("replicas") // what a status page gets
	for obj := range status.All() {
		fmt.Println(obj.At(0), obj.At(1))
	}
	_, err = node.Writer("replicas")
	fmt.Println("others may write:", err == nil)

	owner.Exit() // the handler stops; the heir gets the table
	_ = inherited.Insert(term.NewTuple(term.Atom("worker3"), term.Int(1)))
	size, _ := status.Size()
	fmt.Println("size after transfer", size)
	// Output:
	// worker1 seq 4
	// worker1 4
	// worker2 7
	// others may write: false
	// size after transfer 3
}
