package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/proctest"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/internal/chtest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/vclock"
)

// TestCollectorClickHouse runs "tracer collector --storage clickhouse" in
// process against a real clickhouse-server, sends spans with the official
// OTLP/HTTP exporter, stops the collector (SIGTERM's path: the context ends)
// and reads the spans back through the ClickHouse reader. It skips when
// clickhouse-server is missing, and fails then under
// TRACER_REQUIRE_CLICKHOUSE=1.
func TestCollectorClickHouse(t *testing.T) {
	server := chtest.Start()
	t.Cleanup(server.Stop) // registered first: runs after NewDatabase's clean-up
	db := server.NewDatabase(t)

	httpAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	m, _, errOut := testMain(nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	runErr := make(chan error, 1)
	go func() {
		runErr <- m.Run(ctx, []string{"collector",
			"--grpc-endpoint", "", "--http-endpoint", httpAddr, "--telemetry-endpoint", telAddr,
			"--wal-dir", filepath.Join(t.TempDir(), "wal"), "--batch-timeout", "50ms",
			"--storage", "clickhouse", "--clickhouse-addr", server.Addr, "--clickhouse-database", db,
		})
	}()
	client := &http.Client{Timeout: time.Second}
	up := false
	for i := 0; i < 600 && !up; i++ { // at most about a minute
		select {
		case err := <-runErr:
			t.Fatalf("collector stopped: %v\n%s", err, errOut)
		default:
		}
		// Ready, not just live: the receivers listen.
		if resp, err := client.Get("http://" + telAddr + "/ready"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
		}
		if !up {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !up {
		stop()
		<-runErr
		t.Fatalf("collector not healthy\n%s", errOut)
	}

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(httpAddr), otlptracehttp.WithInsecure(),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "ch-svc"))))
	_, span := tp.Tracer("t").Start(ctx, "insert") // the clock attributes travel like any other

	span.SetAttributes(attribute.String(vclock.AttrNode, "n1"), attribute.Int64(vclock.AttrTick, 7), attribute.String("k", "v"))
	span.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	stop()
	if err := <-runErr; err != nil {
		t.Fatalf("collector: %v\n%s", err, errOut)
	}

	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr, cfg.Database = []string{server.Addr}, db
	store, err := clickhouse.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tr, err := store.Trace(context.Background(), storage.TraceID(span.SpanContext().TraceID()))
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	if len(tr.Spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(tr.Spans))
	}
	got := tr.Spans[0]
	if got.Name != "insert" || got.Service != "ch-svc" {
		t.Errorf("span: got name %q service %q", got.Name, got.Service)
	}
	if a, ok := got.Attribute("k"); !ok || a.Value != "v" {
		t.Errorf("attribute k: got %+v", a)
	}
	if c, ok := got.Clock(); !ok || c.Get("n1") != 7 {
		t.Errorf("clock: got %v (present %v), want n1:7", c, ok)
	}
}
