package query

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// Helpers of the SPM and Tracer-route tests (prefixed so that they cannot
// clash with the other route groups' test helpers in this package).

// trNow is the clock of the tests: a whole hour.
var trNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// trFixture is an API over a memory store, with a fixed clock.
type trFixture struct {
	store *memory.Store
	h     http.Handler
}

func newTrFixture(t *testing.T, cfg Config, opts ...memory.Option) *trFixture {
	t.Helper()
	st := memory.New(opts...)
	t.Cleanup(func() { _ = st.Close() })
	api, err := New(st, cfg, nil, WithClock(func() time.Time { return trNow }))
	if err != nil {
		t.Fatal(err)
	}
	return &trFixture{store: st, h: api.Handler()}
}

func (f *trFixture) write(t *testing.T, spans ...storage.Span) {
	t.Helper()
	if err := f.store.WriteSpans(context.Background(), spans); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// get answers GET path: the status, the body and the headers.
func (f *trFixture) get(t *testing.T, path string) (int, []byte, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, body, rec.Header()
}

// getJSON answers GET path, wants status and decodes the body into v.
func (f *trFixture) getJSON(t *testing.T, path string, status int, v any) {
	t.Helper()
	code, body, h := f.get(t, path)
	if code != status {
		t.Fatalf("GET %s: status %d, want %d; body %s", path, code, status, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// trKeys returns the keys of a JSON object, sorted.
func trKeys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v (%T) is not an object", v, v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// trSpan returns a span of service and name, kind server, started at start
// and lasting d, with a trace id and span id derived from n.
func trSpan(n int, service, name string, kind storage.SpanKind, start time.Time, d time.Duration, status storage.StatusCode) storage.Span {
	var tid storage.TraceID
	tid[0], tid[14], tid[15] = 0x7e, byte(n>>8), byte(n)
	var sid storage.SpanID
	sid[0], sid[6], sid[7] = 0x5a, byte(n>>8), byte(n)
	return storage.Span{
		TraceID: tid, SpanID: sid, Name: name, Kind: kind, Service: service,
		StartTime: start.UnixNano(), EndTime: start.Add(d).UnixNano(), StatusCode: status,
		Resource: []storage.Attribute{{Key: "service.name", Value: service}},
	}
}

// trTracerError checks that body is Tracer's error shape with status and a
// message containing want, and that its request id is the header's.
func trTracerError(t *testing.T, body []byte, h http.Header, status int, want string) {
	t.Helper()
	var e struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if got := trKeys(t, e.Error); !slices.Equal(got, []string{"code", "message", "requestId"}) {
		t.Errorf("error keys %v", got)
	}
	if code, _ := e.Error["code"].(float64); int(code) != status {
		t.Errorf("error code %v, want %d", e.Error["code"], status)
	}
	if msg, _ := e.Error["message"].(string); !strings.Contains(msg, want) {
		t.Errorf("error message %q, want it to contain %q", msg, want)
	}
	if id, _ := e.Error["requestId"].(string); id == "" || id != h.Get(RequestIDHeader) {
		t.Errorf("requestId %q, header %q", id, h.Get(RequestIDHeader))
	}
}

// trREDLimit caps the points of the memory store's RED answers.
func trREDLimit(n int) memory.Option {
	return memory.WithReaderLimits(storage.ReaderLimits{MaxREDPoints: n})
}
