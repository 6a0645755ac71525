package interceptors

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// ServerOptions returns what a gRPC server needs to be traced, in one line:
// grpc.NewServer(interceptors.ServerOptions()...). That is the server stats
// handler, and an interceptor that only sends the server's clock back in the
// response header or trailer when the handler returns (a stats handler
// cannot write either; see setUnaryClock). It makes no span of its own, so it does not duplicate the
// handler's; other interceptors chain with it as usual.
func ServerOptions(opts ...Option) []grpc.ServerOption {
	c := newCore(opts)
	return []grpc.ServerOption{
		grpc.StatsHandler(&serverHandler{core: c}),
		grpc.ChainUnaryInterceptor(c.unaryClock),
		grpc.ChainStreamInterceptor(c.streamClock),
	}
}

// NewServerHandler returns a stats.Handler that traces a gRPC server's
// calls: spans, and the caller's trace context and clock. Alone it does not
// send the server's clock back; ServerOptions adds that.
func NewServerHandler(opts ...Option) stats.Handler { return &serverHandler{core: newCore(opts)} }

// NewClientHandler returns a stats.Handler that traces a gRPC client's
// calls, including the merge of the server's clock from the response:
// grpc.NewClient(target, grpc.WithStatsHandler(interceptors.NewClientHandler())).
func NewClientHandler(opts ...Option) stats.Handler { return &clientHandler{core: newCore(opts)} }

// unaryClock and streamClock send the server's clock back when the handler
// returns (unary: the header, or the trailer after an error; stream: the
// trailer), for the stats handler (see ServerOptions).
func (c *core) unaryClock(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	c.setUnaryClock(ctx, err)
	return resp, err
}

func (c *core) streamClock(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if md := c.responseClock(ss.Context()); md != nil {
		ss.SetTrailer(md)
	}
	return err
}

type serverHandler struct{ core *core }

var _ stats.Handler = (*serverHandler)(nil)

func (h *serverHandler) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	var attrs []attribute.KeyValue
	if info.LocalAddr != nil {
		attrs = addrAttrs(attrs, info.LocalAddr.String(), keyServerAddress, keyServerPort)
	}
	if info.RemoteAddr != nil {
		attrs = addrAttrs(attrs, info.RemoteAddr.String(), keyPeerAddress, keyPeerPort)
	}
	return context.WithValue(ctx, connKey{}, &connAttrs{attrs: attrs})
}
func (h *serverHandler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC returns the call's context. The span starts at InHeader, which
// gRPC sends next with its copy of the request metadata, read there without
// another copy; for a call the filter skips, the trace context is continued
// here.
func (h *serverHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	cl := h.core.newServerCall(ctx, info.FullMethodName)
	if cl == nil {
		ctx, _ = h.core.startServer(ctx, info.FullMethodName)
		return ctx
	}
	return cl // the call's context, holding the call
}

func (h *serverHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	cl := callFrom(ctx)
	if cl == nil {
		return
	}
	if cl.span == nil {
		// gRPC sends InHeader first; should another event come first, the
		// span starts from the metadata in the context.
		if ih, ok := rs.(*stats.InHeader); ok {
			h.core.beginServer(cl, ih.Header)
			return
		}
		in, _ := metadata.FromIncomingContext(cl.Context)
		h.core.beginServer(cl, in)
	}
	switch rs := rs.(type) {
	case *stats.InPayload:
		h.core.messageEvent(cl, false, rs.Length, rs.CompressedLength)
	case *stats.OutPayload:
		h.core.messageEvent(cl, true, rs.Length, rs.CompressedLength)
	case *stats.End:
		cl.end(rs.Error, false)
	}
}

type clientHandler struct{ core *core }

var _ stats.Handler = (*clientHandler)(nil)

func (h *clientHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h *clientHandler) HandleConn(context.Context, stats.ConnStats) {}

func (h *clientHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	ctx, cl := h.core.startClient(ctx, info.FullMethodName)
	if cl == nil {
		return ctx
	}
	cl.Context = ctx
	return cl // the call's context, holding the call
}

func (h *clientHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	cl := callFrom(ctx)
	if cl == nil {
		return
	}
	switch rs := rs.(type) {
	case *stats.OutHeader:
		// server.* comes from the dial target, which a stats handler sees as
		// the :authority it sends (the target's endpoint unless
		// grpc.WithAuthority overrides it), not from the resolved address;
		// network.peer.* is the connection's remote address (cached per
		// address: a client call's context does not come from its
		// connection's).
		cl.target = h.core.authorityAttrs(rs.Authority)
		if rs.RemoteAddr != nil {
			cl.conn = h.core.peerAddr(rs.RemoteAddr)
		}
	case *stats.InHeader:
		h.core.mergeResponse(ctx, rs.Header)
	case *stats.InTrailer:
		h.core.mergeResponse(ctx, rs.Trailer)
	case *stats.InPayload:
		h.core.messageEvent(cl, false, rs.Length, rs.CompressedLength)
	case *stats.OutPayload:
		h.core.messageEvent(cl, true, rs.Length, rs.CompressedLength)
	case *stats.End:
		cl.end(rs.Error, true)
	}
}
