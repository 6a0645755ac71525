package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
)

// TestKafkaPipeline is the whole Kafka path, with the built binary: the
// official OTLP/gRPC exporter sends to "tracer collector --sink kafka",
// which writes to Kafka (kfake, four partitions, in the test process), and
// "tracer ingester" processes write to one ClickHouse database. While spans flow, a second ingester joins
// (partitions move to it) and is SIGKILLed (they move back after its
// session times out). Every span the collector acknowledged is stored, and
// shown once. Two processes need a storage that both can write: ClickHouse
// (chtest's server; skipped without it unless TRACER_REQUIRE_CLICKHOUSE=1).
func TestKafkaPipeline(t *testing.T) {
	db := server.NewDatabase(t)
	bin := proctest.BuildTracer(t)
	c := startKafka(t, 4)
	brokers := c.ListenAddrs()
	dir := t.TempDir()

	// The collector: OTLP/gRPC -> WAL -> Kafka.
	grpcAddr, colTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	col := proctest.Start(t, bin, []string{"collector", "--sink", "kafka", "--kafka-brokers", strings.Join(brokers, ","),
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", colTel,
		"--wal-dir", filepath.Join(dir, "wal"), "--batch-timeout", "20ms",
	}, filepath.Join(dir, "collector.log"))
	col.WaitHealthy(t, colTel)

	ingester := func(name string) (*proctest.Process, string) {
		tel := proctest.FreeAddr(t)
		p := proctest.Start(t, bin, []string{"ingester", "--kafka-brokers", strings.Join(brokers, ","),
			"--storage", "clickhouse", "--clickhouse-addr", server.Addr, "--clickhouse-database", db, "--telemetry-endpoint", tel,
			"--batch-size", "100", "--batch-timeout", "20ms",
			"--kafka-session-timeout", "6s", "--kafka-heartbeat-interval", "500ms", "--kafka-rebalance-timeout", "10s",
		}, filepath.Join(dir, name+".log"))
		p.WaitHealthy(t, tel)
		return p, tel
	}
	a, telA := ingester("ingester-a")

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	const service = "e2e-kafka-pipeline"
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(20*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
	)
	tracer := tp.Tracer("e2e-kafka")
	var mu sync.Mutex
	var ids []storage.TraceID
	send := func(n int) {
		for i := range n {
			ctx, root := tracer.Start(ctx, "root", trace.WithAttributes(attribute.Int("i", i)))
			for j := range kafkaSpansEach - 1 {
				_, ch := tracer.Start(ctx, "child", trace.WithAttributes(attribute.Int("j", j)))
				ch.End()
			}
			root.End()
			mu.Lock()
			ids = append(ids, storage.TraceID(root.SpanContext().TraceID()))
			mu.Unlock()
			if i%20 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}

	send(300)
	waitScrape := func(tel, name string, pred func(float64) bool, what string, p *proctest.Process) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !pred(scrape(t, tel, name)); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s = %v after a minute\n%s", what, name, scrape(t, tel, name), p.LogText())
			}
		}
	}
	waitScrape(telA, "tracer_ingester_spans_written_total", func(v float64) bool { return v > 0 }, "ingester a writes", a)

	// A second ingester joins: it takes some of the partitions, writes,
	// and is killed without a goodbye.
	b, telB := ingester("ingester-b")
	waitScrape(telB, "tracer_ingester_partitions_assigned", func(v float64) bool { return v > 0 }, "ingester b joins", b)
	send(300)
	waitScrape(telB, "tracer_ingester_spans_written_total", func(v float64) bool { return v > 0 }, "ingester b writes", b)
	if err := b.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = b.Wait()
	send(300)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("exporter: %v", err)
	}
	// The collector drains its WAL into Kafka before it stops.
	if err := col.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := col.Wait(); err != nil {
		t.Errorf("collector after SIGTERM: %v\n%s", err, col.LogText())
	}
	waitScrape(telA, "tracer_ingester_partitions_assigned", func(v float64) bool { return v == 4 }, "the partitions move back to ingester a", a)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		done, state := groupCommitted(t, brokers, kafkaGroup)
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group has not committed everything in 2 minutes: %s\n%s", state, a.LogText())
		}
	}
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Errorf("ingester a after SIGTERM: %v\n%s", err, a.LogText())
	}
	// What b wrote and did not commit before it was killed, a wrote
	// again: storage shows it once.
	chCfg := clickhouse.NewDefaultConfig()
	chCfg.Addr = []string{server.Addr}
	chCfg.Database = db
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	store, err := clickhouse.New(qctx, chCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	mu.Lock()
	defer mu.Unlock()
	checkStoredOnce(t, store, service, ids)
}
