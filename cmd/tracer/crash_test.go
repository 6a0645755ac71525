package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
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
	"github.com/tracerdev/tracer/storage/badger"
	"github.com/tracerdev/tracer/vclock"
)

// waitReplayed polls the collector's metrics until it has written spans,
// for at most a minute, and checks that it received none itself.
func waitReplayed(t *testing.T, c *proctest.Process, addr string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	for i := 0; i < 600; i++ {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		written, received := 0.0, 0.0
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "tracer_collector_spans_written_total "); ok {
				written, _ = strconv.ParseFloat(v, 64)
			}
			if v, ok := strings.CutPrefix(line, `tracer_collector_spans_received_total{transport="grpc"} `); ok {
				received, _ = strconv.ParseFloat(v, 64)
			}
		}
		if received != 0 {
			t.Fatalf("the restarted collector received %v spans, want 0", received)
		}
		if written > 0 {
			t.Logf("the restarted collector replayed and wrote %v spans", written)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the restarted collector wrote nothing from its WAL in a minute\n%s", c.LogText())
}

// batchSpans returns one request's spans: trace number n, perBatch spans.
func batchSpans(n, perBatch int) []sdktrace.ReadOnlySpan {
	var tid trace.TraceID
	tid[0], tid[1], tid[14], tid[15] = 0x7e, 1, byte(n>>8), byte(n)
	res := resource.NewSchemaless(attribute.String("service.name", "crash-test"))
	base := time.Now().Add(-time.Hour).Truncate(time.Second) // recent: the default retention keeps it
	stubs := make(tracetest.SpanStubs, perBatch)
	for i := range stubs {
		var sid trace.SpanID
		sid[0], sid[6], sid[7] = 0x5a, byte(i>>8), byte(i)+1
		sid[1], sid[2] = byte(n>>8), byte(n)
		stubs[i] = tracetest.SpanStub{
			Name:        fmt.Sprintf("op-%d", i),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			SpanKind:    trace.SpanKindServer,
			StartTime:   base.Add(time.Duration(i) * time.Millisecond),
			EndTime:     base.Add(time.Duration(i)*time.Millisecond + 500*time.Microsecond),
			Attributes: []attribute.KeyValue{
				attribute.String(vclock.AttrNode, "node-a"),
				attribute.Int64(vclock.AttrTick, int64(n*perBatch+i+1)),
				attribute.Int("batch", n),
			},
			Resource:             res,
			InstrumentationScope: instrumentation.Scope{Name: "crash"},
		}
	}
	return stubs.Snapshots()
}

// TestCrashRecovery runs the collector as a child process with the badger
// store, sends spans with the official OTLP/gRPC exporter, SIGKILLs the
// collector mid-stream, restarts it and stops it gracefully: every span that
// was acknowledged is stored, none twice.
func TestCrashRecovery(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	args := func(batchTimeout string) []string {
		return []string{"collector",
			"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", telAddr,
			"--wal-dir", filepath.Join(dir, "wal"), "--storage", "badger", "--badger-dir", filepath.Join(dir, "badger"),
			"--batch-size", "1000", "--batch-timeout", batchTimeout, "--log-format", "json", "--shutdown-timeout", "60s",
		}
	}
	logPath := filepath.Join(dir, "collector.log")

	// The first collector writes only full batches of 1000 spans (20
	// requests) and is killed after 45 requests: at least 5 acknowledged
	// requests are then in its WAL only.
	first := proctest.Start(t, bin, args("1h"), logPath)
	first.WaitHealthy(t, telAddr)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	const perBatch = 50
	nAcked := exportUntilKilled(t, ctx, exp, first, perBatch, 45)
	t.Logf("%d batches (%d spans) acknowledged before SIGKILL", nAcked, nAcked*perBatch)

	second := proctest.Start(t, bin, args("50ms"), logPath)
	second.WaitHealthy(t, telAddr)
	// The restarted collector replays what the first one acknowledged and
	// had not written: it writes spans it did not receive.
	waitReplayed(t, second, telAddr)
	if err := second.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second collector: exit %v\n%s", err, second.LogText())
	}

	store, err := badger.Open(filepath.Join(dir, "badger"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for n := 0; n < nAcked; n++ {
		want := batchSpans(n, perBatch)
		tid := storage.TraceID(want[0].SpanContext().TraceID())
		tr, err := store.Trace(ctx, tid)
		if err != nil {
			t.Fatalf("batch %d (trace %s): %v\n%s", n, tid, err, second.LogText())
		}
		seen := map[storage.SpanID]int{}
		for _, s := range tr.Spans {
			seen[s.SpanID]++
		}
		for _, w := range want {
			id := storage.SpanID(w.SpanContext().SpanID())
			if seen[id] != 1 {
				t.Errorf("batch %d span %s stored %d times, want once", n, id, seen[id])
			}
		}
		if len(tr.Spans) != perBatch {
			t.Errorf("batch %d: %d spans stored, want %d", n, len(tr.Spans), perBatch)
		}
	}
}

// exportUntilKilled exports batches of perBatch spans (batchSpans 0, 1, ...)
// until one fails, SIGKILLs proc, a collector, once killAfter batches are
// acknowledged, waits for it to die, and returns how many batches were
// acknowledged (0 to n-1).
func exportUntilKilled(t *testing.T, ctx context.Context, exp sdktrace.SpanExporter, proc *proctest.Process, perBatch, killAfter int) int {
	t.Helper()
	const maxBatches = 5000
	var mu sync.Mutex
	acked := 0 // batches 0..acked-1 were acknowledged
	enough, senderDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(senderDone)
		for n := 0; n < maxBatches; n++ {
			if err := exp.ExportSpans(ctx, batchSpans(n, perBatch)); err != nil {
				return
			}
			mu.Lock()
			acked = n + 1
			if acked == killAfter {
				close(enough)
			}
			mu.Unlock()
		}
	}()
	select {
	case <-enough:
	case <-senderDone:
		t.Fatalf("sender stopped before %d batches were acknowledged\n%s", killAfter, proc.LogText())
	}
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-senderDone
	if err := proc.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first collector: got exit %v, want killed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return acked
}
