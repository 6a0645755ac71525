package memory_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// TestStreamTraceWhileWriting: fn may call the store, writes included, and
// the stream passes the trace as it was when the call began.
func TestStreamTraceWhileWriting(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(30)
	tr := g.Trace(time.Now().Add(-time.Minute), 2*storage.MaxStreamBatch+10)
	if err := s.WriteSpans(ctx, tr); err != nil {
		t.Fatal(err)
	}
	var got []storage.Span
	calls := 0
	_, err := s.StreamTrace(ctx, tr[0].TraceID, func(b []storage.Span) error {
		calls++
		got = append(got, b...)
		// Rewrite a span, add one, and evict nothing: none of it shows.
		sp := tr[len(tr)-1]
		sp.Name = fmt.Sprintf("rewritten %d", calls)
		extra := tr[0]
		extra.SpanID = g.SpanID()
		if err := s.WriteSpans(ctx, []storage.Span{sp, extra}); err != nil {
			return err
		}
		_, err := s.Trace(ctx, tr[0].TraceID)
		return err
	})
	if err != nil {
		t.Fatalf("StreamTrace: %v", err)
	}
	if calls != 3 {
		t.Errorf("StreamTrace of %d spans: %d batches, want 3", len(tr), calls)
	}
	if d := storagetest.DiffSpans(got, tr); d != "" {
		t.Errorf("StreamTrace while writing differs from the trace when it began:\n%s", d)
	}
}

// TestAttributeValuesMany lists from more distinct values than the store
// keeps while scanning (twice the limit and more): the first ones in sorted
// order, the same as with a limit that keeps them all.
func TestAttributeValuesMany(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(31)
	spans := g.Trace(time.Now().Add(-time.Minute), 900)
	var want []string
	for i := range spans {
		v := fmt.Sprintf("v%05d", (i*7919)%900) // every value once, out of order
		spans[i].Attributes = append(spans[i].Attributes, storage.Attribute{Key: "many", Type: storage.TypeString, Value: v})
		want = append(want, v)
	}
	slices.Sort(want)
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 5, 100, 900, 1000} {
		got, err := s.AttributeValues(ctx, storage.AttributeQuery{Key: "many", Limit: limit})
		if err != nil {
			t.Fatalf("AttributeValues(Limit %d): %v", limit, err)
		}
		if w := want[:min(limit, len(want))]; !slices.Equal(got, w) {
			t.Errorf("AttributeValues(Limit %d) = %d values from %q, want %d from %q", limit, len(got), got[:min(3, len(got))], len(w), w[:min(3, len(w))])
		}
	}
}

// TestClosedReads: every read of a closed store is an error.
func TestClosedReads(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	sp := storagetest.NewGenerator(32).Trace(time.Now().Add(-time.Minute), 1)
	if err := s.WriteSpans(ctx, sp); err != nil {
		t.Fatal(err)
	}
	s.Close()
	now := time.Now()
	reads := map[string]func() error{
		"FindTraceIDs":       func() error { _, err := s.FindTraceIDs(ctx, storage.Query{}); return err },
		"FindTraceSummaries": func() error { _, err := s.FindTraceSummaries(ctx, storage.Query{}); return err },
		"StreamTrace": func() error {
			_, err := s.StreamTrace(ctx, sp[0].TraceID, func([]storage.Span) error { return nil })
			return err
		},
		"RED": func() error {
			_, err := s.RED(ctx, storage.REDQuery{Start: now.Add(-time.Hour), End: now, Step: time.Minute})
			return err
		},
		"AttributeKeys":   func() error { _, err := s.AttributeKeys(ctx, storage.AttributeQuery{}); return err },
		"AttributeValues": func() error { _, err := s.AttributeValues(ctx, storage.AttributeQuery{Key: "k"}); return err },
	}
	for name, read := range reads {
		if err := read(); err == nil {
			t.Errorf("%s on a closed store: no error", name)
		}
	}
}
