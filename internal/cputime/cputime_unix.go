//go:build unix

// Package cputime reads the CPU time the process has used, for the
// benchmarks that report CPU seconds beside wall time.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system) this process has used so
// far, all its threads; 0 when it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
