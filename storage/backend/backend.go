package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/memory"
)

// Backend types, Config.Type.
const (
	TypeMemory     = "memory"
	TypeBadger     = "badger"
	TypeClickHouse = "clickhouse"
)

// Config selects and configures a storage backend. Start from
// NewDefaultConfig; only the section of the selected Type is used.
type Config struct {
	// Type is TypeMemory, TypeBadger or TypeClickHouse.
	Type string `yaml:"type"`
	// Retention is how long spans are kept (0: for ever). Open does not
	// apply it: whoever runs the store purges older spans through
	// storage.Purger, at the backend's granularity.
	Retention  time.Duration     `yaml:"retention"`
	Memory     MemoryConfig      `yaml:"memory"`
	Badger     BadgerConfig      `yaml:"badger"`
	ClickHouse clickhouse.Config `yaml:"clickhouse"`
	// Limits caps what the store's reader returns (zero fields: the
	// defaults); Open hands it to the backend.
	Limits storage.ReaderLimits `yaml:"limits"`
}

// MemoryConfig configures the in-memory backend.
type MemoryConfig struct {
	// MaxSpans caps the spans kept; 0 means the backend's default.
	MaxSpans int `yaml:"max_spans"`
	// MaxBytes caps the bytes of the spans kept (their strings and
	// slices); 0 means the backend's default, memory.DefaultMaxBytes.
	MaxBytes int64 `yaml:"max_bytes"`
}

// BadgerConfig configures the embedded on-disk backend.
type BadgerConfig struct {
	// Dir holds the store's files; it is created if missing.
	Dir string `yaml:"dir"`
}

// DefaultRetention is Config.Retention's default, Jaeger's for its
// embedded store.
const DefaultRetention = 72 * time.Hour

// NewDefaultConfig returns the defaults: the Badger backend (its Dir has
// no default and must be set), each backend's own defaults.
func NewDefaultConfig() Config {
	return Config{
		Type:       TypeBadger,
		Retention:  DefaultRetention,
		ClickHouse: clickhouse.NewDefaultConfig(),
	}
}

// Validate reports every problem of c at once, each named by its YAML key.
// Only the selected backend's section is checked.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Type {
	case TypeMemory:
		if c.Memory.MaxSpans < 0 {
			bad("memory.max_spans must not be negative, got %d", c.Memory.MaxSpans)
		}
		if c.Memory.MaxBytes < 0 {
			bad("memory.max_bytes must not be negative, got %d", c.Memory.MaxBytes)
		}
	case TypeBadger:
		if strings.TrimSpace(c.Badger.Dir) == "" {
			bad("badger.dir is required with type %s", TypeBadger)
		}
	case TypeClickHouse:
		for _, err := range split(c.ClickHouse.Validate()) {
			bad("clickhouse.%w", err)
		}
	default:
		bad("type must be one of %s, %s, %s; got %q", TypeMemory, TypeBadger, TypeClickHouse, c.Type)
	}
	if c.Retention < 0 {
		bad("retention must not be negative (0 keeps everything), got %s", c.Retention)
	}
	if l := c.Limits; l.MaxTraceSpans < 0 || l.MaxTraces < 0 || l.MaxDependencySpans < 0 {
		bad("limits must not be negative, got %+v", l)
	}
	return errors.Join(errs...)
}

// split returns the errors a joined error holds, or err alone.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Open validates cfg and opens the backend it selects; the caller closes
// the Store. log receives the backend's own logs (nil: slog.Default()).
// ctx bounds opening (connecting to ClickHouse and applying its schema),
// not the Store's life.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (storage.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("storage config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	switch cfg.Type {
	case TypeMemory:
		opts := []memory.Option{memory.WithReaderLimits(cfg.Limits)}
		if cfg.Memory.MaxSpans > 0 {
			opts = append(opts, memory.WithMaxSpans(cfg.Memory.MaxSpans))
		}
		if cfg.Memory.MaxBytes > 0 {
			opts = append(opts, memory.WithMaxBytes(cfg.Memory.MaxBytes))
		}
		return memory.New(opts...), nil
	case TypeBadger:
		s, err := badger.Open(cfg.Badger.Dir, badger.WithLogger(log.With("component", "badger")),
			badger.WithReaderLimits(cfg.Limits))
		if err != nil {
			return nil, fmt.Errorf("open badger store in %s: %w", cfg.Badger.Dir, err)
		}
		return s, nil
	default: // TypeClickHouse, as Validate checked
		ch := cfg.ClickHouse
		ch.Limits = cfg.Limits
		s, err := clickhouse.New(ctx, ch)
		if err != nil {
			return nil, fmt.Errorf("open clickhouse store: %w", err)
		}
		return s, nil
	}
}
