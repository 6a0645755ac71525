package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// newStore returns a Store on a fresh database of the shared server.
func newStore(t *testing.T, edit ...func(*clickhouse.Config)) *clickhouse.Store {
	t.Helper()
	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{server.Addr}
	cfg.Database = server.NewDatabase(t)
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
}

// A write larger than BatchSize is split into concurrent batches; all of it
// is stored and visible when WriteSpans returns.
func TestWriteSplitsBatches(t *testing.T) {
	s := newStore(t, func(c *clickhouse.Config) {
		c.BatchSize = 7
		c.MaxConcurrentBatches = 3
	})
	g := storagetest.NewGenerator(42)
	start := time.Now().Add(-time.Hour)
	var spans []storage.Span
	var traces [][]storage.Span
	for i := range 10 {
		tr := g.Trace(start.Add(time.Duration(i)*time.Second), 5)
		traces = append(traces, tr)
		spans = append(spans, tr...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	for _, want := range traces {
		got, err := s.Trace(ctx, want[0].TraceID)
		if err != nil {
			t.Fatalf("Trace: %v", err)
		}
		if d := storagetest.DiffSpans(got.Spans, want); d != "" {
			t.Errorf("trace %s differs:\n%s", want[0].TraceID, d)
		}
	}
	found, err := s.FindTraces(ctx, storage.Query{Limit: 100})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(found) != len(traces) {
		t.Errorf("FindTraces = %d traces, want %d", len(found), len(traces))
	}
}

func TestWriteRejectsZeroIDs(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good := storagetest.FullSpan(storage.TraceID{1}, storage.SpanID{1}, storage.SpanID{}, time.Now())
	for _, tt := range []struct {
		name string
		edit func(*storage.Span)
	}{
		{"zero trace id", func(s *storage.Span) { s.TraceID = storage.TraceID{} }},
		{"zero span id", func(s *storage.Span) { s.SpanID = storage.SpanID{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := good.Copy()
			tt.edit(&bad)
			err := s.WriteSpans(ctx, []storage.Span{good, bad})
			if err == nil || !storage.IsPermanent(err) {
				t.Fatalf("WriteSpans = %v, want a permanent error", err)
			}
			// Nothing of the rejected batch was written.
			if _, err := s.Trace(ctx, good.TraceID); err != storage.ErrNotFound {
				t.Errorf("Trace after a rejected batch: err = %v, want ErrNotFound", err)
			}
		})
	}
}
