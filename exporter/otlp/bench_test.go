//go:build unix

package otlp

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/internal/cputime"
)

// benchSpans are n realistic spans: one resource and scope, 8 attributes.
func benchSpans(b *testing.B, n int) []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(attribute.String("service.name", "bench"), attribute.String("host.name", "h1"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	rec := &collectSpans{}
	tp.RegisterSpanProcessor(rec)
	tr := tp.Tracer("bench", trace.WithInstrumentationVersion("1.0"))
	ctx, root := tr.Start(context.Background(), "root")
	for i := range n - 1 {
		_, s := tr.Start(ctx, "GET /api/items/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", "GET"), attribute.String("url.path", fmt.Sprintf("/api/items/%d", i)),
			attribute.Int("http.response.status_code", 200), attribute.String("server.address", "items.internal"),
			attribute.Int("server.port", 8080), attribute.String("user_agent.original", "bench/1.0"),
			attribute.Int64("tracer.vclock.tick", int64(i)), attribute.String("tracer.vclock.node", "bench-node")))
		s.End()
	}
	root.End()
	_ = tp.Shutdown(context.Background())
	return rec.spans
}

type collectSpans struct{ spans []sdktrace.ReadOnlySpan }

func (c *collectSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *collectSpans) OnEnd(s sdktrace.ReadOnlySpan)                   { c.spans = append(c.spans, s) }
func (c *collectSpans) Shutdown(context.Context) error                  { return nil }
func (c *collectSpans) ForceFlush(context.Context) error                { return nil }

// toProto builds the generated OTLP messages as the OTel exporters'
// tracetransform does, for the proto.Marshal side of BenchmarkEncode (one
// resource and scope, as benchSpans makes).
func toProto(spans []sdktrace.ReadOnlySpan) *coltracepb.ExportTraceServiceRequest {
	kvs := func(attrs []attribute.KeyValue) []*commonpb.KeyValue {
		out := make([]*commonpb.KeyValue, 0, len(attrs))
		for _, kv := range attrs {
			av := &commonpb.AnyValue{}
			switch kv.Value.Type() {
			case attribute.STRING:
				av.Value = &commonpb.AnyValue_StringValue{StringValue: kv.Value.AsString()}
			case attribute.INT64:
				av.Value = &commonpb.AnyValue_IntValue{IntValue: kv.Value.AsInt64()}
			}
			out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: av})
		}
		return out
	}
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: spans[0].InstrumentationScope().Name, Version: spans[0].InstrumentationScope().Version}}
	for _, s := range spans {
		tid, sid, psid := s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID()
		ps := &tracepb.Span{
			TraceId: tid[:], SpanId: sid[:], Name: s.Name(), Kind: tracepb.Span_SpanKind(spanKind(s.SpanKind())),
			StartTimeUnixNano: uint64(s.StartTime().UnixNano()), EndTimeUnixNano: uint64(s.EndTime().UnixNano()),
			Attributes: kvs(s.Attributes()), Status: &tracepb.Status{}, Flags: spanFlags(s.SpanContext().TraceFlags(), s.Parent()),
		}
		if psid.IsValid() {
			ps.ParentSpanId = psid[:]
		}
		ss.Spans = append(ss.Spans, ps)
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: kvs(spans[0].Resource().Attributes())},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}}
}

// BenchmarkEncode: one 512-span request, with protowire (this package)
// and through the generated types and proto.Marshal (what the OTel
// exporters do). Per span: divide by 512.
func BenchmarkEncode(b *testing.B) {
	spans := benchSpans(b, 512)
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		start := cputime.Now()
		for b.Loop() {
			body, _ := encodeSpans(spans)
			n = len(body)
		}
		cputime.Report(b, start)
		b.ReportMetric(float64(n)/512, "bytes/span")
	})
	b.Run("proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		start := cputime.Now()
		for b.Loop() {
			body, err := proto.Marshal(toProto(spans))
			if err != nil {
				b.Fatal(err)
			}
			n = len(body)
		}
		cputime.Report(b, start)
		b.ReportMetric(float64(n)/512, "bytes/span")
	})
}

// rawCodec takes requests without decoding them, so that the benchmark's
// server costs little next to the exporters.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return proto.Marshal(v.(proto.Message)) }
func (rawCodec) Unmarshal(data []byte, v any) error { return nil }
func (rawCodec) Name() string                       { return "proto" }

type nopTraceServer struct {
	coltracepb.UnimplementedTraceServiceServer
}

func (nopTraceServer) Export(context.Context, *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// counting passes spans to next and counts what reached it: what the
// batch processor did not drop.
type counting struct {
	next sdktrace.SpanExporter
	n    atomic.Int64
}

func (c *counting) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.n.Add(int64(len(spans)))
	return c.next.ExportSpans(ctx, spans)
}
func (c *counting) Shutdown(ctx context.Context) error { return c.next.Shutdown(ctx) }

// BenchmarkHotPath: span start+end on a provider whose BatchSpanProcessor
// (default settings) feeds this exporter or otlptracegrpc, with the
// endpoint up (a real gRPC server on loopback) and down (nothing listens;
// this exporter spools to disk). cpu-ns/op is the process's CPU per span,
// the batch processor's, the exporter's and the sender's goroutines
// included; exported/op is the share of spans the batch processor handed
// to the exporter instead of dropping.
func BenchmarkHotPath(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	coltracepb.RegisterTraceServiceServer(srv, nopTraceServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	up := lis.Addr().String()
	deadLis, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := deadLis.Addr().String()
	deadLis.Close()

	for _, endpoint := range []struct{ name, addr string }{{"up", up}, {"down", dead}} {
		for _, exp := range []string{"otlptracegrpc", "reliable"} {
			b.Run(exp+"/"+endpoint.name, func(b *testing.B) {
				ctx := context.Background()
				var e sdktrace.SpanExporter
				if exp == "reliable" {
					e, err = New(ctx, WithGRPCEndpoint(endpoint.addr), WithInsecure(), WithLogger(quiet), WithSpool(b.TempDir(), 0))
				} else {
					// A 2s export timeout (default 10s) bounds its retries,
					// so that Shutdown below ends them when it is down.
					e, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint.addr), otlptracegrpc.WithInsecure(),
						otlptracegrpc.WithTimeout(2*time.Second))
				}
				if err != nil {
					b.Fatal(err)
				}
				c := &counting{next: e}
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(c))
				tr := tp.Tracer("bench")
				attrs := trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200))
				b.ReportAllocs()
				start := cputime.Now()
				for b.Loop() {
					_, s := tr.Start(ctx, "op", attrs)
					s.End()
				}
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_ = tp.ForceFlush(sctx)
				cputime.Report(b, start)
				b.ReportMetric(float64(c.n.Load())/float64(b.N), "exported/op")
				if n := c.n.Load(); n > 0 {
					b.ReportMetric(float64(cputime.Now()-start)/float64(n), "cpu-ns/exported")
				}
				_ = tp.Shutdown(sctx)
				cancel()
			})
		}
	}
}

// BenchmarkExportSpans: one ExportSpans call of a 512-span batch, as the
// batch processor's goroutine makes it, against a real gRPC server on
// loopback: otlptracegrpc returns after the RPC, this exporter after
// encoding and queueing (its sender sends meanwhile; cpu-ns/op counts it).
func BenchmarkExportSpans(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	coltracepb.RegisterTraceServiceServer(srv, nopTraceServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	spans := benchSpans(b, 512)
	for _, exp := range []string{"otlptracegrpc", "reliable"} {
		b.Run(exp, func(b *testing.B) {
			ctx := context.Background()
			var e sdktrace.SpanExporter
			var ours *Exporter
			if exp == "reliable" {
				ours, err = New(ctx, WithGRPCEndpoint(lis.Addr().String()), WithInsecure(), WithLogger(quiet))
				e = ours
			} else {
				e, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(lis.Addr().String()), otlptracegrpc.WithInsecure())
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				if err := e.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
			if ours != nil {
				if err := ours.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
				if d := ours.Stats().DroppedTotal(); d > 0 {
					b.ReportMetric(float64(d)/float64(b.N*512), "dropped/span")
				}
			}
			cputime.Report(b, start)
			_ = e.Shutdown(ctx)
		})
	}
}
