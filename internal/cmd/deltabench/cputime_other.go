//go:build !linux

package main

import "time"

// cpuClock falls back to wall-clock time where the thread CPU clock is not
// available.
type cpuClock struct{}

func newCPUClock() cpuClock { return cpuClock{} }

func (cpuClock) now() time.Duration { return time.Duration(time.Now().UnixNano()) }

const clockName = "wall-clock time"
