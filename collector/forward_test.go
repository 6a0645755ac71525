package collector_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/wal"
)

// fakeForwarder is a collector.Forwarder made of a function; it keeps a
// copy of every body it was given and whether it was closed.
type fakeForwarder struct {
	mu     sync.Mutex
	send   func(body []byte, spans int) (send.Result, error)
	bodies [][]byte // every request, in order, answered or not
	closed bool
}

func (f *fakeForwarder) Send(ctx context.Context, body []byte, spans int) (send.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, bytes.Clone(body))
	if n, err := countSpans(body); err != nil || n != spans {
		return send.Result{}, &send.PermanentError{Endpoint: "fake", Err: errors.New("spans argument does not match the body")}
	}
	if f.send == nil {
		return send.Result{Endpoint: "fake"}, nil
	}
	return f.send(body, spans)
}

func (f *fakeForwarder) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeForwarder) requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...)
}

// countSpans decodes body with protobuf-go and counts its spans.
func countSpans(body []byte) (int, error) {
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return 0, err
	}
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	return n, nil
}

// spanIDs decodes body with protobuf-go and returns its span ids in order,
// as strings.
func spanIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatalf("forwarded body does not decode: %v", err)
	}
	var ids []string
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				ids = append(ids, string(s.SpanId))
			}
		}
	}
	return ids
}

// records returns n WAL records of perRecord spans each, numbered from 0,
// and the span ids in order.
func records(t *testing.T, n, perRecord int) ([]wal.Record, []string) {
	t.Helper()
	var recs []wal.Record
	var ids []string
	for r := range n {
		var specs []spanSpec
		for i := range perRecord {
			s := validSpan(r*perRecord + i)
			specs = append(specs, s)
			ids = append(ids, string(s.spanID))
		}
		recs = append(recs, wal.Record{Offset: wal.Offset(r + 1), Data: request(t, "svc", specs...)})
	}
	return recs, ids
}

// newForward returns a ForwardSink over f with its metrics on a registry of
// the test's, and a function reading them.
func newForward(t *testing.T, f collector.Forwarder, cfg collector.ForwardConfig) (*collector.ForwardSink, func() map[string]float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := collector.NewForwardMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = m
	s := collector.NewForwardSink(f, cfg, collector.Settings{Logger: quietLogger()})
	return s, func() map[string]float64 {
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return parseMetrics(t, rec.Body)
	}
}

// TestForwardSinkRequests: records are concatenated into requests bounded
// by bytes and spans (a record over either bound goes alone, as it is);
// each request decodes as one ExportTraceServiceRequest holding its
// records' spans in order.
func TestForwardSinkRequests(t *testing.T) {
	recs, ids := records(t, 10, 3)
	size := len(recs[0].Data) // every record has the same size
	tests := []struct {
		name     string
		cfg      collector.ForwardConfig
		requests int
	}{
		{"one request", collector.ForwardConfig{}, 1},
		{"by bytes", collector.ForwardConfig{MaxRequestBytes: 4*size + size/2}, 3},   // 4+4+2
		{"by spans", collector.ForwardConfig{MaxRequestSpans: 7}, 5},                 // 2 records each
		{"record over the bounds", collector.ForwardConfig{MaxRequestBytes: 10}, 10}, // each alone
		{"both", collector.ForwardConfig{MaxRequestBytes: 3 * size, MaxRequestSpans: 6}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeForwarder{}
			s, metrics := newForward(t, f, tt.cfg)
			for i, r := range recs {
				if got, want := s.Add(r), 3*(i+1); got != want {
					t.Fatalf("Add record %d: %d spans in the batch, want %d", i, got, want)
				}
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != tt.requests {
				t.Errorf("%d requests, want %d", len(reqs), tt.requests)
			}
			var got []string
			for _, body := range reqs {
				if tt.cfg.MaxRequestBytes > 10 && len(body) > tt.cfg.MaxRequestBytes {
					t.Errorf("request of %d bytes, over MaxRequestBytes %d", len(body), tt.cfg.MaxRequestBytes)
				}
				got = append(got, spanIDs(t, body)...)
			}
			if !equalStrings(got, ids) {
				t.Errorf("forwarded %d spans, want the %d of the records once each, in order", len(got), len(ids))
			}
			if tt.requests == len(recs) && !bytes.Equal(reqs[0], recs[0].Data) {
				t.Error("a record alone was not sent as it is")
			}
			m := metrics()
			if got := m[`tracer_agent_spans_forwarded_total{endpoint="fake"}`]; got != float64(len(ids)) {
				t.Errorf("spans_forwarded_total = %v, want %d", got, len(ids))
			}
			if got := m[`tracer_agent_requests_forwarded_total{endpoint="fake"}`]; got != float64(tt.requests) {
				t.Errorf("requests_forwarded_total = %v, want %d", got, tt.requests)
			}
			// The batch is empty after a successful flush.
			if err := s.Flush(context.Background()); err != nil || len(f.requests()) != len(reqs) {
				t.Errorf("a second Flush sent %d requests (err %v), want none", len(f.requests())-len(reqs), err)
			}
		})
	}
}

// TestForwardSinkRetryable: a retryable error is returned and the flush
// sends, when called again, only what was not accepted yet.
func TestForwardSinkRetryable(t *testing.T) {
	recs, ids := records(t, 6, 2)
	calls := 0
	var accepted []string
	f := &fakeForwarder{}
	f.send = func(body []byte, spans int) (send.Result, error) {
		calls++
		if calls == 2 || calls == 3 { // the second request fails twice
			return send.Result{}, errors.New("unavailable: every collector is down")
		}
		accepted = append(accepted, spanIDs(t, body)...)
		return send.Result{Endpoint: "a:4317"}, nil
	}
	s, metrics := newForward(t, f, collector.ForwardConfig{MaxRequestSpans: 4}) // 3 requests
	for _, r := range recs {
		s.Add(r)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		err := s.Flush(context.Background())
		if err == nil {
			t.Fatalf("Flush attempt %d succeeded, want the retryable error", attempt)
		}
		if send.IsPermanent(err) {
			t.Fatalf("Flush attempt %d: %v is permanent, want retryable", attempt, err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("third Flush: %v", err)
	}
	if !equalStrings(accepted, ids) {
		t.Errorf("collector accepted %d spans, want the %d of the records once each, in order", len(accepted), len(ids))
	}
	m := metrics()
	if got := m["tracer_agent_forward_failures_total"]; got != 2 {
		t.Errorf("forward_failures_total = %v, want 2", got)
	}
	if got := m[`tracer_agent_spans_forwarded_total{endpoint="a:4317"}`]; got != float64(len(ids)) {
		t.Errorf("spans_forwarded_total = %v, want %d", got, len(ids))
	}
}

// TestForwardSinkPermanent: a request refused for good is sent again record
// by record; only the record refused alone is dropped and counted, and the
// flush succeeds (nothing to retry).
func TestForwardSinkPermanent(t *testing.T) {
	recs, ids := records(t, 5, 2)
	bad := ids[4] // a span of record 2
	var accepted []string
	f := &fakeForwarder{}
	f.send = func(body []byte, spans int) (send.Result, error) {
		got := spanIDs(t, body)
		for _, id := range got {
			if id == bad {
				return send.Result{}, &send.PermanentError{Endpoint: "a:4317", Err: errors.New("invalid argument")}
			}
		}
		accepted = append(accepted, got...)
		return send.Result{Endpoint: "a:4317"}, nil
	}
	s, metrics := newForward(t, f, collector.ForwardConfig{})
	for _, r := range recs {
		s.Add(r)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v, want nil (a permanent error is not retried)", err)
	}
	want := append(append([]string(nil), ids[:4]...), ids[6:]...)
	if !equalStrings(accepted, want) {
		t.Errorf("collector accepted %d spans, want the %d of the good records once each", len(accepted), len(want))
	}
	if got := len(f.requests()); got != 6 { // the batch, then each record alone
		t.Errorf("%d requests, want 6", got)
	}
	m := metrics()
	if got := m[`tracer_agent_spans_dropped_total{reason="permanent_error"}`]; got != 2 {
		t.Errorf("spans_dropped_total{permanent_error} = %v, want 2", got)
	}
	if got := m[`tracer_agent_spans_forwarded_total{endpoint="a:4317"}`]; got != 8 {
		t.Errorf("spans_forwarded_total = %v, want 8", got)
	}

	// The next batch is concatenated again.
	more, _ := records(t, 3, 1)
	for _, r := range more {
		s.Add(r)
	}
	before := len(f.requests())
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.requests()) - before; got != 1 {
		t.Errorf("the next batch took %d requests, want 1", got)
	}
}

// TestForwardSinkPartialSuccess: the spans a partial success rejects are
// dropped and counted, not retried.
func TestForwardSinkPartialSuccess(t *testing.T) {
	recs, _ := records(t, 2, 5)
	f := &fakeForwarder{send: func([]byte, int) (send.Result, error) {
		return send.Result{Endpoint: "b:4317", Rejected: 3, Message: "3 spans without name"}, nil
	}}
	s, metrics := newForward(t, f, collector.ForwardConfig{})
	for _, r := range recs {
		s.Add(r)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("%d requests, want 1 (rejected spans are not sent again)", got)
	}
	m := metrics()
	if got := m[`tracer_agent_spans_dropped_total{reason="rejected"}`]; got != 3 {
		t.Errorf("spans_dropped_total{rejected} = %v, want 3", got)
	}
	if got := m[`tracer_agent_spans_forwarded_total{endpoint="b:4317"}`]; got != 7 {
		t.Errorf("spans_forwarded_total = %v, want 7", got)
	}
}

// TestForwardSinkMalformedRecord: a record that is not an OTLP request is
// dropped and counted; the others go.
func TestForwardSinkMalformedRecord(t *testing.T) {
	recs, ids := records(t, 2, 2)
	f := &fakeForwarder{}
	s, metrics := newForward(t, f, collector.ForwardConfig{})
	s.Add(recs[0])
	if got := s.Add(wal.Record{Offset: 9, Data: []byte{0x0a, 0x7f, 1}}); got != 2 { // field 1, length 127, 1 byte
		t.Errorf("Add of a malformed record: %d spans in the batch, want 2", got)
	}
	s.Add(recs[1])
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range f.requests() {
		got = append(got, spanIDs(t, b)...)
	}
	if !equalStrings(got, ids) {
		t.Errorf("forwarded %d spans, want the %d of the good records", len(got), len(ids))
	}
	if got := metrics()[`tracer_agent_spans_dropped_total{reason="malformed"}`]; got != 1 {
		t.Errorf("spans_dropped_total{malformed} = %v, want 1 (one record)", got)
	}
}

// TestForwardThroughCollector: a Collector with a ForwardSink (WithSink, no
// storage writer) takes OTLP over gRPC into its WAL and forwards every span
// once, retrying while the forwarder fails, and reports it in Health; its
// Shutdown closes the forwarder.
func TestForwardThroughCollector(t *testing.T) {
	var mu sync.Mutex
	failing := true
	var got []string
	f := &fakeForwarder{}
	f.send = func(body []byte, _ int) (send.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return send.Result{}, errors.New("collector unavailable")
		}
		got = append(got, spanIDs(t, body)...)
		return send.Result{Endpoint: "fake"}, nil
	}
	reg := prometheus.NewRegistry()
	fm, err := collector.NewForwardMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := collector.New(testConfig(t), nil, quietLogger(), collector.WithRegisterer(reg),
		collector.WithSink("forward", func(set collector.Settings) (collector.Sink, error) {
			return collector.NewForwardSink(f, collector.ForwardConfig{Metrics: fm}, set), nil
		}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer shutdown(t, c)

	var want []string
	for i := range 20 {
		s := validSpan(i)
		exportGRPC(t, c.GRPCAddr(), s)
		want = append(want, string(s.spanID))
	}
	// While the forwarder fails, the pipeline retries and is not ready.
	waitFor(t, "the forward pipeline to report retrying", func() bool {
		return c.Health().Report().Components["forward"].Status == collector.StatusRetrying
	})
	mu.Lock()
	failing = false
	mu.Unlock()
	waitFor(t, "every span to be forwarded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	waitFor(t, "the forward pipeline to recover", func() bool {
		return c.Health().Report().Components["forward"].Status == collector.StatusOK
	})
	shutdown(t, c)
	mu.Lock()
	if !sameSet(got, want) {
		t.Errorf("forwarded %d spans, want the %d sent, once each", len(got), len(want))
	}
	mu.Unlock()
	if !f.closed {
		t.Error("Shutdown did not close the forwarder")
	}
	m := metricsOf(t, c)
	if v := m[`tracer_agent_spans_forwarded_total{endpoint="fake"}`]; v != float64(len(want)) {
		t.Errorf("spans_forwarded_total = %v, want %d", v, len(want))
	}
	if v := m[`tracer_collector_spans_received_total{transport="grpc"}`]; v != float64(len(want)) {
		t.Errorf("spans_received_total = %v, want %d", v, len(want))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] != 1 {
			return false
		}
		seen[s]++
	}
	return true
}
