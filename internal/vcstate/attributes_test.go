package vcstate

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// keep is a processor that keeps the ended spans as it gets them, the
// ReadOnlySpan itself, as a batching exporter holds it until export.
type keep struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (*keep) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (k *keep) OnEnd(s sdktrace.ReadOnlySpan) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spans = append(k.spans, s)
}
func (*keep) Shutdown(context.Context) error   { return nil }
func (*keep) ForceFlush(context.Context) error { return nil }

func (k *keep) byName(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.spans {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no span %q exported", name)
	return nil
}

// The attributes an exporter sees: the clock first (node, tick, deps,
// end_tick, end_deps, each only when the SDK records it; see vclock's
// Attr* constants), then the span's own, in the span's order. These are
// the exact lists the processor gave before the attributes were built
// once per span, so what storage and analysis read is unchanged.
func TestExportedClockAttributes(t *testing.T) {
	k := &keep{}
	p := NewProcessor(Config{Node: "n"}, k)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")

	// A request that brought a clock, with a child whose open span sees a
	// response merged, a child that sees nothing move, and the root's own
	// attributes.
	ctx := WithInbound(context.Background(), "a:3,b:1")
	ctx, root := tr.Start(ctx, "root", trace.WithAttributes(attribute.String("k", "v"), attribute.Int("i", 7)))
	_, c1 := tr.Start(ctx, "c1")
	if !p.Receive(root.SpanContext().TraceID(), "a:5,c:2") {
		t.Fatal("Receive found no clock for an open trace")
	}
	c1.End()
	_, c2 := tr.Start(ctx, "c2", trace.WithAttributes(attribute.Bool("b", true)))
	c2.End()
	root.End()

	// A root alone, and a root whose clock only ticked under it.
	_, lone := tr.Start(context.Background(), "lone")
	lone.End()
	ctx, ticked := tr.Start(context.Background(), "ticked")
	_, c3 := tr.Start(ctx, "c3")
	c3.End()
	// A new root under an open span is a trace of its own, not a child
	// whose parent's state is gone.
	_, fresh := tr.Start(ctx, "fresh", trace.WithNewRoot())
	fresh.End()
	ticked.End()

	// A remote parent that sent no clock: the clock is marked pruned.
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true}))
	_, hop := tr.Start(remote, "hop")
	hop.End()

	s, i := attribute.String, attribute.Int64
	tests := []struct {
		span string
		want []attribute.KeyValue
	}{
		{"root", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 1), s("tracer.vc.deps", "a:3,b:1"),
			i("tracer.vc.end_tick", 4), s("tracer.vc.end_deps", "a:5,b:1,c:2"), s("k", "v"), i("i", 7)}},
		{"c1", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 2), s("tracer.vc.deps", "a:3,b:1"),
			i("tracer.vc.end_tick", 3), s("tracer.vc.end_deps", "a:5,b:1,c:2")}},
		{"c2", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 4), s("tracer.vc.deps", "a:5,b:1,c:2"),
			attribute.Bool("b", true)}},
		{"lone", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 5)}},
		{"ticked", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 6), i("tracer.vc.end_tick", 7)}},
		{"c3", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 7)}},
		{"fresh", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 8)}},
		{"hop", []attribute.KeyValue{s("tracer.vc.node", "n"), i("tracer.vc.tick", 9), s("tracer.vc.deps", "!")}},
	}
	for _, tt := range tests {
		t.Run(tt.span, func(t *testing.T) {
			got := k.byName(t, tt.span).Attributes()
			if !slices.Equal(got, tt.want) {
				t.Errorf("attributes\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// Attributes() is what exporters call, possibly more than one of them on
// the same span: it gives the same attributes every time and allocates
// nothing, and a caller appending to what it got does not change what the
// next caller, or another span, sees.
func TestAttributesBuiltOnce(t *testing.T) {
	k := &keep{}
	p := NewProcessor(Config{Node: "n"}, k)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root", trace.WithAttributes(attribute.String("k", "v")))
	_, child := tr.Start(ctx, "child")
	child.End()
	root.End()
	_, next := tr.Start(context.Background(), "next")
	next.End()

	for _, name := range []string{"root", "child"} {
		s := k.byName(t, name)
		first := s.Attributes()
		want := slices.Clone(first)
		if allocs := testing.AllocsPerRun(100, func() { _ = s.Attributes() }); allocs != 0 {
			t.Errorf("%s: Attributes() allocates %v times per call, want 0", name, allocs)
		}
		_ = append(first, attribute.String("appended", "x"))
		if got := s.Attributes(); !slices.Equal(got, want) {
			t.Errorf("%s: second Attributes() = %v, want %v", name, got, want)
		}
	}
	if got := k.byName(t, "next").Attributes(); len(got) != 2 || got[0].Key != "tracer.vc.node" || got[1].Key != "tracer.vc.tick" {
		t.Errorf("next span's attributes = %v, want its node and tick alone", got)
	}
}

// A span with more attributes than a slab chunk holds comfortably gets a
// slice of its own, with the same contents as any other.
func TestAttributesOfALargeSpan(t *testing.T) {
	k := &keep{}
	p := NewProcessor(Config{Node: "n"}, k)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	for _, n := range []int{0, 1, slabAttrs/2 - 2, slabAttrs/2 - 1, slabAttrs - 2, 120} {
		own := make([]attribute.KeyValue, n)
		for j := range own {
			own[j] = attribute.Int("a"+strconv.Itoa(j), j)
		}
		_, s := tr.Start(context.Background(), "s"+strconv.Itoa(n), trace.WithAttributes(own...))
		s.End()
		got := k.byName(t, "s"+strconv.Itoa(n)).Attributes()
		if len(got) != n+2 || got[0].Key != "tracer.vc.node" || got[1].Key != "tracer.vc.tick" || !slices.Equal(got[2:], own) {
			t.Errorf("%d own attributes: got %v", n, got)
		}
		if cap(got) != len(got) {
			t.Errorf("%d own attributes: cap %d > len %d, an append would write over memory of another span", n, cap(got), len(got))
		}
	}
}
