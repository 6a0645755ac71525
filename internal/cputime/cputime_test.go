package cputime

import (
	"runtime"
	"testing"
)

func TestNowGrows(t *testing.T) {
	start := Now()
	if start == 0 {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
			t.Fatalf("Now() = 0 on %s", runtime.GOOS)
		}
		return
	}
	x := 0
	for end := start; end == start; end = Now() {
		for i := range 1 << 20 {
			x += i
		}
	}
	_ = x
}
