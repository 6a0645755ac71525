package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// checkSearch checks that FindTraceIDs returns want for q and that
// FindTraceSummaries returns the summaries of want, in that order, each
// over every span of spans in its trace (storage.Summarize).
func checkSearch(t *testing.T, s storage.Store, q storage.Query, want []storage.TraceID, spans []storage.Span, names func([]storage.TraceID) []string) {
	t.Helper()
	if names == nil {
		names = func(ids []storage.TraceID) []string {
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = id.String()
			}
			return out
		}
	}
	ids, err := s.FindTraceIDs(ctxFor(t), q)
	if err != nil {
		t.Fatalf("FindTraceIDs(%+v): %v", q, err)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("FindTraceIDs(%+v) = %v, want %v", q, names(ids), names(want))
	}
	sums, err := s.FindTraceSummaries(ctxFor(t), q)
	if err != nil {
		t.Fatalf("FindTraceSummaries(%+v): %v", q, err)
	}
	got := make([]storage.TraceID, len(sums))
	for i, sum := range sums {
		got[i] = sum.ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("FindTraceSummaries(%+v) = %v, want %v", q, names(got), names(want))
	}
	for _, sum := range sums {
		checkSummary(t, sum, storage.Summarize(sum.ID, spansOf(spans, sum.ID)))
	}
}

func checkSummary(t *testing.T, got, want storage.TraceSummary) {
	t.Helper()
	if d := diffSummary(got, want); d != "" {
		t.Errorf("summary of trace %s differs: %s\ngot  %+v\nwant %+v", want.ID, d, got, want)
	}
}

func diffSummary(got, want storage.TraceSummary) string {
	switch {
	case got.ID != want.ID:
		return "ID"
	case got.RootService != want.RootService || got.RootName != want.RootName || got.HasRoot != want.HasRoot:
		return "root"
	case got.Start != want.Start || got.End != want.End:
		return "start or end"
	case got.SpanCount != want.SpanCount || got.ErrorCount != want.ErrorCount:
		return "counts"
	case !slices.Equal(got.Services, want.Services):
		return "services"
	}
	return ""
}

// testSummaries checks how summaries choose the root span and count, on
// traces built for it: a root that starts after its child (clock skew),
// two roots, no root stored, errors in several services.
func testSummaries(t *testing.T, s storage.Store) {
	b := base()
	ms := time.Millisecond
	none := storage.SpanID{}
	errSpan := func(sp storage.Span) storage.Span { sp.StatusCode = storage.StatusError; return sp }
	skewed, tworoots, orphan, errs := tid(0x40, 1), tid(0x40, 2), tid(0x40, 3), tid(0x40, 4)
	spans := []storage.Span{
		// The root starts 5 ms after its child: still the root.
		mk(skewed, sid(1), none, "front", "GET /", storage.KindServer, b.Add(5*ms), 10*ms),
		mk(skewed, sid(2), sid(1), "back", "early", storage.KindServer, b, 30*ms),
		// Two roots: the earlier one, written second.
		mk(tworoots, sid(2), none, "late", "second root", storage.KindServer, b.Add(2*ms), ms),
		mk(tworoots, sid(1), none, "early", "first root", storage.KindServer, b.Add(ms), 5*ms),
		mk(tworoots, sid(3), sid(1), "early", "child", storage.KindClient, b, ms),
		// No root stored: the earliest span, HasRoot false.
		mk(orphan, sid(3), sid(9), "mid", "later", storage.KindServer, b.Add(3*ms), ms),
		mk(orphan, sid(2), sid(9), "first", "earliest", storage.KindServer, b.Add(ms), 20*ms),
		mk(orphan, sid(4), sid(2), "mid", "last", storage.KindServer, b.Add(4*ms), ms),
		// Errors and spans per service.
		mk(errs, sid(1), none, "gw", "root", storage.KindServer, b.Add(10*ms), 100*ms),
		errSpan(mk(errs, sid(2), sid(1), "a", "x", storage.KindServer, b.Add(11*ms), ms)),
		errSpan(mk(errs, sid(3), sid(1), "a", "y", storage.KindServer, b.Add(12*ms), ms)),
		mk(errs, sid(4), sid(1), "a", "z", storage.KindServer, b.Add(13*ms), 200*ms),
		errSpan(mk(errs, sid(5), sid(4), "c", "w", storage.KindServer, b.Add(14*ms), ms)),
		mk(errs, sid(6), sid(4), "b", "v", storage.KindServer, b.Add(15*ms), ms),
	}
	spans[len(spans)-1].StatusCode = storage.StatusOK
	write(t, s, spans[:4])
	write(t, s, spans[4:])

	// Hand-checked: these do not rely on storage.Summarize being right.
	tests := []struct {
		id   storage.TraceID
		want storage.TraceSummary
	}{
		{skewed, storage.TraceSummary{ID: skewed, RootService: "front", RootName: "GET /", HasRoot: true,
			Start: b.UnixNano(), End: b.Add(30 * ms).UnixNano(), SpanCount: 2,
			Services: []storage.ServiceSummary{{Service: "back", SpanCount: 1}, {Service: "front", SpanCount: 1}}}},
		{tworoots, storage.TraceSummary{ID: tworoots, RootService: "early", RootName: "first root", HasRoot: true,
			Start: b.UnixNano(), End: b.Add(6 * ms).UnixNano(), SpanCount: 3,
			Services: []storage.ServiceSummary{{Service: "early", SpanCount: 2}, {Service: "late", SpanCount: 1}}}},
		{orphan, storage.TraceSummary{ID: orphan, RootService: "first", RootName: "earliest", HasRoot: false,
			Start: b.Add(ms).UnixNano(), End: b.Add(21 * ms).UnixNano(), SpanCount: 3,
			Services: []storage.ServiceSummary{{Service: "first", SpanCount: 1}, {Service: "mid", SpanCount: 2}}}},
		{errs, storage.TraceSummary{ID: errs, RootService: "gw", RootName: "root", HasRoot: true,
			Start: b.Add(10 * ms).UnixNano(), End: b.Add(213 * ms).UnixNano(), SpanCount: 6, ErrorCount: 3,
			Services: []storage.ServiceSummary{
				{Service: "a", SpanCount: 3, ErrorCount: 2}, {Service: "b", SpanCount: 1},
				{Service: "c", SpanCount: 1, ErrorCount: 1}, {Service: "gw", SpanCount: 1},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.want.RootName, func(t *testing.T) {
			// Found by a span that is not the root.
			q := storage.Query{Service: tt.want.Services[0].Service, StartMin: b.Add(-time.Second), StartMax: b.Add(time.Second)}
			sums, err := s.FindTraceSummaries(ctxFor(t), q)
			if err != nil {
				t.Fatalf("FindTraceSummaries(%+v): %v", q, err)
			}
			i := slices.IndexFunc(sums, func(s storage.TraceSummary) bool { return s.ID == tt.id })
			if i < 0 {
				t.Fatalf("FindTraceSummaries(%+v): trace %s not found", q, tt.id)
			}
			checkSummary(t, sums[i], tt.want)
			if d := diffSummary(storage.Summarize(tt.id, spansOf(spans, tt.id)), tt.want); d != "" {
				t.Errorf("storage.Summarize differs from the hand-checked summary: %s", d)
			}
		})
	}
	t.Run("Copies", func(t *testing.T) {
		q := storage.Query{Service: "gw"}
		sums, err := s.FindTraceSummaries(ctxFor(t), q)
		if err != nil || len(sums) != 1 {
			t.Fatalf("FindTraceSummaries(%+v) = %d summaries, %v; want 1", q, len(sums), err)
		}
		sums[0].Services[0].Service = "mutated"
		sums[0].Services[0].SpanCount = 99
		checkSearch(t, s, q, []storage.TraceID{errs}, spans, nil)
	})
	t.Run("Empty", func(t *testing.T) {
		q := storage.Query{Service: "nope"}
		ids, err := s.FindTraceIDs(ctxFor(t), q)
		if err != nil || len(ids) != 0 {
			t.Errorf("FindTraceIDs(unknown service) = %v, %v; want none", ids, err)
		}
		sums, err := s.FindTraceSummaries(ctxFor(t), q)
		if err != nil || len(sums) != 0 {
			t.Errorf("FindTraceSummaries(unknown service) = %+v, %v; want none", sums, err)
		}
	})
}

// testSearchLimits runs on a store given suiteLimits: summaries count every
// span of a trace longer than MaxTraceSpans, and the search readers refuse
// the limits FindTraces refuses and apply its default.
func testSearchLimits(t *testing.T, s storage.Store) {
	b := base()
	long := tid(0x41, 1)
	services := []string{"alpha", "beta", "gamma"}
	var spans []storage.Span
	n := 3*suiteLimits.MaxTraceSpans + 2
	for i := range n {
		parent := storage.SpanID{}
		if i > 0 {
			parent = sid(1)
		}
		sp := mk(long, sid(byte(i+1)), parent, services[i%3], fmt.Sprintf("op-%d", i), storage.KindServer,
			b.Add(time.Duration(i)*time.Millisecond), time.Duration(n-i)*time.Millisecond)
		if i%4 == 3 {
			sp.StatusCode = storage.StatusError
		}
		spans = append(spans, sp)
	}
	// Spread over batches, so that no backend sees the whole trace at once.
	for i := 0; i < len(spans); i += 4 {
		write(t, s, spans[i:min(i+4, len(spans))])
	}
	var more []storage.Span
	for i := range storage.DefaultLimit + 3 {
		more = append(more, mk(tid(0x42, byte(i)), sid(1), storage.SpanID{}, "many", "op", storage.KindServer,
			b.Add(time.Duration(i)*time.Millisecond), time.Millisecond))
	}
	write(t, s, more)

	t.Run("Counts", func(t *testing.T) {
		q := storage.Query{Service: "gamma", Limit: suiteLimits.MaxTraces}
		checkSearch(t, s, q, []storage.TraceID{long}, spans, nil)
		sums, err := s.FindTraceSummaries(ctxFor(t), q)
		if err != nil || len(sums) != 1 {
			t.Fatalf("FindTraceSummaries = %d, %v", len(sums), err)
		}
		if sums[0].SpanCount != n || sums[0].ErrorCount != n/4 {
			t.Errorf("summary of a trace of %d spans (%d errors), MaxTraceSpans %d: SpanCount %d, ErrorCount %d",
				n, n/4, suiteLimits.MaxTraceSpans, sums[0].SpanCount, sums[0].ErrorCount)
		}
	})
	t.Run("DefaultLimit", func(t *testing.T) {
		q := storage.Query{Service: "many"}
		var want []storage.TraceID
		for i := range storage.DefaultLimit {
			want = append(want, tid(0x42, byte(storage.DefaultLimit+2-i)))
		}
		checkSearch(t, s, q, want, more, nil)
		q.Limit = 2
		checkSearch(t, s, q, want[:2], more, nil)
	})
	t.Run("InvalidQuery", func(t *testing.T) {
		for _, limit := range []int{suiteLimits.MaxTraces + 1, -1} {
			q := storage.Query{Limit: limit}
			if _, err := s.FindTraceIDs(ctxFor(t), q); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("FindTraceIDs(Limit %d): err = %v, want ErrInvalidQuery", limit, err)
			}
			if _, err := s.FindTraceSummaries(ctxFor(t), q); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("FindTraceSummaries(Limit %d): err = %v, want ErrInvalidQuery", limit, err)
			}
		}
	})
}
