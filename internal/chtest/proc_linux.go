package chtest

import "syscall"

// sysProcAttr makes the server die with the test binary even if it is
// killed.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
