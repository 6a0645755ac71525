package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
)

// openStore opens the storage backend cfg names.
func openStore(ctx context.Context, cfg collector.StorageConfig, log *slog.Logger) (storage.Store, error) {
	switch cfg.Type {
	default:
		return nil, fmt.Errorf("storage type %q is not yet available", cfg.Type)
	}
}
