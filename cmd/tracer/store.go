package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/memory"
)

// openStore opens the storage backend cfg names.
func openStore(ctx context.Context, cfg collector.StorageConfig, log *slog.Logger) (storage.Store, error) {
	switch cfg.Type {
	case collector.StorageMemory:
		var opts []memory.Option
		if cfg.Memory.MaxSpans > 0 {
			opts = append(opts, memory.WithMaxSpans(cfg.Memory.MaxSpans))
		}
		return memory.New(opts...), nil
	case collector.StorageBadger:
		s, err := badger.Open(cfg.Badger.Dir, badger.WithLogger(log.With("component", "badger")))
		if err != nil {
			return nil, fmt.Errorf("open badger store: %w", err)
		}
		return s, nil
	case collector.StorageClickHouse:
		c := clickhouse.NewDefaultConfig()
		c.Addr = cfg.ClickHouse.Addr
		c.Database = cfg.ClickHouse.Database
		c.Username = cfg.ClickHouse.Username
		c.Password = cfg.ClickHouse.Password
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("clickhouse storage: %w", err)
		}
		s, err := clickhouse.New(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("open clickhouse store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("storage type %q is not yet available", cfg.Type)
	}
}
