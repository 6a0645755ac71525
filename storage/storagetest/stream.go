package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// streamLimits are the reader limits of the StreamTraceLimits case: a
// MaxTraceSpans that takes more than one batch.
var streamLimits = storage.ReaderLimits{MaxTraceSpans: storage.MaxStreamBatch + storage.MaxStreamBatch/2}

// stream calls StreamTrace and returns the batches it passed, checking
// their sizes.
func stream(t *testing.T, s storage.Store, id storage.TraceID) (batches [][]storage.Span, truncated bool) {
	t.Helper()
	truncated, err := s.StreamTrace(ctxFor(t), id, func(b []storage.Span) error {
		batches = append(batches, b) // the batch is the caller's to keep
		return nil
	})
	if err != nil {
		t.Fatalf("StreamTrace(%s): %v", id, err)
	}
	for i, b := range batches {
		if len(b) == 0 || len(b) > storage.MaxStreamBatch {
			t.Errorf("StreamTrace(%s): batch %d holds %d spans, want 1 to %d", id, i, len(b), storage.MaxStreamBatch)
		}
	}
	return batches, truncated
}

// once returns the spans of batches, failing t if one comes twice.
func once(t *testing.T, batches [][]storage.Span) []storage.Span {
	t.Helper()
	var all []storage.Span
	seen := make(map[storage.SpanID]bool)
	for _, b := range batches {
		for _, sp := range b {
			if seen[sp.SpanID] {
				t.Errorf("StreamTrace passed span %s twice", sp.SpanID)
			}
			seen[sp.SpanID] = true
			all = append(all, sp)
		}
	}
	return all
}

func testStreamTrace(t *testing.T, s storage.Store) {
	g := NewGenerator(21)
	const n = 2*storage.MaxStreamBatch + storage.MaxStreamBatch/2
	big := g.Trace(base(), n)
	small := g.Trace(base().Add(time.Second), 3)
	// In batches of 700, another trace's spans among them.
	for i := 0; i < len(big); i += 700 {
		batch := slices.Clone(big[i:min(i+700, len(big))])
		if i == 700 {
			batch = append(batch, small...)
		}
		write(t, s, batch)
	}

	t.Run("Whole", func(t *testing.T) {
		batches, truncated := stream(t, s, big[0].TraceID)
		if truncated {
			t.Error("StreamTrace of 2,500 spans with the default MaxTraceSpans: truncated")
		}
		if len(batches) < 3 {
			t.Errorf("StreamTrace of %d spans: %d batches, want at least 3", n, len(batches))
		}
		if d := DiffSpans(once(t, batches), big); d != "" {
			t.Errorf("StreamTrace differs:\n%s", d)
		}
		// What one call passed is not changed by the next.
		mutateSpans(batches[0])
		again, _ := stream(t, s, big[0].TraceID)
		if d := DiffSpans(once(t, again), big); d != "" {
			t.Errorf("StreamTrace after changing an earlier call's batch differs:\n%s", d)
		}
	})
	t.Run("Small", func(t *testing.T) {
		batches, truncated := stream(t, s, small[0].TraceID)
		if truncated || len(batches) != 1 {
			t.Errorf("StreamTrace of 3 spans: %d batches, truncated %v; want 1, false", len(batches), truncated)
		}
		if d := DiffSpans(once(t, batches), small); d != "" {
			t.Errorf("StreamTrace differs:\n%s", d)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		calls := 0
		truncated, err := s.StreamTrace(ctxFor(t), tid(0x50, 9), func([]storage.Span) error { calls++; return nil })
		if !errors.Is(err, storage.ErrNotFound) || truncated || calls != 0 {
			t.Errorf("StreamTrace(unknown) = %v, %v after %d calls; want ErrNotFound without calling fn", truncated, err, calls)
		}
	})
	t.Run("CallbackError", func(t *testing.T) {
		stop := errors.New("client went away")
		calls := 0
		_, err := s.StreamTrace(ctxFor(t), big[0].TraceID, func([]storage.Span) error { calls++; return stop })
		if !errors.Is(err, stop) {
			t.Errorf("StreamTrace with fn failing: err = %v, want fn's error", err)
		}
		if calls != 1 {
			t.Errorf("StreamTrace called fn %d times after it failed, want 1", calls)
		}
	})
	t.Run("Rewritten", func(t *testing.T) {
		id := tid(0x50, 1)
		b := base()
		spans := []storage.Span{
			mk(id, sid(1), storage.SpanID{}, "front", "GET /", storage.KindServer, b, 10*time.Millisecond),
			mk(id, sid(2), sid(1), "back", "old-name", storage.KindServer, b.Add(time.Millisecond), 5*time.Millisecond, attr("version", "old")),
		}
		write(t, s, spans)
		spans[1] = mk(id, sid(2), sid(1), "back", "new-name", storage.KindServer, b.Add(2*time.Millisecond), time.Millisecond, attr("version", "new"))
		write(t, s, spans[1:])
		write(t, s, spans[1:])
		batches, _ := stream(t, s, id)
		if d := DiffSpans(once(t, batches), spans); d != "" {
			t.Errorf("StreamTrace of a rewritten span differs:\n%s", d)
		}
	})
}

// mutateSpans changes every part of spans that a reader might share.
func mutateSpans(spans []storage.Span) {
	for i := range spans {
		sp := &spans[i]
		sp.Name = "mutated"
		for j := range sp.Attributes {
			sp.Attributes[j].Value = "mutated"
		}
		for j := range sp.Events {
			sp.Events[j].Name = "mutated"
		}
		sp.Resource = slices.Clone(sp.Resource) // the contract asks callers to copy it
		for j := range sp.Resource {
			sp.Resource[j].Value = "mutated"
		}
	}
}

// testStreamTraceLimits runs on a store given streamLimits: a longer trace
// is cut at MaxTraceSpans, over several batches; one of exactly
// MaxTraceSpans is not.
func testStreamTraceLimits(t *testing.T, s storage.Store) {
	g := NewGenerator(22)
	max := streamLimits.MaxTraceSpans
	long := g.Trace(base(), 2*storage.MaxStreamBatch+storage.MaxStreamBatch/2)
	exact := g.Trace(base().Add(time.Second), max)
	write(t, s, long)
	write(t, s, exact)

	batches, truncated := stream(t, s, long[0].TraceID)
	got := once(t, batches)
	if !truncated || len(got) != max {
		t.Fatalf("StreamTrace of %d spans with MaxTraceSpans %d: %d spans, truncated %v", len(long), max, len(got), truncated)
	}
	// Every span passed is one stored, whole.
	byID := make(map[storage.SpanID]storage.Span, len(long))
	for _, sp := range long {
		byID[sp.SpanID] = sp
	}
	var want []storage.Span
	for _, sp := range got {
		w, ok := byID[sp.SpanID]
		if !ok {
			t.Fatalf("StreamTrace passed span %s, never written", sp.SpanID)
		}
		want = append(want, w)
	}
	if d := DiffSpans(got, want); d != "" {
		t.Errorf("truncated StreamTrace differs:\n%s", d)
	}

	batches, truncated = stream(t, s, exact[0].TraceID)
	if truncated {
		t.Errorf("StreamTrace of exactly MaxTraceSpans (%d) spans: truncated", max)
	}
	if d := DiffSpans(once(t, batches), exact); d != "" {
		t.Errorf("StreamTrace differs:\n%s", d)
	}
}
