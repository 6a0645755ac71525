package demo

// TODO(issue 12): service-a replaces this stub; its author deletes this file.

import (
	"context"
	"errors"
	"log/slog"
	"net"
)

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
