//go:build linux

package main

import (
	"os/exec"
	"syscall"
)

// detach puts a node in its own process group, so that a Ctrl-C in the
// terminal reaches only the coordinator (which then kills the nodes), and
// has the kernel kill it if the coordinator dies without cleaning up.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killHard kills a node's whole process group with SIGKILL.
func killHard(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}
