package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tracerdev/tracer/collector"
)

// Main is the tracer program with its environment, so that tests run it in
// process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the environment, telling an empty variable from an
	// unset one; os.LookupEnv by default.
	LookupEnv func(string) (string, bool)
	// Abort, when closed, cuts a server's graceful shutdown short: what is
	// not written stays in the WAL. main closes it on a second SIGINT or
	// SIGTERM (the first cancels Run's context). Nil: never.
	Abort <-chan struct{}

	openStore storeOpener // openStore when nil; tests give a fake
	// started, for tests, is called once every server of the command
	// listens, with the collector (nil for tracer query).
	started func(*collector.Collector)
	// demo, for tests, replaces the example services and traffic of
	// all-in-one --demo.
	demo *demoRunners
}

// NewMain returns a Main on the process's stdio and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}

const usage = `tracer: an OpenTelemetry-compatible distributed tracing system.

Usage:
  tracer <command> [flags]

Commands:
  all-in-one   the collector, the query API and the UI in one process, on the
               embedded store: the quickest start (OTLP on :4317 and :4318,
               UI and API on http://localhost:8080/)
  collector    receive OTLP traces (gRPC :4317, HTTP :4318) into storage
  query        the query API and the UI (:8080) over storage that collectors
               write from other processes (ClickHouse)
  agent        beside the services: OTLP in on localhost (:4317, :4318), its
               own WAL, forwarded to collectors (--collector) with failover
  ingester     write spans from Kafka (that collectors with --sink kafka
               fill) into storage, in a consumer group
  help         show this help

Run "tracer <command> --help" for a command's flags.
`

// Run runs the command that args name, until ctx is done for servers.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "collector":
		return m.runCollector(ctx, rest)
	case "all-in-one":
		return m.runAllInOne(ctx, rest)
	case "query":
		return m.runQuery(ctx, rest)
	case "agent":
		return m.runAgent(ctx, rest)
	case "ingester":
		return m.runIngester(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("unknown command %q", strings.TrimSpace(cmd))
	}
}
