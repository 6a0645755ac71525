package backend_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/tracerdev/tracer/internal/chtest"
)

// server is the clickhouse-server of this test binary.
var server *chtest.Server

func TestMain(m *testing.M) {
	server = chtest.Start()
	goleak.VerifyTestMain(chtest.Main(m, server))
}
