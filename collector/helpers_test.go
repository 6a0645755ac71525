package collector_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
)

// testConfig is a collector config on loopback ports chosen by the kernel,
// with a WAL in a temp dir and short batch and retry intervals.
func testConfig(t testing.TB) collector.Config {
	t.Helper()
	cfg := collector.NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = "127.0.0.1:0"
	cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0"
	cfg.Telemetry.Endpoint = "127.0.0.1:0"
	cfg.WAL.Dir = t.TempDir()
	cfg.WAL.SegmentSize = 1 << 20
	cfg.WAL.MaxBytes = 64 << 20
	cfg.Storage.Type = backend.TypeMemory
	cfg.Batch.Timeout = 20 * time.Millisecond
	cfg.Retry.InitialInterval = 5 * time.Millisecond
	cfg.Retry.MaxInterval = 50 * time.Millisecond
	return cfg
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startCollector starts a collector and shuts it down at the end of the
// test (a no-op when the test already did).
func startCollector(t testing.TB, cfg collector.Config, w storage.Writer) *collector.Collector {
	t.Helper()
	return startWith(t, cfg, w, quietLogger())
}

// startWith is startCollector with logger.
func startWith(t testing.TB, cfg collector.Config, w storage.Writer, logger *slog.Logger) *collector.Collector {
	t.Helper()
	c, err := collector.New(cfg, w, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.Shutdown(ctx) // tests that check Shutdown's result call it themselves
	})
	return c
}

// shutdown stops c, draining everything into storage.
func shutdown(t testing.TB, c *collector.Collector) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// spanSpec describes a span of a test request.
type spanSpec struct {
	traceID []byte
	spanID  []byte
	name    string
	start   uint64
	end     uint64
	attrs   map[string]string
}

func tid(i int) []byte {
	b := make([]byte, 16)
	b[0], b[14], b[15] = 0xab, byte(i>>8), byte(i)+1
	return b
}

func sid(i int) []byte {
	b := make([]byte, 8)
	b[0], b[6], b[7] = 0xcd, byte(i>>8), byte(i)+1
	return b
}

// validSpan returns a valid span numbered i, in trace i.
func validSpan(i int) spanSpec {
	start := uint64(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()) + uint64(i)*1000
	return spanSpec{traceID: tid(i), spanID: sid(i), name: "op", start: start, end: start + 500, attrs: map[string]string{"i": string(rune('a' + i%26))}}
}

// request encodes an ExportTraceServiceRequest with one resource (service
// svc) and one scope holding the spans.
func request(t testing.TB, service string, spans ...spanSpec) []byte {
	t.Helper()
	b, err := proto.Marshal(requestMsg(service, spans...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func requestMsg(service string, spans ...spanSpec) *coltracepb.ExportTraceServiceRequest {
	var pbs []*tracepb.Span
	for _, s := range spans {
		sp := &tracepb.Span{
			TraceId: s.traceID, SpanId: s.spanID, Name: s.name,
			StartTimeUnixNano: s.start, EndTimeUnixNano: s.end,
			Kind: tracepb.Span_SPAN_KIND_SERVER,
		}
		for k, v := range s.attrs {
			sp.Attributes = append(sp.Attributes, &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}})
		}
		pbs = append(pbs, sp)
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
			Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}},
		}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "test"}, Spans: pbs}},
	}}}
}

// storedSpans returns every span of the given traces in r, keyed by
// "traceid/spanid", failing on anything but ErrNotFound.
func storedSpans(t testing.TB, r storage.Reader, traceIDs ...[]byte) map[string]storage.Span {
	t.Helper()
	got := map[string]storage.Span{}
	for _, raw := range traceIDs {
		var id storage.TraceID
		copy(id[:], raw)
		tr, err := r.Trace(context.Background(), id)
		if err == storage.ErrNotFound {
			continue
		}
		if err != nil {
			t.Fatalf("Trace(%s): %v", id, err)
		}
		for _, s := range tr.Spans {
			got[s.TraceID.String()+"/"+s.SpanID.String()] = s
		}
	}
	return got
}
