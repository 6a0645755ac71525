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

	openStore storeOpener                // openStore when nil; tests give a fake
	started   func(*collector.Collector) // tests: called once the collector runs
}

// NewMain returns a Main on the process's stdio and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}

const usage = `tracer: an OpenTelemetry-compatible distributed tracing system.

Usage:
  tracer <command> [flags]

Commands:
  collector    receive OTLP traces (gRPC :4317, HTTP :4318) into storage
  all-in-one   collector, query API and UI in one process (not yet available)
  query        the query API and web UI (not yet available)
  agent        forward a service's spans to collectors (not yet available)
  ingester     write spans from Kafka into storage (not yet available)
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
	case "all-in-one", "query", "agent", "ingester":
		return fmt.Errorf("command %q is not yet available in this build: only \"collector\" is", cmd)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("unknown command %q", strings.TrimSpace(cmd))
	}
}
