//go:build !plan9

package wal

import (
	"errors"
	"syscall"
)

// isNoSpace reports whether err says that the disk is full.
func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }
