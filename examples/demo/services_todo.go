package demo

// TODO(issue 12): the services and the traffic generator replace these
// stubs; each helper deletes its own.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"
)

// ServiceCConfig configures service-c, the data service.
type ServiceCConfig struct {
	Telemetry
	// ErrorRate is the share of database queries that fail (Unavailable).
	ErrorRate float64
	// SlowRate is the share of database queries that are slow.
	SlowRate float64
	Logger   *slog.Logger
}

// RunServiceC serves service-c's gRPC Data service on lis until ctx is done,
// then stops gracefully and flushes its spans.
func RunServiceC(ctx context.Context, lis net.Listener, cfg ServiceCConfig) error {
	return errors.New("demo: service-c is not built yet")
}

// ServiceBConfig configures service-b, the business service.
type ServiceBConfig struct {
	Telemetry
	// ServiceC is the address of service-c (host:port).
	ServiceC string
	Logger   *slog.Logger
}

// RunServiceB serves service-b's gRPC Business service on lis until ctx is
// done, then stops gracefully, drains its background worker and flushes its
// spans.
func RunServiceB(ctx context.Context, lis net.Listener, cfg ServiceBConfig) error {
	return errors.New("demo: service-b is not built yet")
}

// ServiceAConfig configures service-a, the HTTP gateway.
type ServiceAConfig struct {
	Telemetry
	// ServiceB is the address of service-b (host:port).
	ServiceB string
	Logger   *slog.Logger
}

// RunServiceA serves service-a's HTTP API on lis until ctx is done, then
// shuts down gracefully and flushes its spans.
func RunServiceA(ctx context.Context, lis net.Listener, cfg ServiceAConfig) error {
	return errors.New("demo: service-a is not built yet")
}

// TrafficConfig configures the traffic generator.
type TrafficConfig struct {
	// Target is service-a's base URL, such as http://localhost:8000.
	Target string
	// Rate is requests per second over all workers.
	Rate float64
	// Duration is how long to send; 0 sends until ctx is done.
	Duration time.Duration
	// Concurrency is the number of requests in flight at most.
	Concurrency int
	// Progress, when set, is called about every Interval with the totals.
	Progress func(TrafficStats)
	Interval time.Duration
	Logger   *slog.Logger
}

// TrafficStats counts what the generator sent.
type TrafficStats struct {
	Requests int64 // answered, whatever the status
	Failed   int64 // answered with a 5xx, or not answered
	Elapsed  time.Duration
}

// RunTraffic sends a mix of search and process requests to cfg.Target at
// cfg.Rate until cfg.Duration has passed or ctx is done, and returns the
// totals.
func RunTraffic(ctx context.Context, cfg TrafficConfig) (TrafficStats, error) {
	return TrafficStats{}, errors.New("demo: traffic is not built yet")
}
