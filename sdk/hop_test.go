package sdk_test

import (
	"context"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// A -> B -> C where B is a plain OpenTelemetry service: it passes the trace
// context on but not the clock. The clocks must not claim that C's work is
// concurrent with A's spans that the trace orders before or after it.
func TestHopWithoutClock(t *testing.T) {
	a, c := newProcess(t, "a"), newProcess(t, "c")
	bSpans := tracetest.NewInMemoryExporter()
	bTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(bSpans))
	t.Cleanup(func() { _ = bTP.Shutdown(context.Background()) })
	plain := otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, otelprop.Baggage{})

	ctx, root := a.tracer.Start(context.Background(), "a.root")
	cctx, callB := a.tracer.Start(ctx, "a.call-b", trace.WithSpanKind(trace.SpanKindClient))
	req := otelprop.MapCarrier{}
	a.prop.Inject(cctx, req) // carries the clock; B ignores it
	bctx, bHandle := bTP.Tracer("b").Start(plain.Extract(context.Background(), req), "b.handle", trace.WithSpanKind(trace.SpanKindServer))
	bctx, bCall := bTP.Tracer("b").Start(bctx, "b.call-c", trace.WithSpanKind(trace.SpanKindClient))
	req2 := otelprop.MapCarrier{}
	plain.Inject(bctx, req2)
	sctx := c.prop.Extract(context.Background(), req2) // no clock came
	sctx, cHandle := c.tracer.Start(sctx, "c.handle", trace.WithSpanKind(trace.SpanKindServer))
	_, cWork := c.tracer.Start(sctx, "c.work")
	cWork.End()
	cHandle.End()
	bCall.End()
	bHandle.End()
	callB.End()
	_, after := a.tracer.Start(ctx, "a.after")
	after.End()
	root.End()

	clock := func(p *process, name string) vclock.SpanClock {
		t.Helper()
		sc, err := sdk.SpanClock(spanByName(t, p, name).Attributes())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return sc
	}
	tests := []struct {
		name string
		x, y vclock.SpanClock
		want vclock.Order
	}{
		{"A's call vs C's handling behind the plain hop", clock(a, "a.call-b"), clock(c, "c.handle"), vclock.Unknown},
		{"A's later span vs C's work", clock(a, "a.after"), clock(c, "c.work"), vclock.Unknown},
		{"A's root vs C's work", clock(a, "a.root"), clock(c, "c.work"), vclock.Unknown},
		// What the clocks saw is still ordered.
		{"A's root before A's later span", clock(a, "a.root"), clock(a, "a.after"), vclock.Before},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vclock.Compare(tt.x.Start, tt.y.Start); got != tt.want {
				t.Errorf("Compare(%v, %v) = %v, want %v", tt.x.Start, tt.y.Start, got, tt.want)
			}
			if got := vclock.CompareStarts(tt.x, tt.y); got != tt.want {
				t.Errorf("CompareStarts = %v, want %v", got, tt.want)
			}
		})
	}
	// C's own spans stay ordered by C's counter.
	if got := vclock.CompareStarts(clock(c, "c.handle"), clock(c, "c.work")); got != vclock.Before {
		t.Errorf("CompareStarts(c.handle, c.work) = %v, want before", got)
	}
	// A clock that came through is not marked.
	if clock(a, "a.after").Start.Pruned() {
		t.Error("A's clock is marked pruned though nothing was lost")
	}
}
