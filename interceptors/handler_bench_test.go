package interceptors_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/internal/cputime"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// BenchmarkHandlers measures the stats handlers alone, without gRPC: the
// events of one unary call on the client and the server handler, in one
// goroutine, with what the client injects handed to the server as its
// incoming metadata (and the clock in the trailer, for Tracer's client to
// merge). It is the instrumentation's own CPU, steadier on a loaded machine
// than BenchmarkUnaryCall's, but without what gRPC charges any stats handler
// (see noop-stats there) nor the transport's work on the extra headers.
func BenchmarkHandlers(b *testing.B) {
	tp, err := sdk.New(context.Background(), sdk.WithoutExporter(), sdk.WithSpanProcessor(discard{}),
		sdk.WithSampler(sdktrace.AlwaysSample()), sdk.WithNodeID("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	prop := propagation.Default()
	ours := []interceptors.Option{interceptors.WithTracerProvider(tp), interceptors.WithPropagators(prop)}
	cases := []struct {
		name           string
		client, server stats.Handler
	}{
		{"otelgrpc",
			otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop)),
			otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop))},
		{"tracer", interceptors.NewClientHandler(ours...), interceptors.NewServerHandler(ours...)},
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50051}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	const method = "/grpc.testing.TestService/UnaryCall"
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			sconn := bc.server.TagConn(context.Background(), &stats.ConnTagInfo{LocalAddr: local, RemoteAddr: remote})
			cconn := bc.client.TagConn(context.Background(), &stats.ConnTagInfo{LocalAddr: remote, RemoteAddr: local})
			root, span := tp.Tracer("bench").Start(cconn, "root")
			defer span.End()
			clock, _ := propagation.NewVClock().ResponseClock(root)
			trailer := metadata.MD{propagation.Header: []string{clock}}
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				now := time.Now()
				ctx := bc.client.TagRPC(root, &stats.RPCTagInfo{FullMethodName: method})
				bc.client.HandleRPC(ctx, &stats.Begin{Client: true, BeginTime: now})
				out, _ := metadata.FromOutgoingContext(ctx) // as gRPC does for a stats handler
				bc.client.HandleRPC(ctx, &stats.OutHeader{Client: true, FullMethod: method, RemoteAddr: local, Header: out, Authority: "127.0.0.1:50051"})

				sctx := metadata.NewIncomingContext(sconn, out)
				sctx = bc.server.TagRPC(sctx, &stats.RPCTagInfo{FullMethodName: method})
				bc.server.HandleRPC(sctx, &stats.InHeader{FullMethod: method, RemoteAddr: remote, LocalAddr: local, Header: out})
				bc.server.HandleRPC(sctx, &stats.End{BeginTime: now, EndTime: now})

				bc.client.HandleRPC(ctx, &stats.InHeader{Client: true, Header: metadata.MD{}})
				bc.client.HandleRPC(ctx, &stats.InTrailer{Client: true, Trailer: trailer})
				bc.client.HandleRPC(ctx, &stats.End{Client: true, BeginTime: now, EndTime: now})
			}
			cputime.Report(b, start)
		})
	}
}
