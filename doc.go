// Package tracer is the root of Tracer, an OpenTelemetry-compatible
// distributed tracing system for Go teams.
//
// The module holds:
//
//   - the library that services import: vclock (the vector clock value),
//     sdk (an OpenTelemetry TracerProvider whose spans carry the clock),
//     propagation (the clock's propagator and the default composite),
//     interceptors (gRPC instrumentation) and exporter/clickhouse (an
//     exporter straight to ClickHouse);
//   - the collector and what it is built on: collector (receivers and
//     pipeline, collector/otlp the OTLP wire format and span limits), wal
//     (the write-ahead log, which imports nothing but the standard library
//     so that the library side may use it), storage (the storage contract,
//     its memory, Badger and ClickHouse backends, their conformance suite,
//     and storage/backend, the factory that opens one from one Config);
//   - one binary, cmd/tracer, and end-to-end tests in e2e.
//
// See README.md for how to use each part.
//
// This package embeds clickhouse.sql, the ClickHouse schema, so that every
// part of the binary applies the same one.
package tracer
