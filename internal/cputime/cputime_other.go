//go:build !unix && !windows

package cputime

import "time"

func now() time.Duration { return 0 }
