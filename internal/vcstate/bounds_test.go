package vcstate

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// meter records what is added to the eviction counter.
type meter struct {
	noop.MeterProvider
	mu    sync.Mutex
	added map[string]int64 // by reason
}

type recMeter struct {
	noop.Meter
	m *meter
}

type recCounter struct {
	noop.Int64Counter
	m *meter
}

func (m *meter) Meter(string, ...metric.MeterOption) metric.Meter { return recMeter{m: m} }

func (r recMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	if name != EvictedMetric {
		return noop.Int64Counter{}, nil
	}
	return recCounter{m: r.m}, nil
}

func (c recCounter) Add(_ context.Context, n int64, opts ...metric.AddOption) {
	set := metric.NewAddConfig(opts).Attributes()
	reason, _ := set.Value(attribute.Key("reason"))
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.m.added == nil {
		c.m.added = map[string]int64{}
	}
	c.m.added[reason.AsString()] += n
}

func (m *meter) get(reason string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.added[reason]
}

func openSpans(p *Processor) int {
	n := 0
	for i := range p.shards {
		p.shards[i].mu.Lock()
		for _, h := range p.shards[i].m {
			n += len(h.open)
		}
		if l := p.shards[i].last; l != nil && !l.inMap {
			n += len(l.open)
		}
		p.shards[i].mu.Unlock()
	}
	return n
}

func shardSpans(p *Processor) int {
	n := 0
	for i := range p.shards {
		p.shards[i].mu.Lock()
		n += p.shards[i].spans
		p.shards[i].mu.Unlock()
	}
	return n
}

func hasClock(s sdktrace.ReadOnlySpan) bool {
	for _, a := range s.Attributes() {
		if a.Key == "tracer.vc.node" {
			return true
		}
	}
	return false
}

// Spans that start and never end cannot hold memory beyond MaxSpans.
func TestCountBound(t *testing.T) {
	tests := []struct {
		name   string
		traces int // spans spread over this many traces (0: one per span)
	}{
		{"one trace per span", 0},
		{"one trace", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &meter{}
			exp := tracetest.NewInMemoryExporter()
			p := NewProcessor(Config{Node: "n", MaxSpans: 100, Meter: m}, sdktrace.NewSimpleSpanProcessor(exp))
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
			defer tp.Shutdown(context.Background())
			tr := tp.Tracer("t")
			ctx := context.Background()
			var leaked []trace.Span
			if tt.traces == 1 {
				var root trace.Span
				ctx, root = tr.Start(ctx, "root")
				leaked = append(leaked, root)
			}
			for len(leaked) < 1000 {
				_, s := tr.Start(ctx, "leak")
				leaked = append(leaked, s)
			}
			kept := openSpans(p)
			if kept > 100 {
				t.Errorf("%d open spans kept, want at most 100", kept)
			}
			if n := shardSpans(p); n != kept {
				t.Errorf("span count %d, but %d recorded", n, kept)
			}
			_, count := p.Evicted()
			if int(count) != 1000-kept {
				t.Errorf("evicted %d for count, want %d", count, 1000-kept)
			}
			if got := m.get("count"); got != int64(count) {
				t.Errorf("metric counted %d, Evicted %d", got, count)
			}
			// The spans still kept end with their clock, the evicted ones without.
			for _, s := range slices.Backward(leaked) {
				s.End()
			}
			withClock := 0
			for _, s := range exp.GetSpans().Snapshots() {
				if hasClock(s) {
					withClock++
				}
			}
			if want := 1000 - int(count); withClock != want {
				t.Errorf("%d spans ended with a clock, want %d", withClock, want)
			}
			if n := holders(p); tt.traces == 0 && n != 0 {
				t.Errorf("%d holders left", n)
			}
		})
	}
}

// A trace whose spans stopped starting is dropped after MaxIdle.
func TestAgeBound(t *testing.T) {
	m := &meter{}
	p := NewProcessor(Config{Node: "n", MaxIdle: time.Hour, Meter: m}, nil)
	var now atomic.Int64
	p.clock, p.refresh = now.Load, 0 // read the time at every span start
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	// Two traces in one shard: span ids of both end in the same byte.
	old := trace.TraceID{15: 1}
	fresh := trace.TraceID{0: 1, 15: 1}
	ctxFor := func(id trace.TraceID) context.Context {
		return trace.ContextWithRemoteSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{7: 1}, TraceFlags: trace.FlagsSampled}))
	}
	_, a := tr.Start(ctxFor(old), "old")
	now.Store(int64(30 * time.Minute))
	_, b := tr.Start(ctxFor(fresh), "fresh")
	now.Store(int64(61 * time.Minute))
	_, x := tr.Start(ctxFor(fresh), "x") // sees 61 min only once it has passed
	if age, _ := p.Evicted(); age != 0 {
		t.Fatalf("evicted %d before an hour passed", age)
	}
	_, c := tr.Start(ctxFor(fresh), "later")
	if age, _ := p.Evicted(); age != 1 || m.get("age") != 1 {
		t.Errorf("evicted %d (metric %d) for age, want the old trace's 1", age, m.get("age"))
	}
	if holders(p) != 1 {
		t.Errorf("%d holders, want only the fresh trace's", holders(p))
	}
	for _, s := range []trace.Span{a, b, x, c} {
		s.End()
	}
	if n := shardSpans(p); n != 0 || holders(p) != 0 {
		t.Errorf("%d spans, %d holders left", n, holders(p))
	}
}

// Many open spans of one trace are found without a scan, and ending them in
// any order keeps each span's own clock.
func TestManyOpenSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProcessor(Config{Node: "n"}, sdktrace.NewSimpleSpanProcessor(exp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	var spans []trace.Span
	for range 50 {
		_, s := tr.Start(ctx, "child")
		spans = append(spans, s)
	}
	for i := range spans { // odd ones first, then even
		if i%2 == 1 {
			spans[i].End()
		}
	}
	for i := range spans {
		if i%2 == 0 {
			spans[i].End()
		}
	}
	root.End()
	ticks := map[int64]bool{}
	for _, s := range exp.GetSpans().Snapshots() {
		if !hasClock(s) {
			t.Fatalf("span %s ended without clock", s.Name())
		}
		for _, a := range s.Attributes() {
			if a.Key == "tracer.vc.tick" {
				ticks[a.Value.AsInt64()] = true
			}
		}
	}
	if len(ticks) != 51 {
		t.Errorf("%d distinct ticks, want 51", len(ticks))
	}
}

// A span started under a local parent whose clock state is gone (the
// parent ended, or its state was evicted) cannot know its parent's past:
// its clock is marked pruned. Under a live parent it is not.
func TestParentStateGone(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProcessor(Config{Node: "n"}, sdktrace.NewSimpleSpanProcessor(exp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	ctx, parent := tr.Start(context.Background(), "parent")
	_, live := tr.Start(ctx, "live")
	live.End()
	parent.End()
	_, late := tr.Start(ctx, "late") // a goroutine outliving its request
	late.End()
	deps := map[string]string{}
	for _, s := range exp.GetSpans().Snapshots() {
		for _, a := range s.Attributes() {
			if a.Key == "tracer.vc.deps" {
				deps[s.Name()] = a.Value.AsString()
			}
		}
	}
	if deps["late"] != "!" {
		t.Errorf("late span's deps = %q, want the pruned mark", deps["late"])
	}
	if deps["live"] != "" || deps["parent"] != "" {
		t.Errorf("deps of live %q, parent %q: want none", deps["live"], deps["parent"])
	}
}
