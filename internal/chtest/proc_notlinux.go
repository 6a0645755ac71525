//go:build !linux

package chtest

import "syscall"

// sysProcAttr is nil where there is no parent-death signal: a killed test
// binary may leave the server running (ClickHouse's package is Linux's).
func sysProcAttr() *syscall.SysProcAttr { return nil }
