package clickhouse_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/tracerdev/tracer/internal/chtest"
)

// server is the one clickhouse-server of this test binary; each test gets a
// fresh database on it.
var server *chtest.Server

func TestMain(m *testing.M) {
	server = chtest.Start()
	goleak.VerifyTestMain(chtest.Main(m, server))
}
