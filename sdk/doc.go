// Package sdk sets up OpenTelemetry tracing for a Go service the Tracer way:
// a real *sdktrace.TracerProvider whose spans all carry vector-clock
// attributes.
//
// New builds the provider from functional options and the standard OTEL_*
// environment variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, OTEL_SPAN_*_LIMIT,
// OTEL_TRACES_EXPORTER (a comma-separated list), OTEL_EXPORTER_OTLP_*,
// OTEL_PROPAGATORS with WithGlobal ...); options win over the environment. The clock comes from a span processor (NewProcessor) that New
// puts in front of the exporting processors, so every span of the provider
// gets a clock, including spans made by libraries instrumented with the plain
// OpenTelemetry API.
//
// # The clock on a span
//
// Each process is one node of the clock, named by its node id (WithNodeID;
// by default derived from service.instance.id). Each span start is an event
// of the node: the node's counter grows, and the span records the attributes
// described in package vclock (vclock.AttrNode, vclock.AttrTick,
// vclock.AttrDeps, and at its end vclock.AttrEndTick and vclock.AttrEndDeps
// when the clock moved while it was open). Package propagation carries the
// clock between processes. SpanClock (or vclock.FromAttributes) rebuilds a
// span's clocks from its attributes.
//
// The clock is bounded in entries (WithClockLimit, at most
// vclock.MaxLimit), and the per-trace clock state kept for open spans is
// bounded in count and age (WithClockState); evictions are counted by the
// metric tracer.sdk.clock.evicted_spans. Where a span's causal past did not
// come with its clock (a remote parent that sent none, such as a service
// with plain OpenTelemetry instrumentation, or a local parent whose clock
// state is gone), its clock is marked pruned, so that comparisons across
// that gap say Unknown rather than Concurrent.
//
// A process's events of one trace are totally ordered by its counter: the
// clock tells apart what happened in different processes, not in different
// goroutines of one process.
//
// # Jaeger and OpenTracing habits
//
// StartSpan, Span.SetTag and Span.Finish are a small convenience in the style
// of the OpenTracing API, built on the OpenTelemetry API.
package sdk
