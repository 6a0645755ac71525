// Package cputime measures the CPU time a process used, for benchmarks: on
// a shared machine it is a steadier measure than wall time, which also
// counts the time spent descheduled.
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Now returns the process's user plus system CPU time so far, or 0 where
// the platform does not say.
func Now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report adds the CPU nanoseconds per operation since start to b's output
// as "cpu-ns/op".
func Report(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(Now()-start)/float64(b.N), "cpu-ns/op")
	}
}
