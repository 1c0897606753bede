//go:build linux

package demo

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// residentMemory reads this process's resident memory (bytes) and thread
// count from /proc/self/status; what cannot be read is 0.
func residentMemory() (rss uint64, threads int) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if !ok || len(fields) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
				rss = kb * 1024
			}
		case "Threads":
			if n, err := strconv.Atoi(fields[0]); err == nil {
				threads = n
			}
		}
	}
	return rss, threads
}
