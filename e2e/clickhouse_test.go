package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
)

// batchSpans is request n: one trace of perBatch spans.
func batchSpans(n, perBatch int, start time.Time) []sdktrace.ReadOnlySpan {
	var tid trace.TraceID
	tid[0], tid[1], tid[14], tid[15] = 0xe2, 0xe0, byte(n>>8), byte(n)
	res := resource.NewSchemaless(attribute.String("service.name", "e2e"))
	stubs := make(tracetest.SpanStubs, perBatch)
	for i := range stubs {
		var sid trace.SpanID
		sid[0], sid[1], sid[2], sid[7] = 0x5a, byte(n>>8), byte(n), byte(i)+1
		var parent trace.SpanContext
		if i > 0 {
			psid := sid
			psid[7] = 1
			parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid})
		}
		svc := res
		if i > 0 {
			svc = resource.NewSchemaless(attribute.String("service.name", "e2e-backend"))
		}
		stubs[i] = tracetest.SpanStub{
			Name:                 fmt.Sprintf("op-%d", i),
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			Parent:               parent,
			SpanKind:             trace.SpanKindServer,
			StartTime:            start.Add(time.Duration(n)*time.Millisecond + time.Duration(i)*time.Microsecond),
			EndTime:              start.Add(time.Duration(n)*time.Millisecond + time.Duration(i+1)*time.Microsecond),
			Attributes:           []attribute.KeyValue{attribute.Int("batch", n), attribute.String("quote", `it's "q"`)},
			Resource:             svc,
			InstrumentationScope: instrumentation.Scope{Name: "e2e"},
		}
	}
	return stubs.Snapshots()
}

// TestCollectorClickHouseCrashAndRestart runs "tracer collector --storage
// clickhouse" as a child process, sends spans with the official OTLP/gRPC
// exporter, restarts ClickHouse (SIGKILL) mid-stream, then SIGKILLs the
// collector mid-stream, starts it again and checks that every acknowledged
// span is in ClickHouse exactly once as the reader sees it.
func TestCollectorClickHouseCrashAndRestart(t *testing.T) {
	db := server.NewDatabase(t)
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	args := []string{"collector",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--storage", "clickhouse",
		"--clickhouse-addr", server.Addr, "--clickhouse-database", db,
		"--batch-size", "500", "--batch-timeout", "100ms", "--log-format", "json", "--shutdown-timeout", "60s",
	}
	logPath := filepath.Join(dir, "collector.log")
	first := proctest.Start(t, bin, args, logPath)
	first.WaitHealthy(t, telAddr)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 50 * time.Millisecond,
			MaxInterval: 500 * time.Millisecond, MaxElapsedTime: 30 * time.Second}),
		otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	const perBatch, restartAt, killAt, maxBatches = 20, 30, 80, 3000
	start := time.Now().Add(-10 * time.Minute)
	var mu sync.Mutex
	acked := 0
	reached := map[int]chan struct{}{restartAt: make(chan struct{}), killAt: make(chan struct{})}
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		for n := 0; n < maxBatches; n++ {
			if err := exp.ExportSpans(sendCtx, batchSpans(n, perBatch, start)); err != nil {
				return
			}
			mu.Lock()
			acked = n + 1
			if ch, ok := reached[acked]; ok {
				close(ch)
			}
			mu.Unlock()
		}
	}()
	wait := func(n int) {
		t.Helper()
		select {
		case <-reached[n]:
		case <-senderDone:
			t.Fatalf("sender stopped before %d batches were acknowledged\n%s", n, first.LogText())
		case <-time.After(3 * time.Minute):
			t.Fatalf("%d batches not acknowledged in 3 minutes\n%s", n, first.LogText())
		}
	}

	wait(restartAt)
	if err := server.Restart(true); err != nil {
		t.Fatalf("restart clickhouse: %v", err)
	}
	t.Logf("ClickHouse restarted after %d batches", restartAt)
	wait(killAt)
	if err := first.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stopSending()
	<-senderDone
	<-first.Exited()
	mu.Lock()
	nAcked := acked
	mu.Unlock()
	t.Logf("%d batches (%d spans) acknowledged before the collector's SIGKILL; the collector retried %d failed writes",
		nAcked, nAcked*perBatch, strings.Count(first.LogText(), "storage write failed"))

	second := proctest.Start(t, bin, args, logPath)
	second.WaitHealthy(t, telAddr)

	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{server.Addr}
	cfg.Database = db
	cfg.Limits.MaxTraces = maxBatches // the search below asks for every batch
	qctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	store, err := clickhouse.New(qctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The restarted collector replays its WAL; poll until every
	// acknowledged batch is readable (bounded by qctx).
	for n := 0; n < nAcked; n++ {
		tid := storage.TraceID(batchSpans(n, perBatch, start)[0].SpanContext().TraceID())
		for {
			tr, err := store.Trace(qctx, tid)
			if err == nil && len(tr.Spans) >= perBatch {
				break
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("batch %d: %v", n, err)
			}
			select {
			case <-qctx.Done():
				t.Fatalf("batch %d (acknowledged) not stored within the deadline\n%s", n, second.LogText())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := second.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second collector: exit %v\n%s", err, second.LogText())
	}

	for n := 0; n < nAcked; n++ {
		want := batchSpans(n, perBatch, start)
		tr, err := store.Trace(qctx, storage.TraceID(want[0].SpanContext().TraceID()))
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		seen := map[storage.SpanID]int{}
		for _, s := range tr.Spans {
			seen[s.SpanID]++
			if a, ok := s.Attribute("quote"); !ok || a.Value != `it's "q"` {
				t.Errorf("batch %d span %s: attribute quote = %+q", n, s.SpanID, a)
			}
		}
		for _, w := range want {
			if id := storage.SpanID(w.SpanContext().SpanID()); seen[id] != 1 {
				t.Errorf("batch %d span %s seen %d times, want once", n, id, seen[id])
			}
		}
		if len(tr.Spans) != perBatch {
			t.Errorf("batch %d: %d spans, want %d", n, len(tr.Spans), perBatch)
		}
	}
	// Searches and the service graph see each acknowledged trace once.
	found, err := store.FindTraces(qctx, storage.Query{Service: "e2e", Limit: maxBatches})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < nAcked {
		t.Errorf("FindTraces(e2e) = %d traces, want at least the %d acknowledged", len(found), nAcked)
	}
	ids := map[storage.TraceID]bool{}
	for _, tr := range found {
		if ids[tr.ID] {
			t.Errorf("trace %s found twice", tr.ID)
		}
		ids[tr.ID] = true
	}
	deps, err := store.Dependencies(qctx, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := storage.Dependency{Parent: "e2e", Child: "e2e-backend", CallCount: uint64(len(found) * (perBatch - 1))}
	if len(deps) != 1 || deps[0] != want {
		t.Errorf("Dependencies = %+v, want [%+v]", deps, want)
	}
	if strings.Contains(second.LogText(), "panic") {
		t.Errorf("collector log mentions a panic:\n%s", second.LogText())
	}
}
