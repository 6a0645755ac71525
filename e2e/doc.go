// Package e2e holds end-to-end tests that run Tracer's binary as a child
// process against real servers: the collector writing to a real
// clickhouse-server while the collector is SIGKILLed and ClickHouse
// restarts mid-stream.
package e2e
