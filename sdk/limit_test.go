package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// What WithClockLimit sets is what the default propagator and vclock
// accept: a 40-entry clock goes in, is kept, recorded and sent on whole.
func TestClockLimitHonouredEverywhere(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport(),
		sdk.WithNodeID("me"), sdk.WithClockLimit(40))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	var entries []string
	for i := range 39 {
		entries = append(entries, fmt.Sprintf("n%02d:%d", i, i+1))
	}
	prop := propagation.Default()
	in := otelprop.MapCarrier{
		"traceparent":   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"tracer-vclock": strings.Join(entries, ","),
	}
	ctx := prop.Extract(context.Background(), in)
	ctx, s := tp.Tracer("t").Start(ctx, "server", trace.WithSpanKind(trace.SpanKindServer))
	out := otelprop.MapCarrier{}
	prop.Inject(ctx, out)
	s.End()

	sc, err := sdk.SpanClock(exp.GetSpans()[0].Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Start.Len() != 40 || sc.Start.Pruned() {
		t.Errorf("span clock has %d entries (pruned %v), want all 40", sc.Start.Len(), sc.Start.Pruned())
	}
	sent, err := vclock.Parse(out.Get("tracer-vclock"))
	if err != nil || sent.Len() != 40 {
		t.Errorf("sent clock %q: %d entries, %v; want 40", out.Get("tracer-vclock"), sent.Len(), err)
	}
}
