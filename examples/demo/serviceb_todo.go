package demo

// TODO(issue 12): service-b replaces this stub; its author deletes this file.

import (
	"context"
	"errors"
	"log/slog"
	"net"
)

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
