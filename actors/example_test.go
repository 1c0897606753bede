package actors_test

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/actors"
	"github.com/enode-dev/enode/term"
)

// counter is a Behaviour whose state is {counter, N, Notes}: a count and
// a kilobyte of notes that do not change, so each step's delta is small.
type counter struct{}

func (counter) Init(*actors.WorkerContext) (any, error) {
	return term.Record("counter", term.Int(0), term.NewBinary(make([]byte, 1024))), nil
}

func (counter) Handle(_ *actors.WorkerContext, state, msg any) (any, any, error) {
	s := state.(*term.Tuple)
	n := s.At(1).(term.Int) + 1
	return s.Set(1, n), n, nil
}

func Example() {
	logs := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logs }))
	defer system.Shutdown()

	// The spare node's replica_handler.
	hprops, err := actors.ReplicaHandlerProps(actors.DefaultReceiverConfig())
	if err != nil {
		panic(err)
	}
	handler, _ := system.Root.SpawnNamed(hprops, "replica_handler")

	// A worker that replicates synchronously: a reply comes once the
	// replica has acknowledged the state it reflects.
	rc := actors.DefaultReplicationConfig()
	rc.Sync = true
	wprops, stats, err := actors.WorkerProps(actors.WorkerSpec{
		ID: "counter", Owner: "a@127.0.0.1", Behaviour: counter{}, Backup: handler, Replication: rc, Logger: logs,
	})
	if err != nil {
		panic(err)
	}
	worker, _ := system.Root.SpawnNamed(wprops, "counter")
	for range 3 {
		reply, err := system.Root.RequestFuture(worker, "inc", 5*time.Second).Result()
		fmt.Println("reply", reply, err)
	}
	res, _ := system.Root.RequestFuture(handler, &actors.GetReplica{Worker: "counter"}, 5*time.Second).Result()
	r := res.(*actors.ReplicaResult).Replica
	fmt.Println("replica count", r.State.(*term.Tuple).At(1), "owner", r.Owner, "epoch", r.Epoch, "seq", r.Seq)
	s := stats.Snapshot()
	fmt.Println("keyframes", s.Keyframes, "deltas", s.Deltas, "ack lag", s.AckLag)
	// Output:
	// reply 1 <nil>
	// reply 2 <nil>
	// reply 3 <nil>
	// replica count 3 owner a@127.0.0.1 epoch 1 seq 4
	// keyframes 1 deltas 3 ack lag 0
}

func ExampleRendezvousBackup() {
	spares := []string{"spare1@10.0.0.9", "spare2@10.0.0.9"}
	for _, active := range []string{"a@10.0.0.1", "b@10.0.0.2", "c@10.0.0.3"} {
		backup, _ := actors.RendezvousBackup(active, spares)
		fmt.Println(active, "->", backup)
	}
	// Output:
	// a@10.0.0.1 -> spare1@10.0.0.9
	// b@10.0.0.2 -> spare2@10.0.0.9
	// c@10.0.0.3 -> spare1@10.0.0.9
}
