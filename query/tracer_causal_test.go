package query

import (
	"encoding/hex"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// causalSpan is span n of trace 1 (see trSpan) under parent (0: none),
// with a clock (node "" for none).
func causalSpan(n, parent int, service string, kind storage.SpanKind, at, d time.Duration, node string, tick uint64, deps string) storage.Span {
	s := trSpan(n, service, "op"+strconv.Itoa(n), kind, trNow.Add(-time.Minute+at), d, storage.StatusUnset)
	s.TraceID = trSpan(1, "", "", 0, trNow, 0, 0).TraceID
	if parent != 0 {
		s.ParentSpanID = trSpan(parent, "", "", 0, trNow, 0, 0).SpanID
	}
	if node != "" {
		s.Attributes = []storage.Attribute{{Key: vclock.AttrNode, Value: node}, {Key: vclock.AttrTick, Type: storage.TypeInt, Value: strconv.FormatUint(tick, 10)}}
		if deps != "" {
			s.Attributes = append(s.Attributes, storage.Attribute{Key: vclock.AttrDeps, Value: deps})
		}
	}
	return s
}

type causalJSON struct {
	TraceID   string `json:"traceId"`
	SpanCount int    `json:"spanCount"`
	Truncated bool   `json:"truncated"`
	Span      string `json:"span"`
	Before    *struct {
		Count   int      `json:"count"`
		SpanIDs []string `json:"spanIds"`
	} `json:"before"`
	After, Concurrent, Unknown *struct {
		Count   int      `json:"count"`
		SpanIDs []string `json:"spanIds"`
	}
	UnknownReasons map[string]int `json:"unknownReasons"`
	Order          []string       `json:"order"`
}

// A's root (1) calls B (3, through client 2) and C (5, through client 4)
// in parallel, and D (7, a plain service without clocks, through client 6).
// C's timestamps are skewed early.
func causalTrace() []storage.Span {
	ms := time.Millisecond
	endTick := func(s storage.Span, tick int) storage.Span {
		s.Attributes = append(s.Attributes, storage.Attribute{Key: vclock.AttrEndTick, Type: storage.TypeInt, Value: strconv.Itoa(tick)})
		return s
	}
	// The three calls overlap: each client's end has seen tick 4.
	return []storage.Span{
		endTick(causalSpan(1, 0, "a", storage.KindServer, 0, 100*ms, "a", 1, ""), 4),
		endTick(causalSpan(2, 1, "a", storage.KindClient, 10*ms, 40*ms, "a", 2, ""), 4),
		causalSpan(3, 2, "b", storage.KindServer, 20*ms, 20*ms, "b", 1, "a:2"),
		endTick(causalSpan(4, 1, "a", storage.KindClient, 11*ms, 40*ms, "a", 3, ""), 4),
		causalSpan(5, 4, "c", storage.KindServer, -30*ms, 20*ms, "c", 1, "a:3"),
		causalSpan(6, 1, "a", storage.KindClient, 12*ms, 40*ms, "a", 4, ""),
		causalSpan(7, 6, "d", storage.KindServer, 22*ms, 20*ms, "", 0, ""),
	}
}

func TestTracerCausal(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := causalTrace()
	f.write(t, spans...)
	id := func(n int) string { return spans[n-1].SpanID.String() }
	base := "/api/tracer/traces/" + spans[0].TraceID.String() + "/causal"
	tests := []struct {
		name                               string
		span                               int
		before, after, concurrent, unknown []string
		reasons                            map[string]int
	}{
		// The later calls' starts are concurrent with B's, their ends
		// are not known to be (they share a counter with the end of the
		// call to the plain D): partly concurrent.
		{"B's server", 3, []string{id(1), id(2)}, nil, []string{id(5)}, []string{id(4), id(6), id(7)}, map[string]int{"missingClock": 1, "partlyConcurrent": 2}},
		{"the root", 1, nil, []string{id(2), id(3), id(4), id(5), id(6), id(7)}, nil, nil, map[string]int{}},
		{"the plain span", 7, []string{id(1), id(2), id(4), id(6)}, nil, nil, []string{id(3), id(5)}, map[string]int{"missingClock": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got causalJSON
			f.getJSON(t, base+"?span="+id(tt.span), http.StatusOK, &got)
			if got.Span != id(tt.span) || got.SpanCount != len(spans) || got.Truncated || got.Order != nil {
				t.Errorf("span %q, count %d, truncated %v, order %v", got.Span, got.SpanCount, got.Truncated, got.Order)
			}
			check := func(what string, ids []string, count int, want []string) {
				t.Helper()
				slices.Sort(ids)
				slices.Sort(want)
				if !slices.Equal(ids, want) || count != len(want) {
					t.Errorf("%s = %v (count %d), want %v", what, ids, count, want)
				}
			}
			check("before", got.Before.SpanIDs, got.Before.Count, tt.before)
			check("after", got.After.SpanIDs, got.After.Count, tt.after)
			check("concurrent", got.Concurrent.SpanIDs, got.Concurrent.Count, tt.concurrent)
			check("unknown", got.Unknown.SpanIDs, got.Unknown.Count, tt.unknown)
			for _, k := range []string{"missingClock", "prunedClock", "clock", "conflict", "partlyConcurrent"} {
				if got.UnknownReasons[k] != tt.reasons[k] {
					t.Errorf("unknownReasons[%s] = %d, want %d", k, got.UnknownReasons[k], tt.reasons[k])
				}
			}
		})
	}
	t.Run("order", func(t *testing.T) {
		var got causalJSON
		f.getJSON(t, base+"?order=true", http.StatusOK, &got)
		// C's server (5) starts 30 ms before the root by its timestamps:
		// the order puts it after its client (4); among the free ones the
		// earliest goes first (4 at 11 ms before 3 at 20 ms).
		want := []string{id(1), id(2), id(4), id(5), id(6), id(3), id(7)}
		if !slices.Equal(got.Order, want) {
			t.Errorf("order = %v, want %v", got.Order, want)
		}
		if got.Before != nil {
			t.Errorf("before without span: %v", got.Before)
		}
	})
	errs := []struct {
		name, query string
		status      int
		want        string
	}{
		{"no span nor order", "", 400, "span"},
		{"bad span id", "?span=xyz", 400, "span"},
		{"span not in the trace", "?span=0000000000000001", 400, "span of the trace"},
		{"bad order", "?order=maybe", 400, "order"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			code, body, h := f.get(t, base+tt.query)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			trTracerError(t, body, h, tt.status, tt.want)
		})
	}
	t.Run("trace not stored", func(t *testing.T) {
		code, body, h := f.get(t, "/api/tracer/traces/00000000000000000000000000000abc/causal?order=true")
		if code != http.StatusNotFound {
			t.Fatalf("status %d: %s", code, body)
		}
		trTracerError(t, body, h, http.StatusNotFound, "")
	})
	t.Run("bad trace id", func(t *testing.T) {
		code, body, h := f.get(t, "/api/tracer/traces/xyz/causal?order=true")
		if code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", code, body)
		}
		trTracerError(t, body, h, http.StatusBadRequest, "id")
	})
}

// TestTracerCausalAll checks all=true against the lists of the same answer:
// every span's character says the list it is in, the span itself is "=",
// the order is ascending span id (the ids of ids=true), the reasons agree
// with unknownReasons, and the digest is the ids' and stays without ids.
func TestTracerCausalAll(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := causalTrace()
	f.write(t, spans...)
	base := "/api/tracer/traces/" + spans[0].TraceID.String() + "/causal"
	type allJSON struct {
		causalJSON
		Relations string   `json:"relations"`
		Reasons   string   `json:"reasons"`
		Digest    string   `json:"digest"`
		SpanIDs   []string `json:"spanIds"`
	}
	want := make([]string, len(spans))
	for i, s := range spans {
		want[i] = s.SpanID.String()
	}
	slices.Sort(want)
	h := fnv.New64a()
	for _, s := range want {
		b, _ := hex.DecodeString(s)
		h.Write(b)
	}
	wantDigest := strconv.FormatUint(h.Sum64(), 16)
	for _, s := range spans {
		me := s.SpanID.String()
		t.Run(me, func(t *testing.T) {
			var got allJSON
			f.getJSON(t, base+"?span="+me+"&all=true&ids=true", http.StatusOK, &got)
			if !slices.Equal(got.SpanIDs, want) || got.Digest != wantDigest {
				t.Fatalf("spanIds %v digest %s, want %v %s", got.SpanIDs, got.Digest, want, wantDigest)
			}
			if len(got.Relations) != len(want) || len(got.Reasons) != len(want) {
				t.Fatalf("relations %q reasons %q for %d spans", got.Relations, got.Reasons, len(want))
			}
			lists := map[byte][]string{'b': got.Before.SpanIDs, 'a': got.After.SpanIDs, 'c': got.Concurrent.SpanIDs, 'u': got.Unknown.SpanIDs}
			unknown := map[byte]int{}
			for k, sid := range got.SpanIDs {
				c, r := got.Relations[k], got.Reasons[k]
				if sid == me {
					if c != '=' || r != '-' {
						t.Errorf("the span itself: %c%c", c, r)
					}
					continue
				}
				if !slices.Contains(lists[c], sid) {
					t.Errorf("span %s: %c (%c), not in that list of the answer", sid, c, r)
				}
				switch c {
				case 'b', 'a':
					if !strings.ContainsRune("ksm", rune(r)) {
						t.Errorf("span %s: ordered with reason %c", sid, r)
					}
				case 'c':
					if r != 'k' {
						t.Errorf("span %s: concurrent with reason %c", sid, r)
					}
				case 'u':
					unknown[r]++
				}
			}
			wantUnknown := map[byte]int{'n': got.UnknownReasons["missingClock"], 'p': got.UnknownReasons["prunedClock"],
				'o': got.UnknownReasons["clock"], 'x': got.UnknownReasons["conflict"], 'q': got.UnknownReasons["partlyConcurrent"]}
			for k, v := range wantUnknown {
				if unknown[k] != v {
					t.Errorf("unknown reason %c: %d spans, unknownReasons say %d", k, unknown[k], v)
				}
			}
			// Without ids: the same codes and digest.
			var lean allJSON
			f.getJSON(t, base+"?span="+me+"&all=true", http.StatusOK, &lean)
			if lean.SpanIDs != nil || lean.Relations != got.Relations || lean.Reasons != got.Reasons || lean.Digest != got.Digest {
				t.Errorf("without ids: %v %q %q %s", lean.SpanIDs, lean.Relations, lean.Reasons, lean.Digest)
			}
		})
	}
	// The plain span (7) is unknown to B's server (3) for a missing clock, never concurrent.
	var got allJSON
	f.getJSON(t, base+"?span="+spans[2].SpanID.String()+"&all=true&ids=true", http.StatusOK, &got)
	k := slices.Index(got.SpanIDs, spans[6].SpanID.String())
	if k < 0 || got.Relations[k] != 'u' || got.Reasons[k] != 'n' {
		t.Errorf("the plain span against B's server: %q", got.Relations[max(k, 0)])
	}
	for _, tt := range []struct{ name, query, want string }{
		{"all without span", "?order=true&all=true", "span"},
		{"bad all", "?span=" + spans[0].SpanID.String() + "&all=maybe", "all"},
		{"bad ids", "?span=" + spans[0].SpanID.String() + "&all=true&ids=2x", "ids"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body, h := f.get(t, base+tt.query)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", code, body)
			}
			trTracerError(t, body, h, http.StatusBadRequest, tt.want)
		})
	}
}
