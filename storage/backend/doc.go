// Package backend is the storage factory: it opens the storage.Store that
// one Config names (memory, the embedded Badger store or ClickHouse), so
// that the binary, the tests and the tools configure and open a backend
// the same way.
//
//	cfg := backend.NewDefaultConfig()
//	cfg.Type = backend.TypeClickHouse
//	cfg.ClickHouse.Addr = []string{"ch1:9000"}
//	store, err := backend.Open(ctx, cfg, logger)
//
// Config's YAML keys are the binary's storage section (type, retention,
// memory.max_spans, badger.dir, clickhouse.*, limits.*). Each backend's
// own configuration stays in its package (clickhouse.Config is the one of
// ClickHouse); this package only selects, validates and opens.
package backend
