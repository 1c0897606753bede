//go:build !chaoshooks

package actors

// The chaos suite's fault hooks (test/chaos, TestCheckerCatches*) break the
// runtime on purpose to show that the suite's checker notices. They exist
// only in binaries built with -tags chaoshooks (see chaoshooks_on.go); in
// every other build, this file's constant answers let the compiler remove
// the checks, so no flag, setting or message of a production binary can
// reach them.

// hookIgnoreFenced says whether a worker ignores Fenced (fencing broken).
func hookIgnoreFenced() bool { return false }

// hookAckUnstored says whether the replica_handler acknowledges update r
// without storing it (acknowledgement broken).
func hookAckUnstored(Store, Replica) bool { return false }
