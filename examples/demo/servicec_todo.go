package demo

// TODO(issue 12): service-c replaces this stub; its author deletes this file.

import (
	"context"
	"errors"
	"log/slog"
	"net"
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
