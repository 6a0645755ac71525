// Package vcstate keeps the per-trace vector clock of a process: the holder
// that the SDK's span processor ticks, the propagator encodes and the gRPC
// instrumentation merges responses into. It is shared by sdk, propagation
// and interceptors and is not part of the public API.
//
// One Holder exists per (processor, trace): a process is one node of the
// vector clock, and all its spans of a trace are events of that node. The
// node's counter comes from one process-wide atomic counter, so that every
// event of the node gets a distinct, growing count even when a trace's
// holder is dropped and later recreated.
//
// Extraction does not know which processor will handle a request, so it only
// validates the incoming text and parks it in the context (Inbound); the
// first span started under that context merges it into its holder.
package vcstate
