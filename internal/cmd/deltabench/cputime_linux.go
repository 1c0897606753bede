//go:build linux

package main

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID: the CPU time of the
// calling OS thread.
const clockThreadCPUTime = 3

// cpuClock reads the CPU time of the calling thread: with the goroutine
// locked to its thread, the difference of two readings is the CPU the
// measured code used, whatever else the (shared) machine is doing. GC work
// done by other threads is not counted.
type cpuClock struct{}

func newCPUClock() cpuClock {
	runtime.LockOSThread()
	return cpuClock{}
}

func (cpuClock) now() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}

const clockName = "thread CPU time"
