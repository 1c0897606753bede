package demo

import "runtime"

// ProcessStatus is what a node's process costs: its goroutines (from
// runtime.NumGoroutine), its resident memory and its OS threads (from
// /proc/self/status on Linux; zero where that is not available). The chaos
// suite bounds all three across a run (invariant 4).
type ProcessStatus struct {
	Goroutines int    `json:"goroutines"`
	RSSBytes   uint64 `json:"rss_bytes"`
	Threads    int    `json:"threads"`
}

// processStatus measures this process.
func processStatus() ProcessStatus {
	p := ProcessStatus{Goroutines: runtime.NumGoroutine()}
	p.RSSBytes, p.Threads = residentMemory()
	return p
}
