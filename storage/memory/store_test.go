package memory_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := memory.New()
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
	if got, want := s.Stats(), (memory.Stats{Traces: 3, Spans: 9, EvictedTraces: 1, EvictedSpans: 3}); got != want {
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

func TestBatchTooBig(t *testing.T) {
	s := memory.New(memory.WithMaxSpans(2))
	defer s.Close()
	tr := storagetest.NewGenerator(3).Trace(time.Now(), 3)
	err := s.WriteSpans(t.Context(), tr)
	if err == nil || !storage.IsPermanent(err) {
		t.Fatalf("WriteSpans(3 spans into 2): err = %v, want a permanent error", err)
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
