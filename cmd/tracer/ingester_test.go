package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIngesterConfig: the ingester's settings come from the YAML file, the
// environment and flags; the collector's receivers and WAL in a shared
// file are not its business.
func TestIngesterConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracer.yaml")
	yaml := `
wal:
  dir: ""
kafka:
  topic: spans
  consumer:
    group_id: from-file
    rebalance_timeout: 20s
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(map[string]string{"TRACER_KAFKA_BROKERS": "k1:9092,k2:9092", "TRACER_KAFKA_GROUP_ID": "from-env"})
	cfg, err := m.loadConfig(ingesterCommand, []string{"--config", path, "--kafka-initial-offset", "latest", "--kafka-fetch-max-bytes", "8MiB"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	k := cfg.Kafka
	if strings.Join(k.Brokers, ",") != "k1:9092,k2:9092" || k.Topic != "spans" || k.Consumer.GroupID != "from-env" ||
		k.Consumer.InitialOffset != "latest" || k.Consumer.FetchMaxBytes != 8<<20 || k.Consumer.RebalanceTimeout != 20*time.Second {
		t.Errorf("kafka config %+v", k)
	}
}

// TestIngesterConfigErrors: every problem at once, each saying what to do.
func TestIngesterConfigErrors(t *testing.T) {
	m, _, _ := testMain(nil)
	err := m.Run(context.Background(), []string{"ingester", "--kafka-initial-offset", "newest", "--kafka-heartbeat-interval", "1m", "--batch-size", "0"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"kafka.brokers: at least one broker", "--kafka-brokers",
		`kafka.consumer.initial_offset must be "earliest" or "latest", got "newest"`, "--kafka-initial-offset",
		"kafka.consumer.heartbeat_interval", "batch.size must be positive",
		`tracer ingester --help`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "wal.") || strings.Contains(err.Error(), "receivers.") {
		t.Errorf("the ingester reports the collector's settings:\n%v", err)
	}
}

// TestIngesterHelp: the usage names the command's own flags and the
// shared ones.
func TestIngesterHelp(t *testing.T) {
	m, out, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"ingester", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"consumer group", "--kafka-brokers", "--kafka-group-id", "(default \"tracer-ingester\")", "--kafka-initial-offset", "--batch-size", "--storage", "--shutdown-timeout", "/ready"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	m, out, _ = testMain(nil)
	if err := m.Run(context.Background(), []string{"help"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ingester     write spans from Kafka (that collectors") {
		t.Errorf("tracer help lacks the ingester:\n%s", out)
	}
}
