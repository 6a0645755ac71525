package query

import (
	"net/http"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// starTrace is a root (span 1 of trace n's ids) with children 2..spans,
// all of trace 1.
func starTrace(spans int) []storage.Span {
	out := make([]storage.Span, 0, spans)
	for n := 1; n <= spans; n++ {
		out = append(out, causalSpan(n, min(n-1, 1), "svc", storage.KindInternal, time.Duration(n)*time.Microsecond, time.Millisecond, "", 0, ""))
	}
	out[0].EndTime = out[len(out)-1].EndTime + 1
	return out
}

func TestCausalCache(t *testing.T) {
	cc := newCausalCache()
	small := starTrace(10)
	_, c1 := cc.analyse(small[0].TraceID, small, false)
	_, c2 := cc.analyse(small[0].TraceID, small, false)
	if c1 == c2 || len(cc.entries) != 0 {
		t.Errorf("a %d-span trace was cached (%d entries)", len(small), len(cc.entries))
	}

	big := starTrace(causalCacheMinSpans + 1)
	id := big[0].TraceID
	tr1, c1 := cc.analyse(id, big, false)
	tr2, c2 := cc.analyse(id, append([]storage.Span(nil), big...), false)
	if tr1 != tr2 || c1 != c2 {
		t.Fatal("the same spans read again were analysed again")
	}
	grown := starTrace(causalCacheMinSpans + 2)
	trGrown, cGrown := cc.analyse(id, grown, false)
	if cGrown == c1 || trGrown.Len() != len(grown) {
		t.Errorf("a trace that gained a span got the old analysis (%d spans)", trGrown.Len())
	}
	if _, c3 := cc.analyse(id, grown, true); c3 == cGrown {
		t.Error("a truncated read got the analysis of the whole trace")
	}
	changed := append([]storage.Span(nil), grown...)
	changed[5].EndTime++
	if _, c := cc.analyse(id, changed, false); c == c1 {
		t.Error("a span with a new end time got the old analysis")
	}
	if cc.spans > causalCacheMaxSpans || len(cc.entries) > causalCacheMaxEntries {
		t.Errorf("%d spans in %d entries, over the bounds", cc.spans, len(cc.entries))
	}

	// Other traces push the least recently used out.
	for k := range causalCacheMaxEntries {
		other := starTrace(causalCacheMinSpans)
		for i := range other {
			other[i].TraceID[1] = byte(k + 1)
		}
		cc.analyse(other[0].TraceID, other, false)
	}
	if len(cc.entries) != causalCacheMaxEntries {
		t.Fatalf("%d entries, want %d", len(cc.entries), causalCacheMaxEntries)
	}
	sum := 0
	for _, e := range cc.entries {
		sum += e.tr.Len()
		if e.id == id && e.fp != cc.fingerprint(changed) {
			t.Error("an entry of the trace with an older fingerprint")
		}
	}
	if sum != cc.spans {
		t.Errorf("counted %d spans, the entries hold %d", cc.spans, sum)
	}
}

// TestTracerCausalCached: the causal answer of a large trace follows the
// spans written after an earlier answer was cached.
func TestTracerCausalCached(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := starTrace(causalCacheMinSpans + 10)
	f.write(t, spans[:len(spans)-1]...)
	url := "/api/tracer/traces/" + spans[0].TraceID.String() + "/causal?span=" + spans[0].SpanID.String()
	for range 2 {
		var got causalJSON
		f.getJSON(t, url, http.StatusOK, &got)
		if got.SpanCount != len(spans)-1 || got.After.Count != len(spans)-2 {
			t.Fatalf("span count %d, after %d; want %d, %d", got.SpanCount, got.After.Count, len(spans)-1, len(spans)-2)
		}
	}
	f.write(t, spans[len(spans)-1])
	var got causalJSON
	f.getJSON(t, url, http.StatusOK, &got)
	if got.SpanCount != len(spans) || got.After.Count != len(spans)-1 {
		t.Errorf("after a span more: span count %d, after %d; want %d, %d", got.SpanCount, got.After.Count, len(spans), len(spans)-1)
	}
}
