package interceptors

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/propagation"
)

// Attribute keys, from the OpenTelemetry RPC and network conventions.
const (
	keyRPCSystem       = attribute.Key("rpc.system")
	keyRPCService      = attribute.Key("rpc.service")
	keyRPCMethod       = attribute.Key("rpc.method")
	keyGRPCStatusCode  = attribute.Key("rpc.grpc.status_code")
	keyRespStatusCode  = attribute.Key("rpc.response.status_code")
	keyServerAddress   = attribute.Key("server.address")
	keyServerPort      = attribute.Key("server.port")
	keyPeerAddress     = attribute.Key("network.peer.address")
	keyPeerPort        = attribute.Key("network.peer.port")
	keyMessageType     = attribute.Key("rpc.message.type")
	keyMessageID       = attribute.Key("rpc.message.id")
	keyMessageSize     = attribute.Key("rpc.message.uncompressed_size")
	keyMessageWireSize = attribute.Key("rpc.message.compressed_size")
)

// maxMethods bounds the cache of parsed method names: on a server they come
// from the wire.
const maxMethods = 1024

// core is what the stats handlers and the interceptors share.
type core struct {
	tracer        trace.Tracer
	prop          otelprop.TextMapPropagator
	clock         *propagation.VClock
	filter        Filter
	spanName      func(string) string
	messageEvents bool

	mu      sync.RWMutex
	methods map[string]*method
}

// method is what a full method name parses to.
type method struct {
	name  string
	attrs []attribute.KeyValue // rpc.system, rpc.service, rpc.method
}

// call is one traced RPC.
type call struct {
	span       trace.Span
	sent, recv atomic.Int64
}

func newCoreWith(c config) *core {
	prop := c.prop
	vc := propagation.NewVClock()
	if !slices.Contains(prop.Fields(), propagation.Header) {
		// The clock travels whatever the application's propagators are.
		prop = otelprop.NewCompositeTextMapPropagator(prop, vc)
	}
	return &core{
		tracer:        c.tp.Tracer(ScopeName),
		prop:          prop,
		clock:         vc,
		filter:        c.filter,
		spanName:      c.spanName,
		messageEvents: c.messageEvents,
		methods:       make(map[string]*method),
	}
}

func (c *core) traced(fullMethod string) bool { return c.filter == nil || c.filter(fullMethod) }

// method parses "/pkg.Service/Method", from a bounded cache.
func (c *core) method(full string) *method {
	c.mu.RLock()
	m := c.methods[full]
	c.mu.RUnlock()
	if m != nil {
		return m
	}
	m = parseMethod(full)
	if c.spanName != nil {
		m.name = c.spanName(full)
	}
	c.mu.Lock()
	if len(c.methods) < maxMethods {
		c.methods[full] = m
	}
	c.mu.Unlock()
	return m
}

func parseMethod(full string) *method {
	name := strings.TrimPrefix(full, "/")
	attrs := []attribute.KeyValue{keyRPCSystem.String("grpc")}
	if svc, meth, ok := strings.Cut(name, "/"); ok {
		attrs = append(attrs, keyRPCService.String(svc), keyRPCMethod.String(meth))
	}
	return &method{name: name, attrs: attrs}
}

// startServer continues the caller's trace from the request metadata in
// ctx and starts the server span. For calls the filter skips it returns a
// nil call; the trace context is still continued.
func (c *core) startServer(ctx context.Context, fullMethod string) (context.Context, *call) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = c.prop.Extract(ctx, mdCarrier(md))
	if !c.traced(fullMethod) {
		return ctx, nil
	}
	m := c.method(fullMethod)
	ctx, span := c.tracer.Start(ctx, m.name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(m.attrs...))
	return ctx, &call{span: span}
}

// startClient starts the client span and puts the trace context and clock
// in the outgoing metadata.
func (c *core) startClient(ctx context.Context, fullMethod string) (context.Context, *call) {
	var cl *call
	if c.traced(fullMethod) {
		m := c.method(fullMethod)
		var span trace.Span
		ctx, span = c.tracer.Start(ctx, m.name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(m.attrs...))
		cl = &call{span: span}
	}
	md, ok := metadata.FromOutgoingContext(ctx)
	if ok {
		md = md.Copy()
	} else {
		md = make(metadata.MD, 4)
	}
	c.prop.Inject(ctx, mdCarrier(md))
	return metadata.NewOutgoingContext(ctx, md), cl
}

// responseClock returns the metadata that carries the server's clock back.
func (c *core) responseClock(ctx context.Context) (metadata.MD, string) {
	var s single
	c.clock.InjectResponse(ctx, &s)
	if s.value == "" {
		return nil, ""
	}
	return metadata.MD{propagation.Header: []string{s.value}}, s.value
}

// mergeResponse merges every clock in md into the caller's clock.
func (c *core) mergeResponse(ctx context.Context, md metadata.MD) {
	for _, v := range md.Get(propagation.Header) {
		c.clock.ExtractResponse(ctx, &single{key: propagation.Header, value: v})
	}
}

// end ends the span with the call's status.
func (cl *call) end(err error, client bool) {
	s, _ := status.FromError(err)
	code := s.Code()
	cl.span.SetAttributes(keyGRPCStatusCode.Int64(int64(code)), keyRespStatusCode.String(codeName(code)))
	if isError(code, client) {
		cl.span.SetStatus(otelcodes.Error, s.Message())
	}
	cl.span.End()
}

// isError applies the conventions: every non-OK status fails a client span;
// only server faults fail a server span.
func isError(code grpccodes.Code, client bool) bool {
	if client {
		return code != grpccodes.OK
	}
	switch code {
	case grpccodes.Unknown, grpccodes.DeadlineExceeded, grpccodes.Unimplemented,
		grpccodes.Internal, grpccodes.Unavailable, grpccodes.DataLoss:
		return true
	}
	return false
}

var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// codeName is the status code's name as gRPC's specification writes it.
func codeName(c grpccodes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return strconv.Itoa(int(c))
}

// messageEvent records a sent or received message, if enabled.
func (c *core) messageEvent(cl *call, sent bool, size, wire int) {
	if !c.messageEvents {
		return
	}
	typ, id := "RECEIVED", cl.recv.Add(1)
	if sent {
		typ, id = "SENT", cl.sent.Add(1)
	}
	attrs := []attribute.KeyValue{keyMessageType.String(typ), keyMessageID.Int64(id), keyMessageSize.Int(size)}
	if wire > 0 {
		attrs = append(attrs, keyMessageWireSize.Int(wire))
	}
	cl.span.AddEvent("message", trace.WithAttributes(attrs...))
}

// addrAttrs turns "host:port" into address and port attributes.
func addrAttrs(addr string, hostKey, portKey attribute.Key) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr == "" {
			return nil
		}
		return []attribute.KeyValue{hostKey.String(addr)}
	}
	attrs := []attribute.KeyValue{hostKey.String(host)}
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, portKey.Int(p))
	}
	return attrs
}

// targetAddr strips a gRPC target's scheme ("dns:///host:port").
func targetAddr(target string) string {
	if i := strings.Index(target, ":///"); i >= 0 {
		return target[i+4:]
	}
	if i := strings.Index(target, "://"); i >= 0 {
		if rest := target[i+3:]; strings.Contains(rest, "/") {
			return rest[strings.LastIndex(rest, "/")+1:]
		}
		return target[i+3:]
	}
	return target
}
