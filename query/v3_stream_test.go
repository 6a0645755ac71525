package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// genStore streams a generated trace of n spans, one fresh batch at a time,
// so that nothing but the batch in hand exists: what a backend's
// StreamTrace promises. Before each batch it calls before(batch index).
type genStore struct {
	storage.ReadStore
	n      int
	before func(i int)
	fail   error // returned instead of batch failAt
	failAt int
}

func genSpan(i int) storage.Span {
	return storage.Span{
		TraceID: testTraceID(1), SpanID: testSpanID(i + 1), ParentSpanID: testSpanID(i / 2),
		Name: "op", Kind: storage.KindInternal, StartTime: ns(t0) + int64(i), EndTime: ns(t0) + int64(i) + 1000,
		Service: "big", Resource: []storage.Attribute{attr("service.name", storage.TypeString, "big")},
		Attributes: []storage.Attribute{attr("i", storage.TypeInt, "1"), attr("s", storage.TypeString, strings.Repeat("x", 64))},
	}
}

func (g *genStore) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	for b, i := 0, 0; i < g.n; b++ {
		if g.before != nil {
			g.before(b)
		}
		if g.fail != nil && b == g.failAt {
			return false, g.fail
		}
		batch := make([]storage.Span, 0, storage.MaxStreamBatch)
		for ; i < g.n && len(batch) < storage.MaxStreamBatch; i++ {
			batch = append(batch, genSpan(i))
		}
		if err := fn(batch); err != nil {
			return false, err
		}
	}
	return false, nil
}

// pipeWriter is a ResponseWriter whose body goes to a pipe that a slow
// reader drains; it counts the spans written so far.
type pipeWriter struct {
	h      http.Header
	status int
	pw     *io.PipeWriter
	mu     sync.Mutex
	spans  int
}

func (w *pipeWriter) Header() http.Header { return w.h }
func (w *pipeWriter) WriteHeader(s int)   { w.status = s }
func (w *pipeWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.spans += bytes.Count(b, []byte(`"spanId":`))
	w.mu.Unlock()
	return w.pw.Write(b)
}
func (w *pipeWriter) Flush() {}

func (w *pipeWriter) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spans
}

// TestV3TraceStreams serves a 100,000-span trace and shows it is never
// held whole: each batch is written to the client before the store yields
// the next (counted at every batch, through a pipe whose reader parses the
// answer token by token), and the live heap stays at a batch's worth.
func TestV3TraceStreams(t *testing.T) {
	const n = 100_000
	pw := &pipeWriter{h: http.Header{}}
	pr, pipeW := io.Pipe()
	pw.pw = pipeW

	var heapPeak, heapBase uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBase = ms.HeapAlloc
	var order []string
	store := &genStore{ReadStore: newStore(t, nil), n: n}
	store.before = func(b int) {
		if got, want := pw.written(), b*storage.MaxStreamBatch; got != want {
			order = append(order, fmt.Sprintf("batch %d: %d spans written before it, want %d", b, got, want))
		}
		if b%10 == 5 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heapPeak = max(heapPeak, ms.HeapAlloc)
		}
	}
	a, err := New(store, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		spans int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// The client: reads slowly, token by token, and counts spans.
		dec := json.NewDecoder(pr)
		var r result
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.err = err
				_ = pr.CloseWithError(err)
				break
			}
			if tok == "spanId" {
				r.spans++
			}
		}
		done <- r
	}()
	req := httptest.NewRequest(http.MethodGet, "/api/v3/traces/"+testTraceID(1).String(), nil)
	a.Handler().ServeHTTP(pw, req)
	_ = pipeW.Close()
	r := <-done

	if r.err != nil {
		t.Fatalf("the answer is not valid JSON: %v", r.err)
	}
	if pw.status != http.StatusOK || r.spans != n {
		t.Fatalf("status %d, %d spans read, want 200 and %d", pw.status, r.spans, n)
	}
	for _, o := range order {
		t.Error(o)
	}
	growth := int64(heapPeak) - int64(heapBase)
	t.Logf("live heap while streaming %d spans: %.1f MiB over the %.1f MiB before", n, float64(growth)/(1<<20), float64(heapBase)/(1<<20))
	// The whole trace as storage.Span values alone would be >25 MiB, its
	// JSON >20 MiB; one batch is well under 2 MiB.
	if growth > 8<<20 {
		t.Errorf("live heap grew %d bytes while streaming: not bounded by the batch", growth)
	}
}

// TestV3TraceStreamErrors: an error before the first batch is answered in
// the v3 error shape (internal errors name only the request id); one after
// it cuts the JSON short, so no client takes a partial trace for a whole one.
func TestV3TraceStreamErrors(t *testing.T) {
	boom := errors.New("disk on fire at /var/lib/secret")
	serve := func(t *testing.T, store storage.ReadStore) (*httptest.Server, *proctest.Buffer) {
		var logs proctest.Buffer
		a, err := New(store, DefaultConfig(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(srv.Close)
		return srv, &logs
	}
	t.Run("before the first batch", func(t *testing.T) {
		srv, logs := serve(t, &genStore{ReadStore: newStore(t, nil), n: 10, fail: boom, failAt: 0})
		a := get(t, srv, "/api/v3/traces/"+testTraceID(1).String())
		id := a.header.Get(RequestIDHeader)
		checkV3Error(t, a, http.StatusInternalServerError, "request id "+id)
		if bytes.Contains(a.body, []byte("secret")) {
			t.Errorf("internal detail in %s", a.body)
		}
		if l := logs.String(); !strings.Contains(l, "request_id="+id) || !strings.Contains(l, "disk on fire") {
			t.Errorf("the log does not name the request and the error:\n%s", l)
		}
	})
	t.Run("after a batch", func(t *testing.T) {
		srv, logs := serve(t, &genStore{ReadStore: newStore(t, nil), n: 3000, fail: boom, failAt: 2})
		a := get(t, srv, "/api/v3/traces/"+testTraceID(1).String())
		if a.status != http.StatusOK {
			t.Fatalf("status %d", a.status)
		}
		if l := logs.String(); !strings.Contains(l, "cut short") || !strings.Contains(l, "request_id="+a.header.Get(RequestIDHeader)) {
			t.Errorf("the log does not say the answer was cut short:\n%s", l)
		}
		if json.Valid(a.body) {
			t.Errorf("a cut answer is valid JSON")
		}
		if got := bytes.Count(a.body, []byte(`"spanId":`)); got != 2*storage.MaxStreamBatch {
			t.Errorf("%d spans before the cut, want %d", got, 2*storage.MaxStreamBatch)
		}
	})
}

// TestV3TraceLarge reads a 100,000-span trace back through the memory
// store and a real server, and a longer-than-the-limit one with the
// truncation trailer.
func TestV3TraceLarge(t *testing.T) {
	tests := []struct {
		name      string
		n, limit  int
		wantSpans int
		truncated bool
	}{
		{"100k spans", 100_000, 0, 100_000, false},
		{"over MaxTraceSpans", 2500, 1500, 1500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newStore(t, nil, memory.WithReaderLimits(storage.ReaderLimits{MaxTraceSpans: tt.limit}))
			w := m.(storage.Writer)
			for i := 0; i < tt.n; i += 10_000 {
				batch := make([]storage.Span, 0, 10_000)
				for j := i; j < min(i+10_000, tt.n); j++ {
					batch = append(batch, genSpan(j))
				}
				if err := w.WriteSpans(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
			}
			srv := newV3Server(t, m, DefaultConfig())
			resp, err := srv.Client().Get(srv.URL + "/api/v3/traces/" + testTraceID(1).String())
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			_, spans := foundTraces(t, answer{resp.StatusCode, resp.Header, body})
			seen := make(map[storage.SpanID]bool, len(spans))
			for i := range spans {
				seen[spans[i].SpanID] = true
			}
			if len(spans) != tt.wantSpans || len(seen) != tt.wantSpans {
				t.Errorf("%d spans, %d distinct, want %d", len(spans), len(seen), tt.wantSpans)
			}
			if got := resp.Trailer.Get(v3TruncatedTrailer) == "true"; got != tt.truncated {
				t.Errorf("trailer %s: %q, want truncated %v", v3TruncatedTrailer, resp.Trailer.Get(v3TruncatedTrailer), tt.truncated)
			}
			if tt.truncated {
				// A search answers the same trace with the same trailer.
				resp, err := srv.Client().Get(srv.URL + "/api/v3/traces?" + searchQuery("query.serviceName", "big", "query.startTimeMin", tMin, "query.startTimeMax", tMax))
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if _, spans := foundTraces(t, answer{resp.StatusCode, resp.Header, body}); len(spans) != tt.wantSpans {
					t.Errorf("search: %d spans, want %d", len(spans), tt.wantSpans)
				}
				if resp.Trailer.Get(v3TruncatedTrailer) != "true" {
					t.Errorf("search: trailer %q, want true", resp.Trailer.Get(v3TruncatedTrailer))
				}
			}
			if tt.n == 100_000 {
				// One ResourceSpans per batch the store yields.
				if got := bytes.Count(body, []byte(`{"resource":`)); got < tt.n/storage.MaxStreamBatch {
					t.Errorf("%d ResourceSpans, want one per batch at least", got)
				}
			}
		})
	}
}
