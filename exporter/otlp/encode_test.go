package otlp

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// variedSpans covers what the encoder maps: several resources and scopes
// (interleaved), every attribute type, events, links, status, kinds, trace
// state, remote parents, dropped counts, nil spans.
func variedSpans(t testing.TB) []sdktrace.ReadOnlySpan {
	t.Helper()
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "a"), attribute.Int("pid", 7))
	resB := resource.NewSchemaless(attribute.String("service.name", "b"))
	// The same attributes as resA in another *Resource: one group.
	resA2 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.Int("pid", 7), attribute.String("service.name", "a"))
	scope1 := instrumentation.Scope{Name: "lib1", Version: "1.2.3", SchemaURL: "https://example.com/s",
		Attributes: attribute.NewSet(attribute.Bool("scope.attr", true))}
	scope2 := instrumentation.Scope{Name: "lib2"}
	ts, err := trace.ParseTraceState("vendor=value,other=x")
	if err != nil {
		t.Fatal(err)
	}
	sc := func(i int, remote bool) trace.SpanContext {
		var tid trace.TraceID
		var sid trace.SpanID
		tid[0], tid[15], sid[0], sid[7] = byte(i), 1, byte(i), 2
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: remote})
	}
	allTypes := []attribute.KeyValue{
		attribute.Bool("bool", true), attribute.Int64("int", -42), attribute.Float64("float", 3.25),
		attribute.String("string", "héllo"), attribute.String("empty_string", ""),
		attribute.BoolSlice("bools", []bool{true, false}), attribute.Int64Slice("ints", []int64{1, -2, 3}),
		attribute.Float64Slice("floats", []float64{0.5, -1}), attribute.StringSlice("strings", []string{"x", ""}),
		{Key: "bytes", Value: attribute.ByteSliceValue([]byte{0, 1, 2, 255})},
		{Key: "slice", Value: attribute.SliceValue(attribute.StringValue("s"), attribute.Int64Value(5))},
		{Key: "map", Value: attribute.MapValue(attribute.String("inner", "v"), attribute.Int("n", 1))},
		{Key: "empty"},
	}
	long := make([]attribute.KeyValue, 0, 40)
	for i := range 40 {
		long = append(long, attribute.String(fmt.Sprintf("attr.%02d", i), string(bytes.Repeat([]byte{'v'}, 30))))
	}
	base := time.Unix(1700000000, 123456789)
	stub := func(i int, res *resource.Resource, scope instrumentation.Scope) tracetest.SpanStub {
		return tracetest.SpanStub{
			Name:                 fmt.Sprintf("span-%d", i),
			SpanContext:          sc(i, false),
			StartTime:            base.Add(time.Duration(i) * time.Millisecond),
			EndTime:              base.Add(time.Duration(i)*time.Millisecond + 500*time.Microsecond),
			Resource:             res,
			InstrumentationScope: scope,
		}
	}
	var out []sdktrace.ReadOnlySpan
	s0 := stub(0, resA, scope1)
	s0.SpanKind = trace.SpanKindServer
	s0.Attributes = allTypes
	s0.Status = sdktrace.Status{Code: codes.Error, Description: "boom"}
	s0.SpanContext = s0.SpanContext.WithTraceState(ts)
	s0.Parent = sc(99, true)
	s0.DroppedAttributes, s0.DroppedEvents, s0.DroppedLinks = 3, 4, 5
	s0.Events = []sdktrace.Event{
		{Name: "ev1", Time: base.Add(time.Microsecond), Attributes: []attribute.KeyValue{attribute.Int("e", 1)}, DroppedAttributeCount: 2},
		{Name: "ev2", Time: base.Add(2 * time.Microsecond)},
	}
	s0.Links = []sdktrace.Link{
		{SpanContext: sc(50, true), Attributes: []attribute.KeyValue{attribute.String("l", "x")}, DroppedAttributeCount: 1},
		{SpanContext: sc(51, false)},
	}
	out = append(out, s0.Snapshot())
	s1 := stub(1, resB, scope2)
	s1.SpanKind = trace.SpanKindClient
	s1.Parent = sc(0, false)
	s1.Status = sdktrace.Status{Code: codes.Ok}
	s1.Attributes = long
	out = append(out, s1.Snapshot(), nil)
	s2 := stub(2, resA2, scope2) // resA's group, another scope
	s2.SpanKind = trace.SpanKindProducer
	out = append(out, s2.Snapshot())
	s3 := stub(3, resA, scope1)
	s3.SpanKind = trace.SpanKindConsumer
	out = append(out, s3.Snapshot())
	s4 := stub(4, resB, instrumentation.Scope{})
	s4.SpanKind = trace.SpanKindInternal
	out = append(out, s4.Snapshot())
	s5 := stub(5, nil, scope1) // no resource at all
	out = append(out, s5.Snapshot())
	for i := 6; i < 300; i++ { // enough for multi-byte lengths everywhere
		s := stub(i, resB, scope2)
		s.Attributes = long[:i%40]
		out = append(out, s.Snapshot())
	}
	return out
}

// capture is an OTLP/gRPC trace service and an OTLP/HTTP handler on
// 127.0.0.1 that keep every request.
type capture struct {
	coltracepb.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
}

func (c *capture) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, proto.Clone(req).(*coltracepb.ExportTraceServiceRequest))
	c.mu.Unlock()
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := new(coltracepb.ExportTraceServiceRequest)
	if err == nil {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// take returns the requests so far, merged into one, and forgets them.
func (c *capture) take() *coltracepb.ExportTraceServiceRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := new(coltracepb.ExportTraceServiceRequest)
	for _, r := range c.reqs {
		all.ResourceSpans = append(all.ResourceSpans, r.ResourceSpans...)
	}
	c.reqs = nil
	return all
}

func startGRPC(t testing.TB, c *capture) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func startHTTP(t testing.TB, c *capture) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().String()
}

// normalize orders resource spans and scope spans (the OTel exporters
// group through maps, so their order is random), and drops the link trace
// state tracetransform leaves out.
func normalize(req *coltracepb.ExportTraceServiceRequest) {
	key := func(m proto.Message) string { return prototext.MarshalOptions{}.Format(m) }
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				for _, l := range s.Links {
					l.TraceState = ""
				}
			}
		}
		slices.SortFunc(rs.ScopeSpans, func(a, b *tracepb.ScopeSpans) int {
			return cmp.Compare(key(a.Scope)+a.SchemaUrl, key(b.Scope)+b.SchemaUrl)
		})
	}
	slices.SortFunc(req.ResourceSpans, func(a, b *tracepb.ResourceSpans) int {
		return cmp.Compare(key(a.Resource)+a.SchemaUrl, key(b.Resource)+b.SchemaUrl)
	})
}

// TestEncodeMatchesOTLPTraceGRPC sends the same spans with otlptracegrpc
// (and otlptracehttp) and with this exporter, through send, to a real
// OTLP/gRPC (and HTTP) server, and compares what the server decoded.
func TestEncodeMatchesOTLPTraceGRPC(t *testing.T) {
	spans := variedSpans(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, protocol := range []string{"grpc", "http"} {
		t.Run(protocol, func(t *testing.T) {
			c := new(capture)
			var peer sdktrace.SpanExporter
			var ours *Exporter
			var err error
			if protocol == "grpc" {
				addr := startGRPC(t, c)
				peer, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
				if err == nil {
					ours, err = New(ctx, WithGRPCEndpoint(addr), WithInsecure(), WithLogger(quiet))
				}
			} else {
				addr := startHTTP(t, c)
				peer, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
				if err == nil {
					ours, err = New(ctx, WithHTTPEndpoint("http://"+addr), WithLogger(quiet))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := peer.ExportSpans(ctx, spans); err != nil {
				t.Fatalf("%s exporter: %v", protocol, err)
			}
			if err := peer.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			want := c.take()
			if err := ours.ExportSpans(ctx, spans); err != nil {
				t.Fatal(err)
			}
			if err := ours.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ours.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			got := c.take()
			if st := ours.Stats(); st.Sent != int64(len(spans)-1) {
				t.Errorf("stats %+v: want %d sent", st, len(spans)-1)
			}
			if n := len(got.ResourceSpans); n != 3 {
				t.Errorf("%d resource spans, want 3 (a, b, none)", n)
			}
			normalize(want)
			normalize(got)
			if !proto.Equal(got, want) {
				t.Errorf("the server decoded something else from us than from the OTel exporter:\ngot  %v\nwant %v",
					prototext.Format(got)[:min(3000, len(prototext.Format(got)))], prototext.Format(want)[:min(3000, len(prototext.Format(want)))])
			}
		})
	}
}

// TestEncodeLinkTraceState: a link's trace state is sent (tracetransform
// drops it; the field exists).
func TestEncodeLinkTraceState(t *testing.T) {
	ts, _ := trace.ParseTraceState("k=v")
	var tid trace.TraceID
	var sid trace.SpanID
	tid[0], sid[0] = 1, 1
	link := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceState: ts})
	s := tracetest.SpanStub{Name: "x", SpanContext: link, Links: []sdktrace.Link{{SpanContext: link}}}.Snapshot()
	body, n := encodeSpans([]sdktrace.ReadOnlySpan{s})
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil || n != 1 {
		t.Fatalf("Unmarshal: %v (n %d)", err, n)
	}
	if got := req.ResourceSpans[0].ScopeSpans[0].Spans[0].Links[0].TraceState; got != "k=v" {
		t.Errorf("link trace state %q, want k=v", got)
	}
}

// TestEncodeConcatenation: joined requests decode as one request of all
// their spans, which take and the spool rely on.
func TestEncodeConcatenation(t *testing.T) {
	a, _ := encodeSpans(spansNamed("a", 3))
	b, _ := encodeSpans(spansNamed("b", 2))
	got := names(t, append(append([]byte(nil), a...), b...))
	if want := []string{"a-0", "a-1", "a-2", "b-0", "b-1"}; !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
}
