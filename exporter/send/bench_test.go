package send

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// discard is a request the bench server does not decode.
type discard struct{}

// discardCodec lets the bench server take any request without decoding it
// and answer an empty response, so that the benchmarks measure the
// clients.
type discardCodec struct{ encoding.CodecV2 }

func (c discardCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if _, ok := v.(*discard); ok {
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

func (c discardCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(rawBody); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.CodecV2.Marshal(v)
}

func startBenchServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(discardCodec{encoding.GetCodecV2("proto")}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Export", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&discard{}); err != nil {
				return nil, err
			}
			return rawBody(nil), nil
		}}},
	}, struct{}{})
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// BenchmarkSend512 sends one 512-span request per op over loopback gRPC:
// Send with the request already encoded, against otlptracegrpc's client
// (UploadTraces), which marshals the same spans on every export. Compare
// the two in one run: go test -run XXX -bench Send512 -benchmem
func BenchmarkSend512(b *testing.B) {
	addr := startBenchServer(b)
	benchSendVsOTel(b, Endpoint{Address: addr, Protocol: GRPC, Insecure: true}, "otlptracegrpc",
		otlptracegrpc.NewClient(otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false})))
}

// BenchmarkSend512HTTP is BenchmarkSend512 over OTLP/HTTP, against
// otlptracehttp's client, with a server that reads and discards the body.
func BenchmarkSend512HTTP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentTypeProto)
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()
	benchSendVsOTel(b, Endpoint{Address: "http://" + addr, Protocol: HTTPProtobuf}, "otlptracehttp",
		otlptracehttp.NewClient(otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false})))
}

// benchSendVsOTel runs two sub-benchmarks over the same 512-span request:
// "send", Send to ep with the bytes already encoded, and name, the OTel
// client c uploading the same spans (marshalled on every export).
func benchSendVsOTel(b *testing.B, ep Endpoint, name string, c otlptrace.Client) {
	body := request(b, 512)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("send", func(b *testing.B) {
		s, err := New(Config{Endpoints: []Endpoint{ep}, Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Send(ctx, body, 512); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name, func(b *testing.B) {
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer c.Stop(ctx)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.UploadTraces(ctx, req.ResourceSpans); err != nil {
				b.Fatal(err)
			}
		}
	})
}
