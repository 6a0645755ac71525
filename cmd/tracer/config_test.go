package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testMain(env map[string]string) (*Main, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}, &out, &errOut
}

// TestConfigPrecedence: defaults < YAML file < environment < flags.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracer.yaml")
	yaml := `
receivers:
  grpc:
    endpoint: 127.0.0.1:5317
  http:
    endpoint: 127.0.0.1:5318
wal:
  dir: /from/yaml
  sync: interval
  sync_interval: 50ms
batch:
  size: 77
  timeout: 3s
storage:
  type: memory
limits:
  max_attributes: 9
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(map[string]string{
		"TRACER_CONFIG":        path,
		"TRACER_HTTP_ENDPOINT": "127.0.0.1:6318",
		"TRACER_BATCH_SIZE":    "88",
	})
	cfg, err := m.loadCollectorConfig([]string{"--batch-size", "99", "--wal-dir", "/from/flag"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"grpc endpoint (yaml)", cfg.Receivers.GRPC.Endpoint, "127.0.0.1:5317"},
		{"http endpoint (env over yaml)", cfg.Receivers.HTTP.Endpoint, "127.0.0.1:6318"},
		{"batch size (flag over env over yaml)", cfg.Batch.Size, 99},
		{"wal dir (flag over yaml)", cfg.WAL.Dir, "/from/flag"},
		{"wal sync (yaml)", cfg.WAL.Sync, "interval"},
		{"sync interval (yaml)", cfg.WAL.SyncInterval, 50 * time.Millisecond},
		{"batch timeout (yaml)", cfg.Batch.Timeout, 3 * time.Second},
		{"max attributes (yaml)", cfg.Limits.MaxAttributes, 9},
		{"telemetry endpoint (default)", cfg.Telemetry.Endpoint, "127.0.0.1:8888"},
		{"max name len (default)", cfg.Limits.MaxNameLen, 1024},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestConfigErrors: every problem is reported at once.
func TestConfigErrors(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_WAL_MAX_BYTES": "lots"})
	_, err := m.loadCollectorConfig([]string{
		"--batch-size", "0", "--storage", "nosql", "--grpc-endpoint", "nocolon", "--log-level", "loud", "--batch-timeout", "soon",
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"$TRACER_WAL_MAX_BYTES: not an integer",
		"--batch-timeout: not a duration",
		"batch.size must be positive",
		`storage.type must be one of memory, badger, clickhouse; got "nosql"`,
		"receivers.grpc.endpoint",
		"telemetry.log_level",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("wal:\n  dirr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(nil)
	if _, err := m.loadCollectorConfig([]string{"--config", bad}); err == nil || !strings.Contains(err.Error(), "dirr") {
		t.Errorf("unknown key: got %v, want an error naming it", err)
	}
	if _, err := m.loadCollectorConfig([]string{"--config", filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestHelpAndCommands(t *testing.T) {
	m, _, errOut := testMain(nil)
	err := m.Run(context.Background(), []string{"collector", "--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: tracer collector", "TRACER_WAL_DIR", "-grpc-endpoint", "YAML", "/health"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}

	m, out, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"help"}); err != nil {
		t.Errorf("help: %v", err)
	}
	if !strings.Contains(out.String(), "collector") {
		t.Errorf("help output lacks the collector command: %s", out)
	}
	for _, cmd := range []string{"all-in-one", "query", "agent", "ingester"} {
		err := m.Run(context.Background(), []string{cmd})
		if err == nil || !strings.Contains(err.Error(), "not yet available") {
			t.Errorf("%s: got %v, want a not-yet-available error", cmd, err)
		}
	}
	if err := m.Run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Error("unknown command: want an error")
	}
	if err := m.Run(context.Background(), nil); err == nil {
		t.Error("no command: want an error")
	}
}
