//go:build unix

package chtest

import (
	"os"
	"syscall"
)

// stop and cont pause and continue a process with job-control signals.
func stop(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
func cont(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
