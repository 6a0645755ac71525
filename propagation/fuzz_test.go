package propagation_test

import (
	"context"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"

	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/vclock"
)

// FuzzExtract feeds arbitrary clock headers, as a network peer could, to
// extraction, the span start that merges them and the response merge: none
// may panic, and a span always keeps its own clock.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"", "a:1", "!a:1,b:2", "b:1,a:1", "a:0", ",", "x:18446744073709551615", "a:1,a:1"} {
		f.Add(s)
	}
	tp, exp := newProvider(f, "self")
	vc := propagation.NewVClock()
	tracer := tp.Tracer("fuzz")
	f.Fuzz(func(t *testing.T, header string) {
		exp.Reset()
		ctx := vc.Extract(context.Background(), otelprop.MapCarrier{propagation.Header: header})
		ctx, span := tracer.Start(ctx, "server")
		vc.MergeResponse(ctx, header)
		out := otelprop.MapCarrier{}
		vc.InjectResponse(ctx, out)
		span.End()
		if _, err := vclock.Parse(out[propagation.Header]); err != nil {
			t.Fatalf("sent an invalid clock %q after receiving %q: %v", out[propagation.Header], header, err)
		}
		spans := exp.GetSpans().Snapshots()
		if len(spans) != 1 || attr(spans[0], vclock.AttrNode) != "self" {
			t.Fatalf("the span lost its clock after receiving %q", header)
		}
	})
}
