package chdb

import (
	"os"
	"testing"

	"github.com/tracerdev/tracer/internal/chtest"
)

// Require skips t when chdb is not installed, or fails it when
// chtest.RequireEnv is 1 (as the test command sets it).
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv(chtest.RequireEnv) == "1" {
		t.Fatalf("chdb required (%s=1): %v", chtest.RequireEnv, err)
	}
	t.Skipf("%v (set %s=1 to make this a failure)", err, chtest.RequireEnv)
}
