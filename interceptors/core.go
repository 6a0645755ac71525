package interceptors

import (
	"context"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/internal/vcstate"
	"github.com/tracerdev/tracer/propagation"
)

// Attribute keys. The RPC ones follow what otelgrpc v0.72.0 emits
// (otelgrpc/internal/parse.go, stats_handler.go, interceptor.go): semantic
// conventions v1.43 by default, v1.37's names with
// OTEL_SEMCONV_STABILITY_OPT_IN=rpc/old, both with rpc/dup.
const (
	keyRPCSystemName   = attribute.Key("rpc.system.name") // v1.43
	keyRPCSystem       = attribute.Key("rpc.system")      // v1.37
	keyRPCService      = attribute.Key("rpc.service")     // v1.37
	keyRPCMethod       = attribute.Key("rpc.method")      // v1.43: "pkg.Service/Method"; v1.37: "Method"
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

// semconvMode says which names the RPC attributes use.
type semconvMode int

const (
	semconvNew semconvMode = iota // v1.43, the default
	semconvOld                    // v1.37
	semconvDup                    // both
)

// semconvFromEnv reads OTEL_SEMCONV_STABILITY_OPT_IN as otelgrpc v0.72.0
// does (config.go, parseSemconvMode): "rpc/dup" wins over "rpc/old".
func semconvFromEnv() semconvMode {
	m := semconvNew
	for p := range strings.SplitSeq(os.Getenv("OTEL_SEMCONV_STABILITY_OPT_IN"), ",") {
		switch strings.TrimSpace(p) {
		case "rpc/dup":
			return semconvDup
		case "rpc/old":
			m = semconvOld
		}
	}
	return m
}

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
	semconv       semconvMode

	mu      sync.RWMutex
	methods map[string]*method
	addrs   map[addrKey][]attribute.KeyValue                       // connections' address attributes
	targets map[weak.Pointer[grpc.ClientConn]][]attribute.KeyValue // client connections' server.*
}

// addrKey identifies a connection by its address values: a client's by the
// remote address alone, an interceptor server's by both, a client call's
// :authority by that string alone.
type addrKey struct {
	local, remote net.Addr
	authority     string
}

// cacheable reports whether a is safe and meaningful as part of a map key:
// nil, or a pointer (gRPC's transports keep one per connection). Other
// dynamic types may not be comparable, and are not cached.
func cacheable(a net.Addr) bool { return a == nil || reflect.TypeOf(a).Kind() == reflect.Pointer }

// cachedAddrs returns the attributes build computes for key, from a bounded
// cache: Addr.String and the parsing allocate, and a connection's addresses
// do not change.
func (c *core) cachedAddrs(key addrKey, build func() []attribute.KeyValue) []attribute.KeyValue {
	if !cacheable(key.local) || !cacheable(key.remote) {
		return build()
	}
	c.mu.RLock()
	attrs, ok := c.addrs[key]
	c.mu.RUnlock()
	if ok {
		return attrs
	}
	attrs = build()
	c.mu.Lock()
	if len(c.addrs) >= maxMethods {
		clear(c.addrs)
	}
	c.addrs[key] = attrs
	c.mu.Unlock()
	return attrs
}

// peerAddr returns the network.peer.* attributes of a client's connection.
func (c *core) peerAddr(addr net.Addr) []attribute.KeyValue {
	return c.cachedAddrs(addrKey{remote: addr}, func() []attribute.KeyValue {
		return addrAttrs(nil, addr.String(), keyPeerAddress, keyPeerPort)
	})
}

// serverAddrs returns the server.* and network.peer.* attributes of a
// server's connection, in that order.
func (c *core) serverAddrs(local, remote net.Addr) []attribute.KeyValue {
	return c.cachedAddrs(addrKey{local: local, remote: remote}, func() []attribute.KeyValue {
		var attrs []attribute.KeyValue
		if local != nil {
			attrs = addrAttrs(attrs, local.String(), keyServerAddress, keyServerPort)
		}
		if remote != nil {
			attrs = addrAttrs(attrs, remote.String(), keyPeerAddress, keyPeerPort)
		}
		return attrs
	})
}

// authorityAttrs returns the server.* attributes of a client call's
// :authority, from a bounded cache: a connection sends the same one on
// every call, and parsing it allocates.
func (c *core) authorityAttrs(authority string) []attribute.KeyValue {
	return c.cachedAddrs(addrKey{authority: authority}, func() []attribute.KeyValue {
		return addrAttrs(nil, authority, keyServerAddress, keyServerPort)
	})
}

// targetAttrs returns the server.* attributes of a client connection's dial
// target (CanonicalTarget builds a string at every call), from a bounded
// cache that does not keep closed connections alive.
func (c *core) targetAttrs(cc *grpc.ClientConn) []attribute.KeyValue {
	key := weak.Make(cc)
	c.mu.RLock()
	attrs, ok := c.targets[key]
	c.mu.RUnlock()
	if ok {
		return attrs
	}
	attrs = targetAddrAttrs(nil, cc.CanonicalTarget())
	c.mu.Lock()
	if len(c.targets) >= maxMethods {
		clear(c.targets)
	}
	c.targets[key] = attrs
	c.mu.Unlock()
	return attrs
}

// method is what a full method name parses to.
type method struct {
	name  string
	attrs []attribute.KeyValue // rpc.method, rpc.system.name (and the v1.37 names)
}

// call is one traced RPC. It is kept small: it is allocated per call on
// both sides. In the stats handlers it is also the context TagRPC returns
// (see Value), which saves a context.WithValue per call.
type call struct {
	context.Context // the call's context once started (stats handlers only)

	span       trace.Span
	method     *method
	conn       []attribute.KeyValue   // address attributes of the connection, shared, read-only
	target     []attribute.KeyValue   // a client call's server.*, shared, read-only
	md         metadata.MD            // a server call's request metadata while its span starts
	in         vcstate.InboundContext // a server call's received clock (see callIncoming)
	sent, recv atomic.Int64
}

// Value returns the call itself for callKey, else the value in the call's
// context.
func (cl *call) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return cl
	}
	return cl.Context.Value(key)
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	if cl, ok := ctx.(*call); ok {
		return cl
	}
	cl, _ := ctx.Value(callKey{}).(*call)
	return cl
}

// Span start options, made once: a variadic slice built per call escapes.
var (
	serverKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	clientKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// maxEndAttrs is the most attributes end sets in the common case: 4 method,
// 4 address and 1 status attributes.
const maxEndAttrs = 9

// endAttrs holds the scratch slices of end: SetAttributes copies what it is
// given (the SDK appends to the span's own slice), so one slice per call
// would be garbage at once.
var endAttrs = sync.Pool{New: func() any { return new([maxEndAttrs]attribute.KeyValue) }}

// connAttrs are the address attributes of a connection, computed once per
// connection by TagConn.
type connAttrs struct{ attrs []attribute.KeyValue }

type connKey struct{}

func connFrom(ctx context.Context) []attribute.KeyValue {
	if c, ok := ctx.Value(connKey{}).(*connAttrs); ok {
		return c.attrs
	}
	return nil
}

// newCore builds the shared core from options.
func newCore(opts []Option) *core {
	c := newConfig(opts)
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
		semconv:       semconvFromEnv(),
		methods:       make(map[string]*method),
		addrs:         make(map[addrKey][]attribute.KeyValue),
		targets:       make(map[weak.Pointer[grpc.ClientConn]][]attribute.KeyValue),
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
	m = parseMethod(full, c.semconv)
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

// parseMethod returns the span name and RPC attributes of a full method
// name, as otelgrpc's ParseFullMethod and ParseFullMethodOld do
// (otelgrpc/internal/parse.go); in dup mode the v1.43 rpc.method (the full
// name) replaces v1.37's, as it does there when the SDK drops the repeated key.
func parseMethod(full string, mode semconvMode) *method {
	name, ok := strings.CutPrefix(full, "/")
	if !ok {
		// Not "/pkg.Service/Method": named as it is, with no method attributes.
		name = full
	}
	m := &method{name: name}
	if mode != semconvNew && ok {
		m.attrs = append(m.attrs, keyRPCSystem.String("grpc"))
		if svc, meth, found := strings.Cut(name, "/"); found {
			m.attrs = append(m.attrs, keyRPCService.String(svc))
			if mode == semconvOld {
				m.attrs = append(m.attrs, keyRPCMethod.String(meth))
			}
		}
	}
	if mode != semconvOld {
		if ok {
			m.attrs = append(m.attrs, keyRPCMethod.String(name))
		}
		m.attrs = append(m.attrs, keyRPCSystemName.String("grpc"))
	}
	return m
}

// startServer continues the caller's trace from the request metadata in
// ctx and starts the server span. For calls the filter skips it returns a
// nil call; the trace context is still continued.
func (c *core) startServer(ctx context.Context, fullMethod string) (context.Context, *call) {
	if !c.traced(fullMethod) {
		return c.prop.Extract(ctx, &incoming{ctx: ctx}), nil
	}
	cl := &call{method: c.method(fullMethod), conn: connFrom(ctx)}
	cl.Context = ctx // read by the carrier during Extract
	ctx = c.prop.Extract(ctx, (*callIncoming)(cl))
	cl.Context = nil
	ctx, cl.span = c.tracer.Start(ctx, cl.method.name, serverKind...)
	return ctx, cl
}

// newServerCall returns the call of a traced server call of the stats
// handler, whose span starts at InHeader (beginServer). It is nil for calls
// the filter skips.
func (c *core) newServerCall(ctx context.Context, fullMethod string) *call {
	if !c.traced(fullMethod) {
		return nil
	}
	cl := &call{method: c.method(fullMethod), conn: connFrom(ctx)}
	cl.Context = ctx
	return cl
}

// beginServer continues the caller's trace from md, the request metadata
// (gRPC's copy for the stats handlers, with lowercase keys; read, not
// copied again), and starts the server span of cl, whose context becomes
// the span's.
func (c *core) beginServer(cl *call, md metadata.MD) {
	cl.md = md
	ctx := c.prop.Extract(cl.Context, (*headerCarrier)(cl))
	cl.md = nil
	cl.Context, cl.span = c.tracer.Start(ctx, cl.method.name, serverKind...)
}

// startClient starts the client span and adds the trace context and clock
// to the outgoing metadata.
func (c *core) startClient(ctx context.Context, fullMethod string) (context.Context, *call) {
	if !c.traced(fullMethod) {
		return c.inject(ctx), nil
	}
	cl := &call{}
	return c.beginClient(ctx, fullMethod, cl), cl
}

// beginClient starts the client span of cl, which the caller allocated,
// and returns the outgoing context.
func (c *core) beginClient(ctx context.Context, fullMethod string, cl *call) context.Context {
	cl.method, cl.conn = c.method(fullMethod), connFrom(ctx)
	ctx, cl.span = c.tracer.Start(ctx, cl.method.name, clientKind...)
	return c.inject(ctx)
}

// inject adds what the propagators inject to the outgoing metadata of ctx.
func (c *core) inject(ctx context.Context) context.Context {
	out := outgoingPool.Get().(*outgoing)
	c.prop.Inject(ctx, out)
	ctx = out.appendTo(ctx) // copies the pairs
	out.reset()
	outgoingPool.Put(out)
	return ctx
}

// responseClock returns the metadata that carries the server's clock back.
func (c *core) responseClock(ctx context.Context) metadata.MD {
	text, ok := c.clock.ResponseClock(ctx)
	if !ok {
		return nil
	}
	return metadata.MD{propagation.Header: []string{text}}
}

// setUnaryClock sends the server's clock back on a unary call whose handler
// returned err. After a success it goes in the response header, which gRPC
// sends with the response anyway (the trailer costs the client's transport
// more copies of its metadata); after an error, or once the handler has
// sent the header itself, in the trailer. Tracer's clients read both (the
// stats handler's InHeader and InTrailer, the interceptor's grpc.Header and
// grpc.Trailer); a client that reads the trailer alone misses a clock that
// came in the header.
func (c *core) setUnaryClock(ctx context.Context, err error) {
	if err != nil || !c.setUnaryHeader(ctx) {
		c.setUnaryTrailer(ctx)
	}
}

// setUnaryHeader sends the server's clock in a unary call's response
// header. It reports false when the header could not take it (the handler
// sent it already), and true when it did or there was no clock to send.
func (c *core) setUnaryHeader(ctx context.Context) bool {
	text, ok := c.clock.ResponseClock(ctx)
	if !ok {
		return true
	}
	stream := grpc.ServerTransportStreamFromContext(ctx)
	if stream == nil {
		return true // not a gRPC server call: grpc.SetHeader fails too
	}
	return setResponseMD(stream, text, grpc.ServerTransportStream.SetHeader) == nil
}

// setResponseMD hands set (the stream's SetHeader or SetTrailer) metadata
// holding the clock text: from a pool for gRPC's own stream, which copies
// it (see setUnaryTrailer), else a new one.
func setResponseMD(stream grpc.ServerTransportStream, text string, set func(grpc.ServerTransportStream, metadata.MD) error) error {
	if !copiesTrailer(stream) {
		return set(stream, metadata.MD{propagation.Header: []string{text}})
	}
	md := trailerPool.Get().(metadata.MD)
	md[propagation.Header][0] = text
	err := set(stream, md)
	md[propagation.Header][0] = ""
	trailerPool.Put(md)
	return err
}

// setUnaryTrailer sends the server's clock in a unary call's trailer, as
// grpc.SetTrailer(ctx, c.responseClock(ctx)) does. gRPC's own server stream
// (grpc-go internal/transport/server_stream.go, ServerStream.SetTrailer)
// copies the metadata it is given (metadata.Join), so for it the metadata
// comes from a pool; another ServerTransportStream (one a test or a proxy
// installs) might keep it, and gets its own.
func (c *core) setUnaryTrailer(ctx context.Context) {
	text, ok := c.clock.ResponseClock(ctx)
	if !ok {
		return
	}
	stream := grpc.ServerTransportStreamFromContext(ctx)
	if stream == nil {
		return // not a gRPC server call: grpc.SetTrailer fails too
	}
	_ = setResponseMD(stream, text, grpc.ServerTransportStream.SetTrailer) // fails only when the call is already over
}

var trailerPool = sync.Pool{New: func() any { return metadata.MD{propagation.Header: make([]string, 1)} }}

// copiesTrailer reports whether stream is gRPC's own server stream, whose
// SetHeader and SetTrailer keep a copy of the metadata, not the metadata
// (metadata.Join).
func copiesTrailer(stream grpc.ServerTransportStream) bool {
	t := reflect.TypeOf(stream)
	if own, _ := ownStream.Load().(reflect.Type); own != nil && t == own {
		return true
	}
	if t.Kind() == reflect.Pointer && t.Elem().Name() == "ServerStream" &&
		t.Elem().PkgPath() == "google.golang.org/grpc/internal/transport" {
		ownStream.Store(t)
		return true
	}
	return false
}

// ownStream is the type of gRPC's server stream, once seen.
var ownStream atomic.Value

// mergeResponse merges every clock in md into the caller's clock.
func (c *core) mergeResponse(ctx context.Context, md metadata.MD) {
	for _, v := range md[propagation.Header] {
		c.clock.MergeResponse(ctx, v)
	}
}

// end ends the span with the call's status. All attributes are set here,
// in one call: one growth of the span's attribute slice instead of several.
func (cl *call) end(err error, client bool) {
	s, ok := status.FromError(err)
	if !ok {
		// A context error from our side (a stream the caller gave up on) is
		// Canceled or DeadlineExceeded, not Unknown.
		s = status.FromContextError(err)
	}
	code := s.Code()
	scratch := endAttrs.Get().(*[maxEndAttrs]attribute.KeyValue)
	attrs := append(scratch[:0], cl.method.attrs...)
	attrs = append(attrs, cl.conn...)
	attrs = append(attrs, cl.target...)
	attrs = append(attrs, keyRespStatusCode.String(codeName(code)))
	cl.span.SetAttributes(attrs...)
	clear(scratch[:]) // keep no strings alive from the pool
	endAttrs.Put(scratch)
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

// codeName is the status code's name as gRPC's specification writes it,
// and "CODE(n)" for others, as otelgrpc's canonicalString does
// (otelgrpc/stats_handler.go).
func codeName(c grpccodes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.FormatUint(uint64(c), 10) + ")"
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

// addrAttrs appends the address and port attributes of "host:port".
func addrAttrs(attrs []attribute.KeyValue, addr string, hostKey, portKey attribute.Key) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr == "" {
			return attrs
		}
		return append(attrs, hostKey.String(addr))
	}
	attrs = append(attrs, hostKey.String(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, portKey.Int(p))
	}
	return attrs
}

// targetAddrAttrs appends the server.address and server.port of a
// canonical gRPC dial target ("dns:///host:port", "passthrough:///host:port",
// "unix:///path", "host:port"), as otelgrpc's
// serverAddrAttrsFromCanonicalTarget does (otelgrpc/interceptor.go), without
// url.Parse's allocations.
func targetAddrAttrs(attrs []attribute.KeyValue, target string) []attribute.KeyValue {
	if _, port, err := net.SplitHostPort(target); err == nil {
		if _, err := strconv.Atoi(port); err == nil {
			return addrAttrs(attrs, target, keyServerAddress, keyServerPort)
		}
	}
	scheme, rest, ok := strings.Cut(target, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/?#") {
		return append(attrs, keyServerAddress.String(target))
	}
	ep := rest // scheme:endpoint
	if after, found := strings.CutPrefix(rest, "//"); found {
		// scheme://authority/endpoint: the endpoint is the path.
		ep = ""
		if i := strings.IndexByte(after, '/'); i >= 0 {
			ep = after[i:]
			if scheme != "unix" && scheme != "unix-abstract" {
				ep = ep[1:]
			}
		}
	}
	if ep == "" {
		return append(attrs, keyServerAddress.String(target))
	}
	return addrAttrs(attrs, ep, keyServerAddress, keyServerPort)
}
