package interceptors_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/vclock"
)

const unary = "grpc.testing.TestService/UnaryCall"

func TestChainAndFanOut(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			a, b, c := newService(t, "a", m), newService(t, "b", m), newService(t, "c", m)
			fan := newBarrier(2)
			c.serve(t, &testServer{barrier: fan})
			bImpl := &testServer{barrier: fan}
			b.serve(t, bImpl)
			bImpl.next = b.dial(t, c)
			toB, toC := a.dial(t, b), a.dial(t, c)

			tracer := a.tp.Tracer("a")
			ctx, root := tracer.Start(context.Background(), "a.root")
			if _, err := toB.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("chain")}); err != nil {
				t.Fatal(err)
			}
			_, after := tracer.Start(ctx, "a.after")
			after.End()

			// Fan out: both calls are in flight at once (the servers wait for each other).
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, client := range []testpb.TestServiceClient{toB, toC} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("barrier")})
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			root.End()

			aSpans := a.waitSpans(t, 5) // root, call to B, after, two fan-out calls
			bSpans := b.waitSpans(t, 5) // chain: server, work, call to C; fan-out: server, work
			cSpans := c.waitSpans(t, 4) // 2 server, 2 work

			// The chain: parents, kinds, attributes.
			var aCalls, bServers, cServers []sdktrace.ReadOnlySpan
			for _, s := range aSpans {
				if s.SpanKind() == trace.SpanKindClient {
					aCalls = append(aCalls, s)
				}
			}
			for _, s := range bSpans {
				if s.SpanKind() == trace.SpanKindServer {
					bServers = append(bServers, s)
				}
			}
			for _, s := range cSpans {
				if s.SpanKind() == trace.SpanKindServer {
					cServers = append(cServers, s)
				}
			}
			if len(aCalls) != 3 || len(bServers) != 2 || len(cServers) != 2 {
				t.Fatalf("client spans in A %d (want 3), server spans in B %d (want 2), in C %d (want 2)", len(aCalls), len(bServers), len(cServers))
			}
			bClient := find(t, bSpans, unary, trace.SpanKindClient)
			traceID := root.SpanContext().TraceID()
			for _, s := range append(append(append(aCalls, bServers...), cServers...), bClient) {
				if s.SpanContext().TraceID() != traceID {
					t.Errorf("span %s %v is in another trace", s.Name(), s.SpanKind())
				}
				if s.Name() != unary {
					t.Errorf("span name %q, want %q", s.Name(), unary)
				}
				at := attrs(s)
				if at["rpc.system.name"].AsString() != "grpc" || at["rpc.method"].AsString() != unary {
					t.Errorf("%v span rpc attributes: %v", s.SpanKind(), at)
				}
				if at["rpc.response.status_code"].AsString() != "OK" {
					t.Errorf("%v span status attributes: %v", s.SpanKind(), at)
				}
				if at["server.address"].AsString() != "127.0.0.1" || at["server.port"].AsInt64() == 0 {
					t.Errorf("%v span server address: %v:%v", s.SpanKind(), at["server.address"].String(), at["server.port"].String())
				}
				if s.Status().Code != codes.Unset {
					t.Errorf("%v span status %v, want unset", s.SpanKind(), s.Status())
				}
			}
			for _, s := range bServers {
				if attrs(s)["network.peer.address"].AsString() != "127.0.0.1" {
					t.Errorf("server span lacks the peer address: %v", attrs(s))
				}
				if !s.Parent().IsRemote() {
					t.Error("server span's parent is not remote")
				}
			}
			// B's chain server span is the child of A's first call; C's of B's call.
			chainB := parentOf(t, bServers, aCalls)
			chainC := parentOf(t, cServers, []sdktrace.ReadOnlySpan{bClient})
			if bClient.Parent().SpanID() != chainB.SpanContext().SpanID() {
				t.Error("B's client span is not the child of its server span")
			}

			// Clocks: the causal order of the chain...
			order := func(x, y sdktrace.ReadOnlySpan, want vclock.Order) {
				t.Helper()
				if got := vclock.Compare(clockAt(t, x, false), clockAt(t, y, false)); got != want {
					t.Errorf("%s(%s) vs %s(%s) = %v, want %v", x.Name(), clockAt(t, x, false), y.Name(), clockAt(t, y, false), got, want)
				}
			}
			order(find(t, aSpans, "a.root", trace.SpanKindInternal), chainB, vclock.Before)
			order(chainB, chainC, vclock.Before)
			order(chainC, find(t, aSpans, "a.after", trace.SpanKindInternal), vclock.Before)
			// ...the caller's span ends after all the callee did...
			if got := vclock.Compare(clockAt(t, chainC, false), clockAt(t, parentSpan(t, aCalls, chainB), true)); got != vclock.Before {
				t.Errorf("C's server span vs the end of A's call = %v, want before", got)
			}
			// ...and the fan-out branches are concurrent.
			var fanB, fanC sdktrace.ReadOnlySpan
			for _, s := range bServers {
				if s.SpanContext().SpanID() != chainB.SpanContext().SpanID() {
					fanB = s
				}
			}
			for _, s := range cServers {
				if s.SpanContext().SpanID() != chainC.SpanContext().SpanID() {
					fanC = s
				}
			}
			order(fanB, fanC, vclock.Concurrent)
		})
	}
}

// parentOf returns the one span of children whose parent is in parents.
func parentOf(t *testing.T, children, parents []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, c := range children {
		for _, p := range parents {
			if c.Parent().SpanID() == p.SpanContext().SpanID() {
				return c
			}
		}
	}
	t.Fatal("no child span of the given parents")
	return nil
}

// parentSpan returns the span of parents that is child's parent.
func parentSpan(t *testing.T, parents []sdktrace.ReadOnlySpan, child sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, p := range parents {
		if p.SpanContext().SpanID() == child.Parent().SpanID() {
			return p
		}
	}
	t.Fatal("parent span not found")
	return nil
}

func TestStreaming(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			a, b := newService(t, "a", m), newService(t, "b", m)
			b.serve(t, &testServer{})
			client := a.dial(t, b)
			tracer := a.tp.Tracer("a")
			ctx, root := tracer.Start(context.Background(), "root")

			// Server streaming.
			out, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				_, err := out.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 3 {
				t.Fatalf("received %d messages, want 3", n)
			}
			// Client streaming.
			in, err := client.StreamingInputCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"ab", "cde"} {
				if err := in.Send(&testpb.StreamingInputCallRequest{Payload: payload(s)}); err != nil {
					t.Fatal(err)
				}
			}
			if resp, err := in.CloseAndRecv(); err != nil || resp.GetAggregatedPayloadSize() != 5 {
				t.Fatalf("CloseAndRecv = %v, %v", resp, err)
			}
			// Both directions.
			bidi, err := client.FullDuplexCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"x", "y"} {
				if err := bidi.Send(&testpb.StreamingOutputCallRequest{Payload: payload(s)}); err != nil {
					t.Fatal(err)
				}
				if _, err := bidi.Recv(); err != nil {
					t.Fatal(err)
				}
			}
			if err := bidi.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := bidi.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("bidi end: %v, want EOF", err)
			}
			_, after := tracer.Start(ctx, "after")
			after.End()
			root.End()

			aSpans := a.waitSpans(t, 5)
			bSpans := b.waitSpans(t, 3+3+1+2) // 3 server spans, 3 produce, 1 sum, 2 echo
			for _, method := range []string{"StreamingOutputCall", "StreamingInputCall", "FullDuplexCall"} {
				name := "grpc.testing.TestService/" + method
				cs := find(t, aSpans, name, trace.SpanKindClient)
				ss := find(t, bSpans, name, trace.SpanKindServer)
				if ss.Parent().SpanID() != cs.SpanContext().SpanID() {
					t.Errorf("%s: server span is not the child of the client span", method)
				}
				for _, s := range []sdktrace.ReadOnlySpan{cs, ss} {
					if got := attrs(s)["rpc.response.status_code"].AsString(); got != "OK" {
						t.Errorf("%s %v: status %q, want OK", method, s.SpanKind(), got)
					}
					var sent, recv int
					for _, e := range s.Events() {
						if e.Name != "message" {
							continue
						}
						for _, at := range e.Attributes {
							if at.Key == "rpc.message.type" && at.Value.AsString() == "SENT" {
								sent++
							} else if at.Key == "rpc.message.type" {
								recv++
							}
						}
					}
					if sent == 0 || recv == 0 {
						t.Errorf("%s %v: %d sent and %d received message events", method, s.SpanKind(), sent, recv)
					}
				}
				// The server's clock came back: A's later span follows the server span.
				if got := vclock.Compare(clockAt(t, ss, false), clockAt(t, find(t, aSpans, "after", trace.SpanKindInternal), false)); got != vclock.Before {
					t.Errorf("%s server span vs A's later span: %v, want before", method, got)
				}
			}
			// The client span of a stream ends after the server's work in it.
			cs := find(t, aSpans, "grpc.testing.TestService/StreamingInputCall", trace.SpanKindClient)
			sum := find(t, bSpans, "sum", trace.SpanKindInternal)
			if got := vclock.Compare(clockAt(t, sum, false), clockAt(t, cs, true)); got != vclock.Before {
				t.Errorf("server's work vs end of the client stream span: %v, want before", got)
			}
		})
	}
}

func TestErrorsAndCancellation(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		timeout    time.Duration
		cancel     bool
		code       grpccodes.Code
		clientErr  bool
		serverErr  bool
		codeString string
	}{
		{name: "not found", body: "not-found", code: grpccodes.NotFound, clientErr: true, serverErr: false, codeString: "NOT_FOUND"},
		{name: "internal", body: "internal", code: grpccodes.Internal, clientErr: true, serverErr: true, codeString: "INTERNAL"},
		{name: "deadline", body: "block", timeout: time.Second, code: grpccodes.DeadlineExceeded, clientErr: true, serverErr: true, codeString: "DEADLINE_EXCEEDED"},
		{name: "cancelled", body: "block", cancel: true, code: grpccodes.Canceled, clientErr: true, serverErr: false, codeString: "CANCELLED"},
	}
	for _, m := range []mode{statsMode, interceptorMode} {
		for _, tt := range tests {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				a, b := newService(t, "a", m), newService(t, "b", m)
				arrived := make(chan struct{}, 1)
				b.serve(t, &testServer{arrived: arrived})
				client := a.dial(t, b)
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if tt.timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				} else if tt.cancel {
					ctx, cancel = context.WithCancel(ctx)
					go func() {
						select { // cancel once the server is in the handler
						case <-arrived:
						case <-time.After(10 * time.Second):
						}
						cancel()
					}()
				}
				defer cancel()
				_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload(tt.body)})
				if got := status.Code(err); got != tt.code {
					t.Fatalf("call returned %v, want %v", got, tt.code)
				}
				cs := find(t, a.waitSpans(t, 1), unary, trace.SpanKindClient)
				ss := find(t, b.waitSpans(t, 2), unary, trace.SpanKindServer)
				// The client's view is exact.
				if cs.Status().Code != codes.Error {
					t.Errorf("client span status %v, want error", cs.Status())
				}
				if got := attrs(cs)["rpc.response.status_code"].AsString(); got != tt.codeString {
					t.Errorf("client span status code %q, want %q", got, tt.codeString)
				}
				// The server sees a call the client gave up on as cancelled or past its
				// deadline, depending on which it notices first; its status must follow
				// the server rules for the code it saw.
				serverCode := attrs(ss)["rpc.response.status_code"].AsString()
				want := []string{tt.codeString}
				if tt.timeout > 0 || tt.cancel {
					want = []string{"DEADLINE_EXCEEDED", "CANCELLED"}
				}
				if !slices.Contains(want, serverCode) {
					t.Errorf("server span status code %v, want one of %v", serverCode, want)
				}
				wantErr := tt.serverErr
				if tt.timeout > 0 || tt.cancel {
					wantErr = serverCode == "DEADLINE_EXCEEDED"
				}
				if got := ss.Status().Code == codes.Error; got != wantErr {
					t.Errorf("server span status %v with code %v, want error=%v", ss.Status(), serverCode, wantErr)
				}
			})
		}
	}
}

// A stream the caller gives up on by cancelling ends its span as Canceled
// (it was Unknown in interceptor mode: the context's error is not a status).
func TestStreamAbandonedByCancel(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			a, b := newService(t, "a", m), newService(t, "b", m)
			b.serve(t, &testServer{})
			client := a.dial(t, b)
			ctx, cancel := context.WithCancel(context.Background())
			stream, err := client.FullDuplexCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: payload("x")}); err != nil {
				t.Fatal(err)
			}
			cancel() // the caller walks away without reading to the end
			cs := find(t, a.waitSpans(t, 1), "grpc.testing.TestService/FullDuplexCall", trace.SpanKindClient)
			if cs.Status().Code != codes.Error {
				t.Errorf("abandoned stream span status %v, want error", cs.Status())
			}
			if got := attrs(cs)["rpc.response.status_code"].AsString(); got != "CANCELLED" {
				t.Errorf("abandoned stream status code %q, want CANCELLED", got)
			}
		})
	}
}

// server.address and server.port come from the dial target, not from the
// address it resolves to; network.peer.* is that address, in both modes.
func TestClientAddressesFromTarget(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			a, b := newService(t, "a", m), newService(t, "b", m)
			b.serve(t, &testServer{})
			r := manual.NewBuilderWithScheme("tracertest")
			r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: b.addr}}})
			opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithResolvers(r)}
			if m == statsMode {
				opts = append(opts, grpc.WithStatsHandler(interceptors.NewClientHandler(a.opts()...)))
			} else {
				opts = append(opts, grpc.WithChainUnaryInterceptor(interceptors.UnaryClientInterceptor(a.opts()...)),
					grpc.WithChainStreamInterceptor(interceptors.StreamClientInterceptor(a.opts()...)))
			}
			conn, err := grpc.NewClient("tracertest:///backend.example:4242", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := testpb.NewTestServiceClient(conn)
			if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for err == nil {
				_, err = stream.Recv()
			}
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(b.addr)
			spans := a.waitSpans(t, 2)
			for _, name := range []string{unary, "grpc.testing.TestService/StreamingOutputCall"} {
				at := attrs(find(t, spans, name, trace.SpanKindClient))
				if got := at["server.address"].AsString(); got != "backend.example" {
					t.Errorf("%s: server.address %q, want the target's backend.example", name, got)
				}
				if got := at["server.port"].AsInt64(); got != 4242 {
					t.Errorf("%s: server.port %d, want the target's 4242", name, got)
				}
				if got := at["network.peer.address"].AsString(); got != "127.0.0.1" {
					t.Errorf("%s: network.peer.address %q, want 127.0.0.1", name, got)
				}
				if got := at["network.peer.port"].String(); got != port {
					t.Errorf("%s: network.peer.port %s, want %s", name, got, port)
				}
			}
		})
	}
}

// Request metadata with two traceparent values starts a new trace; a
// tracestate split over several values is combined (the server's carrier
// gives the W3C propagator every value).
func TestRepeatedW3CMetadata(t *testing.T) {
	const (
		tp1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		tp2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	)
	tests := []struct {
		name      string
		md        []string
		wantTrace string // "" for a new trace
		wantState string
	}{
		{name: "two traceparent values", md: []string{"traceparent", tp1, "traceparent", tp2}},
		{name: "tracestate split", md: []string{"traceparent", tp1, "tracestate", "rojo=1", "tracestate", "congo=2,BAD"},
			wantTrace: "0af7651916cd43dd8448eb211c80319c", wantState: "rojo=1,congo=2"},
	}
	for _, m := range []mode{statsMode, interceptorMode} {
		for _, tt := range tests {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				b := newService(t, "b", m)
				b.serve(t, &testServer{})
				conn, err := grpc.NewClient("passthrough:///"+b.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				ctx := metadata.AppendToOutgoingContext(context.Background(), tt.md...)
				if _, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
					t.Fatal(err)
				}
				ss := find(t, b.waitSpans(t, 2), unary, trace.SpanKindServer)
				if tt.wantTrace == "" {
					if ss.Parent().IsValid() {
						t.Errorf("server span continued %v", ss.Parent())
					}
					return
				}
				if got := ss.Parent().TraceID().String(); got != tt.wantTrace {
					t.Errorf("server span's trace %s, want %s", got, tt.wantTrace)
				}
				if got := ss.Parent().TraceState().String(); got != tt.wantState {
					t.Errorf("tracestate %q, want %q", got, tt.wantState)
				}
			})
		}
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name          string
		filter        []interceptors.Option
		health, unary int // spans each call should make on each side
	}{
		{name: "default skips health checks", health: 0, unary: 1},
		{name: "nil filter traces everything", filter: []interceptors.Option{interceptors.WithFilter(nil)}, health: 1, unary: 1},
		{name: "custom filter", filter: []interceptors.Option{interceptors.WithFilter(
			interceptors.All(interceptors.DefaultFilter, interceptors.Not(func(m string) bool { return m == "/"+unary })))}, health: 0, unary: 0},
	}
	for _, m := range []mode{statsMode, interceptorMode} {
		for _, tt := range tests {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				a, b := newService(t, "a", m), newService(t, "b", m)
				a.extra, b.extra = tt.filter, tt.filter
				b.register = append(b.register, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, health.NewServer()) })
				b.serve(t, &testServer{})
				conn := a.conn(t, b)
				ctx, root := a.tp.Tracer("a").Start(context.Background(), "root")
				if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
					t.Fatal(err)
				}
				if _, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
					t.Fatal(err)
				}
				root.End()
				b.server.GracefulStop() // every server span has ended once it returns
				// A: root + client spans; B: server spans + the handler's "work" span.
				a.waitSpans(t, 1+tt.health+tt.unary)
				bSpans := b.waitSpans(t, tt.health+tt.unary+1)
				// A skipped server span still continues the caller's trace.
				work := find(t, bSpans, "work", trace.SpanKindInternal)
				if work.SpanContext().TraceID() != root.SpanContext().TraceID() {
					t.Error("the handler's span left the caller's trace")
				}
			})
		}
	}
}

// A context that already carries trace headers in its outgoing metadata (one
// passed on from another call) gets them replaced, not duplicated.
func TestStaleOutgoingMetadataReplaced(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			a, b := newService(t, "a", m), newService(t, "b", m)
			b.serve(t, &testServer{})
			client := a.dial(t, b)
			ctx := metadata.AppendToOutgoingContext(context.Background(),
				"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				propagation.Header, "stale:9", "authorization", "kept")
			ctx, root := a.tp.Tracer("a").Start(ctx, "root")
			if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			root.End()
			cs := find(t, a.waitSpans(t, 2), unary, trace.SpanKindClient)
			ss := find(t, b.waitSpans(t, 2), unary, trace.SpanKindServer)
			if ss.Parent().SpanID() != cs.SpanContext().SpanID() || ss.SpanContext().TraceID() != root.SpanContext().TraceID() {
				t.Errorf("server span's parent %v, want our client span %v", ss.Parent(), cs.SpanContext())
			}
			if c := clockAt(t, ss, false); c.Get("stale") != 0 {
				t.Errorf("server clock %v took the stale header", c)
			}
		})
	}
}
