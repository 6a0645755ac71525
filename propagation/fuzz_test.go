package propagation_test

import (
	"context"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

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

// FuzzTraceContext feeds arbitrary traceparent and tracestate fields to
// extraction: it may not panic, and what it accepts must inject as a valid
// version 00 header pair that extracts to the same span context.
func FuzzTraceContext(f *testing.F) {
	f.Add(tp1, "foo=1,bar=2", "baz=3")
	f.Add("cc"+tp1[2:]+"-x", "foo=1,foo=2", "")
	f.Add(" "+tp1+"\t", "a=1,,b= 2 ,BAD", "c@d=3")
	f.Add("00-00000000000000000000000000000000-1234567890123456-01", "", "")
	f.Add(tp1, members("k", 1, 33), "z=1")
	prop := propagation.TraceContext{}
	f.Fuzz(func(t *testing.T, traceparent, state1, state2 string) {
		in := headers([]string{traceparent}, []string{state1, state2})
		sc := trace.SpanContextFromContext(prop.Extract(context.Background(), in))
		if !sc.IsValid() {
			return
		}
		if sc.TraceState().Len() > 32 {
			t.Fatalf("tracestate of %d members", sc.TraceState().Len())
		}
		out := otelprop.MapCarrier{}
		prop.Inject(trace.ContextWithRemoteSpanContext(context.Background(), sc), out)
		if _, err := trace.ParseTraceState(out["tracestate"]); err != nil {
			t.Fatalf("injected an invalid tracestate %q: %v", out["tracestate"], err)
		}
		back := trace.SpanContextFromContext(otelprop.TraceContext{}.Extract(context.Background(), out))
		if !back.Equal(sc) {
			t.Fatalf("extracted %v from %q %q; injected %v; that extracts to %v", sc, traceparent, []string{state1, state2}, out, back)
		}
	})
}
