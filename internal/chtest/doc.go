// Package chtest starts a real clickhouse-server (Debian's package) for
// tests: on free 127.0.0.1 ports, in a temporary directory, with a generated
// minimal configuration, and stops it by its process id.
//
// One server serves a whole test binary; each test gets a fresh database:
//
//	var server *chtest.Server
//
//	func TestMain(m *testing.M) {
//		server = chtest.Start()
//		goleak.VerifyTestMain(chtest.Main(m, server))
//	}
//
//	func TestX(t *testing.T) {
//		db := server.NewDatabase(t) // skips, or fails under TRACER_REQUIRE_CLICKHOUSE=1
//		...
//	}
//
// When the server binary is missing, NewDatabase skips the test with a
// message saying how to install it, unless the environment variable
// TRACER_REQUIRE_CLICKHOUSE is 1 (as `make test` sets it), in which case the
// test fails.
package chtest
