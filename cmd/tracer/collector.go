package main

import (
	"context"
	"time"
)

const collectorUsage = `Usage: tracer collector [flags]

Receives OTLP traces from any OpenTelemetry client (OTLP/gRPC TraceService on
--grpc-endpoint, OTLP/HTTP POST /v1/traces on --http-endpoint, protobuf or
JSON, gzip or not), keeps each acknowledged request in a write-ahead log
(--wal-dir) and writes the spans to storage in batches. On SIGINT or SIGTERM
it stops intake, writes what it can within --shutdown-timeout and leaves the
rest in the WAL for the next start.

With --sink kafka it writes to Kafka instead (--kafka-brokers, topic
--kafka-topic, otlp_spans by default, which must exist), for "tracer
ingester" processes to write to storage: one message per trace of each
request, keyed by the trace id in hex so that a trace stays on one partition,
its value the OTLP protobuf ExportTraceServiceRequest as it came (the
OpenTelemetry Collector's kafka exporter and receiver call this encoding
otlp_proto, with partition_traces_by_id). Messages over
--kafka-max-message-bytes are split; the producer is idempotent with
acks=all, and the WAL is trimmed only after Kafka acknowledged every message.
The Storage settings are then not used.

Liveness GET /health, readiness GET /ready (also 503 while storage or Kafka
writes are retried) and Prometheus metrics GET /metrics on
--telemetry-endpoint.

` + configHelp

// The collector's settings by section, in the order of its usage text;
// tracer query and tracer all-in-one take some of them too.
var (
	receiversSection = section{"Receivers (the OTLP ports: gRPC 4317, HTTP 4318)", []setting{
		{flag: "grpc-endpoint", env: "TRACER_GRPC_ENDPOINT", key: "receivers.grpc.endpoint", arg: "host:port",
			help:  "OTLP/gRPC listen address; empty disables the gRPC receiver; 0.0.0.0:4317 accepts remote clients. At least one receiver must be enabled.",
			field: strField(func(c *config) *string { return &c.Receivers.GRPC.Endpoint })},
		{flag: "http-endpoint", env: "TRACER_HTTP_ENDPOINT", key: "receivers.http.endpoint", arg: "host:port",
			help:  "OTLP/HTTP listen address (POST /v1/traces); empty disables the HTTP receiver; 0.0.0.0:4318 accepts remote clients",
			field: strField(func(c *config) *string { return &c.Receivers.HTTP.Endpoint })},
	}}
	limitsSection = section{"Limits", []setting{
		{flag: "max-request-bytes", env: "TRACER_MAX_REQUEST_BYTES", key: "limits.max_request_bytes",
			help:  "largest request accepted (after gzip decompression)",
			field: bytesField(func(c *config) *int { return &c.Limits.MaxRequestBytes })},
		{flag: "max-inflight-bytes", env: "TRACER_MAX_INFLIGHT_BYTES", key: "limits.max_inflight_bytes",
			help:  "bytes of requests held in memory at once; past it receivers push back with a retryable error",
			field: bytesField(func(c *config) *int64 { return &c.Limits.MaxInflightBytes })},
		{flag: "max-spans-per-request", env: "TRACER_MAX_SPANS_PER_REQUEST", key: "limits.max_spans_per_request",
			help:  "a request with more spans is refused whole",
			field: intField(func(c *config) *int { return &c.Limits.MaxSpansPerRequest })},
		{flag: "max-attributes", env: "TRACER_MAX_ATTRIBUTES", key: "limits.max_attributes",
			help:  "attributes kept per span; the others are dropped and counted",
			field: intField(func(c *config) *int { return &c.Limits.MaxAttributes })},
		{flag: "max-attribute-value-len", env: "TRACER_MAX_ATTRIBUTE_VALUE_LEN", key: "limits.max_attribute_value_len",
			help:  "longer string attribute values (of spans, resources, events and links) are truncated to this many bytes (counted); the clock's are kept whole",
			field: intField(func(c *config) *int { return &c.Limits.MaxAttributeValueLen })},
		{flag: "max-name-len", env: "TRACER_MAX_NAME_LEN", key: "limits.max_name_len",
			help:  "spans with a longer name (in bytes) are rejected",
			field: intField(func(c *config) *int { return &c.Limits.MaxNameLen })},
	}}
	walSection = section{"Write-ahead log", []setting{
		{flag: "wal-dir", env: "TRACER_WAL_DIR", key: "wal.dir", arg: "path",
			help:  "write-ahead log directory (required)",
			field: strField(func(c *config) *string { return &c.WAL.Dir })},
		{flag: "wal-sync", env: "TRACER_WAL_SYNC", key: "wal.sync", arg: "batch|interval",
			help:  "batch: fsync before acknowledging (one fsync for the requests that arrived meanwhile); interval: fsync every --wal-sync-interval (a power loss may lose acknowledged spans)",
			field: strField(func(c *config) *string { return &c.WAL.Sync })},
		{flag: "wal-sync-interval", env: "TRACER_WAL_SYNC_INTERVAL", key: "wal.sync_interval",
			help:  "how often --wal-sync=interval fsyncs",
			field: durField(func(c *config) *time.Duration { return &c.WAL.SyncInterval })},
		{flag: "wal-max-bytes", env: "TRACER_WAL_MAX_BYTES", key: "wal.max_bytes",
			help:  "WAL size cap on disk; past it receivers answer with a retryable error",
			field: bytesField(func(c *config) *int64 { return &c.WAL.MaxBytes })},
	}}
	batchSection = section{"Batching", []setting{
		{flag: "batch-size", env: "TRACER_BATCH_SIZE", key: "batch.size",
			help:  "spans per storage write (with --storage clickhouse: --clickhouse-batch-size, 50000)",
			field: intField(func(c *config) *int { return &c.Batch.Size })},
		{flag: "batch-timeout", env: "TRACER_BATCH_TIMEOUT", key: "batch.timeout",
			help:  "longest a span waits for its batch to fill (with --storage clickhouse: 1s)",
			field: durField(func(c *config) *time.Duration { return &c.Batch.Timeout })},
	}}
	storageSection = section{"Storage", []setting{
		{flag: "storage", env: "TRACER_STORAGE", key: "storage.type", arg: "memory|badger|clickhouse",
			help:  "storage backend: memory, badger (embedded, on disk) or clickhouse",
			field: strField(func(c *config) *string { return &c.Storage.Type })},
		{flag: "retention", env: "TRACER_RETENTION", key: "storage.retention",
			help:  "delete spans older than this; 0 keeps everything (ClickHouse drops whole days)",
			field: durField(func(c *config) *time.Duration { return &c.Storage.Retention })},
		{flag: "memory-max-spans", env: "TRACER_MEMORY_MAX_SPANS", key: "storage.memory.max_spans",
			help:  "spans the memory store keeps (0: its default)",
			field: intField(func(c *config) *int { return &c.Storage.Memory.MaxSpans })},
		{flag: "badger-dir", env: "TRACER_BADGER_DIR", key: "storage.badger.dir", arg: "path",
			help:  "directory of the badger store",
			field: strField(func(c *config) *string { return &c.Storage.Badger.Dir })},
		{flag: "clickhouse-addr", env: "TRACER_CLICKHOUSE_ADDR", key: "storage.clickhouse.addr", arg: "host:port,...",
			help:  "ClickHouse native-protocol addresses (port 9000; 9440 with TLS), tried in order",
			field: listField(func(c *config) *[]string { return &c.Storage.ClickHouse.Addr })},
		{flag: "clickhouse-database", env: "TRACER_CLICKHOUSE_DATABASE", key: "storage.clickhouse.database",
			help:  "ClickHouse database (created if missing)",
			field: strField(func(c *config) *string { return &c.Storage.ClickHouse.Database })},
		{flag: "clickhouse-username", env: "TRACER_CLICKHOUSE_USERNAME", key: "storage.clickhouse.username",
			help:  "ClickHouse user",
			field: strField(func(c *config) *string { return &c.Storage.ClickHouse.Username })},
		{env: "TRACER_CLICKHOUSE_PASSWORD", key: "storage.clickhouse.password",
			help:  "ClickHouse password; no flag, so that it stays out of the process list (or the YAML file); empty: none",
			field: strField(func(c *config) *string { return &c.Storage.ClickHouse.Password })},
		{flag: "clickhouse-tls", env: "TRACER_CLICKHOUSE_TLS", key: "storage.clickhouse.tls.enabled",
			help:  "use TLS to ClickHouse (its secure native port is 9440)",
			field: boolField(func(c *config) *bool { return &c.Storage.ClickHouse.TLS.Enabled })},
		{flag: "clickhouse-tls-ca-file", env: "TRACER_CLICKHOUSE_TLS_CA_FILE", key: "storage.clickhouse.tls.ca_file", arg: "path",
			help:  "PEM file of the CAs to trust for ClickHouse's certificate; empty: the system's",
			field: strField(func(c *config) *string { return &c.Storage.ClickHouse.TLS.CAFile })},
		{flag: "clickhouse-batch-size", env: "TRACER_CLICKHOUSE_BATCH_SIZE", key: "storage.clickhouse.batch_size",
			help:  "most spans per ClickHouse INSERT (0: the backend's default; flushes follow --batch-timeout)",
			field: intField(func(c *config) *int { return &c.Storage.ClickHouse.BatchSize })},
		{flag: "clickhouse-cluster", env: "TRACER_CLICKHOUSE_CLUSTER", key: "storage.clickhouse.cluster",
			help:  "ClickHouse cluster for ON CLUSTER DDL; empty: one server (replicated and distributed tables in the YAML file)",
			field: strField(func(c *config) *string { return &c.Storage.ClickHouse.Cluster.Name })},
	}}
	telemetrySection = section{"Telemetry", []setting{
		{flag: "telemetry-endpoint", env: "TRACER_TELEMETRY_ENDPOINT", key: "telemetry.endpoint", arg: "host:port",
			help:  "address of GET /health and GET /metrics (8888, as the OpenTelemetry Collector's); empty disables both",
			field: strField(func(c *config) *string { return &c.Telemetry.Endpoint })},
		{flag: "log-level", env: "TRACER_LOG_LEVEL", key: "telemetry.log_level", arg: "debug|info|warn|error",
			help:  "least severe log records written (to stderr)",
			field: strField(func(c *config) *string { return &c.Telemetry.LogLevel })},
		{flag: "log-format", env: "TRACER_LOG_FORMAT", key: "telemetry.log_format", arg: "text|json",
			help:  "log record format",
			field: strField(func(c *config) *string { return &c.Telemetry.LogFormat })},
		{flag: "shutdown-timeout", env: "TRACER_SHUTDOWN_TIMEOUT", key: "shutdown_timeout",
			help:  "how long shutdown may write before it leaves the rest in the WAL",
			field: durField(func(c *config) *time.Duration { return &c.ShutdownTimeout })},
	}}
)

// collectorSettings are the collector's flags and environment variables,
// in the order of its usage text.
var collectorSettings = []section{receiversSection, limitsSection, walSection, batchSection, sinkSection, storageSection, kafkaSection, kafkaProducerSection, telemetrySection}

// configSetting is --config: read before the others, since the file comes
// before them.
var configSetting = section{"Configuration file", []setting{
	{flag: "config", env: "TRACER_CONFIG", arg: "path",
		help:  "YAML file applied over the defaults; empty: none",
		field: func(*config) value { return stringValue{new(string)} }},
}}

// collectorCommand is "tracer collector".
var collectorCommand = &command{
	name:     "collector",
	usage:    collectorUsage,
	sections: collectorSettings,
	validate: func(c *config) []error {
		if err := c.Config.Validate(); err != nil {
			return split(err)
		}
		return nil
	},
}

// loadCollectorConfig is loadConfig for "tracer collector".
func (m *Main) loadCollectorConfig(args []string) (config, error) {
	return m.loadConfig(collectorCommand, args)
}

func (m *Main) runCollector(ctx context.Context, args []string) error {
	return m.run(ctx, collectorCommand, args, m.serveCollector)
}
