// Command service-b is Tracer's example business service: a gRPC service
// (Business: Search, Process) that calls service-c, in parallel, over a
// stream, with retries, and from a background worker fed by an in-process
// queue. Its spans go to a Tracer collector over OTLP/gRPC.
//
//	go run ./examples/service-b --service-c=localhost:8002
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
	fs := flag.NewFlagSet("service-b", flag.ContinueOnError)
	listen := fs.String("listen", "localhost:8001", "address to serve gRPC on")
	var cfg demo.ServiceBConfig
	fs.StringVar(&cfg.ServiceC, "service-c", "localhost:8002", "address of service-c (host:port)")
	fs.StringVar(&cfg.Collector, "collector", "localhost:4317", "OTLP/gRPC endpoint to send spans to (no TLS)")
	fs.DurationVar(&cfg.Skew, "skew", 0, "shift every reported timestamp by this much, as a host with a wrong clock would")
	fs.StringVar(&cfg.InstanceID, "instance-id", "", "service.instance.id, the service's vector-clock node (default: generated)")
	fs.IntVar(&cfg.QueueSize, "queue-size", demo.DefaultQueueSize, "bound of the background worker's queue; jobs past it are dropped")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `service-b is Tracer's example business service: gRPC Search and Process,
calling service-c in parallel, over a stream, with retries, and from a
background worker. service-a calls it.

Example:
  go run ./examples/service-b --service-c=localhost:8002 --collector=localhost:4317

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
		return fmt.Errorf("service-b: unexpected arguments: %q", fs.Args())
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("service-b: %w", err)
	}
	return demo.RunServiceB(ctx, lis, cfg)
}
