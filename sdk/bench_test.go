package sdk_test

import (
	"context"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/cputime"
	"github.com/tracerdev/tracer/sdk"
)

// exporterLike is a processor that reads every ended span as an exporter
// does: the OTLP exporters' transform (go.opentelemetry.io/otel/exporters/
// otlp/otlptrace, internal/tracetransform/span.go and attribute.go) calls
// Attributes() once per span and reads each value by its type, with the
// span's context, parent, name and times. It keeps what it read in sum so
// that nothing is optimised away, and copies nothing, so both providers
// below pay for the span snapshot at End and for their Attributes(), and
// nothing else.
type exporterLike struct{ sum int }

func (*exporterLike) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (e *exporterLike) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	e.sum += int(sc.SpanID()[0]) + int(s.Parent().SpanID()[0]) + len(s.Name()) + int(s.EndTime().Sub(s.StartTime()))
	for _, kv := range s.Attributes() {
		e.sum += len(kv.Key)
		switch kv.Value.Type() {
		case attribute.STRING:
			e.sum += len(kv.Value.AsString())
		case attribute.INT64:
			e.sum += int(kv.Value.AsInt64())
		case attribute.BOOL:
			if kv.Value.AsBool() {
				e.sum++
			}
		default:
			e.sum += len(kv.Value.String())
		}
	}
}
func (*exporterLike) Shutdown(context.Context) error   { return nil }
func (*exporterLike) ForceFlush(context.Context) error { return nil }

// BenchmarkSpanStartEnd compares a span start+end on a plain OpenTelemetry
// provider with the same on Tracer's (clock processor in front of the same
// processor, which reads the attributes as an exporter does): a root span,
// a child of an open span, and a child with four attributes of its own, as
// instrumentation sets them. Budget: <= 1.10x the CPU, no extra allocation.
func BenchmarkSpanStartEnd(b *testing.B) {
	plain := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(&exporterLike{}))
	ours, err := sdk.New(context.Background(), sdk.WithSampler(sdktrace.AlwaysSample()),
		sdk.WithoutExporter(), sdk.WithSpanProcessor(&exporterLike{}), sdk.WithNodeID("bench"))
	if err != nil {
		b.Fatal(err)
	}
	attrs := trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "bench.Service"),
		attribute.String("rpc.method", "Call"), attribute.Int("rpc.grpc.status_code", 0))
	for _, bc := range []struct {
		name string
		tp   *sdktrace.TracerProvider
	}{{"otel", plain}, {"tracer", ours}} {
		tr := bc.tp.Tracer("bench")
		b.Run(bc.name+"/root", func(b *testing.B) { startEnd(b, tr, context.Background()) })
		ctx, parent := tr.Start(context.Background(), "parent")
		b.Run(bc.name+"/child", func(b *testing.B) { startEnd(b, tr, ctx) })
		b.Run(bc.name+"/attrs", func(b *testing.B) { startEnd(b, tr, ctx, attrs) })
		parent.End()
	}
}

// startEnd starts and ends spans under ctx, and reports the CPU time and
// the exact allocations per span ("mallocs/op": allocs/op rounded down
// hides an allocation shared by several spans).
func startEnd(b *testing.B, tr trace.Tracer, ctx context.Context, opts ...trace.SpanStartOption) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := cputime.Now()
	for b.Loop() {
		_, s := tr.Start(ctx, "op", opts...)
		s.End()
	}
	cputime.Report(b, start)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "mallocs/op")
}
