// Package cputime measures the CPU time a process used, for benchmarks: on
// a shared machine it is a steadier measure than wall time, which also
// counts the time spent descheduled. It builds on every GOOS; where the
// platform does not say (js, wasip1, plan9), Now returns 0.
package cputime
