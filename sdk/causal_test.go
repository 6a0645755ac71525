package sdk_test

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// process is one service of the test: its own provider, propagator and
// recorded spans, as if it ran in a process of its own.
type process struct {
	name   string
	node   string
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   otelprop.TextMapPropagator
	clock  *propagation.VClock
	spans  *tracetest.InMemoryExporter
}

func newProcess(t *testing.T, name string) *process {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	instance := name + "-0123456789abcdef0123456789abcdef"
	tp, err := sdk.New(context.Background(),
		sdk.WithServiceName("svc-"+name),
		sdk.WithInstanceID(instance),
		sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	vc := propagation.NewVClock()
	return &process{
		name: name, node: sdk.NodeID(instance), tp: tp, tracer: tp.Tracer("test"), clock: vc, spans: exp,
		prop: otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, otelprop.Baggage{}, vc),
	}
}

// call simulates an RPC from ctx (holding the caller's client span) to the
// handler of callee: request headers out, response headers back.
func call(ctx context.Context, caller, callee *process, handler func(ctx context.Context)) {
	req := otelprop.MapCarrier{}
	caller.prop.Inject(ctx, req)
	sctx := callee.prop.Extract(context.Background(), req)
	sctx, span := callee.tracer.Start(sctx, callee.name+".handle", trace.WithSpanKind(trace.SpanKindServer))
	if handler != nil {
		handler(sctx)
	}
	resp := otelprop.MapCarrier{}
	callee.clock.InjectResponse(sctx, resp)
	span.End()
	caller.clock.ExtractResponse(ctx, resp)
}

func spanByName(t *testing.T, p *process, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range p.spans.GetSpans().Snapshots() {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("%s recorded no span %q", p.name, name)
	return nil
}

// startClock and endClock rebuild the clocks from the span's attributes.
func startClock(t *testing.T, s sdktrace.ReadOnlySpan) vclock.Clock {
	t.Helper()
	return clockFrom(t, s, vclock.AttrTick, vclock.AttrDeps)
}

func endClock(t *testing.T, s sdktrace.ReadOnlySpan) vclock.Clock {
	t.Helper()
	attrs := attrMap(s)
	if _, ok := attrs[vclock.AttrEndTick]; !ok {
		return startClock(t, s)
	}
	return clockFrom(t, s, vclock.AttrEndTick, vclock.AttrEndDeps)
}

func attrMap(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

func clockFrom(t *testing.T, s sdktrace.ReadOnlySpan, tickKey, depsKey attribute.Key) vclock.Clock {
	t.Helper()
	attrs := attrMap(s)
	node, ok := attrs[vclock.AttrNode]
	if !ok {
		t.Fatalf("span %q has no %s", s.Name(), vclock.AttrNode)
	}
	tick, ok := attrs[tickKey]
	if !ok {
		t.Fatalf("span %q has no %s", s.Name(), tickKey)
	}
	c, err := vclock.Compose(node.AsString(), uint64(tick.AsInt64()), attrs[depsKey].AsString())
	if err != nil {
		t.Fatalf("span %q: %v", s.Name(), err)
	}
	return c
}

func TestCausalOrderAcrossThreeProcesses(t *testing.T) {
	a, b, c := newProcess(t, "a"), newProcess(t, "b"), newProcess(t, "c")

	ctx, root := a.tracer.Start(context.Background(), "a.root")
	cctx, callB := a.tracer.Start(ctx, "a.call-b", trace.WithSpanKind(trace.SpanKindClient))
	call(cctx, a, b, func(ctx context.Context) {
		cctx, callC := b.tracer.Start(ctx, "b.call-c", trace.WithSpanKind(trace.SpanKindClient))
		call(cctx, b, c, nil)
		callC.End()
	})
	callB.End()
	_, after := a.tracer.Start(ctx, "a.after")
	after.End()

	// Fan out from A to B and C in parallel: both client spans start, then
	// both calls run at once.
	var wg sync.WaitGroup
	type branch struct {
		ctx    context.Context
		span   trace.Span
		callee *process
	}
	var branches []branch
	for _, callee := range []*process{b, c} {
		fctx, fan := a.tracer.Start(ctx, "a.fan-"+callee.name, trace.WithSpanKind(trace.SpanKindClient))
		branches = append(branches, branch{fctx, fan, callee})
	}
	for _, br := range branches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer br.span.End()
			call(br.ctx, a, br.callee, func(ctx context.Context) {
				_, s := br.callee.tracer.Start(ctx, br.callee.name+".fan")
				s.End()
			})
		}()
	}
	wg.Wait()
	root.End()

	clk := func(p *process, name string) vclock.Clock { return startClock(t, spanByName(t, p, name)) }
	tests := []struct {
		name string
		x, y vclock.Clock
		want vclock.Order
	}{
		{"A root before its call", clk(a, "a.root"), clk(a, "a.call-b"), vclock.Before},
		{"A's call before B's server span", clk(a, "a.call-b"), clk(b, "b.handle"), vclock.Before},
		{"B's server span before C's", clk(b, "b.handle"), clk(c, "c.handle"), vclock.Before},
		{"A's root before C's server span", clk(a, "a.root"), clk(c, "c.handle"), vclock.Before},
		{"A's later span after C's server span", clk(a, "a.after"), clk(c, "c.handle"), vclock.After},
		{"A's later span after B's call to C", clk(a, "a.after"), clk(b, "b.call-c"), vclock.After},
		{"fan-out branches concurrent", clk(b, "b.fan"), clk(c, "c.fan"), vclock.Concurrent},
		{"A's fan call before B's branch", clk(a, "a.fan-b"), clk(b, "b.fan"), vclock.Before},
		{"A's fan call before C's branch", clk(a, "a.fan-c"), clk(c, "c.fan"), vclock.Before},
		{"C's first handling before its fan branch", clk(c, "c.handle"), clk(c, "c.fan"), vclock.Before},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vclock.Compare(tt.x, tt.y); got != tt.want {
				t.Errorf("Compare(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
			}
		})
	}

	// The client span's end clock includes what the callees did.
	if got := vclock.Compare(endClock(t, spanByName(t, a, "a.call-b")), clk(c, "c.handle")); got != vclock.After {
		t.Errorf("a.call-b end clock vs c.handle = %v, want after", got)
	}
	// Every span carries its node and tick.
	for _, p := range []*process{a, b, c} {
		for _, s := range p.spans.GetSpans().Snapshots() {
			if got := attrMap(s)[vclock.AttrNode].AsString(); got != p.node {
				t.Errorf("span %q node = %q, want %q", s.Name(), got, p.node)
			}
		}
	}
	if n := len(a.spans.GetSpans()); n != 5 {
		t.Errorf("A recorded %d spans, want 5", n)
	}
}
