//go:build linux

package chaos

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// signalsSupported says whether the scenarios can run here.
const signalsSupported = true

// detach puts a node in its own process group (so that signals reach the
// node alone and cleanup can kill the whole group) and has the kernel kill
// it if the test process dies without cleaning up.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the node's process group.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pid, err)
	}
	return nil
}

// procMemory reads a process's resident memory (bytes) and thread count
// from /proc.
func procMemory(pid int) (rss uint64, threads int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			kb, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			rss = kb * 1024
		case "Threads":
			threads, err = strconv.Atoi(fields[0])
			if err != nil {
				return 0, 0, fmt.Errorf("threads %q: %w", v, err)
			}
		}
	}
	return rss, threads, sc.Err()
}
