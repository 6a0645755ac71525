package main

import (
	"errors"
	"fmt"
	"time"
)

var nowForTest = time.Unix(1_700_000_000, 0)

// fmtSscan reads the request and span counts of run's output line.
func fmtSscan(out string, req, spans *int) (int, error) {
	return fmt.Sscanf(out, "requests %d spans %d", req, spans)
}

// errorsUnwrapAll returns the innermost error of a chain of single wraps.
func errorsUnwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
