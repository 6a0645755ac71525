package interceptors_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tracerdev/tracer/vclock"
)

// otelgrpcServe starts the test service instrumented with otelgrpc.
func otelgrpcServe(t *testing.T, s *service) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.server = grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(s.tp), otelgrpc.WithPropagators(otelprop.TraceContext{}))))
	testpb.RegisterTestServiceServer(s.server, &testServer{tracer: s.tp.Tracer("handler")})
	s.addr = lis.Addr().String()
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

func TestInteropWithOtelgrpc(t *testing.T) {
	t.Run("otelgrpc client, our server", func(t *testing.T) {
		a, b := newService(t, "a", statsMode), newService(t, "b", statsMode)
		b.serve(t, &testServer{})
		conn, err := grpc.NewClient("passthrough:///"+b.addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStatsHandler(otelgrpc.NewClientHandler(
				otelgrpc.WithTracerProvider(a.tp), otelgrpc.WithPropagators(otelprop.TraceContext{}))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, root := a.tp.Tracer("a").Start(context.Background(), "root")
		if _, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
		root.End()
		cs := find(t, a.waitSpans(t, 2), unary, trace.SpanKindClient)
		bSpans := b.waitSpans(t, 2)
		ss := find(t, bSpans, unary, trace.SpanKindServer)
		if ss.SpanContext().TraceID() != root.SpanContext().TraceID() || ss.Parent().SpanID() != cs.SpanContext().SpanID() {
			t.Errorf("our server span is not the child of otelgrpc's client span")
		}
		// No clock came with the call: the server's clock has only its own entry.
		if c := clockAt(t, ss, false); c.Len() != 1 {
			t.Errorf("server clock %v, want only its own entry", c)
		}
		work := find(t, bSpans, "work", trace.SpanKindInternal)
		if work.Parent().SpanID() != ss.SpanContext().SpanID() {
			t.Error("handler span is not the child of the server span")
		}
	})
	t.Run("our client, otelgrpc server", func(t *testing.T) {
		a, b := newService(t, "a", statsMode), newService(t, "b", statsMode)
		otelgrpcServe(t, b)
		client := a.dial(t, b)
		ctx, root := a.tp.Tracer("a").Start(context.Background(), "root")
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
		root.End()
		cs := find(t, a.waitSpans(t, 2), unary, trace.SpanKindClient)
		bSpans := b.waitSpans(t, 2)
		ss := find(t, bSpans, unary, trace.SpanKindServer)
		if ss.SpanContext().TraceID() != root.SpanContext().TraceID() || ss.Parent().SpanID() != cs.SpanContext().SpanID() {
			t.Errorf("otelgrpc's server span is not the child of our client span")
		}
		// The server's process has our SDK's clock processor but otelgrpc sends no
		// clock back: the client span's clock stays A's own.
		if c := clockAt(t, cs, true); c.Get("b") != 0 {
			t.Errorf("client end clock %v has an entry from the server", c)
		}
		if got := vclock.Compare(clockAt(t, find(t, a.spans.GetSpans().Snapshots(), "root", trace.SpanKindInternal), false), clockAt(t, cs, false)); got != vclock.Before {
			t.Errorf("root vs client span = %v, want before", got)
		}
	})
}

// TestInteropAttributes makes mixed calls in both directions (our client
// and otelgrpc's server, otelgrpc's client and our server) under each
// OTEL_SEMCONV_STABILITY_OPT_IN choice, and compares the two sides' span
// attributes key by key: the same keys, the same values. Ours may add only
// network.peer.* and the clock's attributes.
func TestInteropAttributes(t *testing.T) {
	for _, semconv := range []string{"", "rpc/old", "rpc/dup", "http, rpc/old"} {
		for _, dir := range []string{"our client, otelgrpc server", "otelgrpc client, our server"} {
			for _, body := range []string{"ok", "not-found"} {
				t.Run(semconv+"/"+dir+"/"+body, func(t *testing.T) {
					t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", semconv)
					a, b := newService(t, "a", statsMode), newService(t, "b", statsMode)
					var client testpb.TestServiceClient
					if dir == "our client, otelgrpc server" {
						otelgrpcServe(t, b)
						client = a.dial(t, b)
					} else {
						b.serve(t, &testServer{})
						conn, err := grpc.NewClient("passthrough:///"+b.addr,
							grpc.WithTransportCredentials(insecure.NewCredentials()),
							grpc.WithStatsHandler(otelgrpc.NewClientHandler(
								otelgrpc.WithTracerProvider(a.tp), otelgrpc.WithPropagators(otelprop.TraceContext{}))))
						if err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { _ = conn.Close() })
						client = testpb.NewTestServiceClient(conn)
					}
					_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: payload(body)})
					cs := find(t, a.waitSpans(t, 1), unary, trace.SpanKindClient)
					ss := find(t, b.waitSpans(t, 2), unary, trace.SpanKindServer)
					ours, theirs := attrs(cs), attrs(ss)
					if dir != "our client, otelgrpc server" {
						ours, theirs = theirs, ours
					}
					for k := range ours {
						if strings.HasPrefix(string(k), "tracer.vc.") || strings.HasPrefix(string(k), "network.peer.") {
							delete(ours, k)
						}
					}
					for k := range theirs {
						if strings.HasPrefix(string(k), "tracer.vc.") {
							delete(theirs, k)
						}
					}
					for k, v := range theirs {
						if got, ok := ours[k]; !ok || got != v {
							t.Errorf("%s: ours %v, otelgrpc's %v", k, got.String(), v.String())
						}
					}
					for k, v := range ours {
						if _, ok := theirs[k]; !ok {
							t.Errorf("%s: ours %v, otelgrpc sets none", k, v.String())
						}
					}
					if len(theirs) < 4 {
						t.Errorf("otelgrpc's span has only %v", theirs)
					}
				})
			}
		}
	}
}
