// Package propagation carries Tracer's vector clock, with the W3C trace
// context and baggage, across process boundaries.
//
// VClock is an OpenTelemetry TextMapPropagator for the clock header
// (Header). TraceContext propagates W3C Trace Context as Level 2 says where
// OpenTelemetry Go's propagator falls short (repeated traceparent values,
// tracestate split over several fields, one bad or duplicated tracestate
// member). Default composes the two with W3C baggage; ByName
// and FromEnv build a composite from names such as "tracecontext",
// "baggage", "vclock", "b3", "b3multi" and "jaeger" (the B3 and Jaeger
// formats come from the OpenTelemetry contrib propagators).
//
// On the receiving side, Extract puts the incoming clock in the context; the
// first span started under that context merges it into the process's clock
// for the trace and ticks it, so the receiver's clock is the merge of the
// sender's and its own. Extraction never fails a request: a missing,
// malformed or oversized header leaves the context without a clock.
//
// Responses: a server sends its clock back with InjectResponse, and the
// client merges it into the caller's clock with ExtractResponse, so that
// what the caller does after the call follows everything the callee did.
// The gRPC instrumentation in package interceptors does both for you.
package propagation
