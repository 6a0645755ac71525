// Package collector is Tracer's collector, built from parts that the agent,
// the Kafka sink and ingester, and the exporter's spool reuse: receivers
// that hand requests to an Intake, and a Pipeline from a record Source to a
// record Sink. Collector assembles them; cmd/tracer runs it.
//
// # Parts
//
//	OTLPReceiver  OTLP/gRPC (TraceService/Export) and OTLP/HTTP (POST
//	              /v1/traces): transport, in-flight memory cap, otlp.Scan,
//	              status codes; hands valid spans to an Intake
//	Intake        interface: Consume(ctx, body, spans); WALIntake appends
//	              to the WAL (package wal) before the receiver acknowledges
//	Pipeline      reads a Source (Read, Commit; *wal.WAL is one), batches records by spans, bytes and age,
//	              flushes a Sink with a deadline per attempt, retries for
//	              ever, commits the Source only past what the Sink wrote
//	Sink          interface: Add(record), Flush(ctx); StorageSink decodes
//	              records (otlp.Decode) into spans for a storage.Writer;
//	              KafkaSink forwards the records' bytes, a message per trace
//	Health        what the components report: liveness, readiness, and a
//	              Failed channel that ends the process
//	Metrics       the collector's self-metrics, registered once on the
//	              prometheus.Registerer the process gives (WithRegisterer)
//	Collector     OTLPReceiver → WALIntake → WAL → Pipeline → StorageSink
//	Ingester      "tracer ingester": a Kafka consumer group member that
//	              batches the OTLP messages of the partitions it owns into
//	              a StorageSink and commits offsets only past what storage
//	              wrote (its own loop, not a Pipeline: a member owns many
//	              partitions, each with its own offsets, that rebalances
//	              move; see ingester.go)
//
// Every part with a lifecycle is a Component (Start, Shutdown; Shutdown is
// idempotent and safe without Start), as in the OpenTelemetry Collector.
// Parts are built with Settings: one Logger, one Metrics and one Health per
// process.
//
// Who owns what elsewhere: package wal the log itself; collector/otlp the
// wire format (scan, decode, JSON) and the default span limits
// (otlp.DefaultLimits, which Config takes); package storage the write
// contract; cmd/tracer the process: flags, opening the storage backend,
// retention, signals, and the HTTP server for health and metrics.
//
// # Data flow
//
//	OTLP/gRPC ─┐
//	OTLP/HTTP ─┴─► otlp.Scan ─► Intake.Consume: wal.Append (fsync) ─► ack
//	                                                   │
//	     Pipeline: Source.Read ◄───────────────────────┘
//	        └─► Sink.Add (otlp.Decode) ─► batch (spans, bytes, age)
//	              ─► Sink.Flush: Writer.WriteSpans (deadline; retried) ─► Source.Commit
//
// The gRPC receiver takes requests as raw bytes through a pass-through codec
// (no generated message types on the hot path); the HTTP receiver accepts
// protobuf and JSON, gzip or not. A request is scanned once: invalid spans
// are dropped and reported with an OTLP partial success, their valid
// batch-mates are kept. The request is acknowledged only once its bytes are
// in the WAL.
//
// # Durability at the storage boundary
//
// Only a storage.RejectedError is permanent: the spans it names are dropped
// and counted (spans_dropped_total{reason="rejected"}), the rest of the call
// counts as stored. Any other write error (connection, server, schema,
// disk, deadline) is retried with exponential backoff for as long as it
// lasts: the WAL is not committed past the batch, storage_retrying is 1,
// Health reports "storage" as retrying, and the log says when storage
// recovers. Each write attempt has its own deadline (storage.write_timeout,
// 30 s by default), so a hung backend does not stall the pipeline for
// longer. When intake pushes back because the WAL is full, the log says so
// once per episode.
//
// # Health
//
// Health.LiveHandler is liveness: 503 once a component has failed for good
// (a receiver whose server stopped, a WAL whose fsync failed). A failed
// receiver also closes Health.Failed: cmd/tracer then shuts down and exits
// non-zero. Health.ReadyHandler is readiness: 503 also while storage writes
// are being retried or the collector is shutting down. cmd/tracer serves
// them as GET /health and GET /ready, next to GET /metrics, on
// telemetry.endpoint. Both answer with a JSON report of every component.
//
// # Backpressure and memory
//
// Memory is bounded: the bytes of requests being received are capped by
// Limits.MaxInflightBytes (an OTLP/JSON request counts at 24 times its body
// while it is decoded, its measured cost), the WAL by WAL.MaxBytes (on
// disk), and the pipeline holds one batch of at most Batch.MaxBytes of
// records (a record that would carry the batch past it starts the next one;
// a larger record forms a batch alone) and writes at most Batch.Size spans
// per storage call. When a cap is reached the receivers answer with a
// retryable error: gRPC Unavailable with an errdetails.RetryInfo, HTTP 503
// with Retry-After. A request with more spans than
// Limits.MaxSpansPerRequest is too large (gRPC ResourceExhausted, HTTP 413).
// Nothing waits in an unbounded queue.
//
// # Lifecycle
//
// New builds a Collector from a validated Config and a storage.Writer; Start
// opens the WAL, starts the pipeline, which first replays what the WAL holds
// beyond its last commit (and logs how much it replayed), and binds the
// receivers. Shutdown stops intake, drains what it can before its context's
// deadline (at the deadline the write in progress has its context
// cancelled; a writer that ignores it is left behind after a second), logs
// what it drained, and leaves the rest in the WAL for the next start.
package collector
