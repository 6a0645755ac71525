package query

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
	"github.com/tracerdev/tracer/vclock"
)

type trTraceJSON struct {
	TraceID   string           `json:"traceId"`
	Spans     []map[string]any `json:"spans"`
	SpanCount int              `json:"spanCount"`
	Truncated bool             `json:"truncated"`
	Error     map[string]any   `json:"error"`
}

// trAttrs decodes a JSON attribute list into key → [type, value].
func trAttrs(t *testing.T, v any) map[string][2]string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("attributes %v (%T): want an array", v, v)
	}
	out := make(map[string][2]string, len(list))
	for _, a := range list {
		m := a.(map[string]any)
		typ, _ := m["type"].(string)
		if typ == "" {
			typ = "string"
		}
		out[m["key"].(string)] = [2]string{typ, m["value"].(string)}
	}
	return out
}

func trWantAttrs(attrs []storage.Attribute) map[string][2]string {
	out := make(map[string][2]string, len(attrs))
	for _, a := range attrs {
		v := a.Value
		if a.Type == storage.TypeBytes {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		out[a.Key] = [2]string{tracerTypeNames[a.Type], v}
	}
	return out
}

func trClockJSON(c vclock.Clock) map[string]any {
	m := map[string]any{}
	for n, v := range c.All() {
		m[n] = float64(v)
	}
	return m
}

func TestTracerTrace(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	tid := storage.TraceID{0xab, 1, 2, 3}
	full := storagetest.FullSpan(tid, storage.SpanID{1}, storage.SpanID{}, trNow.Add(-time.Minute))
	child := storagetest.FullSpan(tid, storage.SpanID{2}, storage.SpanID{1}, trNow.Add(-time.Minute+time.Millisecond))
	child.Resource = full.Resource // the same resource: written once
	plain := trSpan(1, "web", "no clock", storage.KindClient, trNow.Add(-30*time.Second), time.Second, storage.StatusUnset)
	plain.TraceID, plain.SpanID, plain.ParentSpanID = tid, storage.SpanID{3}, storage.SpanID{2}
	bad := trSpan(2, "web", "bad clock", storage.KindInternal, trNow.Add(-20*time.Second), time.Second, storage.StatusOK)
	bad.TraceID, bad.SpanID = tid, storage.SpanID{4}
	bad.Resource = append(bad.Resource, storage.Attribute{Key: "host.name", Value: "h"})
	bad.Attributes = []storage.Attribute{{Key: vclock.AttrNode, Value: "a-1"}, {Key: vclock.AttrTick, Type: storage.TypeInt, Value: "zero"}}
	written := []storage.Span{full, child, plain, bad}
	f.write(t, written...)

	var got trTraceJSON
	f.getJSON(t, "/api/tracer/traces/"+tid.String(), 200, &got)
	if got.TraceID != tid.String() || got.SpanCount != 4 || len(got.Spans) != 4 || got.Truncated || got.Error != nil {
		t.Fatalf("traceId %s, spanCount %d, %d spans, truncated %v, error %v", got.TraceID, got.SpanCount, len(got.Spans), got.Truncated, got.Error)
	}
	// Resources are numbered in the order first seen; spans come in the
	// reader's order.
	resources := map[float64][]any{}
	for _, js := range got.Spans {
		idx := js["resource"].(float64)
		if ra, ok := js["resourceAttributes"]; ok {
			if _, dup := resources[idx]; dup {
				t.Errorf("resource %v written twice", idx)
			}
			resources[idx] = ra.([]any)
		} else if _, seen := resources[idx]; !seen {
			t.Errorf("span %v names resource %v before it is written", js["spanId"], idx)
		}
	}
	if len(resources) != 3 { // full and child share one (as do equal resources); plain and bad have their own
		t.Errorf("%d resources, want 3", len(resources))
	}
	byID := map[string]map[string]any{}
	for _, js := range got.Spans {
		byID[js["spanId"].(string)] = js
	}
	for _, s := range written {
		js := byID[s.SpanID.String()]
		if js == nil {
			t.Fatalf("span %s missing", s.SpanID)
		}
		t.Run(s.Name+"/"+s.SpanID.String(), func(t *testing.T) {
			checks := []struct {
				key  string
				want any
			}{
				{"name", s.Name}, {"service", s.Service}, {"kind", s.Kind.String()},
				{"startTimeUnixNano", strconv.FormatInt(s.StartTime, 10)},
				{"endTimeUnixNano", strconv.FormatInt(s.EndTime, 10)},
				{"durationNano", float64(s.EndTime - s.StartTime)},
				{"status", tracerStatusNames[s.StatusCode]},
			}
			for _, c := range checks {
				if js[c.key] != c.want {
					t.Errorf("%s = %v, want %v", c.key, js[c.key], c.want)
				}
			}
			if s.ParentSpanID.IsZero() {
				if _, ok := js["parentSpanId"]; ok {
					t.Errorf("root span has parentSpanId %v", js["parentSpanId"])
				}
			} else if js["parentSpanId"] != s.ParentSpanID.String() {
				t.Errorf("parentSpanId %v, want %s", js["parentSpanId"], s.ParentSpanID)
			}
			if got, want := trAttrs(t, js["attributes"]), trWantAttrs(s.Attributes); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("attributes\n got %v\nwant %v", got, want)
			}
			if got, want := trAttrs(t, resources[js["resource"].(float64)]), trWantAttrs(s.Resource); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("resource\n got %v\nwant %v", got, want)
			}
			sc, err := s.SpanClock()
			switch {
			case err == vclock.ErrNoClock:
				if js["clock"] != "none" {
					t.Errorf("clock %v, want \"none\"", js["clock"])
				}
			case err != nil:
				if js["clock"] != "invalid" || js["clockError"] != err.Error() {
					t.Errorf("clock %v, clockError %v; want invalid, %q", js["clock"], js["clockError"], err)
				}
			default:
				c, ok := js["clock"].(map[string]any)
				if !ok {
					t.Fatalf("clock %v: want an object", js["clock"])
				}
				if c["node"] != sc.Node || c["tick"] != float64(sc.Tick) {
					t.Errorf("clock node %v tick %v, want %s %d", c["node"], c["tick"], sc.Node, sc.Tick)
				}
				if fmt.Sprint(c["start"]) != fmt.Sprint(trClockJSON(sc.Start)) || fmt.Sprint(c["end"]) != fmt.Sprint(trClockJSON(sc.End)) {
					t.Errorf("clock start %v end %v, want %v %v", c["start"], c["end"], sc.Start, sc.End)
				}
			}
		})
	}
	// The full span's every field.
	js := byID[full.SpanID.String()]
	for key, want := range map[string]any{
		"statusMessage": full.StatusMessage, "traceState": full.TraceState, "flags": float64(full.Flags),
		"droppedAttributesCount": float64(3), "droppedEventsCount": float64(4), "droppedLinksCount": float64(5),
	} {
		if js[key] != want {
			t.Errorf("%s = %v, want %v", key, js[key], want)
		}
	}
	if sc := js["scope"].(map[string]any); sc["name"] != full.ScopeName || sc["version"] != full.ScopeVersion {
		t.Errorf("scope %v", sc)
	}
	evs := js["events"].([]any)
	if len(evs) != 2 {
		t.Fatalf("events %v", evs)
	}
	ev := evs[0].(map[string]any)
	if ev["name"] != "exception" || ev["timeUnixNano"] != strconv.FormatInt(full.Events[0].Time, 10) ||
		fmt.Sprint(trAttrs(t, ev["attributes"])) != fmt.Sprint(trWantAttrs(full.Events[0].Attributes)) {
		t.Errorf("event %v", ev)
	}
	links := js["links"].([]any)
	l := links[0].(map[string]any)
	if len(links) != 2 || l["traceId"] != full.Links[0].TraceID.String() || l["spanId"] != full.Links[0].SpanID.String() || l["traceState"] != "k=v" {
		t.Errorf("links %v", links)
	}
	// The spans without events or links leave the keys out.
	if _, ok := byID[plain.SpanID.String()]["events"]; ok {
		t.Errorf("plain span has events")
	}
}

func TestTracerTraceErrors(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	f.write(t, trSpan(1, "web", "op", storage.KindServer, trNow, time.Second, storage.StatusOK))
	tests := []struct {
		name, id string
		status   int
		want     string
	}{
		{"not found", storage.TraceID{9}.String(), 404, "trace not found"},
		{"not hex", "xyz", 400, `parameter id="xyz": want a trace id of 1 to 32 hex digits`},
		{"too long", "0123456789abcdef0123456789abcdef0", 400, "parameter id="},
		{"zeros", "0000", 400, `parameter id="0000"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := f.get(t, "/api/tracer/traces/"+tc.id)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			trTracerError(t, body, h, tc.status, tc.want)
		})
	}
}

func TestTracerTraceTruncated(t *testing.T) {
	f := newTrFixture(t, DefaultConfig(), memory.WithReaderLimits(storage.ReaderLimits{MaxTraceSpans: 3}))
	var spans []storage.Span
	for i := range 5 {
		s := trSpan(1, "web", "op", storage.KindServer, trNow.Add(time.Duration(i)*time.Second), time.Second, storage.StatusOK)
		s.SpanID[1] = byte(i)
		spans = append(spans, s)
	}
	f.write(t, spans...)
	var got trTraceJSON
	f.getJSON(t, "/api/tracer/traces/"+spans[0].TraceID.String(), 200, &got)
	if !got.Truncated || got.SpanCount != 3 || len(got.Spans) != 3 {
		t.Errorf("truncated %v, spanCount %d, %d spans; want true, 3, 3", got.Truncated, got.SpanCount, len(got.Spans))
	}
}

// trHeapWriter is a ResponseWriter that keeps nothing of the body but its
// length and whether it is JSON, and samples the live heap as the body
// is written.
type trHeapWriter struct {
	h       http.Header
	status  int
	n       int
	writes  int
	maxHeap uint64
	sample  bool   // sample the heap
	tail    []byte // the last bytes written
}

func (w *trHeapWriter) Header() http.Header { return w.h }
func (w *trHeapWriter) WriteHeader(s int)   { w.status = s }
func (w *trHeapWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	w.writes++
	w.tail = append(w.tail[:0], b[max(0, len(b)-64):]...)
	if w.sample && w.writes%16 == 1 {
		w.maxHeap = max(w.maxHeap, trLiveHeap())
	}
	return len(b), nil
}

func trLiveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTracerTraceBoundedMemory streams a trace of 100,000 spans and checks
// that the live heap while it is written grows by much less than the
// trace takes when read whole.
func TestTracerTraceBoundedMemory(t *testing.T) {
	const n = 100_000
	f := newTrFixture(t, DefaultConfig())
	tid := storage.TraceID{0x10, 0x0b}
	spans := make([]storage.Span, 0, 10_000)
	res := []storage.Attribute{{Key: "service.name", Value: "big"}, {Key: "host.name", Value: "host-1"}}
	for i := range n {
		s := storagetest.FullSpan(tid, storage.SpanID{byte(i >> 16), byte(i >> 8), byte(i), 1}, storage.SpanID{1}, trNow.Add(-time.Duration(i)*time.Millisecond))
		s.Service, s.Resource = "big", res
		spans = append(spans, s)
		if len(spans) == cap(spans) {
			f.write(t, spans...)
			spans = spans[:0]
		}
	}
	spans = nil

	base := trLiveHeap()
	whole, err := f.store.Trace(t.Context(), tid)
	if err != nil || len(whole.Spans) != n {
		t.Fatalf("Trace: %d spans, %v", len(whole.Spans), err)
	}
	wholeHeap := trLiveHeap() - base
	runtime.KeepAlive(whole)
	whole = storage.Trace{}

	base = trLiveHeap()
	w := &trHeapWriter{h: http.Header{}, sample: true}
	f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/tracer/traces/"+tid.String(), nil))
	if w.status != 200 || !bytes.HasSuffix(w.tail, []byte(`"spanCount":100000,"truncated":false}`+"\n")) {
		t.Fatalf("status %d, end of body %q", w.status, w.tail)
	}
	streamHeap := w.maxHeap - min(base, w.maxHeap)
	t.Logf("trace of %d spans: %d MiB of JSON; read whole it holds %.1f MiB, streamed the heap grew at most %.1f MiB",
		n, w.n>>20, float64(wholeHeap)/(1<<20), float64(streamHeap)/(1<<20))
	if streamHeap*10 > wholeHeap {
		t.Errorf("streaming held %d bytes, more than a tenth of the whole trace's %d", streamHeap, wholeHeap)
	}
}

func TestTracerTraceJSONIsValid(t *testing.T) {
	// Strings that need escaping, and a bytes value that is not UTF-8.
	f := newTrFixture(t, DefaultConfig())
	s := trSpan(1, "we\"b\n", "op\\<", storage.KindServer, trNow, time.Second, storage.StatusError)
	s.StatusMessage = "bad \xff utf-8"
	s.Attributes = []storage.Attribute{{Key: "b", Type: storage.TypeBytes, Value: "\xff\x00"}}
	f.write(t, s)
	code, body, _ := f.get(t, "/api/tracer/traces/"+s.TraceID.String())
	if code != 200 || !json.Valid(body) {
		t.Fatalf("status %d, valid %v: %s", code, json.Valid(body), body)
	}
	var got trTraceJSON
	_ = json.Unmarshal(body, &got)
	if sp := got.Spans[0]; sp["service"] != s.Service || sp["name"] != s.Name || trAttrs(t, sp["attributes"])["b"] != [2]string{"bytes", "/wA="} {
		t.Errorf("span %v", sp)
	}
	if !slices.Contains([]string{"bad \ufffd utf-8"}, got.Spans[0]["statusMessage"].(string)) {
		t.Errorf("statusMessage %q", got.Spans[0]["statusMessage"])
	}
}

// trBlockingWriter keeps the body; its first Write waits until done is
// closed, and every Write fails with err when set.
type trBlockingWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
	done   <-chan struct{}
	writes int
	err    error
}

func (w *trBlockingWriter) Header() http.Header { return w.h }
func (w *trBlockingWriter) WriteHeader(s int)   { w.status = s }
func (w *trBlockingWriter) Write(b []byte) (int, error) {
	w.writes++
	if w.writes == 1 && w.done != nil {
		<-w.done
	}
	if w.err != nil {
		return 0, w.err
	}
	return w.body.Write(b)
}

func TestTracerTraceErrorMidStream(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	tid := storage.TraceID{0x33}
	var spans []storage.Span
	for i := range 2 * storage.MaxStreamBatch {
		spans = append(spans, storagetest.FullSpan(tid, storage.SpanID{byte(i >> 8), byte(i), 1}, storage.SpanID{}, trNow))
	}
	f.write(t, spans...)

	t.Run("timeout after the first batch", func(t *testing.T) {
		// The deadline passes while the first batch is written; the
		// reader refuses the second, and the answer, already 200, ends
		// with the error. A deadline that passed before the first batch
		// (a slow machine) is tried again, longer.
		var w *trBlockingWriter
		for _, d := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second, 20 * time.Second} {
			ctx, cancel := context.WithTimeout(t.Context(), d)
			w = &trBlockingWriter{h: http.Header{}, done: ctx.Done()}
			f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/tracer/traces/"+tid.String(), nil).WithContext(ctx))
			cancel()
			if w.status == 200 {
				break
			}
		}
		var got trTraceJSON
		if err := json.Unmarshal(w.body.Bytes(), &got); err != nil || w.status != 200 {
			t.Fatalf("status %d, %v", w.status, err)
		}
		if !got.Truncated || got.SpanCount != len(got.Spans) || got.SpanCount != storage.MaxStreamBatch || got.Error == nil {
			t.Fatalf("truncated %v, spanCount %d, %d spans, error %v", got.Truncated, got.SpanCount, len(got.Spans), got.Error)
		}
		if got.Error["code"] != float64(503) || got.Error["requestId"] != w.h.Get(RequestIDHeader) {
			t.Errorf("error %v", got.Error)
		}
	})
	t.Run("client gone", func(t *testing.T) {
		w := &trBlockingWriter{h: http.Header{}, err: errors.New("broken pipe")}
		f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/tracer/traces/"+tid.String(), nil))
		if w.writes != 1 {
			t.Errorf("%d writes after the first failed, want none", w.writes-1)
		}
	})
}

// BenchmarkTracerTrace measures the trace route on a trace of 10,000 full
// spans, and the reader's StreamTrace alone: the difference is the API's
// own cost.
func BenchmarkTracerTrace(b *testing.B) {
	st := memory.New()
	defer st.Close()
	api, err := New(st, DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	h := api.Handler()
	tid := storage.TraceID{0xbe}
	spans := make([]storage.Span, 10_000)
	for i := range spans {
		spans[i] = storagetest.FullSpan(tid, storage.SpanID{byte(i >> 8), byte(i), 1}, storage.SpanID{1}, trNow)
	}
	if err := st.WriteSpans(b.Context(), spans); err != nil {
		b.Fatal(err)
	}
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		req := httptest.NewRequest(http.MethodGet, "/api/tracer/traces/"+tid.String(), nil)
		for b.Loop() {
			w := &trHeapWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatal(w.status)
			}
			b.SetBytes(int64(w.n))
		}
	})
	b.Run("StreamTrace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.StreamTrace(b.Context(), tid, func([]storage.Span) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
