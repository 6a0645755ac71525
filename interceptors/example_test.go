package interceptors_test

import (
	"context"
	"fmt"
	"net"
	"slices"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

type echoServer struct {
	testpb.UnimplementedTestServiceServer
}

func (echoServer) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// One line on each side: the server's options and the client's stats
// handler.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp, _ := sdk.New(context.Background(), sdk.WithNodeID("app"), sdk.WithExporter(spans), sdk.WithSyncExport())
	defer tp.Shutdown(context.Background())
	opts := []interceptors.Option{interceptors.WithTracerProvider(tp), interceptors.WithPropagators(propagation.Default())}

	server := grpc.NewServer(interceptors.ServerOptions(opts...)...)
	testpb.RegisterTestServiceServer(server, echoServer{})
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { defer close(done); _ = server.Serve(lis) }()
	defer func() { server.Stop(); <-done }()

	conn, _ := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(interceptors.NewClientHandler(opts...)))
	defer conn.Close()
	_, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	fmt.Println("call error:", err)

	server.GracefulStop() // let the server span end before reading the spans
	var lines []string
	for _, s := range spans.GetSpans() {
		lines = append(lines, s.SpanKind.String()+" "+s.Name)
	}
	slices.Sort(lines) // the two sides end in either order
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// call error: <nil>
	// client grpc.testing.TestService/UnaryCall
	// server grpc.testing.TestService/UnaryCall
}
