package collector_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// writerFunc is a storage.Writer made of a function.
type writerFunc func(ctx context.Context, spans []storage.Span) error

func (f writerFunc) WriteSpans(ctx context.Context, spans []storage.Span) error { return f(ctx, spans) }

// metricsOf reads the collector's metrics from its Gatherer, in Prometheus
// text form: "name{labels}" -> value. It works after Shutdown too.
func metricsOf(t testing.TB, c *collector.Collector) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(c.Gatherer(), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return parseMetrics(t, rec.Body)
}

// serve calls h with a GET and returns the status code and body.
func serve(h http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, rec.Body.String()
}

func parseMetrics(t testing.TB, r io.Reader) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func exportGRPC(t testing.TB, addr string, spans ...spanSpec) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(context.Background(), requestMsg("svc", spans...)); err != nil {
		t.Fatalf("Export: %v", err)
	}
}

// TestRetriesAndRejectedSpans: errors are retried until the write
// succeeds; the spans a storage.RejectedError names are dropped and counted,
// their batch-mates are stored (and not written twice).
func TestRetriesAndRejectedSpans(t *testing.T) {
	store := memory.New()
	defer store.Close()
	var mu sync.Mutex
	failures := 3
	w := writerFunc(func(ctx context.Context, spans []storage.Span) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return errors.New("storage is down")
		}
		var keep []storage.Span
		var rej []storage.RejectedSpan
		for i, s := range spans {
			if s.Name == "poison" {
				rej = append(rej, storage.RejectedSpan{Index: i, Err: errors.New("cannot store poison")})
				continue
			}
			keep = append(keep, s)
		}
		if err := store.WriteSpans(ctx, keep); err != nil {
			return err
		}
		return storage.Reject(rej...)
	})
	cfg := testConfig(t)
	cfg.Batch.Size = 1000
	c := startCollector(t, cfg, w)

	var spans []spanSpec
	var traces [][]byte
	for i := range 9 {
		s := validSpan(i)
		if i == 4 || i == 7 {
			s.name = "poison"
		}
		spans = append(spans, s)
		traces = append(traces, s.traceID)
	}
	exportGRPC(t, c.GRPCAddr(), spans...)
	shutdown(t, c)

	want := append(append(spans[:4:4], spans[5:7]...), spans[8])
	assertStored(t, storedSpans(t, store, traces...), want)
	m := metricsOf(t, c)
	if got := m["tracer_collector_write_retries_total"]; got < 3 {
		t.Errorf("write_retries_total = %v, want >= 3", got)
	}
	if got := m[`tracer_collector_spans_dropped_total{reason="rejected"}`]; got != 2 {
		t.Errorf("spans_dropped_total{rejected} = %v, want 2", got)
	}
	if got := m["tracer_collector_spans_written_total"]; got != 7 {
		t.Errorf("spans_written_total = %v, want 7", got)
	}
	if got := m[`tracer_collector_spans_received_total{transport="grpc"}`]; got != 9 {
		t.Errorf("spans_received_total{grpc} = %v, want 9", got)
	}
}

// TestReplayAfterUnfinishedShutdown: spans acknowledged while the storage is
// down stay in the WAL when shutdown's deadline passes, and the next start
// writes them, once each.
func TestReplayAfterUnfinishedShutdown(t *testing.T) {
	cfg := testConfig(t)
	down := writerFunc(func(ctx context.Context, spans []storage.Span) error {
		return errors.New("storage is down")
	})
	c := startCollector(t, cfg, down)
	var spans []spanSpec
	var traces [][]byte
	for i := range 30 {
		spans = append(spans, validSpan(i))
		traces = append(traces, validSpan(i).traceID)
	}
	exportGRPC(t, c.GRPCAddr(), spans[:10]...)
	exportGRPC(t, c.GRPCAddr(), spans[10:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := c.Shutdown(ctx)
	cancel()
	if err == nil {
		t.Fatal("Shutdown with the storage down returned nil, want a drain error")
	}
	if err2 := c.Shutdown(context.Background()); !errors.Is(err2, err) && err2.Error() != err.Error() {
		t.Errorf("second Shutdown: got %v, want the first result %v", err2, err)
	}

	store := memory.New()
	defer store.Close()
	c2 := startCollector(t, cfg, store)
	shutdown(t, c2)
	assertStored(t, storedSpans(t, store, traces...), spans)
}

// TestHealthAndMetrics: /health answers, /metrics carries the collector's
// metrics; Shutdown without Start and twice is fine.
func TestHealthAndMetrics(t *testing.T) {
	store := memory.New()
	defer store.Close()
	idle, err := collector.New(testConfig(t), store, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without Start: %v", err)
	}
	if err := idle.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}

	c := startCollector(t, testConfig(t), store)
	for name, h := range map[string]http.Handler{"live": c.Health().LiveHandler(), "ready": c.Health().ReadyHandler()} {
		if code, body := serve(h); code != http.StatusOK {
			t.Errorf("%s: got %d %s, want 200", name, code, body)
		}
	}
	exportGRPC(t, c.GRPCAddr(), validSpan(1), validSpan(2))
	m := metricsOf(t, c)
	for _, name := range []string{
		`tracer_collector_spans_received_total{transport="grpc"}`,
		"tracer_collector_wal_bytes",
		"tracer_collector_wal_segments",
		"tracer_collector_inflight_bytes",
	} {
		if _, ok := m[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if got := m[`tracer_collector_spans_received_total{transport="grpc"}`]; got != 2 {
		t.Errorf("spans_received_total{grpc} = %v, want 2", got)
	}
	if got := m["tracer_collector_wal_bytes"]; got <= 0 {
		t.Errorf("wal_bytes = %v, want > 0", got)
	}
	shutdown(t, c)
	shutdown(t, c)
	if got := metricsOf(t, c)["tracer_collector_batches_written_total"]; got < 1 {
		t.Errorf("batches_written_total = %v, want >= 1", got)
	}
}

// TestAttributeLimits: attributes past limits.max_attributes are dropped and
// counted, longer values truncated and counted; the span is kept.
func TestAttributeLimits(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxAttributes = 2
	cfg.Limits.MaxAttributeValueLen = 8
	store := memory.New()
	defer store.Close()
	c := startCollector(t, cfg, store)

	req := requestMsg("svc", validSpan(1))
	sp := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	sp.Attributes = nil
	for _, kv := range [][2]string{{"a", "0123456789abcdef"}, {"b", "x"}, {"c", "y"}, {"d", "z"}} {
		sp.Attributes = append(sp.Attributes, &commonpb.KeyValue{Key: kv[0], Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: kv[1]}}})
	}
	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	shutdown(t, c)

	got := storedSpans(t, store, validSpan(1).traceID)
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1", len(got))
	}
	var s storage.Span
	for _, v := range got {
		s = v
	}
	if len(s.Attributes) != 2 || s.DroppedAttributes != 2 {
		t.Errorf("attributes: got %d kept, %d dropped (%+v), want 2 and 2", len(s.Attributes), s.DroppedAttributes, s.Attributes)
	}
	wantTruncated := 0.0
	for _, a := range s.Attributes {
		if len(a.Value) > 8 {
			t.Errorf("attribute %s = %q, longer than 8", a.Key, a.Value)
		}
		if a.Key == "a" {
			wantTruncated = 1
			if a.Value != "01234567" {
				t.Errorf("truncated value: got %q, want %q", a.Value, "01234567")
			}
		}
	}
	m := metricsOf(t, c)
	if got := m["tracer_collector_attributes_dropped_total"]; got != 2 {
		t.Errorf("attributes_dropped_total = %v, want 2", got)
	}
	if got := m["tracer_collector_attribute_values_truncated_total"]; got != wantTruncated {
		t.Errorf("attribute_values_truncated_total = %v, want %v", got, wantTruncated)
	}
}

// TestBatchReuse: what a store kept of a batch stays intact while the
// pipeline goes on decoding into its reused batch.
func TestBatchReuse(t *testing.T) {
	store := memory.New()
	defer store.Close()
	c := startCollector(t, testConfig(t), store)
	var first, second []spanSpec
	var firstIDs, secondIDs [][]byte
	for i := range 20 {
		s := validSpan(i)
		s.attrs = map[string]string{"batch": "first", "i": strconv.Itoa(i)}
		first, firstIDs = append(first, s), append(firstIDs, s.traceID)
	}
	exportGRPC(t, c.GRPCAddr(), first...)
	deadline := time.Now().Add(10 * time.Second)
	for len(storedSpans(t, store, firstIDs...)) < len(first) {
		if time.Now().After(deadline) {
			t.Fatal("first request not stored within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 20 {
		s := validSpan(100 + i)
		s.name = "second-op"
		s.attrs = map[string]string{"batch": "second", "i": strconv.Itoa(i)}
		second, secondIDs = append(second, s), append(secondIDs, s.traceID)
	}
	exportGRPC(t, c.GRPCAddr(), second...)
	shutdown(t, c)

	check := func(specs []spanSpec, ids [][]byte) {
		t.Helper()
		got := storedSpans(t, store, ids...)
		if len(got) != len(specs) {
			t.Fatalf("stored %d spans, want %d", len(got), len(specs))
		}
		for _, s := range specs {
			var id storage.TraceID
			copy(id[:], s.traceID)
			var sp storage.SpanID
			copy(sp[:], s.spanID)
			g, ok := got[id.String()+"/"+sp.String()]
			if !ok {
				t.Fatalf("span %s/%s not stored", id, sp)
			}
			if g.Name != s.name || g.Service != "svc" {
				t.Errorf("span %s: name %q service %q, want %q %q", sp, g.Name, g.Service, s.name, "svc")
			}
			for k, v := range s.attrs {
				if a, ok := g.Attribute(k); !ok || a.Value != v {
					t.Errorf("span %s: attribute %s = %q (%v), want %q", sp, k, a.Value, ok, v)
				}
			}
		}
	}
	check(first, firstIDs)
	check(second, secondIDs)
	// The drain commits everything written, however recent the last
	// commit.
	if got := metricsOf(t, c)["tracer_collector_wal_committed_offset"]; got != 2 {
		t.Errorf("wal_committed_offset after Shutdown = %v, want 2 (both requests)", got)
	}
}
