package interceptors

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelprop "go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracerdev/tracer/propagation"
)

func TestTargetAddrAttrs(t *testing.T) {
	tests := []struct {
		target string
		want   []attribute.KeyValue
	}{
		{"dns:///myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"passthrough:///127.0.0.1:8080", []attribute.KeyValue{keyServerAddress.String("127.0.0.1"), keyServerPort.Int(8080)}},
		{"dns://8.8.8.8/myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"[::1]:50051", []attribute.KeyValue{keyServerAddress.String("::1"), keyServerPort.Int(50051)}},
		{"dns:///[::1]:50051", []attribute.KeyValue{keyServerAddress.String("::1"), keyServerPort.Int(50051)}},
		{"unix:///tmp/grpc.sock", []attribute.KeyValue{keyServerAddress.String("/tmp/grpc.sock")}},
		{"unix:relative.sock", []attribute.KeyValue{keyServerAddress.String("relative.sock")}},
		{"dns:///myservice", []attribute.KeyValue{keyServerAddress.String("myservice")}},
		{"dns://authority", []attribute.KeyValue{keyServerAddress.String("dns://authority")}},
		{"myservice", []attribute.KeyValue{keyServerAddress.String("myservice")}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got := targetAddrAttrs(nil, tt.target)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseMethod(t *testing.T) {
	tests := []struct {
		name string
		full string
		mode semconvMode
		want []attribute.KeyValue
	}{
		{"new", "/pkg.Svc/Do", semconvNew, []attribute.KeyValue{keyRPCMethod.String("pkg.Svc/Do"), keyRPCSystemName.String("grpc")}},
		{"old", "/pkg.Svc/Do", semconvOld, []attribute.KeyValue{keyRPCSystem.String("grpc"), keyRPCService.String("pkg.Svc"), keyRPCMethod.String("Do")}},
		{"dup", "/pkg.Svc/Do", semconvDup, []attribute.KeyValue{keyRPCSystem.String("grpc"), keyRPCService.String("pkg.Svc"), keyRPCMethod.String("pkg.Svc/Do"), keyRPCSystemName.String("grpc")}},
		{"new without slash", "pkg.Svc/Do", semconvNew, []attribute.KeyValue{keyRPCSystemName.String("grpc")}},
		{"old without slash", "pkg.Svc/Do", semconvOld, nil},
		{"old without method", "/pkg.Svc", semconvOld, []attribute.KeyValue{keyRPCSystem.String("grpc")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMethod(tt.full, tt.mode).attrs
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSemconvFromEnv(t *testing.T) {
	for env, want := range map[string]semconvMode{
		"": semconvNew, "rpc/old": semconvOld, "rpc/dup": semconvDup, "foo, rpc/dup": semconvDup,
		"rpc/old, rpc/dup": semconvDup, "  rpc/old  ": semconvOld, "http/dup": semconvNew,
	} {
		t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", env)
		if got := semconvFromEnv(); got != want {
			t.Errorf("%q: mode %d, want %d", env, got, want)
		}
	}
}

func TestCodeName(t *testing.T) {
	for code, want := range map[grpccodes.Code]string{
		grpccodes.OK: "OK", grpccodes.Canceled: "CANCELLED", grpccodes.Unauthenticated: "UNAUTHENTICATED", 9999: "CODE(9999)",
	} {
		if got := codeName(code); got != want {
			t.Errorf("codeName(%d) = %q, want %q", code, got, want)
		}
	}
}

// keepingStream is a ServerTransportStream that keeps the metadata it is
// given, as one a test or a proxy installs may.
type keepingStream struct{ trailer metadata.MD }

func (s *keepingStream) Method() string                  { return "/pkg.Svc/Do" }
func (s *keepingStream) SetHeader(metadata.MD) error     { return nil }
func (s *keepingStream) SendHeader(metadata.MD) error    { return nil }
func (s *keepingStream) SetTrailer(md metadata.MD) error { s.trailer = md; return nil }

// A stream that is not gRPC's own keeps the clock it was given: the
// metadata from the pool goes only to gRPC's stream, which copies it.
func TestSetUnaryTrailerForeignStream(t *testing.T) {
	c := newCore(nil)
	st := &keepingStream{}
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), st)
	ctx = c.clock.Extract(ctx, otelprop.MapCarrier{propagation.Header: "a:3,b:1"})
	c.setUnaryTrailer(ctx)
	for range 3 { // the pool would hand the same metadata out again
		c.setUnaryTrailer(c.clock.Extract(grpc.NewContextWithServerTransportStream(context.Background(), &keepingStream{}),
			otelprop.MapCarrier{propagation.Header: "c:1"}))
	}
	if got := st.trailer.Get(propagation.Header); len(got) != 1 || got[0] != "a:3,b:1" {
		t.Errorf("trailer clock %q, want the one sent back: [a:3,b:1]", got)
	}
	if copiesTrailer(st) {
		t.Error("a foreign stream taken for gRPC's own")
	}
}

// gRPC's own server stream is recognised, so that unary calls use the
// pooled metadata (TestUnaryClock and the e2e tests check what arrives).
func TestCopiesTrailerGRPCStream(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 1)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		return nil
	}), grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		seen <- copiesTrailer(grpc.ServerTransportStreamFromContext(ss.Context()))
		return h(srv, ss)
	}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	defer func() { srv.Stop(); <-done }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = conn.Invoke(ctx, "/pkg.Svc/Do", &emptypb.Empty{}, &emptypb.Empty{})
	select {
	case ok := <-seen:
		if !ok {
			t.Error("gRPC's server stream not recognised: unary trailers would not use the pool")
		}
	case <-ctx.Done():
		t.Fatal("the call never reached the server")
	}
}
