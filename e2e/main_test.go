package e2e

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/tracerdev/tracer/internal/chtest"
)

var server *chtest.Server

func TestMain(m *testing.M) {
	server = chtest.Start()
	goleak.VerifyTestMain(chtest.Main(m, server))
}
