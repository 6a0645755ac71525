package vcstate

import (
	"context"
	"strings"
	"sync"
	"testing"
	"unsafe"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func holders(p *Processor) int {
	n := 0
	for i := range p.shards {
		p.shards[i].mu.Lock()
		n += p.shards[i].lenLocked()
		p.shards[i].mu.Unlock()
	}
	return n
}

// Holders live while their trace has open spans, and no longer: a busy
// process must not keep one per trace it ever saw.
func TestHoldersDroppedWithTheirLastSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProcessor(Config{Node: "n"}, sdktrace.NewSimpleSpanProcessor(exp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				ctx, root := tr.Start(context.Background(), "root")
				_, child := tr.Start(ctx, "child")
				if holders(p) == 0 {
					t.Error("no holder while spans are open")
				}
				child.End()
				root.End()
			}
		}()
	}
	wg.Wait()
	if n := holders(p); n != 0 {
		t.Errorf("%d holders left after every span ended", n)
	}
	if got := len(exp.GetSpans()); got != 8*200*2 {
		t.Errorf("exported %d spans, want %d", got, 8*200*2)
	}
	// Every event got its own count.
	seen := map[int64]bool{}
	for _, s := range exp.GetSpans().Snapshots() {
		for _, a := range s.Attributes() {
			if a.Key == "tracer.vc.tick" {
				if seen[a.Value.AsInt64()] {
					t.Fatalf("tick %d given twice", a.Value.AsInt64())
				}
				seen[a.Value.AsInt64()] = true
			}
		}
	}
}

// A received clock is merged once per holder: a holder reused for
// another trace merges it again rather than trusting a stale mark.
func TestInboundMergedPerHolder(t *testing.T) {
	p := NewProcessor(Config{Node: "n"}, nil)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	ctx := WithInbound(context.Background(), "a:3")

	_, s1 := tr.Start(ctx, "first")
	first := InboundFrom(ctx).merged.Load()
	s1.End() // drops the holder; its shard may hand it out again
	_, s2 := tr.Start(ctx, "second")
	sh, h := p.lookup(s2.SpanContext().TraceID())
	if h == nil {
		t.Fatal("no holder for an open span")
	}
	deps, id := h.depsText, h.id
	sh.mu.Unlock()
	s2.End()
	if deps != "a:3" {
		t.Errorf("second trace's deps = %q, want the received a:3", deps)
	}
	if id == first {
		t.Error("a new holder incarnation reused the old id")
	}
}

// A span started under a received clock that has no entry of this node
// keeps the received text as its deps, without a copy of it.
func TestReceivedClockTextKept(t *testing.T) {
	p := NewProcessor(Config{Node: "n"}, nil)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	text := strings.Clone("a:3,b:1")
	_, s := tp.Tracer("t").Start(WithInbound(context.Background(), text), "server")
	defer s.End()
	sh, h := p.lookup(s.SpanContext().TraceID())
	if h == nil {
		t.Fatal("no holder for an open span")
	}
	deps := h.depsText
	sh.mu.Unlock()
	if deps != text {
		t.Fatalf("deps = %q, want %q", deps, text)
	}
	if unsafe.StringData(deps) != unsafe.StringData(text) {
		t.Error("deps is a copy of the received text")
	}
}

// sameShardIDs gives every trace a new id in shard 0: the ids differ in
// byte 0 only, so that traces meet in one shard's map and its last holder.
type sameShardIDs struct{ n byte }

func (g *sameShardIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.n++
	return trace.TraceID{g.n, 1}, trace.SpanID{g.n, 1}
}

func (g *sameShardIDs) NewSpanID(_ context.Context, tid trace.TraceID) trace.SpanID {
	g.n++
	return trace.SpanID{tid[0], g.n}
}

// A holder enters its shard's map only when another trace's holder takes
// its place as the shard's last: a root span alone costs no map update, and
// traces open at once in one shard each keep their clock.
func TestHolderMapOnlyWhenReplaced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProcessor(Config{Node: "n"}, sdktrace.NewSimpleSpanProcessor(exp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p), sdktrace.WithIDGenerator(&sameShardIDs{}))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	sh := &p.shards[0]
	mapLen := func() int {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		return len(sh.m)
	}

	for range 3 {
		_, s := tr.Start(context.Background(), "alone")
		if n := mapLen(); n != 0 {
			t.Fatalf("a root span alone put %d holders in the map", n)
		}
		s.End()
	}
	ctxA, a := tr.Start(context.Background(), "a")
	ctxB, b := tr.Start(context.Background(), "b") // a's holder goes into the map
	if n := mapLen(); n != 1 {
		t.Fatalf("two open traces: %d holders in the map, want 1 (the other is the last)", n)
	}
	_, a1 := tr.Start(ctxA, "a1") // found in the map; b's goes in
	_, b1 := tr.Start(ctxB, "b1")
	a1.End()
	b.End()
	b1.End()
	a.End()
	if n := holders(p); n != 0 {
		t.Errorf("%d holders left after every span ended", n)
	}
	if n := mapLen(); n != 0 {
		t.Errorf("%d holders left in the map", n)
	}
	spans := exp.GetSpans().Snapshots()
	if len(spans) != 7 {
		t.Fatalf("exported %d spans, want 7", len(spans))
	}
	ticks := map[string]int64{}
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if kv.Key == "tracer.vc.tick" {
				ticks[s.Name()] = kv.Value.AsInt64()
			}
		}
		if _, ok := ticks[s.Name()]; !ok {
			t.Errorf("span %s ended without its clock", s.Name())
		}
	}
	// Each trace's child follows its parent in this node's counter.
	if ticks["a1"] <= ticks["a"] || ticks["b1"] <= ticks["b"] {
		t.Errorf("ticks %v: a child before its parent", ticks)
	}
}
