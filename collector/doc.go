// Package collector is Tracer's collector service: the receivers that any
// OpenTelemetry client reports to, the write-ahead log that makes an
// acknowledgement durable, and the pipeline that batches spans into a
// storage.Writer.
//
// # Data flow
//
//	OTLP/gRPC (TraceService/Export) ─┐
//	OTLP/HTTP (POST /v1/traces)     ─┴─► otlp.Scan ─► wal.Append (fsync) ─► ack
//	                                                      │
//	           wal.Read ◄─────────────────────────────────┘
//	              └─► otlp.Decode ─► batch (size, age) ─► Writer.WriteSpans
//	                                   (retry with backoff) ─► wal.Commit
//
// The gRPC receiver takes requests as raw bytes through a pass-through codec
// (no generated message types on the hot path); the HTTP receiver accepts
// protobuf and JSON, gzip or not. A request is scanned once: invalid spans
// are dropped and reported with an OTLP partial success, their valid
// batch-mates are kept. The request is acknowledged only once its bytes are
// in the WAL.
//
// # Backpressure and memory
//
// Memory is bounded: the bytes of requests being received are capped by
// Limits.MaxInflightBytes, the WAL by WAL.MaxBytes (on disk), and the
// pipeline holds one batch. When a cap is reached the receivers answer with a
// retryable error: gRPC Unavailable with an errdetails.RetryInfo, HTTP 503
// with Retry-After. Nothing waits in an unbounded queue.
//
// # Lifecycle
//
// New builds a Collector from a validated Config and a storage.Writer; Start
// binds the listeners and starts the pipeline, which first replays what the
// WAL holds beyond its last commit. Shutdown stops intake, drains what it can
// before its context's deadline and leaves the rest in the WAL for the next
// start. Shutdown is idempotent and safe without Start.
package collector
