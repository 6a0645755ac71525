package main

import (
	"context"
	"log/slog"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
)

// openStore opens the storage backend cfg names, through the storage
// factory.
func openStore(ctx context.Context, cfg collector.StorageConfig, log *slog.Logger) (storage.Store, error) {
	return backend.Open(ctx, cfg.Config, log)
}
