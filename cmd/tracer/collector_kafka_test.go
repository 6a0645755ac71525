package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/internal/proctest"
)

// TestCollectorKafkaConfig: --sink kafka takes the Kafka settings, checks
// them and no longer the storage's; all-in-one has no --sink.
func TestCollectorKafkaConfig(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_KAFKA_COMPRESSION": "zstd"})
	cfg, err := m.loadCollectorConfig([]string{"--wal-dir", t.TempDir(), "--sink", "kafka", "--kafka-brokers", "k1:9092,k2:9092",
		"--kafka-max-message-bytes", "2MiB", "--kafka-linger", "5ms", "--storage", "clickhouse", "--clickhouse-addr", "nocolon"})
	if err != nil {
		t.Fatalf("a kafka collector with a bad storage configuration (not used): %v", err)
	}
	p := cfg.Kafka.Producer
	if cfg.Sink != collector.SinkKafka || len(cfg.Kafka.Brokers) != 2 || p.Compression != "zstd" || p.MaxMessageBytes != 2<<20 || p.Linger != 5*time.Millisecond {
		t.Errorf("from flags and environment: sink %q, %+v", cfg.Sink, cfg.Kafka)
	}

	_, err = m.loadCollectorConfig([]string{"--wal-dir", t.TempDir(), "--sink", "kafka", "--kafka-compression", "brotli", "--kafka-max-message-bytes", "100"})
	if err == nil {
		t.Fatal("bad kafka settings accepted")
	}
	for _, want := range []string{
		"kafka.brokers: at least one broker",
		`kafka.producer.compression: want none, gzip, snappy, lz4 or zstd; got "brotli" (set by --kafka-compression)`,
		"kafka.producer.max_message_bytes must be between 4096",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := m.loadCollectorConfig([]string{"--wal-dir", t.TempDir(), "--sink", "files"}); err == nil || !strings.Contains(err.Error(), `sink must be "storage" or "kafka", got "files"`) {
		t.Errorf("--sink files: %v", err)
	}

	// all-in-one: no such flag, and a file that asks for kafka is refused.
	if _, err := m.loadConfig(allInOneCommand, []string{"--sink", "kafka"}); err == nil {
		t.Error("all-in-one took --sink")
	}
	for _, sec := range allInOneCommand.sections {
		for _, s := range sec.settings {
			if strings.HasPrefix(s.flag, "kafka") || s.flag == "sink" {
				t.Errorf("all-in-one has --%s", s.flag)
			}
		}
	}
	cfg = defaultConfig()
	cfg.Sink = collector.SinkKafka
	if err := m.serve(context.Background(), cfg, parts{collector: true, query: true}); err == nil || !strings.Contains(err.Error(), "all-in-one writes to its own storage") {
		t.Errorf("all-in-one with sink kafka: %v", err)
	}
}

// TestCollectorKafkaCrash runs "tracer collector --sink kafka" as a child
// process against a kfake broker, sends spans with the official OTLP/gRPC
// exporter, SIGKILLs it mid-stream, restarts it: every acknowledged span
// is in Kafka (some maybe twice: produced, not yet committed in the WAL),
// each in a message of its trace; health reports kafka.
func TestCollectorKafkaCrash(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "otlp_spans"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	args := func(batchTimeout string) []string {
		return []string{"collector", "--sink", "kafka", "--kafka-brokers", strings.Join(kc.ListenAddrs(), ","),
			"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", telAddr,
			"--wal-dir", filepath.Join(dir, "wal"), "--batch-size", "1000", "--batch-timeout", batchTimeout,
			"--log-format", "json", "--shutdown-timeout", "30s",
		}
	}
	logPath := filepath.Join(dir, "collector.log")
	// Full batches of 1000 spans only: after 45 requests of 50, at least
	// 250 acknowledged spans are in the WAL only.
	first := proctest.Start(t, bin, args("1h"), logPath)
	first.WaitHealthy(t, telAddr)
	if body := httpGet(t, "http://"+telAddr+"/health"); !strings.Contains(body, `"kafka"`) || strings.Contains(body, `"storage"`) {
		t.Errorf("health does not report kafka alone: %s", body)
	}

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	const perBatch = 50
	nAcked := exportUntilKilled(t, ctx, exp, first, perBatch, 45)

	second := proctest.Start(t, bin, args("50ms"), logPath)
	second.WaitHealthy(t, telAddr)

	want := map[string]bool{}
	for n := range nAcked {
		for _, s := range batchSpans(n, perBatch) {
			want[s.SpanContext().TraceID().String()+"/"+s.SpanContext().SpanID().String()] = true
		}
	}
	got := readKafkaSpans(t, kc.ListenAddrs(), want, second)
	t.Logf("%d spans acknowledged before SIGKILL; %d distinct spans in kafka", len(want), len(got))
	if err := second.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second collector: exit %v\n%s", err, second.LogText())
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readKafkaSpans reads the topic until every span of want is there (a
// minute at most), decoding as the OpenTelemetry Collector's kafka
// receiver does (ptrace.ProtoUnmarshaler), and checks that each message
// holds only the trace of its key.
func readKafkaSpans(t *testing.T, brokers []string, want map[string]bool, p *proctest.Process) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("otlp_spans"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int{}
	for deadline := time.Now().Add(time.Minute); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		for _, r := range fs.Records() {
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(r.Value)
			if err != nil {
				t.Fatalf("message does not decode: %v", err)
			}
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				ss := td.ResourceSpans().At(i).ScopeSpans()
				for j := 0; j < ss.Len(); j++ {
					for k := 0; k < ss.At(j).Spans().Len(); k++ {
						sp := ss.At(j).Spans().At(k)
						if sp.TraceID().String() != string(r.Key) {
							t.Fatalf("span of trace %s in a message keyed %s", sp.TraceID(), r.Key)
						}
						got[sp.TraceID().String()+"/"+sp.SpanID().String()]++
					}
				}
			}
		}
		missing := 0
		for k := range want {
			if got[k] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged spans not in kafka after a minute\n%s", missing, len(want), p.LogText())
		}
	}
}
