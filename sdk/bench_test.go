package sdk_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/internal/cputime"
	"github.com/tracerdev/tracer/sdk"
)

// discard is a processor that does nothing, so both providers below pay for
// the span snapshot at End, as any provider with an exporter does.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// BenchmarkSpanStartEnd compares a span start+end on a plain OpenTelemetry
// provider with the same on Tracer's (clock processor in front of the same
// processor). Budget: <= 1.15x the time, <= 1 extra allocation.
func BenchmarkSpanStartEnd(b *testing.B) {
	plain := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discard{}))
	ours, err := sdk.New(context.Background(), sdk.WithSampler(sdktrace.AlwaysSample()),
		sdk.WithoutExporter(), sdk.WithSpanProcessor(discard{}), sdk.WithNodeID("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		tp   *sdktrace.TracerProvider
	}{{"otel", plain}, {"tracer", ours}} {
		b.Run(bc.name+"/root", func(b *testing.B) {
			tr := bc.tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				_, s := tr.Start(ctx, "op")
				s.End()
			}
			cputime.Report(b, start)
		})
		b.Run(bc.name+"/child", func(b *testing.B) {
			tr := bc.tp.Tracer("bench")
			ctx, parent := tr.Start(context.Background(), "parent")
			defer parent.End()
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				_, s := tr.Start(ctx, "op")
				s.End()
			}
			cputime.Report(b, start)
		})
	}
}
