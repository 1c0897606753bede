//go:build !linux

package demo

// residentMemory is not measured off Linux: both are 0.
func residentMemory() (rss uint64, threads int) { return 0, 0 }
