package interceptors_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// mode is how a service is instrumented.
type mode string

const (
	statsMode       mode = "stats"
	interceptorMode mode = "interceptors"
)

// service is one process of a test: a provider, and optionally a gRPC
// server on a loopback port.
type service struct {
	name     string
	mode     mode
	tp       *sdktrace.TracerProvider
	spans    *tracetest.InMemoryExporter
	prop     otelprop.TextMapPropagator
	addr     string
	server   *grpc.Server
	impl     *testServer
	extra    []interceptors.Option // added to the instrumentation's options
	register []func(*grpc.Server)  // more services to serve
}

func newService(t *testing.T, name string, m mode) *service {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithServiceName(name), sdk.WithNodeID(name),
		sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &service{name: name, mode: m, tp: tp, spans: exp, prop: propagation.Default()}
}

func (s *service) opts() []interceptors.Option {
	return append([]interceptors.Option{interceptors.WithTracerProvider(s.tp), interceptors.WithPropagators(s.prop), interceptors.WithMessageEvents(true)}, s.extra...)
}

// serve starts the test service on 127.0.0.1.
func (s *service) serve(t *testing.T, impl *testServer) {
	t.Helper()
	var opts []grpc.ServerOption
	if s.mode == statsMode {
		opts = interceptors.ServerOptions(s.opts()...)
	} else {
		opts = append(opts, grpc.ChainUnaryInterceptor(interceptors.UnaryServerInterceptor(s.opts()...)),
			grpc.ChainStreamInterceptor(interceptors.StreamServerInterceptor(s.opts()...)))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.server = grpc.NewServer(opts...)
	impl.tracer = s.tp.Tracer("handler")
	s.impl = impl
	testpb.RegisterTestServiceServer(s.server, impl)
	s.addr = lis.Addr().String()
	for _, register := range s.register {
		register(s.server)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.server.Serve(lis)
	}()
	t.Cleanup(func() {
		s.server.Stop()
		<-done
	})
}

// dial returns a client of target instrumented by s.
func (s *service) dial(t *testing.T, target *service) testpb.TestServiceClient {
	t.Helper()
	return testpb.NewTestServiceClient(s.conn(t, target))
}

// conn returns a connection to target instrumented by s.
func (s *service) conn(t *testing.T, target *service) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if s.mode == statsMode {
		opts = append(opts, grpc.WithStatsHandler(interceptors.NewClientHandler(s.opts()...)))
	} else {
		opts = append(opts, grpc.WithChainUnaryInterceptor(interceptors.UnaryClientInterceptor(s.opts()...)),
			grpc.WithChainStreamInterceptor(interceptors.StreamClientInterceptor(s.opts()...)))
	}
	conn, err := grpc.NewClient("passthrough:///"+target.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitSpans waits (bounded) until s has recorded n spans: server spans end
// after the response is on its way, so the client may see it first.
func (s *service) waitSpans(t *testing.T, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans := s.spans.GetSpans().Snapshots()
		if len(spans) >= n || time.Now().After(deadline) {
			if len(spans) != n {
				var names []string
				for _, sp := range spans {
					names = append(names, sp.Name())
				}
				t.Fatalf("%s recorded %d spans %v, want %d", s.name, len(spans), names, n)
			}
			return spans
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testServer implements the gRPC interop test service. The request payload
// says what to do.
type testServer struct {
	testpb.UnimplementedTestServiceServer
	tracer  trace.Tracer
	next    testpb.TestServiceClient // downstream service, if any
	barrier *barrier
	arrived chan struct{} // told when a "block" call is in the handler
}

func body(req *testpb.SimpleRequest) string { return string(req.GetPayload().GetBody()) }

func payload(s string) *testpb.Payload { return &testpb.Payload{Body: []byte(s)} }

func (s *testServer) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	_, work := s.tracer.Start(ctx, "work")
	work.End()
	switch body(req) {
	case "chain":
		if _, err := s.next.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("leaf")}); err != nil {
			return nil, err
		}
	case "barrier":
		if err := s.barrier.wait(ctx); err != nil {
			return nil, err
		}
	case "send-header":
		if err := grpc.SendHeader(ctx, metadata.Pairs("x-early", "1")); err != nil {
			return nil, err
		}
	case "not-found":
		return nil, status.Error(codes.NotFound, "no such thing")
	case "internal":
		return nil, status.Error(codes.Internal, "it broke")
	case "block":
		if s.arrived != nil {
			s.arrived <- struct{}{}
		}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &testpb.SimpleResponse{Payload: payload("ok")}, nil
}

func (s *testServer) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for i := range 3 {
		_, work := s.tracer.Start(stream.Context(), "produce")
		work.End()
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: payload(string(rune('a' + i)))}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testServer) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	total := 0
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			_, work := s.tracer.Start(stream.Context(), "sum")
			work.End()
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

func (s *testServer) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		_, work := s.tracer.Start(stream.Context(), "echo")
		work.End()
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// barrier holds calls until n of them arrived, so that fan-out branches
// really overlap.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, arrived: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.arrived)
	}
	b.mu.Unlock()
	select {
	case <-b.arrived:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// find returns the span named name of kind k.
func find(t *testing.T, spans []sdktrace.ReadOnlySpan, name string, k trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name && s.SpanKind() == k {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d spans %q of kind %v, want 1", len(found), name, k)
	}
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

// clockAt rebuilds a span's clock at its start, or at its end.
func clockAt(t *testing.T, s sdktrace.ReadOnlySpan, end bool) vclock.Clock {
	t.Helper()
	a := attrs(s)
	tick, deps := a[vclock.AttrTick], a[vclock.AttrDeps]
	if end {
		if et, ok := a[vclock.AttrEndTick]; ok {
			tick = et
			if ed, ok := a[vclock.AttrEndDeps]; ok {
				deps = ed
			}
		}
	}
	c, err := vclock.Compose(a[vclock.AttrNode].AsString(), uint64(tick.AsInt64()), deps.AsString())
	if err != nil {
		t.Fatalf("span %q clock: %v", s.Name(), err)
	}
	return c
}
