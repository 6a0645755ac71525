package interceptors

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// UnaryServerInterceptor traces unary calls of a server that chains
// interceptors. Do not also install NewServerHandler.
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	c := newCore(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, cl := c.startServer(ctx, info.FullMethod)
		if cl == nil {
			return handler(ctx, req)
		}
		c.serverPeer(ctx, cl)
		c.protoEvent(cl, false, req)
		resp, err := handler(ctx, req)
		c.setUnaryClock(ctx, err)
		if err == nil {
			c.protoEvent(cl, true, resp)
		}
		cl.end(err, false)
		return resp, err
	}
}

// StreamServerInterceptor traces streaming calls of a server that chains
// interceptors. Do not also install NewServerHandler.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	c := newCore(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cl := c.startServer(ss.Context(), info.FullMethod)
		if cl == nil {
			return handler(srv, &serverStream{ServerStream: ss, ctx: ctx, core: c})
		}
		c.serverPeer(ctx, cl)
		err := handler(srv, &serverStream{ServerStream: ss, ctx: ctx, core: c, call: cl})
		if md := c.responseClock(ctx); md != nil {
			ss.SetTrailer(md)
		}
		cl.end(err, false)
		return err
	}
}

// serverPeer sets server.* and network.peer.* from the connection's
// addresses (cached per connection).
func (c *core) serverPeer(ctx context.Context, cl *call) {
	if p, ok := peer.FromContext(ctx); ok {
		cl.conn = c.serverAddrs(p.LocalAddr, p.Addr)
	}
}

// serverStream gives the handler the traced context.
type serverStream struct {
	grpc.ServerStream
	ctx  context.Context
	core *core
	call *call
}

func (s *serverStream) Context() context.Context { return s.ctx }

func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.call != nil {
		s.core.protoEvent(s.call, false, m)
	}
	return err
}

func (s *serverStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil && s.call != nil {
		s.core.protoEvent(s.call, true, m)
	}
	return err
}

// UnaryClientInterceptor traces unary calls of a client that chains
// interceptors. Do not also install NewClientHandler.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	c := newCore(opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if !c.traced(method) {
			return invoker(c.inject(ctx), method, req, reply, cc, callOpts...)
		}
		cc2 := &clientCall{}
		cl := &cc2.call
		ctx = c.beginClient(ctx, method, cl)
		c.clientTarget(cc, cl)
		callOpts = append(callOpts, grpc.Header(&cc2.header), grpc.Trailer(&cc2.trailer), grpc.Peer(&cc2.remote))
		c.protoEvent(cl, true, req)
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		if err == nil {
			c.protoEvent(cl, false, reply)
		}
		c.mergeResponse(ctx, cc2.header)
		c.mergeResponse(ctx, cc2.trailer)
		c.clientPeer(cc2)
		cl.end(err, true)
		return err
	}
}

// StreamClientInterceptor traces streaming calls of a client that chains
// interceptors. Do not also install NewClientHandler. The span ends when the
// stream does: RecvMsg returns an error (io.EOF included), or the call's
// context is done.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	c := newCore(opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		if !c.traced(method) {
			return streamer(c.inject(ctx), desc, cc, method, callOpts...)
		}
		cc2 := &clientCall{}
		cl := &cc2.call
		ctx = c.beginClient(ctx, method, cl)
		c.clientTarget(cc, cl)
		callOpts = append(callOpts, grpc.Peer(&cc2.remote))
		s, err := streamer(ctx, desc, cc, method, callOpts...)
		if err != nil {
			cl.end(err, true)
			return nil, err
		}
		cs := &clientStream{ClientStream: s, ctx: ctx, core: c, call: cl, cc: cc2, serverStreams: desc.ServerStreams}
		// Ends the span if the caller gives up on the stream by cancelling;
		// runs (in its own short goroutine) only then.
		cs.stop = context.AfterFunc(ctx, func() { cs.finish(ctx.Err(), false) })
		return cs, nil
	}
}

// clientCall is a call of the client interceptors, with what the call
// options fill in, in the same allocation.
type clientCall struct {
	call
	header, trailer metadata.MD
	remote          peer.Peer // filled by grpc.Peer
}

// clientTarget sets server.* from the connection's dial target (cached
// per connection).
func (c *core) clientTarget(cc *grpc.ClientConn, cl *call) {
	if cc != nil {
		cl.target = c.targetAttrs(cc)
	}
}

// clientPeer sets network.peer.* from the address grpc.Peer filled in when
// the call finished (none if it never reached a server).
func (c *core) clientPeer(cc *clientCall) {
	if cc.remote.Addr != nil {
		cc.conn = c.peerAddr(cc.remote.Addr)
	}
}

type clientStream struct {
	grpc.ClientStream
	ctx           context.Context
	core          *core
	call          *call
	cc            *clientCall // holds call
	serverStreams bool
	stop          func() bool
	once          sync.Once
	headerOnce    sync.Once
}

func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err == nil {
		s.headerOnce.Do(func() { s.core.mergeResponse(s.ctx, md) })
	}
	return md, err
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		s.core.protoEvent(s.call, true, m)
	}
	return err
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		s.core.protoEvent(s.call, false, m)
		if !s.serverStreams {
			// A single-response stream is over once its response arrived.
			s.finish(nil, true)
		}
	case errors.Is(err, io.EOF):
		s.finish(nil, true)
	default:
		s.finish(err, true)
	}
	return err
}

// finish ends the span once. With trailer set, the stream is over and its
// trailer may be read.
func (s *clientStream) finish(err error, trailer bool) {
	s.once.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		if trailer {
			// The stream is over: gRPC has filled the trailer and the peer.
			s.core.mergeResponse(s.ctx, s.ClientStream.Trailer())
			s.core.clientPeer(s.cc)
		}
		s.call.end(err, true)
	})
}

// protoEvent records a message event with the message's encoded size, if
// message events are on.
func (c *core) protoEvent(cl *call, sent bool, m any) {
	if !c.messageEvents {
		return
	}
	n := 0
	if pm, ok := m.(proto.Message); ok {
		n = proto.Size(pm)
	}
	c.messageEvent(cl, sent, n, 0)
}
