package collector_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// stallingWriter blocks every write until release is called (or the write's
// ctx is done), then passes writes to w. It records the largest batch.
type stallingWriter struct {
	w       storage.Writer
	gate    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	maxSeen int
}

func newStallingWriter(w storage.Writer) *stallingWriter {
	return &stallingWriter{w: w, gate: make(chan struct{})}
}

func (s *stallingWriter) release() { s.once.Do(func() { close(s.gate) }) }

func (s *stallingWriter) WriteSpans(ctx context.Context, spans []storage.Span) error {
	s.mu.Lock()
	s.maxSeen = max(s.maxSeen, len(spans))
	s.mu.Unlock()
	select {
	case <-s.gate:
		return s.w.WriteSpans(ctx, spans)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBackpressure stalls the sink: the WAL fills up to its cap and no
// further, clients get retryable errors (gRPC Unavailable with RetryInfo,
// HTTP 503 with Retry-After), and once the sink recovers every acknowledged
// span is written.
func TestBackpressure(t *testing.T) {
	cfg := testConfig(t)
	cfg.WAL.SegmentSize = 32 << 10
	cfg.WAL.MaxBytes = 128 << 10
	cfg.Limits.MaxRequestBytes = 32 << 10
	cfg.Limits.MaxInflightBytes = 64 << 10
	cfg.Batch.Size = 50
	store := memory.New()
	defer store.Close()
	sink := newStallingWriter(store)
	defer sink.release()
	c, logs := startLogged(t, cfg, sink)

	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := coltracepb.NewTraceServiceClient(conn)

	const perRequest = 20
	var acked []spanSpec
	var sentTraces [][]byte
	next := 0
	batch := func() []spanSpec {
		var out []spanSpec
		for range perRequest {
			s := validSpan(next)
			s.traceID[2], s.traceID[3] = byte(next>>16), byte(next>>24)
			s.spanID[2] = byte(next >> 16)
			out = append(out, s)
			sentTraces = append(sentTraces, s.traceID)
			next++
		}
		return out
	}

	// gRPC: send until pushed back. The WAL holds at most 128 KiB, so this
	// takes a few hundred requests at most.
	var pushedBack error
	for i := 0; i < 2000 && pushedBack == nil; i++ {
		spans := batch()
		if _, err := client.Export(context.Background(), requestMsg("svc", spans...)); err != nil {
			pushedBack = err
			break
		}
		acked = append(acked, spans...)
	}
	if pushedBack == nil {
		t.Fatal("no backpressure after 2000 requests with a stalled sink")
	}
	st := status.Convert(pushedBack)
	if st.Code() != codes.Unavailable {
		t.Fatalf("pushed back with %v, want Unavailable", pushedBack)
	}
	var retryInfo *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retryInfo = ri
		}
	}
	if retryInfo == nil || retryInfo.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("no RetryInfo with a delay in %v", st.Details())
	}

	// HTTP is pushed back too.
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(request(t, "svc", batch()...)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP while full: got %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Memory and disk stayed within their caps.
	if got, limit := dirSize(t, cfg.WAL.Dir), cfg.WAL.MaxBytes+cfg.WAL.SegmentSize; got > limit {
		t.Errorf("WAL dir holds %d bytes, cap %d (+ one segment)", got, cfg.WAL.MaxBytes)
	}
	m := metricsOf(t, c)
	if got := m["tracer_collector_inflight_bytes"]; got > float64(cfg.Limits.MaxInflightBytes) {
		t.Errorf("in-flight bytes %v over the cap %d", got, cfg.Limits.MaxInflightBytes)
	}
	if got := m[`tracer_collector_backpressure_total{transport="grpc"}`]; got < 1 {
		t.Errorf("backpressure_total{grpc} = %v, want >= 1", got)
	}
	if got := m[`tracer_collector_backpressure_total{transport="http"}`]; got < 1 {
		t.Errorf("backpressure_total{http} = %v, want >= 1", got)
	}
	sink.mu.Lock()
	seen := sink.maxSeen
	sink.mu.Unlock()
	if seen > cfg.Batch.Size+perRequest {
		t.Errorf("the pipeline held a batch of %d spans, want at most %d", seen, cfg.Batch.Size+perRequest)
	}

	// The full WAL is logged once for the episode, not per request.
	if got := logs.Lines("wal: full"); len(got) != 1 {
		t.Errorf("%d log lines say the wal is full, want 1: %q", len(got), got)
	}

	// The sink recovers: everything acknowledged is written.
	sink.release()
	shutdown(t, c)
	got := storedSpans(t, store, sentTraces...)
	for _, s := range acked {
		var id storage.TraceID
		copy(id[:], s.traceID)
		var sid storage.SpanID
		copy(sid[:], s.spanID)
		if _, ok := got[id.String()+"/"+sid.String()]; !ok {
			t.Fatalf("acknowledged span %s/%s not stored (of %d acknowledged, %d stored)", id, sid, len(acked), len(got))
		}
	}
	if len(got) != len(acked) {
		t.Errorf("stored %d spans, acknowledged %d", len(got), len(acked))
	}
}

// TestInflightCap: while one HTTP request holds the whole in-flight budget
// (its body still arriving), other requests get retryable errors over HTTP
// and gRPC; the first one completes and is stored.
func TestInflightCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxRequestBytes = 64 << 10
	cfg.Limits.MaxInflightBytes = 64 << 10
	store := memory.New()
	defer store.Close()
	c := startCollector(t, cfg, store)

	// Request 1: a chunked body (unknown length reserves the limit) that
	// the test writes only after the others were refused.
	body := request(t, "svc", validSpan(1))
	pr, pw := io.Pipe()
	first := make(chan *http.Response, 1)
	go func() {
		defer close(first)
		resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", pr)
		if err != nil {
			t.Errorf("first request: %v", err)
			return
		}
		first <- resp
	}()
	held := false
	for i := 0; i < 1000 && !held; i++ { // at most ~10s
		held = metricsOf(t, c)["tracer_collector_inflight_bytes"] >= float64(cfg.Limits.MaxInflightBytes)
		if !held {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !held {
		pw.CloseWithError(io.ErrUnexpectedEOF)
		<-first
		t.Fatal("the first request never reserved the in-flight budget")
	}

	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(request(t, "svc", validSpan(2))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP over the cap: got %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = coltracepb.NewTraceServiceClient(conn).Export(context.Background(), requestMsg("svc", validSpan(3)))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC over the cap: got %v, want Unavailable", err)
	}

	pw.Write(body)
	pw.Close()
	resp1 := <-first
	if resp1 == nil {
		t.Fatal("first request failed")
	}
	resp1.Body.Close()
	if resp1.StatusCode != http.StatusOK {
		t.Errorf("first request: got %d, want 200", resp1.StatusCode)
	}
	shutdown(t, c)
	assertStored(t, storedSpans(t, store, validSpan(1).traceID, validSpan(2).traceID, validSpan(3).traceID), []spanSpec{validSpan(1)})
}
