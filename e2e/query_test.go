package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/sdk"
)

// TestQueryReadsWhatACollectorWrote runs "tracer collector" and "tracer
// query" as two processes over one real clickhouse-server: spans sent to the
// collector through Tracer's SDK are read back through the other process's
// v1 and v3 routes, attributes and clocks intact. It skips when
// clickhouse-server is missing, and fails then under
// TRACER_REQUIRE_CLICKHOUSE=1.
func TestQueryReadsWhatACollectorWrote(t *testing.T) {
	db := server.NewDatabase(t)
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	storageFlags := []string{"--storage", "clickhouse", "--clickhouse-addr", server.Addr, "--clickhouse-database", db}
	grpcAddr, colTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	col := proctest.Start(t, bin, append([]string{"collector",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", colTel,
		"--wal-dir", filepath.Join(dir, "wal"), "--batch-timeout", "50ms"}, storageFlags...), filepath.Join(dir, "collector.log"))
	queryAddr, queryTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	qry := proctest.Start(t, bin, append([]string{"query",
		"--query-endpoint", queryAddr, "--telemetry-endpoint", queryTel}, storageFlags...), filepath.Join(dir, "query.log"))
	col.WaitHealthy(t, colTel)
	qry.WaitHealthy(t, queryTel)
	for deadline := time.Now().Add(time.Minute); httpStatus(t, "http://"+queryTel+"/ready") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tracer query not ready within a minute\n%s", qry.LogText())
		}
	}

	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: exp}
	tp, err := sdk.New(ctx, sdk.WithServiceName("e2e-query"), sdk.WithNodeID("query-test"), sdk.WithoutExporter(), sdk.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	const traces = 3
	for i := range traces {
		rctx, root := tp.Tracer("e2e").Start(ctx, "list", trace.WithAttributes(attribute.Int("e2e.n", i)))
		_, child := tp.Tracer("e2e").Start(rctx, "read", trace.WithAttributes(attribute.String("e2e.table", "orders"), attribute.Bool("e2e.cached", i == 1)))
		child.End()
		root.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
	if len(rec.errs) > 0 {
		t.Fatalf("export errors: %v", rec.errs)
	}
	byTrace := map[string][]span{}
	for _, s := range rec.spans {
		sent := sentSpan(s)
		byTrace[sent.TraceID] = append(byTrace[sent.TraceID], sent)
	}
	if len(byTrace) != traces {
		t.Fatalf("sent %d traces, want %d", len(byTrace), traces)
	}

	a := newAPI(queryAddr)
	for id, want := range byTrace {
		got := awaitTrace(ctx, t, "v1 trace", id, len(want), a.v1Trace)
		compareSpans(t, "v1 /api/traces/"+id, got, want)
		got = awaitTrace(ctx, t, "v3 trace", id, len(want), a.v3Trace)
		compareSpans(t, "v3 /api/v3/traces/"+id, got, want)
	}
	found, err := a.v1Search(ctx, "e2e-query", since, time.Now().Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != traces {
		t.Errorf("search: %d traces, want %d", len(found), traces)
	}
	for id, want := range byTrace {
		compareSpans(t, "v1 search", found[id], want)
	}

	// The query process has its own registry, without the collector's
	// metrics.
	resp, err := http.Get("http://" + queryTel + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "go_goroutines ") || strings.Contains(string(body), "tracer_collector_") {
		t.Errorf("tracer query /metrics: want the Go runtime's metrics and no collector's\n%.2000s", body)
	}

	for name, p := range map[string]*proctest.Process{"collector": col, "query": qry} {
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Errorf("tracer %s after SIGTERM: %v\n%s", name, err, p.LogText())
		}
	}
}

// TestAllInOneClickHouse: ClickHouse is one flag away from the embedded
// store: tracer all-in-one with --storage clickhouse answers what it was
// sent, as on Badger.
func TestAllInOneClickHouse(t *testing.T) {
	db := server.NewDatabase(t)
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, httpAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	p := proctest.Start(t, bin, []string{"all-in-one",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", httpAddr, "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--batch-timeout", "50ms",
		"--storage", "clickhouse", "--clickhouse-addr", server.Addr, "--clickhouse-database", db,
	}, filepath.Join(dir, "all-in-one.log"))
	p.WaitHealthy(t, telAddr)
	sendAndReadSDK(context.Background(), t, newAPI(queryAddr), grpcAddr, httpAddr, time.Now().Add(-time.Minute))
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Errorf("all-in-one after SIGTERM: %v\n%s", err, p.LogText())
	}
	if !strings.Contains(p.LogText(), "clickhouse: "+server.Addr) {
		t.Errorf("the banner does not name ClickHouse:\n%s", p.LogText())
	}
}
