// Command otlpload sends pre-built OTLP/gRPC trace export requests to a
// collector, as fast as they are acknowledged or at a given rate, so that a
// benchmark of the collector measures the collector and not the load
// generator (telemetrygen spends more CPU building its spans than a
// collector spends receiving them, and tops out near 25k spans/s on two
// cores).
//
// At start it builds -distinct requests of -spans spans each from
// storagetest.Generator's demo-like traces (several services, typical
// attributes, vector clock attributes, occasional events and errors),
// grouped by service into ResourceSpans, and marshals them once. Each of
// -senders goroutines has its own connection and its own copy of the
// requests and sends them in turn; before each send it rewrites the low
// half of every trace id in the request (xor with a per-send number), so
// that every send carries new traces and a store does not just overwrite
// the previous ones.
//
// -rate paces the total to that many spans per second (0: unbounded);
// -duration or -requests bounds the run. It prints one line: requests,
// spans acknowledged, rejected (OTLP partial success), failed, elapsed
// seconds and spans per second. It exits non-zero when every request failed.
package main
