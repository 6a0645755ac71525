package collector

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/storage/memory"
)

// fuzzCollector starts a collector (HTTP receiver only, memory store) for a
// fuzz target; requests go straight to its handler.
func fuzzCollector(f *testing.F) *Collector {
	f.Helper()
	cfg := NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = ""
	cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0"
	cfg.Telemetry.Endpoint = ""
	cfg.WAL.Dir = f.TempDir()
	cfg.WAL.SegmentSize = 1 << 20
	cfg.WAL.MaxBytes = 64 << 20
	cfg.Storage.Type = backend.TypeMemory
	cfg.Limits.MaxRequestBytes = 1 << 20
	cfg.Batch.Timeout = 10 * time.Millisecond
	store := memory.New()
	c, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			f.Errorf("Shutdown: %v", err)
		}
		store.Close()
	})
	return c
}

func seedRequest(f *testing.F, name string, traceID, spanID []byte) []byte {
	f.Helper()
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: traceID, SpanId: spanID, Name: name, StartTimeUnixNano: 10, EndTimeUnixNano: 20,
			Attributes: []*commonpb.KeyValue{{Key: "k", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}},
		}}}},
	}}})
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// post runs one request through the OTLP/HTTP handler and checks the
// answer is one the protocol allows, well formed.
func post(t *testing.T, c *Collector, contentType string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	c.recv().handleTraces(rec, req)
	switch rec.Code {
	case http.StatusOK:
		if contentType == ctProtobuf {
			var r coltracepb.ExportTraceServiceResponse
			if err := proto.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("200 with a malformed response: %v", err)
			}
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		if rec.Body.Len() == 0 {
			t.Fatalf("%d without a status body", rec.Code)
		}
	default:
		t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body.Bytes())
	}
}

func FuzzHTTPProtobuf(f *testing.F) {
	c := fuzzCollector(f)
	tid := bytes.Repeat([]byte{1}, 16)
	sid := bytes.Repeat([]byte{2}, 8)
	f.Add(seedRequest(f, "op", tid, sid))
	f.Add(seedRequest(f, "", tid, sid))
	f.Add(seedRequest(f, "op", make([]byte, 16), sid))
	f.Add(seedRequest(f, "op", tid, sid[:3]))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		post(t, c, ctProtobuf, body)
	})
}

func FuzzHTTPJSON(f *testing.F) {
	c := fuzzCollector(f)
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"op","startTimeUnixNano":"10","endTimeUnixNano":"20","kind":"SPAN_KIND_SERVER","attributes":[{"key":"n","value":{"intValue":"5"}},{"key":"a","value":{"arrayValue":{"values":[{"doubleValue":1.5}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"00000000000000000000000000000000","span_id":"0102030405060708","name":"op","start_time_unix_nano":10,"end_time_unix_nano":5}]}]}]}`))
	f.Add([]byte(`{"resourceSpans":[{`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"","name":1}]}]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		post(t, c, ctJSON, body)
	})
}
