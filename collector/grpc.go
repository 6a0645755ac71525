package collector

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP clients may gzip requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracerdev/tracer/collector/otlp"
)

const (
	transportGRPC = "grpc"
	exportMethod  = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
)

// traceServiceDesc registers OTLP's TraceService by hand so that Export
// receives the request as raw bytes (see rawCodec): no generated message
// types on the hot path.
var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*rawExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler:    exportHandler,
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

// rawExporter is what traceServiceDesc dispatches to.
type rawExporter interface {
	export(ctx context.Context, req []byte) (rawMessage, error)
}

var _ rawExporter = (*OTLPReceiver)(nil)

// rawRequest receives the request bytes from rawCodec; free returns the
// buffer to gRPC's pool.
type rawRequest struct{ buf mem.Buffer }

// rawMessage is a response already in wire form.
type rawMessage []byte

func exportHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	var req rawRequest
	if err := dec(&req); err != nil {
		return nil, err
	}
	defer req.buf.Free()
	e := srv.(rawExporter)
	if interceptor == nil {
		return e.export(ctx, req.buf.ReadOnlyData())
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: exportMethod}
	return interceptor(ctx, &req, info, func(ctx context.Context, r any) (any, error) {
		return e.export(ctx, r.(*rawRequest).buf.ReadOnlyData())
	})
}

// rawCodec is gRPC's "proto" codec for the OTLP receiver's server only: it
// hands rawRequest the message bytes without decoding them and writes
// rawMessage as is. Other messages (none today) go to the proto codec.
type rawCodec struct{ proto encoding.CodecV2 }

func (rawCodec) Name() string { return "proto" }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawRequest); ok {
		r.buf = data.MaterializeToBuffer(requestPool)
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

// requestPool holds the buffers that requests made of several gRPC
// buffers are copied into. MaterializeToBuffer overwrites a buffer's every
// byte, so unlike gRPC's default pool this one does not zero the buffers it
// hands out (zeroing cost as much as the copy).
var requestPool = &dirtyPool{}

// dirtyPool is a mem.BufferPool with a sync.Pool per power of two from
// 1<<minPoolShift to 1<<maxPoolShift bytes; larger buffers are not pooled.
type dirtyPool struct {
	tiers [maxPoolShift - minPoolShift + 1]sync.Pool
}

const minPoolShift, maxPoolShift = 12, 24

var _ mem.BufferPool = (*dirtyPool)(nil)

// tier returns the index of the smallest tier that holds n bytes, which is
// len(p.tiers) when none does.
func (p *dirtyPool) tier(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	return min(bits.Len(uint(n-1))-minPoolShift, len(p.tiers))
}

// Get returns a buffer of length n whose contents are arbitrary.
func (p *dirtyPool) Get(n int) *[]byte {
	t := p.tier(n)
	if t == len(p.tiers) {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(minPoolShift+t))
	return &b
}

// Put keeps b for reuse when its capacity is one of the tiers'.
func (p *dirtyPool) Put(b *[]byte) {
	c := cap(*b)
	if t := p.tier(c); t < len(p.tiers) && c == 1<<(minPoolShift+t) {
		p.tiers[t].Put(b)
	}
}

func (o *OTLPReceiver) newGRPCServer() *grpc.Server {
	s := grpc.NewServer(
		grpc.ForceServerCodecV2(rawCodec{proto: encoding.GetCodecV2("proto")}),
		grpc.MaxRecvMsgSize(o.lim.MaxRequestBytes),
		grpc.MaxConcurrentStreams(o.cfg.GRPC.MaxConcurrentStreams),
		grpc.InTapHandle(o.tap),
	)
	s.RegisterService(&traceServiceDesc, o)
	return s
}

// tap refuses a request before gRPC reads its message when the in-flight
// budget is already spent, so that an overloaded collector does not buffer
// more request bodies.
func (o *OTLPReceiver) tap(ctx context.Context, _ *tap.Info) (context.Context, error) {
	if o.inflight.Load() >= o.lim.MaxInflightBytes {
		return ctx, grpcError(o.reject(transportGRPC, kindRetryable, reasonBackpressure, "collector is at its in-flight memory cap, retry later"), o.lim.RetryAfter)
	}
	return ctx, nil
}

// emptyResponse is the ExportTraceServiceResponse of a request whose spans
// were all accepted.
var emptyResponse = rawMessage{}

func (o *OTLPReceiver) export(ctx context.Context, req []byte) (rawMessage, error) {
	n := int64(len(req))
	if !o.acquire(n) {
		return nil, grpcError(o.reject(transportGRPC, kindRetryable, reasonBackpressure, "collector is at its in-flight memory cap, retry later"), o.lim.RetryAfter)
	}
	res, err := o.ingest(ctx, transportGRPC, req)
	o.release(n)
	if err != nil {
		return nil, grpcError(err, o.lim.RetryAfter)
	}
	if res.Rejected == 0 {
		return emptyResponse, nil
	}
	return rawMessage(otlp.ResponseBytes(res.Rejected, res.Reason)), nil
}

// grpcError maps an intake error to a gRPC status: retryable errors are
// Unavailable with an errdetails.RetryInfo, as OTLP asks.
func grpcError(err error, retryAfter time.Duration) error {
	var ie *intakeError
	if !errors.As(err, &ie) {
		return status.Error(codes.Internal, err.Error())
	}
	switch ie.kind {
	case kindMalformed, kindMediaType:
		return status.Error(codes.InvalidArgument, ie.msg)
	case kindTooLarge:
		return status.Error(codes.ResourceExhausted, ie.msg)
	default:
		st, derr := status.New(codes.Unavailable, ie.msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
		if derr != nil {
			return status.Error(codes.Unavailable, fmt.Sprintf("%s (retry in %v)", ie.msg, retryAfter))
		}
		return st.Err()
	}
}
