package propagation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/cputime"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

func newProvider(t testing.TB, node string) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithNodeID(node), sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func TestInjectExtract(t *testing.T) {
	tpA, _ := newProvider(t, "a")
	tpB, expB := newProvider(t, "b")
	prop := propagation.Default()

	ctx, span := tpA.Tracer("t").Start(context.Background(), "client")
	carrier := otelprop.MapCarrier{}
	prop.Inject(ctx, carrier)
	if got, want := carrier[propagation.Header], "a:1"; got != want {
		t.Fatalf("injected clock %q, want %q", got, want)
	}
	if carrier["traceparent"] == "" {
		t.Fatal("default propagator did not inject traceparent")
	}
	span.End()

	// B extracts, and its server span merges A's clock and ticks.
	sctx := prop.Extract(context.Background(), carrier)
	_, server := tpB.Tracer("t").Start(sctx, "server", trace.WithSpanKind(trace.SpanKindServer))
	server.End()
	got := expB.GetSpans().Snapshots()[0]
	if attr(got, vclock.AttrNode) != "b" || attr(got, vclock.AttrTick) != "1" || attr(got, vclock.AttrDeps) != "a:1" {
		t.Errorf("server span clock attributes: node=%q tick=%q deps=%q, want b, 1, a:1",
			attr(got, vclock.AttrNode), attr(got, vclock.AttrTick), attr(got, vclock.AttrDeps))
	}
	if got.Parent().SpanID() != span.SpanContext().SpanID() {
		t.Error("server span is not the child of the client span")
	}
}

func TestExtractBadHeaders(t *testing.T) {
	var handled []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled = append(handled, err) }))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))

	vc := propagation.NewVClock(propagation.WithMaxEntries(4))
	tp, exp := newProvider(t, "b")
	bad := []string{"garbage", "a:0", "b:1,a:1", "a:1,b:1,c:1,d:1,e:1", strings.Repeat("x", 10000)}
	for i, h := range bad {
		ctx := vc.Extract(context.Background(), otelprop.MapCarrier{propagation.Header: h})
		_, s := tp.Tracer("t").Start(ctx, fmt.Sprint("s", i))
		s.End()
	}
	// The request goes on without a clock from the sender: only the local entry.
	for _, s := range exp.GetSpans().Snapshots() {
		if d := attr(s, vclock.AttrDeps); d != "" {
			t.Errorf("span %s took deps %q from a bad header", s.Name(), d)
		}
		if attr(s, vclock.AttrNode) != "b" {
			t.Errorf("span %s lost its own clock", s.Name())
		}
	}
	if got := vc.Rejected(); got != uint64(len(bad)) {
		t.Errorf("Rejected() = %d, want %d", got, len(bad))
	}
	if len(handled) != 1 {
		t.Errorf("reported %d errors, want exactly 1 (then only counted)", len(handled))
	}
	// A missing header is not an error.
	if ctx := vc.Extract(context.Background(), otelprop.MapCarrier{}); ctx != context.Background() {
		t.Error("a missing header changed the context")
	}
}

func TestPassThroughWithoutSpan(t *testing.T) {
	vc := propagation.NewVClock()
	ctx := vc.Extract(context.Background(), otelprop.MapCarrier{propagation.Header: "a:3,b:1"})
	out := otelprop.MapCarrier{}
	vc.Inject(ctx, out)
	if got := out[propagation.Header]; got != "a:3,b:1" {
		t.Errorf("a proxy with no span passed on %q, want the clock it received", got)
	}
}

func TestResponseMerge(t *testing.T) {
	tp, exp := newProvider(t, "a")
	vc := propagation.NewVClock()
	ctx, handler := tp.Tracer("t").Start(context.Background(), "handler")
	cctx, client := tp.Tracer("t").Start(ctx, "client")
	// The callee's clock includes what it knew of us (a:1); our own entry is ours to keep.
	if !vc.ExtractResponse(cctx, otelprop.MapCarrier{propagation.Header: "a:1,b:5"}) {
		t.Fatal("response clock not merged")
	}
	client.End()
	_, after := tp.Tracer("t").Start(ctx, "after")
	after.End()
	handler.End()
	spans := exp.GetSpans().Snapshots()
	if got := attr(spans[0], vclock.AttrEndDeps); got != "b:5" {
		t.Errorf("client span end deps = %q, want b:5", got)
	}
	if got := attr(spans[1], vclock.AttrDeps); got != "b:5" {
		t.Errorf("later span deps = %q, want b:5", got)
	}
	// Bad response headers are counted and ignored.
	if vc.ExtractResponse(ctx, otelprop.MapCarrier{propagation.Header: "nope"}) {
		t.Error("a malformed response clock was merged")
	}
}

func TestByName(t *testing.T) {
	tests := []struct {
		names  []string
		fields []string
		err    bool
	}{
		{[]string{"tracecontext", "baggage", "vclock"}, []string{"traceparent", "tracestate", "baggage", "tracer-vclock"}, false},
		{[]string{"b3"}, []string{"b3"}, false},
		{[]string{"b3multi"}, []string{"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags"}, false},
		{[]string{"jaeger"}, []string{"uber-trace-id"}, false},
		{[]string{"none"}, nil, false},
		{[]string{"zipkin2"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			p, err := propagation.ByName(tt.names...)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err != nil {
				return
			}
			for _, f := range tt.fields {
				found := false
				for _, g := range p.Fields() {
					found = found || strings.EqualFold(f, g)
				}
				if !found {
					t.Errorf("fields %v lack %q", p.Fields(), f)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("OTEL_PROPAGATORS", "b3,tracecontext")
	p, err := propagation.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Fields(), ",")
	for _, want := range []string{"b3", "traceparent", propagation.Header} {
		if !strings.Contains(got, want) {
			t.Errorf("fields %q lack %q", got, want)
		}
	}
	t.Setenv("OTEL_PROPAGATORS", "b3,bogus")
	if _, err := propagation.FromEnv(); err == nil {
		t.Error("FromEnv accepted an unknown propagator")
	}
}

// BenchmarkInjectExtract measures a request's clock round trip: encode the
// sender's clock of n entries into a carrier and extract it on the other
// side. Budget: <= 1 µs and <= 3 allocations for 16 entries.
func BenchmarkInjectExtract(b *testing.B) {
	for _, n := range []int{1, 8, 16, 32} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			tp, _ := newProvider(b, "0123456789abcdef")
			vc := propagation.NewVClock()
			// The sender has heard from n-1 other processes.
			var deps vclock.Clock
			for i := range n - 1 {
				deps.Set(fmt.Sprintf("%016x", uint64(i+1)*0x9e3779b97f4a7c15), uint64(100+i))
			}
			ctx := context.Background()
			if n > 1 {
				ctx = vc.Extract(ctx, otelprop.MapCarrier{propagation.Header: deps.String()})
			}
			ctx, span := tp.Tracer("b").Start(ctx, "client")
			defer span.End()
			carrier := otelprop.MapCarrier{}
			vc.Inject(ctx, carrier)
			if got := strings.Count(carrier[propagation.Header], ":"); got != n {
				b.Fatalf("clock has %d entries, want %d", got, n)
			}
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				vc.Inject(ctx, carrier)
				out := vc.Extract(context.Background(), carrier)
				if out == context.Background() {
					b.Fatal("nothing extracted")
				}
			}
			cputime.Report(b, start)
		})
	}
}
