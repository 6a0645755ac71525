package query

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// The expectations of these tests come from Jaeger v2.20's handlers
// (cmd/jaeger/internal/extension/jaegerquery/internal/http_handler.go:
// what each route puts in the envelope) and query parser (query_parser.go:
// units and defaults); see jaeger_test.go for the span model.

func TestV1Services(t *testing.T) {
	t.Run("sorted names, total", func(t *testing.T) {
		e := newV1Env(t, DefaultConfig(), v1Fixture())
		a := e.get("/api/services")
		v1ExpectJSON(t, a.json, `{"data":["backend","frontend","legacy"],"total":3,"limit":0,"offset":0,"errors":null}`)
	})
	t.Run("empty store: data is []", func(t *testing.T) {
		e := newV1Env(t, DefaultConfig(), nil)
		a := e.get("/api/services")
		if a.status != http.StatusOK || !strings.Contains(string(a.body), `"data":[]`) {
			t.Fatalf("%d %s", a.status, a.body)
		}
		v1ExpectJSON(t, a.json, `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`)
	})
}

func TestV1ServiceOperations(t *testing.T) {
	spans := v1Fixture()
	// The same name under two kinds is listed once.
	dup := spans[0]
	dup.SpanID, dup.Kind = v1SpanID(9), storage.KindInternal
	slash := spans[4]
	slash.TraceID, slash.Service, slash.Resource = storage.TraceID{0xee, 1}, "team/api", v1Res("team/api")
	e := newV1Env(t, DefaultConfig(), append(spans, dup, slash))
	tests := []struct {
		name, path, want string
	}{
		{"names of every kind, once, sorted", "/api/services/frontend/operations",
			`{"data":["GET /checkout","GET /health","call backend"],"total":3,"limit":0,"offset":0,"errors":null}`},
		{"unknown service: data is []", "/api/services/nobody/operations",
			`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
		{"escaped slash in the name (the Jaeger UI's encodeURIComponent)", "/api/services/" + url.PathEscape("team/api") + "/operations",
			`{"data":["poll"],"total":1,"limit":0,"offset":0,"errors":null}`},
		{"plus is a plus (Jaeger's QueryUnescape would make it a space)", "/api/services/a+b/operations",
			`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.get(tt.path)
			if a.status != http.StatusOK {
				t.Fatalf("%d %s", a.status, a.body)
			}
			v1ExpectJSON(t, a.json, tt.want)
		})
	}
}

func TestV1Operations(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), v1Fixture())
	tests := []struct {
		name, query, want string
	}{
		{"server kind (what the Jaeger UI asks)", "service=frontend&spanKind=server",
			`{"data":[{"name":"GET /checkout","spanKind":"server"},{"name":"GET /health","spanKind":"server"}],"total":2,"limit":0,"offset":0,"errors":null}`},
		{"every kind", "service=frontend",
			`{"data":[{"name":"GET /checkout","spanKind":"server"},{"name":"GET /health","spanKind":"server"},{"name":"call backend","spanKind":"client"}],"total":3,"limit":0,"offset":0,"errors":null}`},
		{"no such kind: data is []", "service=frontend&spanKind=producer",
			`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.get("/api/operations?" + tt.query)
			if a.status != http.StatusOK {
				t.Fatalf("%d %s", a.status, a.body)
			}
			v1ExpectJSON(t, a.json, tt.want)
		})
	}
	bad := []struct {
		name, query string
		want        []string
	}{
		{"no service", "spanKind=server", []string{"service", "required"}},
		{"unknown kind", "service=frontend&spanKind=sideways", []string{"spanKind", "sideways", "server"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v1CheckError(t, e.get("/api/operations?"+tt.query), http.StatusBadRequest, tt.want...)
		})
	}
}

func TestV1Search(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), v1Fixture())
	a, b := v1TraceA.String(), v1TraceB.String()
	day := "&start=" + v1Micros(v1Now.Add(-24*time.Hour)) + "&end=" + v1Micros(v1Now)
	tests := []struct {
		name, query string
		want        []string // trace ids, in order
	}{
		{"service, most recent first", "service=frontend" + day, []string{b, a}},
		{"defaults: the last two days up to now", "service=frontend", []string{b, a}},
		{"operation", "service=frontend&operation=GET+/checkout" + day, []string{a}},
		{"limit", "service=frontend&limit=1" + day, []string{b}},
		{"tag key:value on a span attribute (int stored, string asked)", "service=backend&tag=http.status_code:500" + day, []string{a}},
		{"tag value with colons", "service=backend&tag=http.status_code:500:x" + day, []string{}},
		{"tags as JSON (Grafana)", `service=backend&tags={"http.status_code":"500"}` + day, []string{a}},
		{"tags as JSON with a number", `service=backend&tags={"http.status_code":500}` + day, []string{a}},
		{"repeated tags must all match", "service=backend&tag=http.status_code:500&tag=deployment.environment:dev" + day, []string{}},
		{"tag matches a resource attribute", "service=backend&tag=deployment.environment:prod" + day, []string{a}},
		{"resource. prefix: resource attributes only", "service=frontend&tag=resource.host.name:web-1" + day, []string{b, a}},
		{"error=true is status error", "service=backend&tag=error:true" + day, []string{a}},
		{"error=true needs the error on the span the other filters match", "service=frontend&tag=error:true" + day, []string{}},
		{"error=false is status OK (Jaeger's memory store)", "service=frontend&tag=error:false" + day, []string{b}},
		{"otel.status_code", "service=backend&tag=otel.status_code:ERROR" + day, []string{a}},
		{"span.kind", "service=frontend&tag=span.kind:client" + day, []string{a}},
		{"minDuration", "service=frontend&minDuration=100ms" + day, []string{a}},
		{"maxDuration", "service=frontend&maxDuration=5ms" + day, []string{b}},
		{"minDuration and maxDuration on one span", "service=frontend&minDuration=250ms&maxDuration=1s" + day, []string{a}},
		{"start and end in microseconds", "service=frontend&start=" + v1Micros(v1Now.Add(-6*time.Minute)) + "&end=" + v1Micros(v1Now.Add(-4*time.Minute)), []string{b}},
		{"end bound is inclusive", "service=frontend&start=" + v1Micros(v1Now.Add(-6*time.Minute)) + "&end=" + v1Micros(v1Now.Add(-5*time.Minute)), []string{b}},
		{"lookback without start", "service=frontend&lookback=7m", []string{b}},
		{"lookback in days", "service=frontend&lookback=1d", []string{b, a}},
		{"lookback=custom with start (what the UI and Grafana send)", "service=frontend&lookback=custom&start=" + v1Micros(v1Now.Add(-6*time.Minute)), []string{b}},
		{"nothing in the window: data is []", "service=frontend&start=" + v1Micros(v1Now.Add(-time.Hour)) + "&end=" + v1Micros(v1Now.Add(-30*time.Minute)), []string{}},
		{"unknown service: data is []", "service=nobody" + day, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := e.get("/api/traces?" + tt.query)
			if ans.status != http.StatusOK {
				t.Fatalf("%d %s", ans.status, ans.body)
			}
			if got := v1TraceIDs(t, ans); !slices.Equal(got, tt.want) {
				t.Errorf("traces %v, want %v", got, tt.want)
			}
			env := v1Envelope(t, ans)
			for _, k := range []string{"total", "limit", "offset"} {
				if env[k] != json.Number("0") {
					t.Errorf("%s = %v, want 0 (Jaeger leaves it unset)", k, env[k])
				}
			}
			if env["errors"] != nil {
				t.Errorf("errors %v, want null", env["errors"])
			}
		})
	}
	t.Run("whole traces", func(t *testing.T) {
		ans := e.get("/api/traces?service=backend" + day)
		data := v1Envelope(t, ans)["data"].([]any)
		tr := data[0].(map[string]any)
		if n := len(tr["spans"].([]any)); n != 3 {
			t.Errorf("%d spans, want all 3 of trace A", n)
		}
		if n := len(tr["processes"].(map[string]any)); n != 2 {
			t.Errorf("%d processes, want 2 (frontend, backend)", n)
		}
	})
}

func TestV1SearchByTraceID(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), v1Fixture())
	missing := storage.TraceID{0xde, 0xad, 15: 1}
	t.Run("found and missing", func(t *testing.T) {
		// service is not needed with traceID; other filters do not apply.
		ans := e.get("/api/traces?traceID=" + v1TraceA.String() + "&traceID=" + missing.String() + "&traceID=" + v1TraceA.String() + "&operation=nothing")
		if ans.status != http.StatusOK {
			t.Fatalf("%d %s", ans.status, ans.body)
		}
		if got := v1TraceIDs(t, ans); !slices.Equal(got, []string{v1TraceA.String()}) {
			t.Errorf("traces %v, want A once", got)
		}
		env := v1Envelope(t, ans)
		v1ExpectJSON(t, env["errors"], `[{"msg":"trace not found","traceID":"`+missing.String()+`"}]`)
	})
	t.Run("64-bit id, as Jaeger prints it", func(t *testing.T) {
		ans := e.get("/api/traces?traceID=641")
		if got := v1TraceIDs(t, ans); !slices.Equal(got, []string{"0000000000000641"}) {
			t.Errorf("traces %v", got)
		}
	})
	t.Run("none found: data is []", func(t *testing.T) {
		ans := e.get("/api/traces?traceID=" + missing.String())
		v1ExpectJSON(t, ans.json, `{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"msg":"trace not found","traceID":"`+missing.String()+`"}]}`)
	})
}

func TestV1SearchBadParameters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLookback = 7 * 24 * time.Hour
	cfg.MaxTraceIDs = 3
	e := newV1Env(t, cfg, v1Fixture())
	tests := []struct {
		name, query string
		want        []string
	}{
		{"no service", "operation=x", []string{"service", "required"}},
		{"limit not a number", "service=a&limit=ten", []string{"limit", `"ten"`, "positive integer"}},
		{"limit zero", "service=a&limit=0", []string{"limit", "positive integer"}},
		{"limit negative", "service=a&limit=-5", []string{"limit", "positive integer"}},
		{"limit above the store's", "service=a&limit=100000", []string{"limit", "100000"}},
		{"start not a number", "service=a&start=yesterday", []string{"start", "unix microseconds"}},
		{"end a float", "service=a&end=1.5", []string{"end", "unix microseconds"}},
		{"end negative", "service=a&end=-1", []string{"end", "unix microseconds"}},
		{"end overflows", "service=a&end=99999999999999999", []string{"end", "unix microseconds"}},
		{"start after end", "service=a&start=" + v1Micros(v1Now) + "&end=" + v1Micros(v1Now.Add(-time.Hour)), []string{"start", "starts before it ends"}},
		{"range longer than max_lookback", "service=a&start=" + v1Micros(v1Now.Add(-8*24*time.Hour)), []string{"start", "at most 168h0m0s", "max_lookback"}},
		{"start in milliseconds reads as 1970", "service=a&start=" + fmt.Sprint(v1Now.UnixMilli()), []string{"start", "at most"}},
		{"lookback longer than max_lookback", "service=a&lookback=2w", []string{"lookback", "at most"}},
		{"lookback unreadable", "service=a&lookback=soon", []string{"lookback", `"1h"`}},
		{"minDuration without unit", "service=a&minDuration=100", []string{"minDuration", `"100"`, "unit"}},
		{"maxDuration negative", "service=a&maxDuration=-1s", []string{"maxDuration", "non-negative"}},
		{"maxDuration below minDuration", "service=a&minDuration=2s&maxDuration=1s", []string{"maxDuration", "minDuration"}},
		{"tag without colon", "service=a&tag=error", []string{"tag", "key:value"}},
		{"tags not JSON", "service=a&tags={oops", []string{"tags", "JSON object"}},
		{"tags value an object", `service=a&tags={"a":{"b":1}}`, []string{"tags", "strings, numbers or booleans"}},
		{"error tag not a bool", "service=a&tag=error:maybe", []string{"tag", "error:true"}},
		{"status tags that disagree", "service=a&tag=error:true&tag=otel.status_code:OK", []string{"tag", "agrees"}},
		{"span.kind unknown", "service=a&tag=span.kind:sideways", []string{"tag", "span.kind:server"}},
		{"traceID not hex", "traceID=xyz", []string{"traceID", `"xyz"`, "hex"}},
		{"traceID all zeros", "traceID=0000", []string{"traceID", "not all zero"}},
		{"too many traceIDs", "traceID=1&traceID=2&traceID=3&traceID=4", []string{"traceID", "at most 3"}},
		{"raw not a bool", "service=a&raw=maybe", []string{"raw", "true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1CheckError(t, e.get("/api/traces?"+tt.query), http.StatusBadRequest, tt.want...)
		})
	}
}

func TestV1Trace(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), v1Fixture())
	t.Run("found", func(t *testing.T) {
		ans := e.get("/api/traces/" + v1TraceA.String())
		if ans.status != http.StatusOK || ans.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %q %s", ans.status, ans.header.Get("Content-Type"), ans.body)
		}
		env := v1Envelope(t, ans)
		data := env["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("%d traces, want 1", len(data))
		}
		tr := data[0].(map[string]any)
		if got, want := v1Keys(tr), []string{"processes", "spans", "traceID", "warnings"}; !slices.Equal(got, want) {
			t.Errorf("trace keys %v, want %v", got, want)
		}
		if tr["traceID"] != v1TraceA.String() || len(tr["spans"].([]any)) != 3 || tr["warnings"] != nil {
			t.Errorf("trace %v", tr)
		}
		v1ExpectJSON(t, tr["processes"], `{
			"p1": {"serviceName": "frontend", "tags": [{"key": "host.name", "type": "string", "value": "web-1"}]},
			"p2": {"serviceName": "backend", "tags": [{"key": "deployment.environment", "type": "string", "value": "prod"}]}
		}`)
		for _, s := range tr["spans"].([]any) {
			s := s.(map[string]any)
			want := map[string]string{"GET /checkout": "p1", "call backend": "p1", "charge": "p2"}[s["operationName"].(string)]
			if s["processID"] != want {
				t.Errorf("span %v: processID %v, want %s", s["operationName"], s["processID"], want)
			}
		}
	})
	ids := []struct{ name, id string }{
		{"64-bit id in 16 hex digits", "0000000000000641"},
		{"64-bit id short", "641"},
		{"base64 (Jaeger 2.20 accepts it)", base64.StdEncoding.EncodeToString(v1Trace64[:])},
		{"base64 URL alphabet, unpadded", base64.RawURLEncoding.EncodeToString(v1Trace64[:])},
	}
	for _, tt := range ids {
		t.Run(tt.name, func(t *testing.T) {
			ans := e.get("/api/traces/" + url.PathEscape(tt.id))
			if ans.status != http.StatusOK {
				t.Fatalf("%d %s", ans.status, ans.body)
			}
			if got := v1TraceIDs(t, ans); !slices.Equal(got, []string{"0000000000000641"}) {
				t.Errorf("traces %v", got)
			}
		})
	}
	t.Run("start and end are hints: Grafana's milliseconds still find it", func(t *testing.T) {
		ans := e.get("/api/traces/" + v1TraceA.String() + "?start=" + fmt.Sprint(v1Now.Add(-time.Hour).UnixMilli()) + "&end=" + fmt.Sprint(v1Now.UnixMilli()))
		if ans.status != http.StatusOK {
			t.Fatalf("%d %s", ans.status, ans.body)
		}
	})
	t.Run("not found", func(t *testing.T) {
		ans := e.get("/api/traces/" + storage.TraceID{0xde, 0xad, 15: 1}.String())
		v1CheckError(t, ans, http.StatusNotFound, "trace not found")
		v1ExpectJSON(t, ans.json, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`)
	})
	bad := []struct {
		name, path string
		want       []string
	}{
		{"id not hex", "/api/traces/nothex!", []string{"traceID", "hex"}},
		{"id too long", "/api/traces/" + strings.Repeat("a", 33), []string{"traceID"}},
		{"id zero", "/api/traces/00000000000000000000000000000000", []string{"traceID", "not all zero"}},
		{"start not a number", "/api/traces/" + v1TraceA.String() + "?start=x", []string{"start", "unix microseconds"}},
		{"end not a number", "/api/traces/" + v1TraceA.String() + "?end=1e9", []string{"end", "unix microseconds"}},
		{"raw not a bool", "/api/traces/" + v1TraceA.String() + "?raw=yes", []string{"raw", "true or false"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v1CheckError(t, e.get(tt.path), http.StatusBadRequest, tt.want...)
		})
	}
}

func TestV1Dependencies(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), v1Fixture())
	ms := func(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
	edge := `{"parent":"frontend","child":"backend","callCount":1}`
	tests := []struct {
		name, query, want string
	}{
		{"defaults: the day before now", "", `[` + edge + `]`},
		{"endTs and lookback in milliseconds", "endTs=" + ms(v1Now.Add(-9*time.Minute)) + "&lookback=120000", `[` + edge + `]`},
		{"window before the trace: data is []", "endTs=" + ms(v1Now.Add(-11*time.Minute)) + "&lookback=60000", `[]`},
		{"a lookback in seconds would miss it", "endTs=" + ms(v1Now) + "&lookback=120", `[]`},
		{"service filter, as child", "service=backend", `[` + edge + `]`},
		{"service filter, no edge", "service=legacy", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := e.get("/api/dependencies?" + tt.query)
			if ans.status != http.StatusOK {
				t.Fatalf("%d %s", ans.status, ans.body)
			}
			v1ExpectJSON(t, ans.json, `{"data":`+tt.want+`,"total":0,"limit":0,"offset":0,"errors":null}`)
		})
	}
	bad := []struct {
		name, query string
		want        []string
	}{
		{"endTs not a number", "endTs=now", []string{"endTs", "unix milliseconds"}},
		{"lookback a Go duration", "lookback=1h", []string{"lookback", "milliseconds"}},
		{"lookback negative", "lookback=-5", []string{"lookback", "positive"}},
		{"lookback above max_lookback", "lookback=" + fmt.Sprint((32 * 24 * time.Hour).Milliseconds()), []string{"lookback", "max_lookback"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v1CheckError(t, e.get("/api/dependencies?"+tt.query), http.StatusBadRequest, tt.want...)
		})
	}
}

func TestV1UnknownRoutes(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), nil)
	t.Run("unknown /api/ path: JSON 404", func(t *testing.T) {
		v1CheckError(t, e.get("/api/nothing/here"), http.StatusNotFound, "no API route /api/nothing/here")
	})
	t.Run("wrong method: JSON 405", func(t *testing.T) {
		ans := e.do(http.MethodPost, "/api/services", nil)
		v1CheckError(t, ans, http.StatusMethodNotAllowed, "POST", "GET")
		if got := ans.header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow %q", got)
		}
	})
	t.Run("HEAD is served", func(t *testing.T) {
		if ans := e.do(http.MethodHead, "/api/services", nil); ans.status != http.StatusOK {
			t.Errorf("HEAD: %d", ans.status)
		}
	})
}

// v1OTLPFixture is Jaeger's cmd/jaeger/internal/extension/jaegerquery/internal/fixture/otlp2jaeger-in.json
// (one span, twice).
const v1OTLPFixture = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"telemetrygen"}}]},
 "scopeSpans":[{"scope":{"name":"telemetrygen"},"spans":[
  {"traceId":"83a9efd15c1c98a977e0711cc93ee28b","spanId":"e127af99e3b3e074","parentSpanId":"909541b92cf05311","name":"okey-dokey-0","kind":2,
   "startTimeUnixNano":"1706678909209712000","endTimeUnixNano":"1706678909209835000",
   "attributes":[{"key":"net.peer.ip","value":{"stringValue":"1.2.3.4"}},{"key":"peer.service","value":{"stringValue":"telemetrygen-client"}}],"status":{}},
  {"traceId":"83a9efd15c1c98a977e0711cc93ee28b","spanId":"e127af99e3b3e074","parentSpanId":"909541b92cf05311","name":"okey-dokey-0","kind":2,
   "startTimeUnixNano":"1706678909209712000","endTimeUnixNano":"1706678909209835000",
   "attributes":[{"key":"net.peer.ip","value":{"stringValue":"1.2.3.4"}},{"key":"peer.service","value":{"stringValue":"telemetrygen-client"}}],"status":{}}
 ]}],"schemaUrl":"https://opentelemetry.io/schemas/1.4.0"}]}`

// v1OTLPFixtureSpan is the span of Jaeger's otlp2jaeger-out.json.
const v1OTLPFixtureSpan = `{"traceID":"83a9efd15c1c98a977e0711cc93ee28b","spanID":"e127af99e3b3e074","operationName":"okey-dokey-0",
 "references":[{"refType":"CHILD_OF","traceID":"83a9efd15c1c98a977e0711cc93ee28b","spanID":"909541b92cf05311"}],
 "startTime":1706678909209712,"duration":123,
 "tags":[{"key":"otel.scope.name","type":"string","value":"telemetrygen"},{"key":"net.peer.ip","type":"string","value":"1.2.3.4"},
  {"key":"peer.service","type":"string","value":"telemetrygen-client"},{"key":"span.kind","type":"string","value":"server"}],
 "logs":[],"processID":"p1","warnings":null}`

func TestV1Transform(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRequestBytes = 4096
	e := newV1Env(t, cfg, nil)
	post := func(body string) v1Answer {
		t.Helper()
		resp, err := e.srv.Client().Post(e.srv.URL+"/api/transform", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return v1Answer{status: resp.StatusCode, header: resp.Header, body: b, json: v1Decode(t, b)}
	}
	t.Run("Jaeger's fixture gives Jaeger's answer", func(t *testing.T) {
		ans := post(v1OTLPFixture)
		v1ExpectJSON(t, ans.json, `{"data":[{"traceID":"83a9efd15c1c98a977e0711cc93ee28b","spans":[`+v1OTLPFixtureSpan+`,`+v1OTLPFixtureSpan+`],
			"processes":{"p1":{"serviceName":"telemetrygen","tags":[]}},"warnings":null}],"total":0,"limit":0,"offset":0,"errors":null}`)
	})
	t.Run("traces in order of first appearance", func(t *testing.T) {
		body := `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[
			{"traceId":"0000000000000000000000000000000b","spanId":"0000000000000001","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"},
			{"traceId":"0000000000000000000000000000000a","spanId":"0000000000000002","name":"y","startTimeUnixNano":"1","endTimeUnixNano":"2"},
			{"traceId":"0000000000000000000000000000000b","spanId":"0000000000000003","name":"z","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`
		ans := post(body)
		if got := v1TraceIDs(t, ans); !slices.Equal(got, []string{"000000000000000b", "000000000000000a"}) {
			t.Errorf("traces %v", got)
		}
	})
	t.Run("spans the collector rejects are left out and counted", func(t *testing.T) {
		body := `{"resourceSpans":[{"scopeSpans":[{"spans":[
			{"traceId":"0000000000000000000000000000000b","spanId":"0000000000000000","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"},
			{"traceId":"0000000000000000000000000000000b","spanId":"0000000000000003","name":"z","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`
		ans := post(body)
		env := v1Envelope(t, ans)
		if n := len(env["data"].([]any)[0].(map[string]any)["spans"].([]any)); n != 1 {
			t.Errorf("%d spans, want 1", n)
		}
		errs := env["errors"].([]any)
		if len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["msg"].(string), "1 spans left out") {
			t.Errorf("errors %v", errs)
		}
	})
	bad := []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `{"resourceSpans":[`, http.StatusBadRequest, "not an OTLP/JSON trace request"},
		{"too large", `{"resourceSpans":[` + strings.Repeat(" ", 5000) + `]}`, http.StatusRequestEntityTooLarge, "max_request_bytes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v1CheckError(t, post(tt.body), tt.status, tt.want)
		})
	}
	t.Run("GET: 405 naming POST", func(t *testing.T) {
		ans := e.get("/api/transform")
		v1CheckError(t, ans, http.StatusMethodNotAllowed, "use POST")
		if got := ans.header.Get("Allow"); got != "POST" {
			t.Errorf("Allow %q", got)
		}
	})
}

func TestV1TruncatedTrace(t *testing.T) {
	// The store returns 2 of trace A's 3 spans: Jaeger's warning goes on
	// the first span written (internal/jptrace/aggregator.go).
	e := newV1Env(t, DefaultConfig(), v1Fixture(), memory.WithReaderLimits(storage.ReaderLimits{MaxTraceSpans: 2}))
	const want = "trace has more than 2 spans, showing first 2 spans only"
	check := func(t *testing.T, tr map[string]any) {
		t.Helper()
		spans := tr["spans"].([]any)
		if len(spans) != 2 {
			t.Fatalf("%d spans, want 2", len(spans))
		}
		var warned []any
		for _, s := range spans {
			if w := s.(map[string]any)["warnings"]; w != nil {
				warned = append(warned, w)
			}
		}
		if len(warned) != 1 {
			t.Fatalf("warnings %v, want them on one span", warned)
		}
		v1ExpectJSON(t, warned[0], `["`+want+`"]`)
	}
	t.Run("by id", func(t *testing.T) {
		check(t, v1TraceJSON(t, e, v1TraceA, ""))
	})
	t.Run("search", func(t *testing.T) {
		ans := e.get("/api/traces?service=backend")
		check(t, v1Envelope(t, ans)["data"].([]any)[0].(map[string]any))
	})
}

func TestV1LongBadValueIsCut(t *testing.T) {
	e := newV1Env(t, DefaultConfig(), nil)
	ans := e.get("/api/traces?service=a&limit=" + strings.Repeat("é", 300))
	v1CheckError(t, ans, http.StatusBadRequest, "limit", `..."`, "positive integer")
	if len(ans.body) > 400 {
		t.Errorf("a %d-byte answer repeats the whole value", len(ans.body))
	}
}
