// Package clickhouse is an OpenTelemetry span exporter that writes spans
// straight to ClickHouse, through the same writer as Tracer's collector
// (storage/clickhouse), for applications that want no collector.
//
// Use it like any sdktrace.SpanExporter, behind a batch span processor:
//
//	exp, err := clickhouse.New(ctx, chstore.NewDefaultConfig())
//	...
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// Spans are converted with Convert: attribute values take the canonical
// string forms documented on storage.Attribute (decimal ints, strconv 'g'
// doubles, "true"/"false", raw bytes, JSON for slices and maps).
//
// The exporter's own ClickHouse connection is never traced.
package clickhouse
