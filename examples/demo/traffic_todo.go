package demo

// TODO(issue 12): the traffic generator replaces this stub; its author deletes this file.

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

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
