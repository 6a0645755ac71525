//go:build !unix

package chtest

import (
	"errors"
	"os"
)

// Without job-control signals a process cannot be paused.
func stop(*os.Process) error { return errors.New("pausing a process needs unix signals") }
func cont(*os.Process) error { return nil }
