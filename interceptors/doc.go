// Package interceptors instruments gRPC servers and clients with spans,
// context propagation and Tracer's vector clock, in one line.
//
// There are two ways in, sharing one core:
//
//   - stats handlers, the recommended one: grpc.NewServer(
//     interceptors.ServerOptions()...) (the server stats handler, plus a
//     span-less interceptor that sends the server's clock back, which a
//     stats handler cannot) and grpc.NewClient(target, grpc.WithStatsHandler(
//     interceptors.NewClientHandler())). They see wire sizes and accurate
//     times, and cover unary and streaming calls alike;
//   - interceptors, for code that chains interceptors: UnaryServerInterceptor,
//     StreamServerInterceptor, UnaryClientInterceptor, StreamClientInterceptor.
//
// A connection uses one or the other, never both: both on one connection make
// two spans per call.
//
// Spans carry the attributes otelgrpc (v0.72.0) sets, so that both sides of a
// call between the two agree: the name is "package.Service/Method", the kind
// server or client, with rpc.method ("package.Service/Method"),
// rpc.system.name ("grpc") and rpc.response.status_code ("OK", "NOT_FOUND",
// ...), as semantic conventions v1.43 name them; OTEL_SEMCONV_STABILITY_OPT_IN
// set to "rpc/old" gives v1.37's rpc.system, rpc.service and rpc.method
// ("Method") instead, "rpc/dup" both (rpc.method then is the full name), as
// otelgrpc does. server.address and server.port are the dial target's on a
// client (in stats handler mode the :authority sent, which is the target's
// unless grpc.WithAuthority changes it) and the local address on a server;
// network.peer.address and network.peer.port are the connection's remote
// address, which otelgrpc does not set. A client span is an error for
// any status but OK; a server span only for Unknown, DeadlineExceeded,
// Unimplemented, Internal, Unavailable and DataLoss (the others are the
// caller's fault). Message events with sizes are optional (WithMessageEvents).
//
// Trace context, baggage and the clock travel in the request metadata (the
// clock even when the application's propagators leave it out). The server's
// metadata carrier gives propagators every value of a key
// (propagation.ValuesGetter), so the W3C propagator of package propagation
// sees repeated traceparent and split tracestate values. A call that
// carries no clock (from an otelgrpc client, say) gives the server span no
// clock from the caller, and a response without one merges nothing: the
// clock never invents an order it did not see. The server
// sends its clock back when the handler returns, and the client merges it
// into the caller's clock, so that what the caller does after the call
// happens after everything the callee did. A unary call carries it in the
// response header after a success (the header goes out with the response
// anyway) and in the trailer after an error; a stream in its trailer. The
// clients read it from both, as they always have: a peer that reads only
// the trailer (a client of this package before the header was used) misses
// the clock of successful unary calls, which costs order, never correctness.
//
// Health checks and reflection are not traced by default (see WithFilter);
// their context is still propagated.
package interceptors
