// Package tracer is the root of Tracer, an OpenTelemetry-compatible
// distributed tracing system for Go teams.
//
// The module holds the library that services import (sdk, propagation,
// interceptors, exporter), the collector and its storage backends
// (collector, storage), the query side (query, ui, analysis) and one binary
// (cmd/tracer). See README.md for how to use each part.
//
// This package embeds clickhouse.sql, the ClickHouse schema, so that every
// part of the binary applies the same one.
package tracer
