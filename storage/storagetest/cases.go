package storagetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// suiteLimits are the reader limits of the Limits case.
var suiteLimits = storage.ReaderLimits{MaxTraceSpans: 5, MaxTraces: 30}

// testRewritten writes a span again with the same ids and new content: reads
// and searches see only the new version; Operations lists the new name (and
// may still list the old one, which was seen: see storage.Reader).
func testRewritten(t *testing.T, s storage.Store) {
	b := base()
	id := tid(0x31)
	root := mk(id, sid(1), storage.SpanID{}, "front", "GET /", storage.KindServer, b, 10*time.Millisecond)
	old := mk(id, sid(2), sid(1), "back", "old-name", storage.KindServer, b.Add(time.Millisecond), 50*time.Millisecond, attr("version", "old"))
	write(t, s, []storage.Span{root, old})
	neu := mk(id, sid(2), sid(1), "back", "new-name", storage.KindServer, b.Add(2*time.Millisecond), 2*time.Millisecond, attr("version", "new"))
	write(t, s, []storage.Span{neu})
	want := []storage.Span{root, neu}
	checkTrace(t, s, want)

	tests := []struct {
		name  string
		q     storage.Query
		found bool
	}{
		{"old name", storage.Query{Service: "back", Operation: "old-name"}, false},
		{"new name", storage.Query{Service: "back", Operation: "new-name"}, true},
		{"old attribute", storage.Query{Attributes: map[string]string{"version": "old"}}, false},
		{"new attribute", storage.Query{Attributes: map[string]string{"version": "new"}}, true},
		{"old duration", storage.Query{Service: "back", DurationMin: 40 * time.Millisecond}, false},
		{"new duration", storage.Query{Service: "back", DurationMax: 3 * time.Millisecond}, true},
		{"old start", storage.Query{Service: "back", StartMin: b.Add(time.Millisecond), StartMax: b.Add(time.Millisecond)}, false},
		{"new start", storage.Query{Service: "back", StartMin: b.Add(2 * time.Millisecond), StartMax: b.Add(2 * time.Millisecond)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindTraces(ctxFor(t), tt.q)
			if err != nil {
				t.Fatalf("FindTraces: %v", err)
			}
			if tt.found != (len(got) == 1) || len(got) > 1 {
				t.Fatalf("FindTraces(%+v) = %v, want found=%v", tt.q, TraceIDs(got), tt.found)
			}
			if tt.found {
				if d := DiffSpans(got[0].Spans, want); d != "" {
					t.Errorf("FindTraces trace differs:\n%s", d)
				}
			}
			// Summaries count the span once, as its new version.
			var wantIDs []storage.TraceID
			if tt.found {
				wantIDs = []storage.TraceID{id}
			}
			checkSearch(t, s, tt.q, wantIDs, want, nil)
		})
	}
	batches, _ := stream(t, s, id)
	if d := DiffSpans(once(t, batches), want); d != "" {
		t.Errorf("StreamTrace of a rewritten span differs:\n%s", d)
	}
	ops, err := s.Operations(ctxFor(t), "back", storage.KindUnspecified)
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	newOnly := []storage.Operation{op("new-name", storage.KindServer)}
	both := []storage.Operation{op("new-name", storage.KindServer), op("old-name", storage.KindServer)}
	if !slices.Equal(ops, newOnly) && !slices.Equal(ops, both) {
		t.Errorf("Operations(back) = %+v, want %+v (or with the old name too)", ops, newOnly)
	}
}

// RenamedOperation checks what backends that keep no name without a span
// promise beyond the contract (the embedded stores: memory and Badger): a
// span written again under a new name leaves only the new name in
// Operations. It writes into s; give it a new store.
func RenamedOperation(t *testing.T, s storage.Store) {
	t.Helper()
	b := base()
	id := tid(0x32)
	write(t, s, []storage.Span{mk(id, sid(1), storage.SpanID{}, "back", "old-name", storage.KindServer, b, time.Millisecond)})
	write(t, s, []storage.Span{mk(id, sid(1), storage.SpanID{}, "back", "new-name", storage.KindServer, b, time.Millisecond)})
	ops, err := s.Operations(ctxFor(t), "back", storage.KindUnspecified)
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	if want := []storage.Operation{op("new-name", storage.KindServer)}; !slices.Equal(ops, want) {
		t.Errorf("Operations(back) after a rename = %+v, want %+v", ops, want)
	}
}

// testRejected writes a batch holding spans no backend may store (a zero
// trace id, a zero span id): the error names exactly them, and their
// batch-mates are stored.
func testRejected(t *testing.T, s storage.Store) {
	b := base()
	id := tid(0x32)
	good := []storage.Span{
		mk(id, sid(1), storage.SpanID{}, "front", "GET /", storage.KindServer, b, 10*time.Millisecond),
		mk(id, sid(2), sid(1), "back", "get", storage.KindServer, b.Add(time.Millisecond), time.Millisecond),
		mk(id, sid(3), sid(1), "back", "put", storage.KindServer, b.Add(2*time.Millisecond), time.Millisecond),
	}
	noTrace := mk(storage.TraceID{}, sid(9), storage.SpanID{}, "bad", "no-trace", storage.KindServer, b, time.Millisecond)
	noSpan := mk(id, storage.SpanID{}, sid(1), "bad", "no-span", storage.KindServer, b, time.Millisecond)
	batch := []storage.Span{good[0], noTrace, good[1], noSpan, good[2]}
	err := s.WriteSpans(ctxFor(t), batch)
	var rej *storage.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("WriteSpans(zero ids at 1 and 3): err = %v, want a *storage.RejectedError", err)
	}
	var idx []int
	for _, r := range storage.Rejected(err) {
		idx = append(idx, r.Index)
		if r.Err == nil {
			t.Errorf("rejected span %d: no reason", r.Index)
		}
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{1, 3}) {
		t.Errorf("rejected spans = %v, want [1 3]", idx)
	}
	checkTrace(t, s, good)
	if svcs, err := s.Services(ctxFor(t)); err != nil || slices.Contains(svcs, "bad") {
		t.Errorf("Services = %q, %v; want no service of a rejected span", svcs, err)
	}
	// A batch of rejected spans alone stores nothing and names them all.
	err = s.WriteSpans(ctxFor(t), []storage.Span{noTrace})
	if r := storage.Rejected(err); len(r) != 1 || r[0].Index != 0 {
		t.Errorf("WriteSpans(one zero trace id): err = %v, want span 0 rejected", err)
	}
}

// testSharedResource writes spans that share one large Resource slice, as a
// decoder gives them: they come back right, and the writer left the slice
// alone.
func testSharedResource(t *testing.T, s storage.Store) {
	b := base()
	big := strings.Repeat("resource-", 64<<10/9) // 64 KiB
	res := []storage.Attribute{attr("service.name", "shared"), attr("big", big), attr("host", "h1")}
	orig := slices.Clone(res)
	const n = 200
	var spans []storage.Span
	for i := range n {
		id := tid(0x33, byte(i%4))
		var parent storage.SpanID
		if i >= 4 {
			parent = sid(byte(i % 4))
		}
		sp := mk(id, sid(byte(i/256), byte(i)), parent, "shared", "op", storage.KindServer, b.Add(time.Duration(i)*time.Microsecond), time.Millisecond, attr("i", strings.Repeat("x", i%7)))
		sp.Resource = res
		spans = append(spans, sp)
	}
	// Spans of another resource in the same batch, interleaved.
	other := []storage.Attribute{attr("service.name", "other"), attr("host", "h2")}
	for i := range 4 {
		sp := mk(tid(0x33, byte(i)), sid(0xee, byte(i)), sid(byte(i)), "other", "call", storage.KindClient, b.Add(time.Millisecond), time.Millisecond)
		sp.Resource = other
		spans = slices.Insert(spans, 50*i, sp)
	}
	write(t, s, spans)
	if !slices.Equal(res, orig) {
		t.Fatal("WriteSpans modified the shared Resource slice")
	}
	for i := range 4 {
		var want []storage.Span
		for _, sp := range spans {
			if sp.TraceID == tid(0x33, byte(i)) {
				want = append(want, sp)
			}
		}
		checkTrace(t, s, want)
	}
	got, err := s.FindTraces(ctxFor(t), storage.Query{Attributes: map[string]string{"big": big}, Limit: 10})
	if err != nil {
		t.Fatalf("FindTraces(big resource attribute): %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("FindTraces(big resource attribute) = %d traces, want 4", len(got))
	}
	// A result is the caller's: changing one span's resource (after copying
	// it, as the contract asks) changes no other result.
	sp := &got[0].Spans[0]
	sp.Resource = slices.Clone(sp.Resource)
	sp.Resource[0].Value = "mutated"
	checkTrace(t, s, spansOf(spans, got[0].ID))
}

func spansOf(spans []storage.Span, id storage.TraceID) []storage.Span {
	var out []storage.Span
	for _, sp := range spans {
		if sp.TraceID == id {
			out = append(out, sp)
		}
	}
	return out
}

// testLimits runs on a store given suiteLimits: a long trace comes back
// truncated, a search over the maximum is refused.
func testLimits(t *testing.T, s storage.Store) {
	b := base()
	long, short := tid(0x34, 1), tid(0x34, 2)
	var spans []storage.Span
	for i := range 12 {
		spans = append(spans, mk(long, sid(byte(i+1)), storage.SpanID{}, "svc", "op", storage.KindServer, b.Add(time.Duration(i)*time.Millisecond), time.Millisecond))
	}
	for i := range suiteLimits.MaxTraceSpans {
		spans = append(spans, mk(short, sid(byte(i+1)), storage.SpanID{}, "svc", "op", storage.KindServer, b.Add(time.Second), time.Millisecond))
	}
	write(t, s, spans)
	check := func(t *testing.T, tr storage.Trace) {
		t.Helper()
		want := spansOf(spans, tr.ID)
		if tr.ID == long {
			if len(tr.Spans) != suiteLimits.MaxTraceSpans || !tr.Truncated {
				t.Fatalf("trace of 12 spans with MaxTraceSpans %d: %d spans, Truncated %v", suiteLimits.MaxTraceSpans, len(tr.Spans), tr.Truncated)
			}
			// Every span returned is one stored, whole.
			var sub []storage.Span
			for _, sp := range tr.Spans {
				i := slices.IndexFunc(want, func(w storage.Span) bool { return w.SpanID == sp.SpanID })
				if i < 0 {
					t.Fatalf("truncated trace holds span %s, never written", sp.SpanID)
				}
				sub = append(sub, want[i])
			}
			want = sub
		} else if tr.Truncated {
			t.Errorf("trace of exactly MaxTraceSpans spans: Truncated")
		}
		if d := DiffSpans(tr.Spans, want); d != "" {
			t.Errorf("trace %s differs:\n%s", tr.ID, d)
		}
	}
	t.Run("Trace", func(t *testing.T) {
		check(t, mustTrace(t, s, long))
		check(t, mustTrace(t, s, short))
	})
	t.Run("FindTraces", func(t *testing.T) {
		got, err := s.FindTraces(ctxFor(t), storage.Query{Service: "svc", Limit: suiteLimits.MaxTraces})
		if err != nil {
			t.Fatalf("FindTraces(Limit = MaxTraces): %v", err)
		}
		if len(got) != 2 {
			t.Fatalf("FindTraces = %v, want 2 traces", TraceIDs(got))
		}
		for _, tr := range got {
			check(t, tr)
		}
	})
	t.Run("InvalidQuery", func(t *testing.T) {
		for _, limit := range []int{suiteLimits.MaxTraces + 1, -1} {
			if _, err := s.FindTraces(ctxFor(t), storage.Query{Limit: limit}); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("FindTraces(Limit %d): err = %v, want ErrInvalidQuery", limit, err)
			}
		}
		if _, err := s.Dependencies(ctxFor(t), time.Now(), -time.Hour); !errors.Is(err, storage.ErrInvalidQuery) {
			t.Errorf("Dependencies(lookback -1h): err = %v, want ErrInvalidQuery", err)
		}
	})
}
