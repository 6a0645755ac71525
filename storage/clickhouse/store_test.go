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

// A batch of more rows than one INSERT block holds goes as several blocks
// of one INSERT: every span is stored, and the server squashes the blocks
// into one part per partition of each span table (what a single block of
// the whole batch made), not a part per block.
func TestWriteBlocks(t *testing.T) {
	s := newStore(t)
	g := storagetest.NewGenerator(5)
	// Yesterday 06:00 UTC on: one day partition.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-18 * time.Hour)
	var spans []storage.Span
	var traces [][]storage.Span
	for i := 0; len(spans) < 2*clickhouse.BlockRows+100; i++ {
		tr := g.Trace(start.Add(time.Duration(i)*time.Millisecond), 5)
		traces = append(traces, tr)
		spans = append(spans, tr...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	for _, i := range []int{0, 1, len(traces) / 2, len(traces) - 1} {
		got, err := s.Trace(ctx, traces[i][0].TraceID)
		if err != nil {
			t.Fatalf("Trace: %v", err)
		}
		if d := storagetest.DiffSpans(got.Spans, traces[i]); d != "" {
			t.Errorf("trace %d differs:\n%s", i, d)
		}
	}
	for _, table := range []string{"tracer_spans", "tracer_search", "tracer_search_attributes"} {
		var rows, parts, partitions, level uint64
		if err := clickhouse.QueryRow(s, ctx, "SELECT count() FROM "+table).Scan(&rows); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if err := clickhouse.QueryRow(s, ctx, "SELECT count(), uniqExact(partition), toUInt64(max(level)) FROM system.parts"+
			" WHERE database = currentDatabase() AND table = ? AND active", table).Scan(&parts, &partitions, &level); err != nil {
			t.Fatalf("parts of %s: %v", table, err)
		}
		if table != "tracer_search_attributes" && rows != uint64(len(spans)) {
			t.Errorf("%s holds %d rows, want %d", table, rows, len(spans))
		}
		// Level 0: made by the insert, not by merging the parts of blocks.
		if parts != partitions || level != 0 {
			t.Errorf("%s: %d active parts (level up to %d) in %d partitions, want one unmerged part per partition", table, parts, level, partitions)
		}
	}
}
