package backend_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func TestOpen(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  func(t *testing.T) backend.Config
	}{
		{"memory", func(t *testing.T) backend.Config {
			c := backend.NewDefaultConfig()
			c.Type = backend.TypeMemory
			c.Memory.MaxSpans = 100
			return c
		}},
		{"badger", func(t *testing.T) backend.Config {
			c := backend.NewDefaultConfig()
			c.Badger.Dir = filepath.Join(t.TempDir(), "badger")
			return c
		}},
		{"clickhouse", func(t *testing.T) backend.Config {
			c := backend.NewDefaultConfig()
			c.Type = backend.TypeClickHouse
			c.ClickHouse = server.Config(t)
			return c
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cfg := tt.cfg(t)
			cfg.Limits.MaxTraces = 7
			s, err := backend.Open(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			spans := storagetest.NewGenerator(1).Trace(time.Now().Add(-time.Minute), 3)
			if err := s.WriteSpans(ctx, spans); err != nil {
				t.Fatalf("WriteSpans: %v", err)
			}
			got, err := s.Trace(ctx, spans[0].TraceID)
			if err != nil {
				t.Fatalf("Trace: %v", err)
			}
			if d := storagetest.DiffSpans(got.Spans, spans); d != "" {
				t.Errorf("Trace differs:\n%s", d)
			}
			if tt.name == "clickhouse" {
				// The factory's Limits reach the backend.
				if _, err := s.FindTraces(ctx, storage.Query{Limit: 8}); !errors.Is(err, storage.ErrInvalidQuery) {
					t.Errorf("FindTraces over Limits.MaxTraces = %v, want ErrInvalidQuery", err)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*backend.Config)
		want []string // substrings of the error; none for valid
	}{
		{"badger default needs a dir", func(*backend.Config) {}, []string{"badger.dir"}},
		{"badger", func(c *backend.Config) { c.Badger.Dir = "/tmp/x" }, nil},
		{"memory", func(c *backend.Config) { c.Type = backend.TypeMemory }, nil},
		{"clickhouse defaults", func(c *backend.Config) { c.Type = backend.TypeClickHouse }, nil},
		{"unknown type", func(c *backend.Config) { c.Type = "cassandra" }, []string{"type must be one of"}},
		{"negative memory cap", func(c *backend.Config) { c.Type = backend.TypeMemory; c.Memory.MaxSpans = -1 }, []string{"memory.max_spans"}},
		{"every clickhouse problem, named by key", func(c *backend.Config) {
			c.Type = backend.TypeClickHouse
			c.ClickHouse.Addr = []string{"nohost"}
			c.ClickHouse.BatchSize = 0
			c.ClickHouse.Cluster.Distributed = true
		}, []string{"clickhouse.addr", "clickhouse.batch_size", "clickhouse.cluster"}},
		{"every problem at once", func(c *backend.Config) {
			c.Retention = -time.Hour
			c.Limits.MaxTraces = -1
		}, []string{"badger.dir", "retention", "limits"}},
		{"other sections are not checked", func(c *backend.Config) {
			c.Type = backend.TypeMemory
			c.ClickHouse.Addr = nil
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := backend.NewDefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors about %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want an error about %q", err, w)
				}
			}
			if _, oerr := backend.Open(context.Background(), cfg, nil); oerr == nil {
				t.Error("Open accepted an invalid config")
			}
		})
	}
}

// The YAML keys are those of the binary's storage section.
func TestYAMLKeys(t *testing.T) {
	const doc = `
type: clickhouse
retention: 48h
memory:
  max_spans: 1000
badger:
  dir: /var/lib/tracer
clickhouse:
  addr: [ch1:9000, ch2:9000]
  database: traces
  username: tracer
  password: secret
  tls:
    enabled: true
    ca_file: ""
    server_name: ch.example
    insecure_skip_verify: false
  dial_timeout: 3s
  read_timeout: 20s
  write_timeout: 40s
  max_open_conns: 4
  batch_size: 10000
  max_concurrent_batches: 3
  cluster: prod
  replicated: true
  replication_path: /ch/{shard}/{database}/{table}
  distributed: true
  local_ddl: false
`
	cfg := backend.NewDefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	ch := cfg.ClickHouse
	switch {
	case cfg.Type != backend.TypeClickHouse, cfg.Retention != 48*time.Hour, cfg.Memory.MaxSpans != 1000,
		cfg.Badger.Dir != "/var/lib/tracer":
		t.Errorf("storage keys: %+v", cfg)
	case len(ch.Addr) != 2, ch.Database != "traces", ch.Username != "tracer", ch.Password != "secret",
		!ch.TLS.Enabled, ch.TLS.ServerName != "ch.example", ch.DialTimeout != 3*time.Second,
		ch.ReadTimeout != 20*time.Second, ch.WriteTimeout != 40*time.Second, ch.MaxOpenConns != 4,
		ch.BatchSize != 10000, ch.MaxConcurrentBatches != 3:
		t.Errorf("clickhouse keys: %+v", ch)
	case ch.Cluster.Name != "prod", !ch.Cluster.Replicated, !ch.Cluster.Distributed,
		ch.Cluster.ReplicationPath != "/ch/{shard}/{database}/{table}":
		t.Errorf("clickhouse cluster keys: %+v", ch.Cluster)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
