//go:build !linux

package delta

// threadCPU is not available here: benchmarks report wall time only.
func threadCPU() (int64, bool) { return 0, false }
