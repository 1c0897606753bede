//go:build linux

package chaos

import (
	"fmt"
	"os/exec"
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
