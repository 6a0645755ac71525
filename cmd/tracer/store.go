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
		c, err := clickhouseConfig(cfg.ClickHouse)
		if err != nil {
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

// clickhouseConfig turns the collector's ClickHouse options into the
// backend's configuration, starting from its defaults.
func clickhouseConfig(in collector.ClickHouseStorageConfig) (clickhouse.Config, error) {
	c := clickhouse.NewDefaultConfig()
	c.Addr = in.Addr
	c.Database = in.Database
	c.Username = in.Username
	c.Password = in.Password
	if in.BatchSize > 0 {
		c.BatchSize = in.BatchSize
	}
	if in.MaxConcurrentBatches > 0 {
		c.MaxConcurrentBatches = in.MaxConcurrentBatches
	}
	c.Cluster.Name = in.Cluster
	c.Cluster.Replicated = in.Replicated
	c.Cluster.Distributed = in.Distributed
	c.TLS = clickhouse.TLSConfig{
		Enabled:            in.TLS.Enabled,
		CAFile:             in.TLS.CAFile,
		ServerName:         in.TLS.ServerName,
		InsecureSkipVerify: in.TLS.InsecureSkipVerify,
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
