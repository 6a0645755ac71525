package query

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// v1Now is the clock of the tests' API: spans are written around it.
var v1Now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// v1Env is an API over a memory store, served by a real HTTP server.
type v1Env struct {
	t     *testing.T
	store *memory.Store
	api   *API
	srv   *httptest.Server
	logs  *proctest.Buffer
}

// newV1Env starts an API over a new memory store holding spans.
func newV1Env(t *testing.T, cfg Config, spans []storage.Span, opts ...memory.Option) *v1Env {
	t.Helper()
	st := memory.New(opts...)
	t.Cleanup(func() { _ = st.Close() })
	if len(spans) > 0 {
		if err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	return newV1EnvStore(t, cfg, st, st)
}

func newV1EnvStore(t *testing.T, cfg Config, rs storage.ReadStore, st *memory.Store, opts ...Option) *v1Env {
	t.Helper()
	logs := &proctest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]Option{WithClock(func() time.Time { return v1Now })}, opts...)
	api, err := New(rs, cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &v1Env{t: t, store: st, api: api, srv: srv, logs: logs}
}

// v1Answer is an HTTP answer, its body decoded.
type v1Answer struct {
	status int
	header http.Header
	body   []byte
	json   any // the body decoded with UseNumber; nil when not JSON
}

// get fetches path (with its query) from the server.
func (e *v1Env) get(path string) v1Answer {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil)
}

func (e *v1Env) do(method, path string, header http.Header) v1Answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	a := v1Answer{status: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && len(body) > 0 {
		a.json = v1Decode(e.t, body)
	}
	return a
}

// v1Decode decodes JSON with numbers kept exact.
func v1Decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, b)
	}
	return v
}

// v1Envelope returns the envelope's fields, failing unless every one of
// Jaeger's structuredResponse keys is there and nothing else.
func v1Envelope(t *testing.T, a v1Answer) map[string]any {
	t.Helper()
	m, ok := a.json.(map[string]any)
	if !ok {
		t.Fatalf("answer is not a JSON object: %s", a.body)
	}
	if got, want := v1Keys(m), []string{"data", "errors", "limit", "offset", "total"}; !slices.Equal(got, want) {
		t.Fatalf("envelope keys %v, want %v", got, want)
	}
	return m
}

func v1Keys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// v1CheckError checks an error answer: status, JSON envelope, one error
// whose code is the status and whose message contains every part of want,
// and no Go parser text.
func v1CheckError(t *testing.T, a v1Answer, status int, want ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if a.header.Get(RequestIDHeader) == "" {
		t.Errorf("no %s header", RequestIDHeader)
	}
	env := v1Envelope(t, a)
	if env["data"] != nil {
		t.Errorf("data %v, want null", env["data"])
	}
	errs, _ := env["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one", env["errors"])
	}
	e := errs[0].(map[string]any)
	if got := e["code"]; got != json.Number(fmt.Sprint(status)) {
		t.Errorf("error code %v, want %d", got, status)
	}
	msg, _ := e["msg"].(string)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error message %q does not contain %q", msg, w)
		}
	}
	for _, leak := range []string{"strconv", "invalid syntax", "time: ", "json: ", "encoding/hex"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error message %q leaks parser text %q", msg, leak)
		}
	}
}

// v1Diff returns the differences between two decoded JSON values, path by
// path ("" when equal): every key of each object is compared.
func v1Diff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var out []string
		for _, k := range v1Keys(w) {
			if _, ok := g[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, v1Diff(path+"."+k, g[k], w[k])...)
		}
		for _, k := range v1Keys(g) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: unexpected key (value %v)", path, k, g[k]))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an array", path, got)}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %d elements, want %d:\n got %v\nwant %v", path, len(g), len(w), got, want)}
		}
		var out []string
		for i := range w {
			out = append(out, v1Diff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return out
	}
	if gn, ok := got.(json.Number); ok {
		if wn, ok := want.(json.Number); ok && gn != wn {
			// The same number written two ways (1e+21, 1e21) is equal.
			gf, gerr := gn.Float64()
			wf, werr := wn.Float64()
			if gerr == nil && werr == nil && gf == wf && strings.ContainsAny(string(gn)+string(wn), ".eE") {
				return nil
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got, want)}
	}
	return nil
}

// v1ExpectJSON compares got with the JSON text want, key by key.
func v1ExpectJSON(t *testing.T, got any, want string) {
	t.Helper()
	if diff := v1Diff("", got, v1Decode(t, []byte(want))); len(diff) > 0 {
		t.Errorf("JSON differs from Jaeger's:\n%s", strings.Join(diff, "\n"))
	}
}

// Ids of the fixture.
var (
	v1TraceA  = storage.TraceID{0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	v1TraceB  = storage.TraceID{0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	v1Trace64 = storage.TraceID{14: 0x06, 15: 0x41} // a 64-bit (Jaeger client) id: 641
)

func v1SpanID(b byte) storage.SpanID { return storage.SpanID{0x5a, 0, 0, 0, 0, 0, 0, b} }

// v1Res is a resource of service with more attributes.
func v1Res(service string, more ...storage.Attribute) []storage.Attribute {
	return append([]storage.Attribute{{Key: "service.name", Type: storage.TypeString, Value: service}}, more...)
}

// v1Fixture is a small world, around v1Now:
//
//	trace A, 10 min ago: frontend "GET /checkout" (server, 300ms)
//	  → frontend "call backend" (client, 200ms)
//	    → backend "charge" (server, 150ms, status error, http.status_code=500,
//	      resource deployment.environment=prod)
//	trace B, 5 min ago: frontend "GET /health" (server, 2ms, status OK)
//	trace 64: 1 min ago: legacy "poll" (internal, 1ms), a 64-bit trace id
func v1Fixture() []storage.Span {
	a := v1Now.Add(-10 * time.Minute)
	b := v1Now.Add(-5 * time.Minute)
	c := v1Now.Add(-time.Minute)
	front := v1Res("frontend", storage.Attribute{Key: "host.name", Type: storage.TypeString, Value: "web-1"})
	back := v1Res("backend", storage.Attribute{Key: "deployment.environment", Type: storage.TypeString, Value: "prod"})
	span := func(tid storage.TraceID, sid, parent byte, res []storage.Attribute, name string, kind storage.SpanKind, start time.Time, d time.Duration) storage.Span {
		s := storage.Span{
			TraceID: tid, SpanID: v1SpanID(sid), Name: name, Kind: kind,
			StartTime: start.UnixNano(), EndTime: start.Add(d).UnixNano(),
			Service: res[0].Value, Resource: res,
		}
		if parent != 0 {
			s.ParentSpanID = v1SpanID(parent)
		}
		return s
	}
	charge := span(v1TraceA, 3, 2, back, "charge", storage.KindServer, a.Add(20*time.Millisecond), 150*time.Millisecond)
	charge.StatusCode, charge.StatusMessage = storage.StatusError, "card declined"
	charge.Attributes = []storage.Attribute{{Key: "http.status_code", Type: storage.TypeInt, Value: "500"}}
	health := span(v1TraceB, 4, 0, front, "GET /health", storage.KindServer, b, 2*time.Millisecond)
	health.StatusCode = storage.StatusOK
	return []storage.Span{
		span(v1TraceA, 1, 0, front, "GET /checkout", storage.KindServer, a, 300*time.Millisecond),
		span(v1TraceA, 2, 1, front, "call backend", storage.KindClient, a.Add(10*time.Millisecond), 200*time.Millisecond),
		charge,
		health,
		span(v1Trace64, 5, 0, v1Res("legacy"), "poll", storage.KindInternal, c, time.Millisecond),
	}
}

// v1Micros is t in unix microseconds, as a parameter.
func v1Micros(t time.Time) string { return fmt.Sprint(t.UnixMicro()) }

// v1TraceIDs returns the traceID of each trace of a search answer.
func v1TraceIDs(t *testing.T, a v1Answer) []string {
	t.Helper()
	env := v1Envelope(t, a)
	data, ok := env["data"].([]any)
	if !ok {
		t.Fatalf("data %v, want an array", env["data"])
	}
	ids := []string{}
	for _, tr := range data {
		ids = append(ids, tr.(map[string]any)["traceID"].(string))
	}
	return ids
}
