package clickhouse_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/exporter/clickhouse"
	"github.com/tracerdev/tracer/storage"
)

// BenchmarkConvert measures ReadOnlySpan -> storage.Span for a batch of 512
// spans with typical attributes.
func BenchmarkConvert(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "bench"), attribute.String("host.name", "h1"))))
	tr := tp.Tracer("bench")
	for range 512 {
		_, sp := tr.Start(context.Background(), "GET /orders/{id}", traceAttrs())
		sp.AddEvent("retry")
		sp.End()
	}
	spans := rec.Ended()
	dst := make([]storage.Span, 0, len(spans))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = clickhouse.Convert(dst[:0], spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}

func traceAttrs() trace.SpanStartEventOption {
	return trace.WithAttributes(attribute.String("http.method", "GET"), attribute.Int("http.status_code", 200),
		attribute.String("user.id", "42"), attribute.StringSlice("tags", []string{"a", "b"}))
}
