// Command service-a is Tracer's example HTTP gateway: GET
// /api/v1/search?q= and GET /api/v1/process?data=, calling service-b over
// gRPC, traced with the OpenTelemetry HTTP instrumentation and Tracer's
// clock. See package demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracerdev/tracer/examples/demo"
)

const usage = `service-a is Tracer's example HTTP gateway: it serves
  GET /api/v1/search?q=...      (calls service-b's Search)
  GET /api/v1/process?data=...  (calls service-b's Process)
  GET /healthz
and reports its spans over OTLP/gRPC to a Tracer collector.

Run the three services, then ask:
  go run ./examples/service-c
  go run ./examples/service-b --service-c=localhost:8002
  go run ./examples/service-a --service-b=localhost:8001
  curl 'http://localhost:8000/api/v1/search?q=example'

Flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "service-a:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("service-a", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "localhost:8000", "HTTP `address` to serve on")
	serviceB := fs.String("service-b", "localhost:8001", "service-b's gRPC `address`")
	collector := fs.String("collector", "localhost:4317", "OTLP/gRPC `address` of the collector spans go to")
	skew := fs.Duration("skew", 0, "shift every reported timestamp by this `offset` (a host with a wrong clock)")
	instance := fs.String("instance-id", "", "service.instance.id, the service's node in the vector clock (default: generated)")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on each call to service-b")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return demo.RunServiceA(ctx, lis, demo.ServiceAConfig{
		Telemetry: demo.Telemetry{Collector: *collector, Skew: *skew, InstanceID: *instance},
		ServiceB:  *serviceB,
		Timeout:   *timeout,
		Logger:    slog.New(slog.NewTextHandler(stderr, nil)),
	})
}
