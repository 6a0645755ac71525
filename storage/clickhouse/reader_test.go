package clickhouse_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// A span written again with the same ids and new contents replaces the
// old version before ClickHouse merges anything: Trace returns the new
// one, and a search matches only what Trace returns.
func TestRewrittenSpanSearch(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now().Add(-time.Minute)
	old := storagetest.FullSpan(storage.TraceID{0x51}, storage.SpanID{1}, storage.SpanID{}, start)
	old.Name = "old name"
	old.Attributes = append(old.Attributes, storage.Attribute{Key: "version", Type: storage.TypeString, Value: "1"})
	// Another trace that keeps matching the old name, so that a search for
	// it has something to return.
	other := storagetest.FullSpan(storage.TraceID{0x52}, storage.SpanID{1}, storage.SpanID{}, start.Add(-time.Second))
	other.Name = "old name"
	if err := s.WriteSpans(ctx, []storage.Span{old, other}); err != nil {
		t.Fatal(err)
	}
	renamed := old.Copy()
	renamed.Name = "new name"
	renamed.Attributes[len(renamed.Attributes)-1].Value = "2"
	if err := s.WriteSpans(ctx, []storage.Span{renamed}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trace(ctx, old.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spans) != 1 || got.Spans[0].Name != "new name" {
		t.Fatalf("Trace = %+v, want the rewritten span alone", got.Spans)
	}
	for _, tt := range []struct {
		name string
		q    storage.Query
		want []storage.TraceID
	}{
		{"old name", storage.Query{Service: "orders", Operation: "old name"}, []storage.TraceID{other.TraceID}},
		{"new name", storage.Query{Service: "orders", Operation: "new name"}, []storage.TraceID{old.TraceID}},
		{"old attribute", storage.Query{Attributes: map[string]string{"version": "1"}}, nil},
		{"new attribute", storage.Query{Attributes: map[string]string{"version": "2"}}, []storage.TraceID{old.TraceID}},
		{"limit 1, old name", storage.Query{Service: "orders", Operation: "old name", Limit: 1}, []storage.TraceID{other.TraceID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			found, err := s.FindTraces(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			ids := storagetest.TraceIDs(found)
			if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
				t.Errorf("FindTraces = %v, want %v", ids, tt.want)
			}
		})
	}
}

// The reader's caps (Config.Limits): a longer trace comes back truncated,
// a larger search limit and a dependency window holding more spans are
// invalid queries.
func TestReaderLimits(t *testing.T) {
	s := newStore(t, func(c *clickhouse.Config) {
		c.Limits = storage.ReaderLimits{MaxTraceSpans: 3, MaxTraces: 5, MaxDependencySpans: 4}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Now()
	g := storagetest.NewGenerator(11)
	long := g.Trace(end.Add(-time.Minute), 8)
	short := g.Trace(end.Add(-2*time.Minute), 2)
	if err := s.WriteSpans(ctx, append(long, short...)); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Trace(ctx, long[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 3 || !tr.Truncated {
		t.Errorf("Trace of 8 spans: %d spans, truncated %v; want 3, true", len(tr.Spans), tr.Truncated)
	}
	tr, err = s.Trace(ctx, short[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 2 || tr.Truncated {
		t.Errorf("Trace of 2 spans: %d spans, truncated %v; want 2, false", len(tr.Spans), tr.Truncated)
	}
	found, err := s.FindTraces(ctx, storage.Query{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("FindTraces: %d traces, want 2", len(found))
	}
	for _, tr := range found {
		if want := tr.ID == long[0].TraceID; tr.Truncated != want || len(tr.Spans) > 3 {
			t.Errorf("FindTraces: trace %s has %d spans, truncated %v", tr.ID, len(tr.Spans), tr.Truncated)
		}
	}
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"limit over MaxTraces", func() error { _, err := s.FindTraces(ctx, storage.Query{Limit: 6}); return err }},
		{"negative limit", func() error { _, err := s.FindTraces(ctx, storage.Query{Limit: -1}); return err }},
		{"negative lookback", func() error { _, err := s.Dependencies(ctx, end, -time.Hour); return err }},
		{"dependency window over MaxDependencySpans", func() error { _, err := s.Dependencies(ctx, end, time.Hour); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("err = %v, want one wrapping storage.ErrInvalidQuery", err)
			}
		})
	}
	// Within the caps the same calls work.
	if _, err := s.FindTraces(ctx, storage.Query{Limit: 5}); err != nil {
		t.Errorf("FindTraces at MaxTraces: %v", err)
	}
	if _, err := s.Dependencies(ctx, end.Add(-90*time.Second), 30*time.Second); err != nil {
		t.Errorf("Dependencies over the short trace only: %v", err)
	}
}
