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
// Spans follow the OpenTelemetry RPC semantic conventions: the name is
// "package.Service/Method", the kind server or client, with rpc.system
// ("grpc"), rpc.service, rpc.method, rpc.grpc.status_code (and the newer
// rpc.response.status_code), server.address and server.port, and
// network.peer.address and network.peer.port. A client span is an error for
// any status but OK; a server span only for Unknown, DeadlineExceeded,
// Unimplemented, Internal, Unavailable and DataLoss (the others are the
// caller's fault). Message events with sizes are optional (WithMessageEvents).
//
// Trace context, baggage and the clock travel in the request metadata (the
// clock even when the application's propagators leave it out). The server
// sends its clock back in the response trailer when the handler returns,
// and the client merges it into the caller's clock, so that what the caller
// does after the call happens after everything the callee did. Streams do
// the same at their start and end.
//
// Health checks and reflection are not traced by default (see WithFilter);
// their context is still propagated.
package interceptors
