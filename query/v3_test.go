package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/vclock"
)

// The tests of this file follow Jaeger v2.20's
// cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/http_gateway_test.go
// (routes, parameter names and aliases, error and empty answers) and its
// snapshots/*.json (shapes), over Tracer's memory store and a real HTTP
// server.

// t0 is when the test spans start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ns(t time.Time) int64 { return t.UnixNano() }

// v3Spans are three traces: 1 has a root on frontend and a child on
// backend (with clocks), 2 is one backend span, 3 has no stored root.
func v3Spans() []storage.Span {
	front := []storage.Attribute{attr("service.name", storage.TypeString, "frontend"), attr("deployment.environment", storage.TypeString, "prod")}
	back := []storage.Attribute{attr("service.name", storage.TypeString, "backend"), attr("host.name", storage.TypeString, "pay-1")}
	batch := []storage.Attribute{attr("service.name", storage.TypeString, "batch")}
	return []storage.Span{
		{TraceID: testTraceID(1), SpanID: testSpanID(1), Name: "GET /checkout", Kind: storage.KindServer,
			StartTime: ns(t0), EndTime: ns(t0.Add(120 * time.Millisecond)), StatusCode: storage.StatusError, StatusMessage: "payment failed",
			Service: "frontend", Resource: front, ScopeName: "net/http",
			Attributes: []storage.Attribute{
				attr("http.method", storage.TypeString, "GET"), attr("http.status_code", storage.TypeInt, "500"),
				attr(vclock.AttrNode, storage.TypeString, "web-1"), attr(vclock.AttrTick, storage.TypeInt, "1"),
			}},
		{TraceID: testTraceID(1), SpanID: testSpanID(2), ParentSpanID: testSpanID(1), Name: "POST /pay", Kind: storage.KindServer,
			StartTime: ns(t0.Add(10 * time.Millisecond)), EndTime: ns(t0.Add(60 * time.Millisecond)), StatusCode: storage.StatusError,
			Service: "backend", Resource: back, ScopeName: "net/http",
			Attributes: []storage.Attribute{
				attr("http.method", storage.TypeString, "POST"),
				attr(vclock.AttrNode, storage.TypeString, "pay-1"), attr(vclock.AttrTick, storage.TypeInt, "2"),
				attr(vclock.AttrDeps, storage.TypeString, "web-1:1"),
			}},
		{TraceID: testTraceID(2), SpanID: testSpanID(3), Name: "POST /pay", Kind: storage.KindServer,
			StartTime: ns(t0.Add(time.Minute)), EndTime: ns(t0.Add(time.Minute + 5*time.Millisecond)), StatusCode: storage.StatusOK,
			Service: "backend", Resource: back, ScopeName: "net/http",
			Attributes: []storage.Attribute{attr("http.method", storage.TypeString, "POST")}},
		{TraceID: testTraceID(2), SpanID: testSpanID(5), ParentSpanID: testSpanID(3), Name: "SELECT", Kind: storage.KindClient,
			StartTime: ns(t0.Add(time.Minute + time.Millisecond)), EndTime: ns(t0.Add(time.Minute + 2*time.Millisecond)),
			Service: "backend", Resource: back, ScopeName: "database/sql"},
		{TraceID: testTraceID(3), SpanID: testSpanID(4), ParentSpanID: testSpanID(99), Name: "nightly", Kind: storage.KindUnspecified,
			StartTime: ns(t0.Add(2 * time.Minute)), EndTime: ns(t0.Add(3 * time.Minute)),
			Service: "batch", Resource: batch},
	}
}

// newV3Server serves the API over a memory store holding spans.
func newV3Server(t *testing.T, store storage.ReadStore, cfg Config) *httptest.Server {
	t.Helper()
	a, err := New(store, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func newMemory(t testing.TB, spans []storage.Span, opts ...memory.Option) *memory.Store {
	t.Helper()
	m := memory.New(opts...)
	if len(spans) > 0 {
		if err := m.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, srv *httptest.Server, path string) answer {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

// keys returns the keys of a JSON object, sorted, or fails.
func keys(t *testing.T, js []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, js)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkV3Error checks Jaeger's v3 error shape {"error":{"httpCode","message"}}
// with status, a message containing want, and no Go parser text.
func checkV3Error(t *testing.T, a answer, status int, want string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if k := keys(t, a.body); !slices.Equal(k, []string{"error"}) {
		t.Fatalf("keys %v, want [error]: %s", k, a.body)
	}
	var e struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatal(err)
	}
	var code int
	var msg string
	if err := json.Unmarshal(e.Error["httpCode"], &code); err != nil || code != status {
		t.Errorf("httpCode %s, want %d", e.Error["httpCode"], status)
	}
	if err := json.Unmarshal(e.Error["message"], &msg); err != nil || !strings.Contains(msg, want) {
		t.Errorf("message %s, want one containing %q", e.Error["message"], want)
	}
	if len(e.Error) != 2 {
		t.Errorf("error keys %v, want httpCode and message", keys(t, a.body[len(`{"error":`):len(a.body)-2]))
	}
	for _, leak := range []string{"strconv", "parsing time", "invalid syntax", "cannot parse", "json:", "time: "} {
		if strings.Contains(msg, leak) {
			t.Errorf("message %q has Go's parser text %q", msg, leak)
		}
	}
}

func TestV3Services(t *testing.T) {
	tests := []struct {
		name  string
		spans []storage.Span
		want  string
	}{
		// http_gateway_test.go TestHTTPGatewayGetServicesEmptyResponse.
		{"empty", nil, `{"services":[]}`},
		// snapshots/GetServices.json's shape.
		{"sorted", v3Spans(), `{"services":["backend","batch","frontend"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newV3Server(t, newStore(t, tt.spans), DefaultConfig())
			a := get(t, srv, "/api/v3/services")
			if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != tt.want {
				t.Errorf("%d %s, want 200 %s", a.status, a.body, tt.want)
			}
		})
	}
}

func TestV3Operations(t *testing.T) {
	srv := newV3Server(t, newStore(t, v3Spans()), DefaultConfig())
	tests := []struct {
		name, query string
		want        string
	}{
		// snapshots/GetOperations.json: {"operations":[{"name","spanKind"}]}.
		{"service", "service=frontend", `{"operations":[{"name":"GET /checkout","spanKind":"server"}]}`},
		{"all kinds", "service=backend", `{"operations":[{"name":"POST /pay","spanKind":"server"},{"name":"SELECT","spanKind":"client"}]}`},
		{"spanKind", "service=backend&spanKind=server", `{"operations":[{"name":"POST /pay","spanKind":"server"}]}`},
		{"span_kind alias", "service=backend&span_kind=server", `{"operations":[{"name":"POST /pay","spanKind":"server"}]}`},
		{"kind any case", "service=backend&spanKind=SERVER", `{"operations":[{"name":"POST /pay","spanKind":"server"}]}`},
		{"no match", "service=backend&spanKind=producer", `{"operations":[]}`},
		{"unknown service", "service=nope", `{"operations":[]}`},
		// TestHTTPGatewayGetOperationsDefaultSpanKind: no kind lists as internal.
		{"unspecified kind is internal", "service=batch", `{"operations":[{"name":"nightly","spanKind":"internal"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, srv, "/api/v3/operations?"+tt.query)
			if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != tt.want {
				t.Errorf("%d %s, want 200 %s", a.status, a.body, tt.want)
			}
		})
	}
	t.Run("bad kind", func(t *testing.T) {
		checkV3Error(t, get(t, srv, "/api/v3/operations?service=backend&span_kind=sideways"), http.StatusBadRequest, "span_kind")
	})
}

// searchQuery builds a search URL query from pairs.
func searchQuery(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

var (
	tMin = t0.Add(-time.Hour).Format(time.RFC3339Nano)
	tMax = t0.Add(time.Hour).Format(time.RFC3339Nano)
)

// foundTraces decodes a search or trace answer and returns its trace ids and
// spans.
func foundTraces(t *testing.T, a answer) ([]string, []storage.Span) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if k := keys(t, a.body); !slices.Equal(k, []string{"result"}) {
		t.Fatalf("keys %v, want [result]", k)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(a.body, &env); err != nil {
		t.Fatal(err)
	}
	spans := decodeWithCollector(t, env.Result)
	var ids []string
	for _, sp := range spans {
		if id := sp.TraceID.String(); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, spans
}

func tids(ns ...byte) []string {
	var out []string
	for _, n := range ns {
		out = append(out, testTraceID(n).String())
	}
	slices.Sort(out)
	return out
}

func TestV3FindTraces(t *testing.T) {
	srv := newV3Server(t, newStore(t, v3Spans()), DefaultConfig())
	tests := []struct {
		name  string
		query string
		want  []string // trace ids; nil: 404 No traces found
	}{
		{"time range only", searchQuery("query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2, 3)},
		{"service", searchQuery("query.serviceName", "backend", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2)},
		{"service snake_case", searchQuery("query.service_name", "backend", "query.start_time_min", tMin, "query.start_time_max", tMax), tids(1, 2)},
		{"camelCase wins over snake_case", searchQuery("query.serviceName", "frontend", "query.service_name", "batch", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"operation", searchQuery("query.serviceName", "frontend", "query.operationName", "GET /checkout", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"operation snake_case", searchQuery("query.operation_name", "nightly", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(3)},
		{"durationMin", searchQuery("query.durationMin", "40ms", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 3)},
		{"duration_min and duration_max", searchQuery("query.duration_min", "40ms", "query.duration_max", "0.1s", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"durationMax", searchQuery("query.durationMax", "10ms", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(2)},
		{"time window cuts", searchQuery("query.startTimeMin", t0.Add(30*time.Second).Format(time.RFC3339), "query.startTimeMax", t0.Add(90*time.Second).Format(time.RFC3339)), tids(2)},
		{"time with unescaped offset, as Grafana sends", "query.start_time_min=" + t0.Add(30*time.Second).In(time.FixedZone("", 3600)).Format(time.RFC3339Nano) + "&query.start_time_max=" + tMax, tids(2, 3)},
		{"time with offset", searchQuery("query.startTimeMin", t0.Add(30*time.Second).In(time.FixedZone("", 8*3600)).Format(time.RFC3339Nano), "query.startTimeMax", tMax), tids(2, 3)},
		{"attribute", searchQuery("query.attributes", `{"http.method":"POST"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2)},
		{"attribute int as number", searchQuery("query.attributes", `{"http.status_code":500}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"attribute int as string", searchQuery("query.attributes", `{"http.status_code":"500"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"attributes all match one span", searchQuery("query.attributes", `{"http.method":"GET","host.name":"pay-1"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), nil},
		{"resource attribute falls back", searchQuery("query.attributes", `{"host.name":"pay-1"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2)},
		// internal/storage/v2/memory/tenant.go validSpan: special keys.
		{"error true", searchQuery("query.attributes", `{"error":"true"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"error false is status ok", searchQuery("query.attributes", `{"error":false}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(2)},
		{"span.status", searchQuery("query.attributes", `{"span.status":"UNSET"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(2, 3)},
		{"span.kind", searchQuery("query.attributes", `{"span.kind":"server"}`, "query.serviceName", "backend", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2)},
		{"resource. prefix", searchQuery("query.attributes", `{"resource.deployment.environment":"prod"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1)},
		{"resource. prefix is resource only", searchQuery("query.attributes", `{"resource.http.method":"GET"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), nil},
		{"searchDepth", searchQuery("query.searchDepth", "1", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(3)},
		{"search_depth", searchQuery("query.search_depth", "2", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(2, 3)},
		{"num_traces", searchQuery("query.num_traces", "1", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(3)},
		{"searchDepth 0 is the default", searchQuery("query.searchDepth", "0", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2, 3)},
		{"rawTraces", searchQuery("query.rawTraces", "true", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2, 3)},
		{"raw_traces", searchQuery("query.raw_traces", "false", "query.startTimeMin", tMin, "query.startTimeMax", tMax), tids(1, 2, 3)},
		// TestHTTPGatewayFindTracesEmptyResponse: no trace is 404.
		{"no match", searchQuery("query.serviceName", "nope", "query.startTimeMin", tMin, "query.startTimeMax", tMax), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, srv, "/api/v3/traces?"+tt.query)
			if tt.want == nil {
				checkV3Error(t, a, http.StatusNotFound, v3NotFound)
				return
			}
			got, _ := foundTraces(t, a)
			if !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("whole traces, attributes and clocks intact", func(t *testing.T) {
		_, spans := foundTraces(t, get(t, srv, "/api/v3/traces?"+searchQuery("query.serviceName", "frontend", "query.startTimeMin", tMin, "query.startTimeMax", tMax)))
		want := v3Spans()[:2]
		checkSpans(t, spans, want)
	})
}

// checkSpans compares decoded spans with the stored ones, clocks included.
func checkSpans(t *testing.T, got, want []storage.Span) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d spans, want %d", len(got), len(want))
	}
	byID := bySpanID(got)
	for i := range want {
		g := byID[want[i].SpanID]
		if g == nil {
			t.Errorf("span %s missing", want[i].SpanID)
			continue
		}
		for _, d := range spanDiff(g, &want[i]) {
			t.Errorf("span %s: %s", want[i].SpanID, d)
		}
		wc, werr := want[i].SpanClock()
		gc, gerr := g.SpanClock()
		if (werr == nil) != (gerr == nil) || werr == nil && gc.Start.String() != wc.Start.String() {
			t.Errorf("span %s: clock %v %v, want %v %v", want[i].SpanID, gc.Start, gerr, wc.Start, werr)
		}
	}
}

// TestV3SearchErrors covers the bad parameters of /api/v3/traces and
// /api/v3/trace-summaries (query_parser_test.go's cases, answered in the v3
// error shape without Go's text).
func TestV3SearchErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLookback = 24 * time.Hour
	srv := newV3Server(t, newStore(t, v3Spans(), memory.WithReaderLimits(storage.ReaderLimits{MaxTraces: 50})), cfg)
	tests := []struct {
		name  string
		query string
		want  string // in the message
	}{
		// TestHTTPGatewayFindTracesErrors: both times are required.
		{"no times", "", "query.startTimeMin"},
		{"no max", searchQuery("query.startTimeMin", tMin), "query.startTimeMax"},
		{"bad min", searchQuery("query.startTimeMin", "yesterday", "query.startTimeMax", tMax), "query.startTimeMin"},
		{"bad max snake_case", searchQuery("query.startTimeMin", tMin, "query.start_time_max", "2026-13-01T00:00:00Z"), "query.start_time_max"},
		{"microseconds are not RFC 3339", searchQuery("query.startTimeMin", "1700000000000000", "query.startTimeMax", tMax), "RFC 3339"},
		{"date only", searchQuery("query.startTimeMin", "2026-03-01", "query.startTimeMax", tMax), "RFC 3339"},
		{"min not before max", searchQuery("query.startTimeMin", tMax, "query.startTimeMax", tMin), "query.startTimeMax"},
		{"range over max lookback", searchQuery("query.startTimeMin", t0.Add(-25*time.Hour).Format(time.RFC3339), "query.startTimeMax", t0.Format(time.RFC3339)), "max lookback"},
		{"bad searchDepth", searchQuery("query.searchDepth", "ten", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.searchDepth"},
		{"negative search_depth", searchQuery("query.search_depth", "-1", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.search_depth"},
		{"bad num_traces", searchQuery("query.num_traces", "1.5", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.num_traces"},
		{"searchDepth over the store's limit", searchQuery("query.searchDepth", "51", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "limit 51"},
		{"bad durationMin", searchQuery("query.durationMin", "10", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.durationMin"},
		{"negative duration_max", searchQuery("query.duration_max", "-1s", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.duration_max"},
		{"durationMin over durationMax", searchQuery("query.durationMin", "2s", "query.durationMax", "1s", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.durationMax"},
		{"bad rawTraces", searchQuery("query.rawTraces", "maybe", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.rawTraces"},
		{"bad raw_traces", searchQuery("query.raw_traces", "maybe", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.raw_traces"},
		{"attributes not JSON", searchQuery("query.attributes", "http.method=GET", "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.attributes"},
		{"attributes not an object", searchQuery("query.attributes", `["a"]`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.attributes"},
		{"attribute value an object", searchQuery("query.attributes", `{"a":{"b":1}}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "query.attributes"},
		{"error not a bool", searchQuery("query.attributes", `{"error":"sometimes"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "error"},
		{"bad span.kind", searchQuery("query.attributes", `{"span.kind":"sideways"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "span.kind"},
		{"bad span.status", searchQuery("query.attributes", `{"span.status":"meh"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "span.status"},
		// One rule for v1 tags and v3 attributes (applyTags): status tags
		// that disagree are refused rather than answered with nothing.
		{"error and span.status contradict", searchQuery("query.attributes", `{"error":"true","span.status":"ok"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "agrees with the other status tags"},
		{"otel.status_code", searchQuery("query.attributes", `{"otel.status_code":"maybe"}`, "query.startTimeMin", tMin, "query.startTimeMax", tMax), "otel.status_code"},
	}
	for _, route := range []string{"/api/v3/traces", "/api/v3/trace-summaries"} {
		for _, tt := range tests {
			t.Run(route+" "+tt.name, func(t *testing.T) {
				checkV3Error(t, get(t, srv, route+"?"+tt.query), http.StatusBadRequest, tt.want)
			})
		}
	}
}

func TestV3TraceSummaries(t *testing.T) {
	srv := newV3Server(t, newStore(t, v3Spans()), DefaultConfig())
	t.Run("shape", func(t *testing.T) {
		a := get(t, srv, "/api/v3/trace-summaries?"+searchQuery("query.startTimeMin", tMin, "query.startTimeMax", tMax))
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if k := keys(t, a.body); !slices.Equal(k, []string{"summaries"}) {
			t.Fatalf("keys %v", k)
		}
		var got struct {
			Summaries []json.RawMessage `json:"summaries"`
		}
		if err := json.Unmarshal(a.body, &got); err != nil {
			t.Fatal(err)
		}
		// Most recent first, as FindTraces; keys as in
		// snapshots/FindTraceSummaries.json (zero fields left out).
		want := []string{
			fmt.Sprintf(`{"traceId":"%s","minStartTimeUnixNano":"%d","maxEndTimeUnixNano":"%d","spanCount":1,"services":[{"name":"batch","spanCount":1}]}`,
				testTraceID(3), ns(t0.Add(2*time.Minute)), ns(t0.Add(3*time.Minute))),
			fmt.Sprintf(`{"traceId":"%s","rootServiceName":"backend","rootOperationName":"POST /pay","minStartTimeUnixNano":"%d","maxEndTimeUnixNano":"%d","spanCount":2,"services":[{"name":"backend","spanCount":2}]}`,
				testTraceID(2), ns(t0.Add(time.Minute)), ns(t0.Add(time.Minute+5*time.Millisecond))),
			fmt.Sprintf(`{"traceId":"%s","rootServiceName":"frontend","rootOperationName":"GET /checkout","minStartTimeUnixNano":"%d","maxEndTimeUnixNano":"%d","spanCount":2,"errorSpanCount":2,"services":[{"name":"backend","spanCount":1,"errorSpanCount":1},{"name":"frontend","spanCount":1,"errorSpanCount":1}]}`,
				testTraceID(1), ns(t0), ns(t0.Add(120*time.Millisecond))),
		}
		if len(got.Summaries) != len(want) {
			t.Fatalf("%d summaries, want %d: %s", len(got.Summaries), len(want), a.body)
		}
		for i := range want {
			if string(got.Summaries[i]) != want[i] {
				t.Errorf("summary %d:\n got %s\nwant %s", i, got.Summaries[i], want[i])
			}
		}
	})
	t.Run("snake_case and filters", func(t *testing.T) {
		a := get(t, srv, "/api/v3/trace-summaries?"+searchQuery("query.service_name", "backend", "query.attributes", `{"error":"true"}`, "query.start_time_min", tMin, "query.start_time_max", tMax))
		var got struct {
			Summaries []struct {
				TraceID string `json:"traceId"`
			} `json:"summaries"`
		}
		if err := json.Unmarshal(a.body, &got); err != nil || a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if len(got.Summaries) != 1 || got.Summaries[0].TraceID != testTraceID(1).String() {
			t.Errorf("%s", a.body)
		}
	})
	// Unlike the traces route, no summary is an empty list, not 404.
	t.Run("empty", func(t *testing.T) {
		a := get(t, srv, "/api/v3/trace-summaries?"+searchQuery("query.serviceName", "nope", "query.startTimeMin", tMin, "query.startTimeMax", tMax))
		if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != `{"summaries":[]}` {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
}

func TestV3Trace(t *testing.T) {
	srv := newV3Server(t, newStore(t, v3Spans()), DefaultConfig())
	id := testTraceID(1)
	b64 := func(enc interface{ EncodeToString([]byte) string }) string {
		return url.PathEscape(enc.EncodeToString(id[:]))
	}
	short := storage.TraceID{15: 0x2a}
	slashID := storage.TraceID{7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	plusID := storage.TraceID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	var others []storage.Span
	for _, tid := range []storage.TraceID{short, slashID, plusID} {
		others = append(others, storage.Span{TraceID: tid, SpanID: testSpanID(1), Name: "x", StartTime: ns(t0), EndTime: ns(t0), Service: "s"})
	}
	shortStore := newV3Server(t, newStore(t, others), DefaultConfig())
	tests := []struct {
		name string
		srv  *httptest.Server
		path string
		want []string
	}{
		{"hex", srv, "/api/v3/traces/" + id.String(), tids(1)},
		{"upper-case hex", srv, "/api/v3/traces/" + strings.ToUpper(id.String()), tids(1)},
		// TestHTTPGatewayGetTraceBase64.
		{"base64", srv, "/api/v3/traces/" + b64(base64Std), tids(1)},
		{"base64 url-safe unpadded", srv, "/api/v3/traces/" + b64(base64RawURL), tids(1)},
		{"short hex", shortStore, "/api/v3/traces/2a", []string{short.String()}},
		// base64 with "/" and "+", percent-encoded in the path.
		{"base64 with slash", shortStore, "/api/v3/traces/AAAAAAAAAP%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2Fw==", []string{slashID.String()}},
		{"base64 with plus", shortStore, "/api/v3/traces/EjRWeJq83vD%2B3LqYdlQyEA==", []string{plusID.String()}},
		// TestHTTPGatewayGetTrace: the hints in both spellings.
		{"startTime and endTime", srv, "/api/v3/traces/" + id.String() + "?startTime=2000-01-02T12:30:08.999999998Z&endTime=2000-04-05T21:55:16.999999992%2B08:00", tids(1)},
		{"start_time and end_time", srv, "/api/v3/traces/" + id.String() + "?start_time=2000-01-02T12:30:08Z&end_time=2030-01-01T00:00:00Z", tids(1)},
		// Grafana's data source appends the times unescaped: "+" arrives as " ".
		{"unescaped offset, as Grafana sends", srv, "/api/v3/traces/" + id.String() + "?start_time=2026-03-01T13:00:00+01:00&end_time=2026-03-01T14:00:00.5+01:00", tids(1)},
		{"rawTraces", srv, "/api/v3/traces/" + id.String() + "?rawTraces=true", tids(1)},
		{"raw_traces", srv, "/api/v3/traces/" + id.String() + "?raw_traces=0", tids(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := foundTraces(t, get(t, tt.srv, tt.path))
			if !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("spans, attributes and clocks intact", func(t *testing.T) {
		a := get(t, srv, "/api/v3/traces/"+id.String())
		_, spans := foundTraces(t, a)
		checkSpans(t, spans, v3Spans()[:2])
		if a.header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
		}
	})
	errs := []struct {
		name, path string
		status     int
		want       string
	}{
		// TestHTTPGatewayGetTraceEmptyResponse: 404, "No traces found".
		{"not found", "/api/v3/traces/" + testTraceID(77).String(), http.StatusNotFound, v3NotFound},
		// TestHTTPGatewayGetTraceMalformedInputErrors.
		{"bad id", "/api/v3/traces/xyz", http.StatusBadRequest, "trace_id"},
		{"too long", "/api/v3/traces/" + id.String() + "00", http.StatusBadRequest, "trace_id"},
		{"zero id", "/api/v3/traces/0", http.StatusBadRequest, "trace_id"},
		{"bad startTime", "/api/v3/traces/" + id.String() + "?startTime=abc", http.StatusBadRequest, "startTime"},
		{"bad start_time", "/api/v3/traces/" + id.String() + "?start_time=abc", http.StatusBadRequest, "start_time"},
		{"bad endTime", "/api/v3/traces/" + id.String() + "?endTime=xyz", http.StatusBadRequest, "endTime"},
		{"bad end_time", "/api/v3/traces/" + id.String() + "?end_time=1700000000", http.StatusBadRequest, "end_time"},
		{"bad rawTraces", "/api/v3/traces/" + id.String() + "?rawTraces=foobar", http.StatusBadRequest, "rawTraces"},
		{"bad raw_traces", "/api/v3/traces/" + id.String() + "?raw_traces=foobar", http.StatusBadRequest, "raw_traces"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			checkV3Error(t, get(t, srv, tt.path), tt.status, tt.want)
		})
	}
}

func TestParseV3TraceID(t *testing.T) {
	// http_gateway_test.go TestTraceIDFromString.
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "1", want: "00000000000000000000000000000001"},
		{in: "00000000000000010000000000000002", want: "00000000000000010000000000000002"},
		{in: "AAAAAAAAAAEAAAAAAAAAAQ==", want: "00000000000000010000000000000001"},
		{in: "AAAAAAAAAAEAAAAAAAAAAQ", want: "00000000000000010000000000000001"},
		{in: "AAAAAAAAAP///////////w==", want: "00000000000000ffffffffffffffffff"},
		{in: "EjRWeJq83vD+3LqYdlQyEA==", want: "123456789abcdef0fedcba9876543210"},
		{in: "EjRWeJq83vD-3LqYdlQyEA==", want: "123456789abcdef0fedcba9876543210"},
		{in: "AAAAAAAAAP___________w==", want: "00000000000000ffffffffffffffffff"},
		{in: "AAAAAAAAAAE=", want: "00000000000000000000000000000001"}, // 8 bytes
		{in: "not-a-valid-id!", wantErr: true},
		{in: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAlong", wantErr: true},
		{in: "", wantErr: true},
		{in: "AAAAAAAAAAAAAAAAAAAAAA==", wantErr: true}, // all zeros
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseV3TraceID(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Errorf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// TestV3BasePath: the v3 routes answer under Config.BasePath, as Jaeger's
// gateway does under query.base-path (http_gateway.go addRoute).
func TestV3BasePath(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BasePath = "/jaeger"
	srv := newV3Server(t, newStore(t, v3Spans()), cfg)
	if a := get(t, srv, "/jaeger/api/v3/services"); a.status != http.StatusOK || !strings.Contains(string(a.body), `"frontend"`) {
		t.Errorf("%d %s", a.status, a.body)
	}
	ids, _ := foundTraces(t, get(t, srv, "/jaeger/api/v3/traces/"+testTraceID(2).String()))
	if !slices.Equal(ids, tids(2)) {
		t.Errorf("traces %v", ids)
	}
}
