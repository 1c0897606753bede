//go:build !linux

package chaos

import (
	"errors"
	"os/exec"
	"syscall"
)

// signalsSupported is false: the suite needs process groups, SIGSTOP and
// /proc, so its scenarios skip on other systems.
const signalsSupported = false

var errUnsupported = errors.New("chaos: process faults need Linux")

func detach(cmd *exec.Cmd) {}

func signalGroup(pid int, sig syscall.Signal) error { return errUnsupported }

func procMemory(pid int) (uint64, int, error) { return 0, 0, errUnsupported }
