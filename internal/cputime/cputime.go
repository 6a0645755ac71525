package cputime

import (
	"testing"
	"time"
)

// Now returns the process's user plus system CPU time so far, or 0 where
// the platform does not say.
func Now() time.Duration { return now() }

// Report adds the CPU nanoseconds per operation since start to b's output
// as "cpu-ns/op". Where Now is 0 it reports nothing.
func Report(b *testing.B, start time.Duration) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(Now()-start)/float64(b.N), "cpu-ns/op")
	}
}
