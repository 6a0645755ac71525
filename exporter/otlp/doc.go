// Package otlp is a reliable OpenTelemetry span exporter over OTLP (gRPC or
// HTTP/protobuf) for applications: it works behind any OTel
// TracerProvider's BatchSpanProcessor, and span.End() never waits on the
// network.
//
// ExportSpans encodes the spans once, straight to an OTLP
// ExportTraceServiceRequest in protobuf wire form, and queues the bytes in a
// memory queue bounded by bytes and spans. One goroutine sends them, the
// bytes as they are, through package send (a circuit breaker per endpoint,
// retries with backoff that honour the server's retry hints, failover and
// fail-back over an ordered list of endpoints, or spreading). With a spool
// (WithSpool), a write-ahead log from package wal (segmented, checksummed,
// size-capped, fsync-configurable), requests spill to disk when the memory
// queue holds half its bound or the endpoints are down; the sender replays
// the spool oldest first, alternating with fresh requests so that neither
// starves, and commits a record only once an endpoint accepted it. A full
// spool drops its oldest segment. What a run leaves in the spool (Shutdown
// writes what memory still holds there) the next run replays.
//
// Nothing is lost without being counted: Stats and the OTel metrics
// (tracer.exporter.queued, spilled, replayed, sent, dropped{reason},
// queue.bytes, queue.spans, spool.bytes) say where every span went.
// Permanent errors and the spans an OTLP partial success rejects are
// counted, not retried. Delivery is at least once: a request whose answer
// was lost is sent again, and Tracer's storage writes are idempotent.
package otlp
