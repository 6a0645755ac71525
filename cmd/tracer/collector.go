package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/collector"
)

const collectorUsage = `Usage: tracer collector [flags]

Receives OTLP traces from any OpenTelemetry client (OTLP/gRPC TraceService on
--grpc-endpoint, OTLP/HTTP POST /v1/traces on --http-endpoint, protobuf or
JSON, gzip or not), keeps each acknowledged request in a write-ahead log
(--wal-dir) and writes the spans to storage in batches. On SIGINT or SIGTERM
it stops intake, writes what it can within --shutdown-timeout and leaves the
rest in the WAL for the next start.

Health: GET /health and Prometheus metrics: GET /metrics on
--telemetry-endpoint.

Configuration, later sources win:
  1. defaults (below)
  2. a YAML file: --config or $TRACER_CONFIG (keys as in collector.Config:
     receivers.grpc.endpoint, wal.dir, storage.type, limits.max_request_bytes…)
  3. environment variables (named below)
  4. flags
Every problem in the result is reported at once.

Flags (environment variable in brackets):
`

// setting binds one configuration field to a flag and an environment
// variable.
type setting struct {
	name string // flag name
	env  string
	help string
	get  func(*collector.Config) string
	set  func(*collector.Config, string) error
}

type cfgPtr[T any] func(*config) *T

func strSetting(name, env, help string, p cfgPtr[string]) setting {
	return setting{name: name, env: env, help: help,
		get: func(c *collector.Config) string { return *p(c) },
		set: func(c *collector.Config, v string) error { *p(c) = v; return nil },
	}
}

func intSetting[T int | int64](name, env, help string, p cfgPtr[T]) setting {
	return setting{name: name, env: env, help: help,
		get: func(c *collector.Config) string { return strconv.FormatInt(int64(*p(c)), 10) },
		set: func(c *collector.Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not an integer: %q", v)
			}
			*p(c) = T(n)
			return nil
		},
	}
}

func boolSetting(name, env, help string, p cfgPtr[bool]) setting {
	return setting{name: name, env: env, help: help,
		get: func(c *collector.Config) string { return strconv.FormatBool(*p(c)) },
		set: func(c *collector.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("not true or false: %q", v)
			}
			*p(c) = b
			return nil
		},
	}
}

func durSetting(name, env, help string, p cfgPtr[time.Duration]) setting {
	return setting{name: name, env: env, help: help,
		get: func(c *collector.Config) string { return p(c).String() },
		set: func(c *collector.Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("not a duration: %q", v)
			}
			*p(c) = d
			return nil
		},
	}
}

func listSetting(name, env, help string, p cfgPtr[[]string]) setting {
	return setting{name: name, env: env, help: help,
		get: func(c *collector.Config) string { return strings.Join(*p(c), ",") },
		set: func(c *collector.Config, v string) error {
			var out []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p(c) = out
			return nil
		},
	}
}

type config = collector.Config

var collectorSettings = []setting{
	strSetting("grpc-endpoint", "TRACER_GRPC_ENDPOINT", "OTLP/gRPC listen address (empty disables; 0.0.0.0:4317 for remote clients)",
		func(c *config) *string { return &c.Receivers.GRPC.Endpoint }),
	strSetting("http-endpoint", "TRACER_HTTP_ENDPOINT", "OTLP/HTTP listen address (empty disables; 0.0.0.0:4318 for remote clients)",
		func(c *config) *string { return &c.Receivers.HTTP.Endpoint }),
	strSetting("telemetry-endpoint", "TRACER_TELEMETRY_ENDPOINT", "address of /health and /metrics (empty disables)",
		func(c *config) *string { return &c.Telemetry.Endpoint }),
	strSetting("wal-dir", "TRACER_WAL_DIR", "write-ahead log directory",
		func(c *config) *string { return &c.WAL.Dir }),
	strSetting("wal-sync", "TRACER_WAL_SYNC", "fsync policy: batch (fsync before acknowledging) or interval",
		func(c *config) *string { return &c.WAL.Sync }),
	intSetting("wal-max-bytes", "TRACER_WAL_MAX_BYTES", "WAL size cap; past it receivers answer with a retryable error",
		func(c *config) *int64 { return &c.WAL.MaxBytes }),
	intSetting("batch-size", "TRACER_BATCH_SIZE", "spans per storage write",
		func(c *config) *int { return &c.Batch.Size }),
	durSetting("batch-timeout", "TRACER_BATCH_TIMEOUT", "longest a span waits for its batch to fill",
		func(c *config) *time.Duration { return &c.Batch.Timeout }),
	strSetting("storage", "TRACER_STORAGE", "storage backend: memory, badger (embedded, on disk) or clickhouse",
		func(c *config) *string { return &c.Storage.Type }),
	strSetting("badger-dir", "TRACER_BADGER_DIR", "directory of the badger store",
		func(c *config) *string { return &c.Storage.Badger.Dir }),
	listSetting("clickhouse-addr", "TRACER_CLICKHOUSE_ADDR", "ClickHouse native addresses, comma-separated",
		func(c *config) *[]string { return &c.Storage.ClickHouse.Addr }),
	strSetting("clickhouse-database", "TRACER_CLICKHOUSE_DATABASE", "ClickHouse database (created if missing)",
		func(c *config) *string { return &c.Storage.ClickHouse.Database }),
	strSetting("clickhouse-username", "TRACER_CLICKHOUSE_USERNAME", "ClickHouse user (the password: $TRACER_CLICKHOUSE_PASSWORD or the YAML file)",
		func(c *config) *string { return &c.Storage.ClickHouse.Username }),
	boolSetting("clickhouse-tls", "TRACER_CLICKHOUSE_TLS", "use TLS to ClickHouse (its secure port is 9440)",
		func(c *config) *bool { return &c.Storage.ClickHouse.TLS.Enabled }),
	strSetting("clickhouse-tls-ca-file", "TRACER_CLICKHOUSE_TLS_CA_FILE", "PEM file of the CAs to trust for ClickHouse's certificate",
		func(c *config) *string { return &c.Storage.ClickHouse.TLS.CAFile }),
	intSetting("clickhouse-batch-size", "TRACER_CLICKHOUSE_BATCH_SIZE", "most spans per ClickHouse INSERT (0: the backend's default; flushes follow --batch-timeout)",
		func(c *config) *int { return &c.Storage.ClickHouse.BatchSize }),
	strSetting("clickhouse-cluster", "TRACER_CLICKHOUSE_CLUSTER", "ClickHouse cluster for ON CLUSTER DDL (empty: one server; replicated and distributed tables in the YAML file)",
		func(c *config) *string { return &c.Storage.ClickHouse.Cluster }),
	durSetting("retention", "TRACER_RETENTION", "delete spans older than this (0 keeps everything; ClickHouse drops whole days)",
		func(c *config) *time.Duration { return &c.Storage.Retention }),
	intSetting("memory-max-spans", "TRACER_MEMORY_MAX_SPANS", "spans the memory store keeps (0: its default)",
		func(c *config) *int { return &c.Storage.Memory.MaxSpans }),
	intSetting("max-request-bytes", "TRACER_MAX_REQUEST_BYTES", "largest request accepted (after gzip decompression)",
		func(c *config) *int { return &c.Limits.MaxRequestBytes }),
	intSetting("max-inflight-bytes", "TRACER_MAX_INFLIGHT_BYTES", "bytes of requests held in memory at once; past it receivers push back",
		func(c *config) *int64 { return &c.Limits.MaxInflightBytes }),
	strSetting("log-level", "TRACER_LOG_LEVEL", "debug, info, warn or error",
		func(c *config) *string { return &c.Telemetry.LogLevel }),
	strSetting("log-format", "TRACER_LOG_FORMAT", "text or json",
		func(c *config) *string { return &c.Telemetry.LogFormat }),
	durSetting("shutdown-timeout", "TRACER_SHUTDOWN_TIMEOUT", "how long shutdown may write before it leaves the rest in the WAL",
		func(c *config) *time.Duration { return &c.ShutdownTimeout }),
}

// defaultCollectorConfig is collector.NewDefaultConfig with the binary's
// data directories.
func defaultCollectorConfig() collector.Config {
	cfg := collector.NewDefaultConfig()
	cfg.WAL.Dir = "tracer-data/wal"
	cfg.Storage.Badger.Dir = "tracer-data/badger"
	return cfg
}

// loadCollectorConfig builds the configuration from defaults, the YAML
// file, the environment and flags, and validates it, reporting every
// problem at once.
func (m *Main) loadCollectorConfig(args []string) (collector.Config, error) {
	cfg := defaultCollectorConfig()
	fs := flag.NewFlagSet("tracer collector", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	configPath := fs.String("config", "", "YAML configuration file [TRACER_CONFIG]")
	vals := make(map[string]*string, len(collectorSettings))
	for _, s := range collectorSettings {
		vals[s.name] = fs.String(s.name, s.get(&cfg), s.help+" ["+s.env+"]")
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), collectorUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	path := *configPath
	if !set["config"] {
		path = m.Getenv("TRACER_CONFIG")
	}
	if path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, err
		}
	}
	if v := m.Getenv("TRACER_CLICKHOUSE_PASSWORD"); v != "" {
		cfg.Storage.ClickHouse.Password = v
	}
	for _, s := range collectorSettings {
		if v := m.Getenv(s.env); v != "" {
			if err := s.set(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", s.env, err))
			}
		}
	}
	for _, s := range collectorSettings {
		if set[s.name] {
			if err := s.set(&cfg, *vals[s.name]); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", s.name, err))
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// retentionInterval is how often retention runs: a twelfth of the age,
// between a minute and an hour.
func retentionInterval(age time.Duration) time.Duration {
	return min(max(age/12, time.Minute), time.Hour)
}

func newLogger(w io.Writer, cfg collector.TelemetryConfig) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (m *Main) runCollector(ctx context.Context, args []string) error {
	cfg, err := m.loadCollectorConfig(args)
	if err != nil {
		return err
	}
	return m.serveCollector(ctx, cfg)
}
