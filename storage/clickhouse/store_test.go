package clickhouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// newStore returns a Store on a fresh database of the shared server.
func newStore(t *testing.T, edit ...func(*clickhouse.Config)) *clickhouse.Store {
	t.Helper()
	s, _ := newStoreConfig(t, edit...)
	return s
}

// newStoreConfig is newStore that also returns the Store's configuration.
func newStoreConfig(t *testing.T, edit ...func(*clickhouse.Config)) (*clickhouse.Store, clickhouse.Config) {
	t.Helper()
	cfg := server.Config(t)
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
	return s, cfg
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, lim storage.ReaderLimits) storage.Store {
		return newStore(t, func(c *clickhouse.Config) { c.Limits = lim })
	}, storagetest.REDCountsEachWrite())
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

// A span with a zero id is refused, named in a storage.RejectedError;
// the other spans of the call are stored.
func TestWriteRejectsZeroIDs(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, tt := range []struct {
		name string
		edit func(*storage.Span)
	}{
		{"zero trace id", func(s *storage.Span) { s.TraceID = storage.TraceID{} }},
		{"zero span id", func(s *storage.Span) { s.SpanID = storage.SpanID{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			good := storagetest.FullSpan(storage.TraceID{1, byte(i)}, storage.SpanID{1}, storage.SpanID{}, time.Now())
			after := storagetest.FullSpan(storage.TraceID{1, byte(i)}, storage.SpanID{2}, storage.SpanID{1}, time.Now())
			bad := good.Copy()
			tt.edit(&bad)
			err := s.WriteSpans(ctx, []storage.Span{good, bad, after})
			rejected := storage.Rejected(err)
			if len(rejected) != 1 || rejected[0].Index != 1 {
				t.Fatalf("WriteSpans = %v, want a RejectedError naming span 1", err)
			}
			got, err := s.Trace(ctx, good.TraceID)
			if err != nil {
				t.Fatalf("Trace of the valid spans: %v", err)
			}
			if d := storagetest.DiffSpans(got.Spans, []storage.Span{good, after}); d != "" {
				t.Errorf("valid spans of a call with a rejected one:\n%s", d)
			}
		})
	}
}

// FindTraces searches time windows newest first: across windows the order
// (most recent matching span first), the limit and the bounds are those of
// one search over the whole range, and a trace is returned once.
func TestFindTracesAcrossWindows(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	ages := []time.Duration{10 * time.Minute, 2 * time.Hour, 5 * time.Hour, 12 * time.Hour, 30 * time.Hour,
		3 * 24 * time.Hour, 8 * 24 * time.Hour, 20 * 24 * time.Hour}
	var spans []storage.Span
	var want []storage.TraceID // newest first
	for i, age := range ages {
		id := storage.TraceID{0x77, byte(i + 1)}
		spans = append(spans, storagetest.FullSpan(id, storage.SpanID{1}, storage.SpanID{}, now.Add(-age)))
		want = append(want, id)
	}
	// The oldest trace also has a recent span: it ranks first.
	oldest := want[len(want)-1]
	spans = append(spans, storagetest.FullSpan(oldest, storage.SpanID{2}, storage.SpanID{1}, now.Add(-time.Minute)))
	want = append([]storage.TraceID{oldest}, want[:len(want)-1]...)
	// A span a little in the future (a clock ahead of ours) is found too.
	future := storage.TraceID{0x77, 0xff}
	spans = append(spans, storagetest.FullSpan(future, storage.SpanID{1}, storage.SpanID{}, now.Add(2*time.Minute)))
	want = append([]storage.TraceID{future}, want...)
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    storage.Query
		want []storage.TraceID
	}{
		{"all", storage.Query{Limit: 100}, want},
		{"limit 3", storage.Query{Limit: 3}, want[:3]},
		{"limit 6 crosses windows", storage.Query{Limit: 6}, want[:6]},
		{"bounded", storage.Query{StartMin: now.Add(-4 * 24 * time.Hour), StartMax: now.Add(-time.Hour), Limit: 100},
			[]storage.TraceID{want[3], want[4], want[5], want[6], want[7]}},
		{"bounded, limit 2", storage.Query{StartMin: now.Add(-4 * 24 * time.Hour), StartMax: now.Add(-time.Hour), Limit: 2},
			[]storage.TraceID{want[3], want[4]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Service = "orders"
			got, err := s.FindTraces(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids := storagetest.TraceIDs(got); !slices.Equal(ids, tt.want) {
				t.Errorf("FindTraces = %v, want %v", ids, tt.want)
			}
		})
	}
}
