package send

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// request is an ExportTraceServiceRequest with n spans in wire form.
func request(t testing.TB, n int) []byte {
	t.Helper()
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		spans[i] = &tracepb.Span{
			TraceId:           bytes.Repeat([]byte{byte(i + 1)}, 16),
			SpanId:            bytes.Repeat([]byte{byte(i + 1)}, 8),
			Name:              "GET /api/items",
			Kind:              tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: uint64(1_700_000_000_000_000_000 + i*1000),
			EndTimeUnixNano:   uint64(1_700_000_000_000_500_000 + i*1000),
			Attributes: []*commonpb.KeyValue{
				{Key: "http.request.method", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "GET"}}},
				{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}},
			},
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "checkout"}}},
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "test"}, Spans: spans}},
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer is what a test server says to its n-th request (from 0); ctx is
// the request's, for answers that hang.
type answer func(ctx context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error)

func ok() answer {
	return func(context.Context, int) (*coltracepb.ExportTraceServiceResponse, error) {
		return &coltracepb.ExportTraceServiceResponse{}, nil
	}
}

// grpcServer is a real OTLP/gRPC TraceService on 127.0.0.1, built on the
// generated server, that records the raw bytes of every request.
type grpcServer struct {
	coltracepb.UnimplementedTraceServiceServer
	addr string

	mu      sync.Mutex
	answer  answer
	bodies  [][]byte
	md      []metadata.MD
	srv     *grpc.Server
	stopped bool
}

// recordingCodec is the proto codec that also keeps each request's wire
// bytes, so tests see exactly what arrived.
type recordingCodec struct {
	encoding.CodecV2
	s *grpcServer
}

func (c recordingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	c.s.mu.Lock()
	c.s.bodies = append(c.s.bodies, data.Materialize())
	c.s.mu.Unlock()
	return c.CodecV2.Unmarshal(data, v)
}

func startGRPC(t testing.TB, a answer) *grpcServer {
	t.Helper()
	s := &grpcServer{answer: a}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *grpcServer) start(t testing.TB, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // a restarted server's port may be in TIME_WAIT briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(recordingCodec{CodecV2: encoding.GetCodecV2("proto"), s: s}))
	coltracepb.RegisterTraceServiceServer(srv, s)
	s.mu.Lock()
	s.addr, s.srv, s.stopped = ln.Addr().String(), srv, false
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop stops the server (abruptly: hanging requests are cut).
func (s *grpcServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.stopped = true
	s.mu.Unlock()
	srv.Stop()
}

func (s *grpcServer) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	n := len(s.md)
	s.md = append(s.md, md)
	a := s.answer
	s.mu.Unlock()
	return a(ctx, n)
}

func (s *grpcServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.md)
}

func (s *grpcServer) body(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}

func (s *grpcServer) metadata(i int) metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.md[i]
}

func (s *grpcServer) endpoint() Endpoint {
	return Endpoint{Address: s.addr, Protocol: GRPC, Insecure: true}
}

// httpAnswer is what a test HTTP server says to its n-th request.
type httpAnswer func(ctx context.Context, n int) (status int, header http.Header, body []byte)

// httpServer is a real OTLP/HTTP server on 127.0.0.1.
type httpServer struct {
	addr string
	srv  *http.Server

	mu      sync.Mutex
	answer  httpAnswer
	bodies  [][]byte
	headers []http.Header
	paths   []string
}

func startHTTP(t testing.TB, a httpAnswer) *httpServer {
	t.Helper()
	s := &httpServer{answer: a}
	s.start(t, "127.0.0.1:0", nil)
	t.Cleanup(s.stop)
	return s
}

// start serves on addr (again, after stop), with TLS when cfg is set.
func (s *httpServer) start(t testing.TB, addr string, cfg *tls.Config) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection.
func (s *httpServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	_ = srv.Close()
}

func (s *httpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, body)
	s.headers = append(s.headers, r.Header.Clone())
	s.paths = append(s.paths, r.Method+" "+r.URL.Path)
	a := s.answer
	s.mu.Unlock()
	status, h, out := a(r.Context(), n)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (s *httpServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// request is the i-th request's decompressed body, headers and "METHOD path".
func (s *httpServer) request(i int) ([]byte, http.Header, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i], s.headers[i], s.paths[i]
}

func (s *httpServer) endpoint() Endpoint {
	return Endpoint{Address: "http://" + s.addr, Protocol: HTTPProtobuf}
}

// httpOK answers 200 with an empty protobuf response, as the OTel Collector
// does.
func httpOK() httpAnswer {
	return func(context.Context, int) (int, http.Header, []byte) {
		return http.StatusOK, http.Header{"Content-Type": {contentTypeProto}}, nil
	}
}

// closedPort is an address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeClock is time that moves only when a Send sleeps (or the test says
// so); it records each sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	block  bool // Sleep waits for wake (time stands still)
}

// blockSleeps makes Sleep wait for its wake channel, ctx or done, as if
// time stood still.
func (c *fakeClock) blockSleeps() {
	c.mu.Lock()
	c.block = true
	c.mu.Unlock()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration, done, wake <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-done:
		return false
	default:
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	block := c.block
	if !block {
		c.now = c.now.Add(d)
	}
	c.mu.Unlock()
	if block {
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		case <-done:
			return false
		}
	}
	return true
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newTestSender is a Sender on clk with quiet logs, closed at the end.
func newTestSender(t testing.TB, cfg Config, clk clock) *Sender {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	s, err := newSender(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
