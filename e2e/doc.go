// Package e2e holds end-to-end tests that run Tracer's binary as a child
// process against real servers and real clients: the collector writing to a
// real clickhouse-server while the collector is SIGKILLed and ClickHouse
// restarts mid-stream; tracer all-in-one receiving spans from the official
// OTel exporters and telemetrygen and answering them through the Jaeger v1
// and v3 routes; tracer query reading what a tracer collector wrote to
// ClickHouse from another process.
package e2e
