package query

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// trSearchData is three traces: A (frontend → backend, the backend span
// failed), B (frontend, failed, slow), C (worker, two hours ago).
func trSearchData() (a1, a2, b, c storage.Span) {
	a1 = trSpan(1, "frontend", "GET /a", storage.KindServer, trNow.Add(-10*time.Minute), 200*time.Millisecond, storage.StatusOK)
	a1.Attributes = []storage.Attribute{{Key: "http.method", Value: "GET"}, {Key: "http.status_code", Type: storage.TypeInt, Value: "200"}}
	a1.Resource = []storage.Attribute{{Key: "service.name", Value: "frontend"}, {Key: "env", Value: "prod"}}
	a2 = trSpan(2, "backend", "rpc", storage.KindServer, trNow.Add(-10*time.Minute+time.Millisecond), 100*time.Millisecond, storage.StatusError)
	a2.TraceID, a2.ParentSpanID = a1.TraceID, a1.SpanID
	a2.Attributes = []storage.Attribute{{Key: "region", Value: "us"}}
	a2.Resource = []storage.Attribute{{Key: "service.name", Value: "backend"}, {Key: "env", Value: "prod"}, {Key: "region", Value: "eu"}}
	b = trSpan(3, "frontend", "GET /b", storage.KindServer, trNow.Add(-20*time.Minute), time.Second, storage.StatusError)
	b.Resource = []storage.Attribute{{Key: "service.name", Value: "frontend"}, {Key: "env", Value: "dev"}}
	c = trSpan(4, "worker", "job", storage.KindInternal, trNow.Add(-2*time.Hour), 300*time.Millisecond, storage.StatusUnset)
	return a1, a2, b, c
}

func TestTracerSummaries(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	a1, a2, b, c := trSearchData()
	f.write(t, a1, a2, b, c)
	A, B, C := a1.TraceID.String(), b.TraceID.String(), c.TraceID.String()
	ns := func(tm time.Time) string { return strconv.FormatInt(tm.UnixNano(), 10) }
	tests := []struct {
		name, query string
		want        []string
	}{
		{"all in the last hour", "", []string{A, B}},
		{"service", "service=frontend", []string{A, B}},
		{"outside the default hour", "service=worker", nil},
		{"start as RFC 3339", "service=worker&start=" + url.QueryEscape(trNow.Add(-3*time.Hour).Format(time.RFC3339)), []string{C}},
		{"start and end as unix nanoseconds", "start=" + ns(trNow.Add(-15*time.Minute)) + "&end=" + ns(trNow.Add(-5*time.Minute)), []string{A}},
		{"end before a span", "end=" + url.QueryEscape(trNow.Add(-15*time.Minute).Format(time.RFC3339Nano)), []string{B}},
		{"operation", "operation=rpc", []string{A}},
		{"kind", "kind=internal&start=" + ns(trNow.Add(-3*time.Hour)), []string{C}},
		{"status error", "status=error", []string{A, B}},
		{"status ok", "status=ok", []string{A}},
		{"status unset", "status=unset&start=" + ns(trNow.Add(-3*time.Hour)), []string{C}},
		{"span attribute", "attr=http.method:GET", []string{A}},
		{"int attribute in canonical form", "attr=http.status_code:200", []string{A}},
		{"two attributes on one span", "attr=http.method:GET&attr=http.status_code:200", []string{A}},
		{"two attributes on two spans", "attr=http.method:GET&attr=region:us", nil},
		{"attr falls back to the resource", "attr=env:dev", []string{B}},
		{"attr is the span's first", "attr=region:eu", nil},
		{"span attribute", "attr=region:us", []string{A}},
		{"resource only", "resource=region:us", nil},
		{"resource", "resource=region:eu", []string{A}},
		{"resource and service", "resource=env:prod&service=backend", []string{A}},
		{"min duration", "minDuration=500ms", []string{B}},
		{"max duration", "maxDuration=150ms", []string{A}},
		{"limit", "limit=1", []string{A}},
		{"nothing", "service=nobody", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Traces []map[string]any `json:"traces"`
			}
			f.getJSON(t, "/api/tracer/trace-summaries?"+tc.query, 200, &got)
			if got.Traces == nil {
				t.Fatalf("traces is null, want an array")
			}
			var ids []string
			for _, s := range got.Traces {
				ids = append(ids, s["traceId"].(string))
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("traces %v, want %v", ids, tc.want)
			}
		})
	}

	t.Run("summary", func(t *testing.T) {
		var got struct {
			Traces []map[string]any `json:"traces"`
		}
		f.getJSON(t, "/api/tracer/trace-summaries?operation=rpc", 200, &got)
		s := got.Traces[0]
		if keys := trKeys(t, s); !slices.Equal(keys, []string{"durationNano", "endTimeUnixNano", "errorCount", "hasRoot", "rootName", "rootService", "services", "spanCount", "startTimeUnixNano", "traceId"}) {
			t.Errorf("keys %v", keys)
		}
		want := storage.Summarize(a1.TraceID, []storage.Span{a1, a2})
		checks := map[string]any{
			"rootService": want.RootService, "rootName": want.RootName, "hasRoot": want.HasRoot,
			"startTimeUnixNano": strconv.FormatInt(want.Start, 10), "endTimeUnixNano": strconv.FormatInt(want.End, 10),
			"durationNano": float64(want.End - want.Start), "spanCount": float64(want.SpanCount), "errorCount": float64(want.ErrorCount),
		}
		for k, v := range checks {
			if s[k] != v {
				t.Errorf("%s = %v, want %v", k, s[k], v)
			}
		}
		var svcs []string
		for _, ss := range s["services"].([]any) {
			m := ss.(map[string]any)
			svcs = append(svcs, fmt.Sprint(m["service"], " ", m["spanCount"], " ", m["errorCount"]))
		}
		if !slices.Equal(svcs, []string{"backend 1 1", "frontend 1 0"}) {
			t.Errorf("services %v", svcs)
		}
	})
}

func TestTracerBadParameters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLookback = 24 * time.Hour
	f := newTrFixture(t, cfg)
	f.write(t, trSpan(1, "web", "op", storage.KindServer, trNow.Add(-time.Minute), time.Second, storage.StatusOK))
	tests := []struct {
		name, path, want string
	}{
		{"summaries: kind", "/api/tracer/trace-summaries?kind=sever", `parameter kind="sever": want unspecified, internal, server`},
		{"summaries: status", "/api/tracer/trace-summaries?status=failed", `parameter status="failed": want unset, ok or error`},
		{"summaries: attr without colon", "/api/tracer/trace-summaries?attr=env", `parameter attr="env": want key:value`},
		{"summaries: attr without key", "/api/tracer/trace-summaries?attr=:v", `parameter attr=":v": want key:value`},
		{"summaries: attr twice", "/api/tracer/trace-summaries?attr=k:1&attr=k:2", `parameter attr="k:2": want each key once`},
		{"summaries: resource", "/api/tracer/trace-summaries?resource=x", `parameter resource="x"`},
		{"summaries: minDuration", "/api/tracer/trace-summaries?minDuration=5", `parameter minDuration="5": want a non-negative duration`},
		{"summaries: negative maxDuration", "/api/tracer/trace-summaries?maxDuration=-1s", `parameter maxDuration="-1s"`},
		{"summaries: min over max", "/api/tracer/trace-summaries?minDuration=2s&maxDuration=1s", `parameter minDuration="2s": want at most maxDuration`},
		{"summaries: start", "/api/tracer/trace-summaries?start=yesterday", `parameter start="yesterday": want an RFC 3339 time or unix nanoseconds`},
		{"summaries: end", "/api/tracer/trace-summaries?end=2026-13-01T00:00:00Z", `parameter end="2026-13-01T00:00:00Z"`},
		{"summaries: huge unix nanoseconds", "/api/tracer/trace-summaries?end=99999999999999999999", `parameter end="99999999999999999999"`},
		{"summaries: start after end", "/api/tracer/trace-summaries?start=2026-12-01T13:00:00Z", `parameter start="2026-12-01T13:00:00Z": want a time before end`},
		{"summaries: range over the maximum", "/api/tracer/trace-summaries?start=2026-11-30T11:59:59Z", "24h0m0s"},
		{"summaries: limit", "/api/tracer/trace-summaries?limit=-1", `parameter limit="-1": want a non-negative integer`},
		{"summaries: limit text", "/api/tracer/trace-summaries?limit=ten", `parameter limit="ten"`},
		{"summaries: limit over the reader's", "/api/tracer/trace-summaries?limit=1501", "invalid query"},
		{"red: step under a minute", "/api/tracer/red?step=30s", `parameter step="30s": want a positive multiple of 1m0s`},
		{"red: step not whole minutes", "/api/tracer/red?step=90s", `parameter step="90s"`},
		{"red: step text", "/api/tracer/red?step=fast", `parameter step="fast"`},
		{"red: kind", "/api/tracer/red?kind=sever", `parameter kind="sever"`},
		{"red: empty kind", "/api/tracer/red?kind=", `parameter kind=""`},
		{"red: groupByOperation", "/api/tracer/red?groupByOperation=yes", `parameter groupByOperation="yes": want true or false`},
		{"red: range over the maximum", "/api/tracer/red?start=2026-11-29T00:00:00Z", "24h0m0s"},
		{"keys: scope", "/api/tracer/attributes/keys?scope=all", `parameter scope="all": want span or resource`},
		{"keys: limit", "/api/tracer/attributes/keys?limit=x", `parameter limit="x"`},
		{"keys: limit over the reader's", "/api/tracer/attributes/keys?limit=1001", "invalid query"},
		{"keys: range", "/api/tracer/attributes/keys?start=2026-12-01T13:00:00Z", "want a time before end"},
		{"values: no key", "/api/tracer/attributes/values", `parameter key="": want the attribute key`},
		{"values: scope", "/api/tracer/attributes/values?key=k&scope=x", `parameter scope="x"`},
		{"dependencies: end", "/api/tracer/dependencies?end=soon", `parameter end="soon"`},
		{"dependencies: range over the maximum", "/api/tracer/dependencies?start=2026-11-01T00:00:00Z", "24h0m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := f.get(t, tc.path)
			if code != 400 {
				t.Fatalf("status %d, want 400: %s", code, body)
			}
			trTracerError(t, body, h, 400, tc.want)
			if strings.Contains(string(body), "strconv") || strings.Contains(string(body), "time: ") {
				t.Errorf("message shows Go's parser text: %s", body)
			}
		})
	}
}

func TestTracerRED(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := spmSpans()
	f.write(t, spans...)
	start, end := trNow.Add(-time.Hour), trNow
	rng := "&start=" + start.Format(time.RFC3339) + "&end=" + end.Format(time.RFC3339)
	tests := []struct {
		name, query string
		step        time.Duration
		series      []string // service/operation
		keep        func(*storage.Span) bool
	}{
		{"per service", "step=5m", 5 * time.Minute, []string{"backend/", "frontend/"},
			func(*storage.Span) bool { return true }},
		{"default step", "service=frontend", time.Minute, []string{"frontend/"},
			func(s *storage.Span) bool { return s.Service == "frontend" }},
		{"per operation", "service=frontend&groupByOperation=true&step=10m", 10 * time.Minute, []string{"frontend/GET /a", "frontend/GET /b", "frontend/db"},
			func(s *storage.Span) bool { return s.Service == "frontend" }},
		{"operation", "operation=GET+/a&step=2m", 2 * time.Minute, []string{"frontend/"},
			func(s *storage.Span) bool { return s.Name == "GET /a" }},
		{"kinds", "kind=client&kind=internal&step=1m", time.Minute, []string{"frontend/"},
			func(s *storage.Span) bool { return s.Kind == storage.KindClient }},
		{"two services", "service=backend&service=frontend&kind=server&step=1h", time.Hour, []string{"backend/", "frontend/"},
			func(s *storage.Span) bool { return s.Kind == storage.KindServer }},
		{"nothing", "service=nobody", time.Minute, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Start  string `json:"startTimeUnixNano"`
				End    string `json:"endTimeUnixNano"`
				Step   int64  `json:"stepNano"`
				Series []struct {
					Service   string           `json:"service"`
					Operation string           `json:"operation"`
					Points    []map[string]any `json:"points"`
				} `json:"series"`
			}
			f.getJSON(t, "/api/tracer/red?"+tc.query+rng, 200, &got)
			if got.Step != int64(tc.step) || got.Start != strconv.FormatInt(start.UnixNano(), 10) || got.End != strconv.FormatInt(end.UnixNano(), 10) {
				t.Errorf("step %d, start %s, end %s", got.Step, got.Start, got.End)
			}
			if got.Series == nil {
				t.Fatalf("series is null, want an array")
			}
			var names []string
			for _, s := range got.Series {
				names = append(names, s.Service+"/"+s.Operation)
			}
			if !slices.Equal(names, tc.series) {
				t.Fatalf("series %v, want %v", names, tc.series)
			}
			for _, s := range got.Series {
				total := 0
				for _, p := range s.Points {
					if keys := trKeys(t, p); !slices.Equal(keys, []string{"errorRate", "errors", "p50Ms", "p95Ms", "p99Ms", "requestRate", "requests", "timeUnixNano"}) {
						t.Fatalf("point keys %v", keys)
					}
					ns, err := strconv.ParseInt(p["timeUnixNano"].(string), 10, 64)
					if err != nil || ns%int64(tc.step) != 0 {
						t.Fatalf("point time %v: want unix nanoseconds at a multiple of the step", p["timeUnixNano"])
					}
					at := time.Unix(0, ns)
					keep := func(sp *storage.Span) bool {
						return tc.keep(sp) && sp.Service == s.Service && (s.Operation == "" || sp.Name == s.Operation) &&
							sp.StartTime >= start.UnixNano() && sp.StartTime < end.UnixNano()
					}
					// [at, at+step) is the window of [at+step-step, at+step).
					rate, errRate, _, ok := spmWant(spans, keep, at.Add(tc.step), tc.step, 0)
					if !ok {
						t.Fatalf("point at %s covers no span", at)
					}
					reqs := int(math.Round(rate * tc.step.Seconds()))
					total += reqs
					if p["requests"] != float64(reqs) || p["errors"] != math.Round(errRate*float64(reqs)) ||
						math.Abs(p["requestRate"].(float64)-rate) > 1e-12 || math.Abs(p["errorRate"].(float64)-errRate) > 1e-12 {
						t.Errorf("%s at %s: %v; want %d requests, rate %v, error rate %v", s.Service, at, p, reqs, rate, errRate)
					}
					for _, q := range []struct {
						key string
						q   float64
					}{{"p50Ms", 0.5}, {"p95Ms", 0.95}, {"p99Ms", 0.99}} {
						_, _, d, _ := spmWant(spans, keep, at.Add(tc.step), tc.step, q.q)
						lo, hi := storage.LatencyBucketBounds(storage.LatencyBucket(d))
						if v := p[q.key].(float64); v < durationMillis(lo) || v >= durationMillis(hi) {
							t.Errorf("%s at %s: %s %v, want in the bucket of %s [%v, %v)", s.Service, at, q.key, v, d, durationMillis(lo), durationMillis(hi))
						}
					}
				}
				want := 0
				for i := range spans {
					if sp := &spans[i]; tc.keep(sp) && sp.Service == s.Service && (s.Operation == "" || sp.Name == s.Operation) {
						want++
					}
				}
				if total != want {
					t.Errorf("%s/%s: %d requests over the points, want %d", s.Service, s.Operation, total, want)
				}
			}
		})
	}
	t.Run("over the reader's point limit", func(t *testing.T) {
		f := newTrFixture(t, DefaultConfig(), trREDLimit(1))
		f.write(t, spans...)
		code, body, h := f.get(t, "/api/tracer/red?groupByOperation=true")
		if code != 400 {
			t.Fatalf("status %d: %s", code, body)
		}
		trTracerError(t, body, h, 400, "invalid query")
	})
}

func TestTracerAttributes(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	a1, a2, b, c := trSearchData()
	f.write(t, a1, a2, b, c)
	rng := "&start=" + trNow.Add(-3*time.Hour).Format(time.RFC3339) + "&end=" + trNow.Format(time.RFC3339)
	keys := []struct {
		name, query string
		want        []string
	}{
		{"span keys", "", []string{"http.method", "http.status_code", "region"}},
		{"span keys of a service", "service=backend", []string{"region"}},
		{"prefix", "prefix=http.s", []string{"http.status_code"}},
		{"limit", "limit=2", []string{"http.method", "http.status_code"}},
		{"resource keys", "scope=resource", []string{"env", "region", "service.name"}},
		{"resource keys of a service", "scope=resource&service=frontend", []string{"env", "service.name"}},
		{"none", "service=nobody", []string{}},
	}
	for _, tc := range keys {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string][]string
			f.getJSON(t, "/api/tracer/attributes/keys?"+tc.query+rng, 200, &got)
			if got["keys"] == nil || !slices.Equal(got["keys"], tc.want) {
				t.Errorf("keys %v, want %v", got["keys"], tc.want)
			}
		})
	}
	values := []struct {
		name, query string
		want        []string
	}{
		{"span values", "key=http.method", []string{"GET"}},
		{"resource values", "key=env&scope=resource", []string{"dev", "prod"}},
		{"resource values of a service", "key=env&scope=resource&service=backend", []string{"prod"}},
		{"prefix", "key=service.name&scope=resource&prefix=f", []string{"frontend"}},
		{"limit", "key=service.name&scope=resource&limit=2", []string{"backend", "frontend"}},
		{"the span's, not the resource's", "key=region", []string{"us"}},
		{"none", "key=nothing", []string{}},
	}
	for _, tc := range values {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Key    string   `json:"key"`
				Values []string `json:"values"`
			}
			f.getJSON(t, "/api/tracer/attributes/values?"+tc.query+rng, 200, &got)
			if got.Values == nil || !slices.Equal(got.Values, tc.want) || got.Key == "" {
				t.Errorf("key %q values %v, want %v", got.Key, got.Values, tc.want)
			}
		})
	}
}

func TestTracerDependencies(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	a1, a2, b, c := trSearchData()
	// A second call frontend → backend, without error, and one from the
	// worker two hours ago.
	d1 := trSpan(10, "frontend", "GET /c", storage.KindServer, trNow.Add(-30*time.Minute), time.Second, storage.StatusOK)
	d2 := trSpan(11, "backend", "rpc", storage.KindServer, trNow.Add(-30*time.Minute), time.Second, storage.StatusOK)
	d2.TraceID, d2.ParentSpanID = d1.TraceID, d1.SpanID
	c2 := trSpan(12, "backend", "rpc", storage.KindServer, trNow.Add(-2*time.Hour), time.Second, storage.StatusError)
	c2.TraceID, c2.ParentSpanID = c.TraceID, c.SpanID
	f.write(t, a1, a2, b, c, d1, d2, c2)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"default day", "", []string{"frontend>backend 2 1", "worker>backend 1 1"}},
		{"last hour", "start=" + trNow.Add(-time.Hour).Format(time.RFC3339), []string{"frontend>backend 2 1"}},
		{"window without the error", "start=" + trNow.Add(-time.Hour).Format(time.RFC3339) + "&end=" + trNow.Add(-20*time.Minute).Format(time.RFC3339), []string{"frontend>backend 1 0"}},
		{"nothing", "end=" + trNow.Add(-10*time.Hour).Format(time.RFC3339), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Deps []map[string]any `json:"dependencies"`
			}
			f.getJSON(t, "/api/tracer/dependencies?"+tc.query, 200, &got)
			if got.Deps == nil {
				t.Fatalf("dependencies is null, want an array")
			}
			var edges []string
			for _, d := range got.Deps {
				if keys := trKeys(t, d); !slices.Equal(keys, []string{"callCount", "child", "errorCount", "parent"}) {
					t.Errorf("keys %v", keys)
				}
				edges = append(edges, fmt.Sprint(d["parent"], ">", d["child"], " ", d["callCount"], " ", d["errorCount"]))
			}
			if !slices.Equal(edges, tc.want) {
				t.Errorf("edges %v, want %v", edges, tc.want)
			}
		})
	}
}

func TestTracerUnknownRoute(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	code, body, h := f.get(t, "/api/tracer/nothing")
	if code != 404 {
		t.Fatalf("status %d: %s", code, body)
	}
	trTracerError(t, body, h, 404, "no API route /api/tracer/nothing")
}
