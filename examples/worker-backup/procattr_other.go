//go:build !linux

package main

import "os/exec"

// detach does nothing here: only Linux has parent-death signals. Nodes still
// exit when their stdin (the coordinator's pipe) closes.
func detach(cmd *exec.Cmd) {}

// killHard kills a node with the platform's hard kill.
func killHard(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
