package main

import (
	"strings"
	"testing"

	"github.com/tracerdev/tracer/storage/backend"
)

func TestClickHouseConfigValidate(t *testing.T) {
	cfg := defaultConfig()
	cfg.Storage.Type = backend.TypeClickHouse
	cfg.Storage.ClickHouse.Addr = []string{"no-port"}
	cfg.Storage.ClickHouse.BatchSize = -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad ClickHouse configuration")
	}
	for _, want := range []string{"storage.clickhouse.addr", "storage.clickhouse.batch_size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestClickHouseFlags(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_CLICKHOUSE_TLS": "true"})
	cfg, err := m.loadCollectorConfig([]string{"--storage", "clickhouse", "--clickhouse-batch-size", "1234", "--clickhouse-cluster", "c1"})
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Storage.ClickHouse
	if !ch.TLS.Enabled || ch.BatchSize != 1234 || ch.Cluster.Name != "c1" {
		t.Errorf("from flags and environment: %+v", ch)
	}
	if _, err := m.loadCollectorConfig([]string{"--clickhouse-tls", "maybe"}); err == nil {
		t.Error("--clickhouse-tls accepted a value that is not a boolean")
	}
}
