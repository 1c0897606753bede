// Package chaos is enode's chaos suite: it runs real node processes on
// 127.0.0.1 (the same binary users run: the worker-backup example's node
// mode), drives worker load, injects faults with real signals (SIGKILL,
// SIGSTOP/SIGCONT) and restarts, and checks the N+1 invariants against what
// the nodes report and what an independent checker records as it happens.
//
// The package has no API: everything is in its tests.
//
// # What is checked
//
// An observer node in the test process joins the cluster and polls every
// node's enode_status service about ten times a second. From those answers
// the checker records each worker's acknowledged sequence numbers per
// incarnation (node process and epoch), every takeover, and every moment two
// live copies of a worker were seen. After each fault has settled and at the
// end of a scenario it verifies:
//
//  1. no acknowledged update is lost: a taken-over worker restarts from a
//     sequence (and a state Version) at or after everything acknowledged
//     before, and every worker's final state is at or after its last
//     acknowledged one;
//  2. once the cluster has converged every worker runs exactly once (the
//     longest window with two copies is reported);
//  3. after load stops, every worker's state equals its replica on its
//     owner's backup, by hash, within a bounded time;
//  4. every node process's resident memory stays under a bound;
//  5. no node process exits except those the harness killed.
//
// # Running
//
//	go test ./test/chaos/                          # short profile, about 3 minutes
//	go test ./test/chaos/ -run Soak -chaos.duration=30m -chaos.faults=1000 -timeout 60m
//	go test ./test/chaos/ -run Soak -chaos.seed=42  # replay a failing seed
//
// Each scenario prints a figures table (faults, failovers, detection and
// failover times, acknowledged updates lost, longest duplicate window,
// convergence time, peak memory per node, seed) to the test log. -short
// skips the suite.
package chaos
