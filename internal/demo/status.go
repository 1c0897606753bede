package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// StatusName is the registered name of the status service every demo node
// runs: a Call of the atom status to {enode_status, Node} answers with the
// node's Status as an Erlang record.
const StatusName = "enode_status"

// statusRequest is what a status query sends.
const statusRequest = term.Atom("status")

// ErrStatus is returned by QueryStatus when a node's status service cannot
// be reached or answers with something that is not a status.
var ErrStatus = errors.New("demo: status query failed")

// Status is what one node says of itself: its role, its backup, the members
// it sees, its workers with their replication counters, the replicas it
// keeps, the workers it took over and what its process costs (goroutines,
// resident memory, threads). It travels as an Erlang record (through
// term.Marshal) and prints as JSON.
type Status struct {
	Node      string           `json:"node"`
	Role      string           `json:"role"`
	Backup    string           `json:"backup,omitempty"` // empty: none (a spare, or no live spare)
	TimeMs    int64            `json:"time_ms"`          // the node's clock when it answered
	Members   []MemberStatus   `json:"members"`
	Workers   []WorkerStatus   `json:"workers"`
	Replicas  []ReplicaStatus  `json:"replicas"`
	Takeovers []TakeoverStatus `json:"takeovers"`
	Process   ProcessStatus    `json:"process"`
}

// MemberStatus is one member of the cluster as a node sees it.
type MemberStatus struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Gossip string `json:"gossip"`
	Remote string `json:"remote"`
}

// WorkerStatus is one worker running on a node: where its replication stream
// stands and what it cost. Hash is set only by Runner.Settle.
type WorkerStatus struct {
	ID            string `json:"id"`
	Epoch         uint64 `json:"epoch"`
	TakenFrom     string `json:"taken_from,omitempty"`
	Steps         uint64 `json:"steps"`
	Seq           uint64 `json:"seq"`
	Acked         uint64 `json:"acked"`
	Lag           uint64 `json:"lag"`
	Keyframes     uint64 `json:"keyframes"`
	Deltas        uint64 `json:"deltas"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesFull     uint64 `json:"bytes_full"`
	NeedKeyframes uint64 `json:"need_keyframes"`
	AckTimeouts   uint64 `json:"ack_timeouts"`
	LinkLosses    uint64 `json:"link_losses"`
	// Version and Restored are the demo worker's state Version and the
	// Version it was restored from on takeover (0: started fresh); zero
	// for workers that are not demo workers.
	Version  int64  `json:"version"`
	Restored int64  `json:"restored,omitempty"`
	Hash     uint64 `json:"hash,omitempty"`
}

// ReplicaStatus is one replica a node keeps. Hash is set only by
// Runner.Settle.
type ReplicaStatus struct {
	Worker    string `json:"worker"`
	Owner     string `json:"owner"`
	Epoch     uint64 `json:"epoch"`
	Seq       uint64 `json:"seq"`
	AgeMs     int64  `json:"age_ms"`
	Keyframes uint64 `json:"keyframes"`
	Deltas    uint64 `json:"deltas"`
	Bytes     uint64 `json:"bytes"`
	Version   int64  `json:"version,omitempty"` // set by Runner.Settle
	Hash      uint64 `json:"hash,omitempty"`
}

// TakeoverStatus is one worker a node took over from a dead node: the
// replica's sequence number it started from, and when (Unix nanoseconds)
// the failure was detected and the worker ran again.
type TakeoverStatus struct {
	Worker     string `json:"worker"`
	From       string `json:"from"`
	Epoch      uint64 `json:"epoch"`
	Seq        uint64 `json:"seq"`
	DetectedNs int64  `json:"detected_ns"`
	RunningNs  int64  `json:"running_ns"`
}

// NodeStatus collects n's status. It works on any node, with or without
// workers and replicas.
func NodeStatus(n *node.Node) (Status, error) {
	st := Status{Node: n.Name(), Role: n.Role().String(), TimeMs: time.Now().UnixMilli(), Process: processStatus()}
	if b, ok, err := n.Backup(); err != nil {
		return st, err
	} else if ok {
		st.Backup = b
	}
	for _, m := range n.Members() {
		st.Members = append(st.Members, MemberStatus{Name: m.Name, Role: m.Role.String(), Gossip: m.GossipAddr, Remote: m.RemoteAddr})
	}
	ws, err := n.Workers()
	if err != nil {
		return st, err
	}
	for _, w := range ws {
		s := w.Status
		st.Workers = append(st.Workers, WorkerStatus{
			ID: w.ID, Epoch: w.Epoch, TakenFrom: w.TakenFrom,
			Steps: s.Steps, Seq: s.Seq, Acked: s.AckedSeq, Lag: s.AckLag,
			Keyframes: s.Keyframes, Deltas: s.Deltas, BytesSent: s.BytesSent, BytesFull: s.FullStateBytes,
			NeedKeyframes: s.NeedKeyframes, AckTimeouts: s.AckTimeouts, LinkLosses: s.LinkLosses,
		})
	}
	rs, err := n.Replicas()
	if err != nil {
		return st, err
	}
	now := time.Now()
	for _, r := range rs {
		st.Replicas = append(st.Replicas, ReplicaStatus{
			Worker: r.Worker, Owner: r.Owner, Epoch: r.Epoch, Seq: r.Seq, AgeMs: now.Sub(r.Updated).Milliseconds(),
			Keyframes: r.Keyframes, Deltas: r.Deltas, Bytes: r.Bytes,
		})
	}
	tos, err := n.Takeovers()
	if err != nil {
		return st, err
	}
	for _, t := range tos {
		st.Takeovers = append(st.Takeovers, TakeoverStatus{
			Worker: t.Worker, From: t.From, Epoch: t.Epoch, Seq: t.Seq,
			DetectedNs: t.Detected.UnixNano(), RunningNs: t.Running.UnixNano(),
		})
	}
	return st, nil
}

// SpawnStatusService registers the status service on n under StatusName.
// status makes the answer (NodeStatus when nil).
func SpawnStatusService(n *node.Node, status func() (Status, error)) error {
	if status == nil {
		status = func() (Status, error) { return NodeStatus(n) }
	}
	_, err := n.Spawn(StatusName, n.PropsFromFunc(func(ctx actor.Context) {
		if ctx.Message() != statusRequest {
			return
		}
		var reply term.Term
		st, err := status()
		if err == nil {
			reply, err = term.Marshal(st)
		}
		if err != nil {
			reply = term.NewTuple(term.Atom("error"), term.NewBinary([]byte(err.Error())))
		}
		if err := n.Reply(ctx, reply); err != nil {
			n.Logger().Warn("status: reply failed", "err", err)
		}
	}))
	return err
}

// QueryStatus asks the status service of nodeName, through n, for its
// status.
func QueryStatus(ctx context.Context, n *node.Node, nodeName string) (Status, error) {
	res, err := n.Call(ctx, node.ProcessID{Name: StatusName, Node: nodeName}, statusRequest)
	if err != nil {
		return Status{}, fmt.Errorf("%w: %s: %w", ErrStatus, nodeName, err)
	}
	t, ok := res.(term.Term)
	if !ok {
		return Status{}, fmt.Errorf("%w: %s answered %T", ErrStatus, nodeName, res)
	}
	if tup, ok := t.(*term.Tuple); ok && tup.Len() == 2 && tup.At(0) == term.Atom("error") {
		return Status{}, fmt.Errorf("%w: %s: %s", ErrStatus, nodeName, term.Format(tup.At(1)))
	}
	var st Status
	if err := term.Unmarshal(t, &st); err != nil {
		return Status{}, fmt.Errorf("%w: %s: %w", ErrStatus, nodeName, err)
	}
	return st, nil
}
