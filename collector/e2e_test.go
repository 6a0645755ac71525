package collector_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/vclock"
)

// TestOTelExporters sends spans with the official OTel Go exporters, over
// gRPC and over HTTP (protobuf, gzip or not), to a running collector and reads
// them back through the storage reader: names, kinds, times, parents,
// status, events, resource and attributes, the vector clock included.
func TestOTelExporters(t *testing.T) {
	tests := []struct {
		name string
		exp  func(ctx context.Context, grpcAddr, httpAddr string) (sdktrace.SpanExporter, error)
	}{
		{"grpc", func(ctx context.Context, addr, _ string) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		}},
		{"grpc-gzip", func(ctx context.Context, addr, _ string) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		}},
		{"http", func(ctx context.Context, _, addr string) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.NoCompression),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		}},
		{"http-gzip", func(ctx context.Context, _, addr string) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := memory.New()
			defer store.Close()
			c := startCollector(t, testConfig(t), store)

			exp, err := tt.exp(ctx, c.GRPCAddr(), c.HTTPAddr())
			if err != nil {
				t.Fatalf("exporter: %v", err)
			}
			res := resource.NewSchemaless(attribute.String("service.name", "svc-"+tt.name), attribute.String("host.name", "h1"))
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
			tr := tp.Tracer("e2e", trace.WithInstrumentationVersion("1.2.3"))

			ctxRoot, root := tr.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					attribute.String(vclock.AttrNode, "api-1"),
					attribute.Int64(vclock.AttrTick, 3),
					attribute.String(vclock.AttrDeps, "db-7:12,web-2:5"),
					attribute.String("http.method", "GET"),
					attribute.Int64("http.status_code", 200),
					attribute.Bool("cached", true),
					attribute.Float64("ratio", 0.25),
					attribute.StringSlice("tags", []string{"a", "b"}),
				))
			_, child := tr.Start(ctxRoot, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String(vclock.AttrNode, "api-1"), attribute.Int64(vclock.AttrTick, 4)))
			child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
			child.SetStatus(codes.Error, "timeout")
			child.End()
			root.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatalf("exporting: %v", err)
			}
			shutdown(t, c) // drains the WAL into the store

			tid := storage.TraceID(root.SpanContext().TraceID())
			got, err := store.Trace(ctx, tid)
			if err != nil {
				t.Fatalf("Trace: %v", err)
			}
			if len(got.Spans) != 2 {
				t.Fatalf("got %d spans, want 2", len(got.Spans))
			}
			byName := map[string]storage.Span{}
			for _, s := range got.Spans {
				byName[s.Name] = s
			}
			r, ch := byName["GET /checkout"], byName["SELECT orders"]
			if r.SpanID != storage.SpanID(root.SpanContext().SpanID()) || !r.ParentSpanID.IsZero() {
				t.Errorf("root ids: got span %s parent %s", r.SpanID, r.ParentSpanID)
			}
			if ch.ParentSpanID != r.SpanID {
				t.Errorf("child parent: got %s, want %s", ch.ParentSpanID, r.SpanID)
			}
			if r.Kind != storage.KindServer || ch.Kind != storage.KindClient {
				t.Errorf("kinds: got %v and %v", r.Kind, ch.Kind)
			}
			if r.Service != "svc-"+tt.name || r.ScopeName != "e2e" || r.ScopeVersion != "1.2.3" {
				t.Errorf("resource/scope: got service %q scope %q %q", r.Service, r.ScopeName, r.ScopeVersion)
			}
			if r.StartTime <= 0 || r.EndTime < r.StartTime || ch.StartTime < r.StartTime {
				t.Errorf("times: root %d-%d child %d-%d", r.StartTime, r.EndTime, ch.StartTime, ch.EndTime)
			}
			wantAttrs := map[string]storage.Attribute{
				"http.method":      {Key: "http.method", Type: storage.TypeString, Value: "GET"},
				"http.status_code": {Key: "http.status_code", Type: storage.TypeInt, Value: "200"},
				"cached":           {Key: "cached", Type: storage.TypeBool, Value: "true"},
				"ratio":            {Key: "ratio", Type: storage.TypeDouble, Value: "0.25"},
				vclock.AttrDeps:    {Key: vclock.AttrDeps, Type: storage.TypeString, Value: "db-7:12,web-2:5"},
			}
			for k, want := range wantAttrs {
				if got, ok := r.Attribute(k); !ok || got != want {
					t.Errorf("attribute %s: got %+v (present %v), want %+v", k, got, ok, want)
				}
			}
			if a, ok := r.Attribute("tags"); !ok || a.Type != storage.TypeArray {
				t.Errorf("attribute tags: got %+v, want an array", a)
			}
			clock, ok := r.Clock()
			if !ok {
				t.Fatalf("root span has no clock: %+v", r.Attributes)
			}
			want, _ := vclock.Parse("api-1:3,db-7:12,web-2:5")
			if vclock.Compare(clock, want) != vclock.Equal {
				t.Errorf("root clock: got %v, want %v", clock, want)
			}
			cc, ok := ch.Clock()
			if !ok || cc.Get("api-1") != 4 {
				t.Errorf("child clock: got %v (present %v), want api-1:4", cc, ok)
			}
			if ch.StatusCode != storage.StatusError || ch.StatusMessage != "timeout" {
				t.Errorf("child status: got %v %q", ch.StatusCode, ch.StatusMessage)
			}
			if len(ch.Events) != 1 || ch.Events[0].Name != "retry" || len(ch.Events[0].Attributes) != 1 || ch.Events[0].Attributes[0].Value != "2" {
				t.Errorf("child events: got %+v", ch.Events)
			}
			if _, ok := resourceAttr(r, "host.name"); !ok {
				t.Errorf("resource host.name missing: %+v", r.Resource)
			}
		})
	}
}

func resourceAttr(s storage.Span, key string) (storage.Attribute, bool) {
	for _, a := range s.Resource {
		if a.Key == key {
			return a, true
		}
	}
	return storage.Attribute{}, false
}
