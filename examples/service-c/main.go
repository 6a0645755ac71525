// Command service-c is Tracer's example data service: a gRPC service (Data:
// Get, Put, Scan) with a cache in front of a simulated database whose
// queries take a few milliseconds, sometimes hundreds, and sometimes fail.
// Its spans go to a Tracer collector over OTLP/gRPC.
//
//	go run ./examples/service-c
//	go run ./examples/service-c --listen=localhost:8002 --collector=localhost:4317 --skew=250ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/tracerdev/tracer/examples/demo"
)

func main() {
	err := run(os.Args[1:])
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		os.Exit(2) // the flag package has said what is wrong
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// usageError is a command line the flag package rejected (and reported).
type usageError struct{ error }

func run(args []string) error {
	fs := flag.NewFlagSet("service-c", flag.ContinueOnError)
	listen := fs.String("listen", "localhost:8002", "address to serve gRPC on")
	var cfg demo.ServiceCConfig
	fs.StringVar(&cfg.Collector, "collector", "localhost:4317", "OTLP/gRPC endpoint to send spans to (no TLS)")
	fs.DurationVar(&cfg.Skew, "skew", 0, "shift every reported timestamp by this much, as a host with a wrong clock would")
	fs.StringVar(&cfg.InstanceID, "instance-id", "", "service.instance.id, the service's vector-clock node (default: generated)")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", demo.DefaultErrorRate, "share of database queries that fail with Unavailable, 0 to 1")
	fs.Float64Var(&cfg.SlowRate, "slow-rate", demo.DefaultSlowRate, "share of database queries that take hundreds of milliseconds, 0 to 1")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `service-c is Tracer's example data service: gRPC Get, Put and Scan over a
cache in front of a simulated database (a few ms per query, some slow, some
failing). service-b calls it.

Example:
  go run ./examples/service-c --listen=localhost:8002 --collector=localhost:4317

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("service-c: unexpected arguments: %q", fs.Args())
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("service-c: %w", err)
	}
	return demo.RunServiceC(ctx, lis, cfg)
}
