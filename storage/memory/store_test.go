package memory_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, limits storage.ReaderLimits) storage.Store {
		s := memory.New(memory.WithReaderLimits(limits))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEviction(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxSpans(10))
	defer s.Close()
	g := storagetest.NewGenerator(1)
	start := time.Now().Add(-time.Hour)
	var traces [][]storage.Span
	for i := range 4 {
		tr := g.Trace(start.Add(time.Duration(i)*time.Second), 3)
		traces = append(traces, tr)
		if err := s.WriteSpans(ctx, tr); err != nil {
			t.Fatalf("WriteSpans: %v", err)
		}
	}
	// 12 spans written into 10: the first trace is gone.
	if got, want := s.Stats(), (memory.Stats{Traces: 3, Spans: 9, EvictedTraces: 1, EvictedSpans: 3}); got.Bytes <= 0 || (got != memory.Stats{Traces: 3, Spans: 9, Bytes: got.Bytes, EvictedTraces: 1, EvictedSpans: 3}) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if _, err := s.Trace(ctx, traces[0][0].TraceID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(evicted): err = %v, want ErrNotFound", err)
	}
	// Adding a span to the oldest remaining trace spares it: the next
	// oldest goes instead.
	extra := traces[1][0]
	extra.SpanID = g.SpanID()
	fresh := g.Trace(start, 1)
	if err := s.WriteSpans(ctx, []storage.Span{extra, fresh[0]}); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	if _, err := s.Trace(ctx, traces[1][0].TraceID); err != nil {
		t.Fatalf("Trace(just written): %v", err)
	}
	if _, err := s.Trace(ctx, traces[2][0].TraceID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(oldest untouched): err = %v, want ErrNotFound", err)
	}
	if got := s.Stats(); got.Spans > 10 || got.EvictedTraces != 2 {
		t.Fatalf("Stats = %+v, want at most 10 spans and 2 evicted traces", got)
	}
	// Services forget evicted spans.
	var live []storage.Span
	for _, id := range []storage.TraceID{traces[1][0].TraceID, traces[3][0].TraceID, fresh[0].TraceID} {
		tr, err := s.Trace(ctx, id)
		if err != nil {
			t.Fatalf("Trace(live): %v", err)
		}
		live = append(live, tr.Spans...)
	}
	svcs, err := s.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := storagetest.SortedServices(live); !slices.Equal(svcs, want) {
		t.Errorf("Services = %q, want %q (those of live spans)", svcs, want)
	}
}

func TestEvictionOneBigTrace(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxSpans(4))
	defer s.Close()
	g := storagetest.NewGenerator(2)
	tr := g.Trace(time.Now().Add(-time.Minute), 4)
	if err := s.WriteSpans(ctx, tr); err != nil {
		t.Fatal(err)
	}
	// A fifth span of the same trace: the trace alone exceeds the store.
	more := tr[0]
	more.SpanID = g.SpanID()
	if err := s.WriteSpans(ctx, []storage.Span{more}); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Spans > 4 {
		t.Fatalf("Stats = %+v: more than 4 spans held", got)
	}
}

// TestBatchTooBig: a write of more spans than the store holds is stored as
// far as it fits (its first traces are evicted), not refused.
func TestBatchTooBig(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxSpans(4))
	defer s.Close()
	g := storagetest.NewGenerator(3)
	var batch []storage.Span
	for i := range 3 {
		batch = append(batch, g.Trace(time.Now().Add(time.Duration(i)*time.Second), 2)...)
	}
	if err := s.WriteSpans(ctx, batch); err != nil {
		t.Fatalf("WriteSpans(6 spans into 4): %v", err)
	}
	if got, want := s.Stats(), (memory.Stats{Traces: 2, Spans: 4, EvictedTraces: 1, EvictedSpans: 2}); got.Traces != want.Traces || got.Spans != want.Spans || got.EvictedTraces != want.EvictedTraces || got.EvictedSpans != want.EvictedSpans {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if _, err := s.Trace(ctx, batch[5].TraceID); err != nil {
		t.Fatalf("Trace(last trace of the write): %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := memory.New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteSpans(context.Background(), nil); err == nil {
		t.Error("WriteSpans after Close: no error")
	}
	if _, err := s.Services(context.Background()); err == nil {
		t.Error("Services after Close: no error")
	}
}

func BenchmarkWriteSpans(b *testing.B) {
	g := storagetest.NewGenerator(1)
	var batches [][]storage.Span
	for i := range 16 {
		batches = append(batches, g.Trace(time.Now().Add(time.Duration(i)*time.Second), 1000))
	}
	s := memory.New(memory.WithMaxSpans(100_000))
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.WriteSpans(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads a store of 100,000 spans (10,000 traces of 10 spans).
func BenchmarkRead(b *testing.B) {
	const traces, perTrace = 10_000, 10
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(2)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	var ids []storage.TraceID
	for i := range traces {
		tr := g.Trace(start.Add(time.Duration(i)*time.Hour/traces), perTrace)
		ids = append(ids, tr[0].TraceID)
		if err := s.WriteSpans(ctx, tr); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Trace", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Trace(ctx, ids[(i*7919)%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindTraces/service", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := s.FindTraces(ctx, storage.Query{Service: g.Services()[0]})
			if err != nil || len(got) != storage.DefaultLimit {
				b.Fatalf("FindTraces: %d traces, %v", len(got), err)
			}
		}
	})
	b.Run("Dependencies/1h", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Dependencies(ctx, time.Now(), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBigTrace covers traces past the size where the store indexes a
// trace's spans by id: rewrites, purges and dependencies.
func TestBigTrace(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(5)
	start := time.Now().Add(-time.Hour)
	const n = 50
	tr := g.Trace(start, n)
	// Spread the start times, the second half in the last minute.
	for i := range tr {
		d := time.Duration(i) * time.Second
		if i >= n/2 {
			d = 59*time.Minute + time.Duration(i)*time.Millisecond
		}
		tr[i].StartTime = start.Add(d).UnixNano()
		tr[i].EndTime = tr[i].StartTime + 1000
	}
	// Write in pieces, then everything again, in another order.
	for i := 0; i < n; i += 7 {
		if err := s.WriteSpans(ctx, tr[i:min(i+7, n)]); err != nil {
			t.Fatal(err)
		}
	}
	rev := slices.Clone(tr)
	slices.Reverse(rev)
	if err := s.WriteSpans(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Spans != n || got.Traces != 1 {
		t.Fatalf("Stats = %+v, want %d spans in 1 trace", got, n)
	}
	got, err := s.Trace(ctx, tr[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.SortSpans(got.Spans)
	want := slices.Clone(tr)
	storagetest.SortSpans(want)
	if d := storagetest.DiffSpans(got.Spans, want); d != "" {
		t.Fatalf("Trace:\n%s", d)
	}
	deps, err := s.Dependencies(ctx, time.Now(), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := depsDiff(deps, wantDeps(tr)); d != "" {
		t.Fatalf("Dependencies: %s", d)
	}

	// Purge the first half: the rest is still found by id.
	if err := s.Purge(ctx, start.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Spans != n-n/2 {
		t.Fatalf("Stats after Purge = %+v, want %d spans", got, n-n/2)
	}
	if err := s.WriteSpans(ctx, tr[n/2:]); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Spans != n-n/2 {
		t.Fatalf("Stats after rewriting the kept half = %+v, want %d spans", got, n-n/2)
	}
	ops, err := s.Operations(ctx, tr[n-1].Service, storage.KindUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if want := operationsOf(tr[n/2:], tr[n-1].Service); !slices.Equal(ops, want) {
		t.Fatalf("Operations = %+v, want %+v", ops, want)
	}
}

// wantDeps counts the dependencies of one trace's spans, all in the window.
func wantDeps(tr []storage.Span) []storage.Dependency {
	byID := make(map[storage.SpanID]*storage.Span)
	for i := range tr {
		byID[tr[i].SpanID] = &tr[i]
	}
	counts := make(map[[2]string]*storage.Dependency)
	for i := range tr {
		sp := &tr[i]
		p := byID[sp.ParentSpanID]
		if sp.ParentSpanID.IsZero() || p == nil || p.Service == sp.Service {
			continue
		}
		k := [2]string{p.Service, sp.Service}
		d := counts[k]
		if d == nil {
			d = &storage.Dependency{Parent: k[0], Child: k[1]}
			counts[k] = d
		}
		d.CallCount++
		if sp.StatusCode == storage.StatusError {
			d.ErrorCount++
		}
	}
	var out []storage.Dependency
	for _, d := range counts {
		out = append(out, *d)
	}
	storage.SortDependencies(out)
	return out
}

func depsDiff(got, want []storage.Dependency) string {
	if len(want) == 0 {
		return "the test trace has no cross-service edge"
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("got %+v, want %+v", got, want)
	}
	return ""
}

func operationsOf(spans []storage.Span, service string) []storage.Operation {
	var out []storage.Operation
	for _, sp := range spans {
		op := storage.Operation{Name: sp.Name, Kind: sp.Kind}
		if sp.Service == service && !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	storage.SortOperations(out)
	return out
}

// BenchmarkWriteSmallTraces writes batches of 8192 spans of two-span
// traces, each batch new, into a store of 100,000 spans: the collector's
// load (telemetrygen's traces) in steady state, with eviction.
func BenchmarkWriteSmallTraces(b *testing.B) {
	g := storagetest.NewGenerator(6)
	start := time.Now()
	var batches [][]storage.Span
	for range 32 {
		var batch []storage.Span
		for len(batch) < 8192 {
			batch = append(batch, g.Trace(start, 2)...)
		}
		batches = append(batches, batch)
	}
	s := memory.New(memory.WithMaxSpans(100_000))
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	var seq uint32
	for i := 0; b.Loop(); i++ {
		batch := batches[i%len(batches)]
		// Fresh trace ids, so that every batch is new traffic.
		seq++
		for j := range batch {
			binary.BigEndian.PutUint32(batch[j].TraceID[:4], seq)
		}
		if err := s.WriteSpans(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batches[0])), "ns/span")
}

// TestRenamedOperation: the memory store drops a renamed span's old name
// from Operations (the contract allows keeping it; this store promises more).
func TestRenamedOperation(t *testing.T) {
	s := memory.New()
	defer s.Close()
	storagetest.RenamedOperation(t, s)
}

// TestCountsFollowEvictionOverwriteAndPurge: Services and Operations stay
// those of the stored spans while many operations (more than a write's
// distinct ones) come and go through eviction, overwrites and Purge.
func TestCountsFollowEvictionOverwriteAndPurge(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxSpans(300))
	defer s.Close()
	g := storagetest.NewGenerator(9)
	start := time.Now().Add(-time.Hour)
	var ids []storage.TraceID
	check := func(step string) {
		t.Helper()
		var live []storage.Span
		for _, id := range ids {
			tr, err := s.Trace(ctx, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, tr.Spans...)
		}
		svcs, err := s.Services(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := storagetest.SortedServices(live); !slices.Equal(svcs, want) {
			t.Fatalf("%s: Services = %q, want %q", step, svcs, want)
		}
		for _, svc := range g.Services() {
			ops, err := s.Operations(ctx, svc, storage.KindUnspecified)
			if err != nil {
				t.Fatal(err)
			}
			if want := operationsOf(live, svc); !slices.Equal(ops, want) {
				t.Fatalf("%s: Operations(%s) = %v, want %v", step, svc, ops, want)
			}
		}
	}
	for i := range 30 {
		var batch []storage.Span
		for range 8 {
			tr := g.Trace(start.Add(time.Duration(i)*time.Minute), 1+i%7)
			ids = append(ids, tr[0].TraceID)
			batch = append(batch, tr...)
		}
		if i%3 == 2 {
			// Write an earlier trace again under other operation names.
			old, err := s.Trace(ctx, ids[len(ids)-9])
			if err == nil {
				for _, sp := range old.Spans {
					sp.Name += "-renamed"
					batch = append(batch, sp)
				}
			}
		}
		if err := s.WriteSpans(ctx, batch); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("write %d", i))
	}
	if err := s.Purge(ctx, start.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("purge")
	if err := s.Purge(ctx, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("purge all")
	if svcs, _ := s.Services(ctx); len(svcs) != 0 {
		t.Errorf("Services after purging everything = %q, want none", svcs)
	}
}
