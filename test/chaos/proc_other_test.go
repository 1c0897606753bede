//go:build !linux

package chaos

import (
	"errors"
	"os/exec"
	"syscall"
)

// signalsSupported is false: the suite needs process groups and SIGSTOP
// (and the nodes' memory figures come from /proc), so its scenarios skip on other systems.
const signalsSupported = false

var errUnsupported = errors.New("chaos: process faults need Linux")

func detach(cmd *exec.Cmd) {}

func signalGroup(pid int, sig syscall.Signal) error { return errUnsupported }
