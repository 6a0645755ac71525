package query

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// trCPSpan is span s of trace n, under parent p (0: a root), of service and
// name, from trNow-base+start ms to +end ms.
func trCPSpan(n, s, p int, service, name string, start, end int64) storage.Span {
	base := trNow.Add(-10 * time.Minute).Add(time.Duration(n) * time.Second)
	sp := storage.Span{
		TraceID: storage.TraceID{0: 0xc9, 15: byte(n)}, SpanID: storage.SpanID{0: 0xc9, 6: byte(n), 7: byte(s)},
		Name: name, Service: service, Kind: storage.KindServer,
		StartTime: base.Add(time.Duration(start) * time.Millisecond).UnixNano(),
		EndTime:   base.Add(time.Duration(end) * time.Millisecond).UnixNano(),
		Resource:  []storage.Attribute{{Key: "service.name", Value: service}},
	}
	if p != 0 {
		sp.ParentSpanID = storage.SpanID{0: 0xc9, 6: byte(n), 7: byte(p)}
	}
	return sp
}

func trNs(ns int64) string { return strconv.FormatInt(ns, 10) }

func TestTracerCriticalPath(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	r := trCPSpan(1, 1, 0, "frontend", "GET /a", 0, 100)
	a := trCPSpan(1, 2, 1, "backend", "query", 10, 40)
	b := trCPSpan(1, 3, 1, "db", "select", 40, 90)
	// Trace 2: a producer whose consumer, a root linking to it, ends the
	// trace after a gap.
	r2 := trCPSpan(2, 1, 0, "frontend", "POST /b", 0, 100)
	p2 := trCPSpan(2, 2, 1, "frontend", "publish", 10, 20)
	c2 := trCPSpan(2, 3, 0, "worker", "consume", 120, 150)
	c2.Links = []storage.Link{{TraceID: p2.TraceID, SpanID: p2.SpanID}}
	f.write(t, r, a, b, r2, p2, c2)

	type seg struct {
		span       *storage.Span // nil: a gap
		start, end int64
	}
	type spn struct {
		span               *storage.Span
		self, contribution int64
		linkParent         *storage.Span
	}
	ms := int64(time.Millisecond)
	tests := []struct {
		name  string
		trace storage.TraceID
		segs  []seg
		spans []spn
	}{
		{"sequential children", r.TraceID,
			[]seg{{&r, r.StartTime, a.StartTime}, {&a, a.StartTime, a.EndTime}, {&b, b.StartTime, b.EndTime}, {&r, b.EndTime, r.EndTime}},
			[]spn{{&b, 50 * ms, 50 * ms, nil}, {&a, 30 * ms, 30 * ms, nil}, {&r, 20 * ms, 20 * ms, nil}}},
		{"a linked consumer after a gap", r2.TraceID,
			[]seg{{&r2, r2.StartTime, p2.StartTime}, {&p2, p2.StartTime, p2.EndTime}, {&r2, p2.EndTime, r2.EndTime},
				{nil, r2.EndTime, c2.StartTime}, {&c2, c2.StartTime, c2.EndTime}},
			[]spn{{&r2, 90 * ms, 90 * ms, nil}, {&c2, 30 * ms, 30 * ms, &p2}, {&p2, 10 * ms, 10 * ms, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			f.getJSON(t, "/api/tracer/traces/"+tt.trace.String()+"/critical-path", 200, &got)
			if keys := trKeys(t, got); !slices.Equal(keys, []string{"durationNano", "endTimeUnixNano", "gapNano", "segments", "spans", "startTimeUnixNano", "traceId", "truncated"}) {
				t.Errorf("keys %v", keys)
			}
			first, last := tt.segs[0].start, tt.segs[len(tt.segs)-1].end
			var gap int64
			for _, s := range tt.segs {
				if s.span == nil {
					gap += s.end - s.start
				}
			}
			if got["traceId"] != tt.trace.String() || got["startTimeUnixNano"] != trNs(first) || got["endTimeUnixNano"] != trNs(last) ||
				got["durationNano"] != float64(last-first) || got["gapNano"] != float64(gap) || got["truncated"] != false {
				t.Errorf("header fields %v", got)
			}
			segs, _ := got["segments"].([]any)
			if len(segs) != len(tt.segs) {
				t.Fatalf("segments %v, want %d", segs, len(tt.segs))
			}
			for k, w := range tt.segs {
				want := map[string]any{"startTimeUnixNano": trNs(w.start), "endTimeUnixNano": trNs(w.end), "durationNano": float64(w.end - w.start)}
				if w.span != nil {
					want["spanId"] = w.span.SpanID.String()
				} else {
					want["gap"] = true
				}
				if fmt.Sprint(segs[k]) != fmt.Sprint(want) {
					t.Errorf("segment %d = %v, want %v", k, segs[k], want)
				}
			}
			spans, _ := got["spans"].([]any)
			if len(spans) != len(tt.spans) {
				t.Fatalf("spans %v, want %d", spans, len(tt.spans))
			}
			for k, w := range tt.spans {
				want := map[string]any{"spanId": w.span.SpanID.String(), "service": w.span.Service, "name": w.span.Name,
					"selfTimeNano": float64(w.self), "contributionNano": float64(w.contribution)}
				if w.linkParent != nil {
					want["linkParentSpanId"] = w.linkParent.SpanID.String()
				}
				if fmt.Sprint(spans[k]) != fmt.Sprint(want) {
					t.Errorf("span %d = %v, want %v", k, spans[k], want)
				}
			}
		})
	}
}

func TestTracerCriticalPathErrors(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"bad id", "/api/tracer/traces/xyz/critical-path", 400, "parameter id="},
		{"all zeros", "/api/tracer/traces/0/critical-path", 400, "parameter id="},
		{"not stored", "/api/tracer/traces/0af7651916cd43dd8448eb211c80319c/critical-path", 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, h := f.get(t, tt.path)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			trTracerError(t, body, h, tt.status, tt.want)
		})
	}
}

func TestTracerBottlenecks(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	// Traces 1 and 2: frontend's GET /a over backend's query; the paths
	// are GET 10 ms, query 80 ms and GET 20 ms, query 30 ms. Trace 3:
	// frontend's GET /b alone, 50 ms. Trace 4: a gateway root over
	// frontend's GET /a (so frontend's, but not its root). Trace 5: the
	// same, two hours ago.
	f.write(t,
		trCPSpan(1, 1, 0, "frontend", "GET /a", 0, 90), trCPSpan(1, 2, 1, "backend", "query", 5, 85),
		trCPSpan(2, 1, 0, "frontend", "GET /a", 0, 50), trCPSpan(2, 2, 1, "backend", "query", 10, 40),
		trCPSpan(3, 1, 0, "frontend", "GET /b", 0, 50),
		trCPSpan(4, 1, 0, "gateway", "GET", 0, 100), trCPSpan(4, 2, 1, "frontend", "GET /a", 10, 20),
	)
	old := trCPSpan(5, 1, 0, "frontend", "GET /a", 0, 10)
	old.StartTime -= int64(2 * time.Hour)
	old.EndTime -= int64(2 * time.Hour)
	f.write(t, old)
	tid := func(n int) string { return storage.TraceID{0: 0xc9, 15: byte(n)}.String() }
	ms := float64(time.Millisecond)
	type op struct {
		service, operation string
		total, max         float64
		traces             int
		examples           []string
	}
	tests := []struct {
		name                              string
		query                             string
		found, analysed, skipped, latency int
		ops                               []op
	}{
		{"frontend roots", "service=frontend", 4, 3, 1, 190, []op{
			{"backend", "query", 110 * ms, 80 * ms, 2, []string{tid(1), tid(2)}},
			{"frontend", "GET /b", 50 * ms, 50 * ms, 1, []string{tid(3)}},
			{"frontend", "GET /a", 30 * ms, 20 * ms, 2, []string{tid(2), tid(1)}},
		}},
		{"one operation", "service=frontend&operation=GET+%2Fa", 3, 2, 1, 140, []op{
			{"backend", "query", 110 * ms, 80 * ms, 2, []string{tid(1), tid(2)}},
			{"frontend", "GET /a", 30 * ms, 20 * ms, 2, []string{tid(2), tid(1)}},
		}},
		{"every trace", "", 4, 4, 0, 290, []op{
			{"backend", "query", 110 * ms, 80 * ms, 2, []string{tid(1), tid(2)}},
			{"gateway", "GET", 90 * ms, 90 * ms, 1, []string{tid(4)}},
			{"frontend", "GET /b", 50 * ms, 50 * ms, 1, []string{tid(3)}},
			{"frontend", "GET /a", 40 * ms, 20 * ms, 3, []string{tid(2), tid(1), tid(4)}},
		}},
		{"the window", "service=frontend&start=" + trNs(trNow.Add(-3*time.Hour).UnixNano()) + "&end=" + trNs(trNow.Add(-time.Hour).UnixNano()),
			1, 1, 0, 10, []op{{"frontend", "GET /a", 10 * ms, 10 * ms, 1, []string{tid(5)}}}},
		{"an operation of any service", "operation=GET", 1, 1, 0, 100, []op{
			{"gateway", "GET", 90 * ms, 90 * ms, 1, []string{tid(4)}},
			{"frontend", "GET /a", 10 * ms, 10 * ms, 1, []string{tid(4)}},
		}},
		{"nothing", "service=nobody", 0, 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			f.getJSON(t, "/api/tracer/bottlenecks?"+tt.query, 200, &got)
			if keys := trKeys(t, got); !slices.Equal(keys, []string{"endTimeUnixNano", "gapNano", "latencyNano", "limit", "operations",
				"startTimeUnixNano", "tracesAnalysed", "tracesFound", "tracesSkipped", "tracesTruncated"}) {
				t.Errorf("keys %v", keys)
			}
			if got["tracesFound"] != float64(tt.found) || got["tracesAnalysed"] != float64(tt.analysed) || got["tracesSkipped"] != float64(tt.skipped) ||
				got["latencyNano"] != float64(tt.latency)*ms || got["limit"] != float64(100) || got["gapNano"] != float64(0) {
				t.Errorf("counts %v", got)
			}
			ops, _ := got["operations"].([]any)
			if ops == nil {
				t.Fatalf("operations is not an array: %v", got["operations"])
			}
			if len(ops) != len(tt.ops) {
				t.Fatalf("operations %v, want %d", ops, len(tt.ops))
			}
			for k, w := range tt.ops {
				var ex []any
				for _, id := range w.examples {
					ex = append(ex, id)
				}
				o := ops[k].(map[string]any)
				var gotEx []any
				for _, e := range o["examples"].([]any) {
					gotEx = append(gotEx, e.(map[string]any)["traceId"])
				}
				if o["service"] != w.service || o["operation"] != w.operation || o["totalNano"] != w.total || o["maxNano"] != w.max ||
					o["traceCount"] != float64(w.traces) || o["perTraceNano"] != w.total/float64(tt.analysed) ||
					o["share"] != w.total/(float64(tt.latency)*ms) || fmt.Sprint(gotEx) != fmt.Sprint(ex) {
					t.Errorf("operation %d = %v, want %+v", k, o, w)
				}
			}
		})
	}
}

func TestTracerBottlenecksLimits(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	for n := 1; n <= 3; n++ {
		f.write(t, trCPSpan(n, 1, 0, "frontend", "GET /a", 0, 10))
	}
	var got map[string]any
	f.getJSON(t, "/api/tracer/bottlenecks?service=frontend&limit=2", 200, &got)
	if got["limit"] != float64(2) || got["tracesFound"] != float64(2) || got["tracesAnalysed"] != float64(2) {
		t.Errorf("limit 2: %v", got)
	}
	for _, tt := range []struct{ name, query, want string }{
		{"over the maximum", "limit=1001", "at most 1000 traces"},
		{"negative", "limit=-1", "parameter limit="},
		{"bad start", "start=yesterday", "parameter start="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body, h := f.get(t, "/api/tracer/bottlenecks?"+tt.query)
			if code != 400 {
				t.Fatalf("status %d: %s", code, body)
			}
			trTracerError(t, body, h, 400, tt.want)
		})
	}
}
