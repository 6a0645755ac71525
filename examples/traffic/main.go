// Command traffic sends a mix of requests to Tracer's example service-a at
// a steady rate, for a while, and prints what came back. See package demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracerdev/tracer/examples/demo"
)

const usage = `traffic sends requests to Tracer's example gateway, service-a, at a
steady rate (mostly searches, some process requests, a few bad requests
that get a 400), prints progress every few seconds and a summary at the
end, and stops by itself after --duration (or on Ctrl-C).

Start the services first, then:
  go run ./examples/traffic
  go run ./examples/traffic --rate=20 --duration=5m

Flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "traffic:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("traffic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	target := fs.String("target", "http://localhost:8000", "service-a's base `URL`")
	rate := fs.Float64("rate", 5, "requests per second")
	duration := fs.Duration("duration", time.Minute, "how long to send (0: until Ctrl-C)")
	concurrency := fs.Int("concurrency", 8, "requests in flight at most (a request due while all are busy is skipped)")
	every := fs.Duration("progress", 5*time.Second, "how often to print progress")
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
	fmt.Fprintf(stdout, "sending %g requests/s to %s for %s (at most %d in flight)\n", *rate, *target, *duration, *concurrency)
	stats, err := demo.RunTraffic(ctx, demo.TrafficConfig{
		Target:      *target,
		Rate:        *rate,
		Duration:    *duration,
		Concurrency: *concurrency,
		Interval:    *every,
		Progress: func(s demo.TrafficStats) {
			fmt.Fprintf(stdout, "%s: %d sent, %d answered (%d 2xx, %d 4xx, %d 5xx), %d not answered\n",
				s.Elapsed.Round(time.Second), s.Sent, s.Requests, s.Status2xx, s.Status4xx, s.Status5xx, s.NoAnswer)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "done:", stats)
	switch {
	case stats.Sent == stats.Canceled || stats.Status2xx > 0:
		return nil
	case stats.Requests == 0:
		return fmt.Errorf("no request to %s was answered: is service-a running? Start it with\n  go run ./examples/service-a --service-b=localhost:8001", *target)
	default:
		return fmt.Errorf("no request to %s succeeded (%d 4xx, %d 5xx): are service-b and service-c running?", *target, stats.Status4xx, stats.Status5xx)
	}
}
