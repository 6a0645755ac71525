-- Tracer's ClickHouse schema, schema_version: 4
--
-- This file is the single source of truth. The binary embeds it (package
-- tracer, ClickHouseSchema) and storage/clickhouse applies it at start. Every
-- statement is idempotent (IF NOT EXISTS) and runs unchanged on Debian's
-- clickhouse-server 18.16 and on current releases (26.x through chdb), so it
-- uses only what both understand: nanosecond times as Int64, attributes as
-- parallel arrays, no Map, DateTime64, LowCardinality, codecs, TTL or skip
-- indexes, and the MergeTree engine written with PARTITION BY / ORDER BY
-- clauses (never the old MergeTree(date, key, granularity) form).
--
-- Statements end with ';' at the end of a line. Lines starting with
-- "-- tracer:" are directives for the cluster DDL generator
-- (storage/clickhouse, SchemaStatements):
--   tracer:shard EXPR   the sharding key of the Distributed table
--   tracer:local        the table is never Distributed (per-node bookkeeping)
--
-- Why this shape (compared with what others do):
--
-- * Jaeger's ClickHouse plugin keeps a serialized span blob in a table
--   ordered by trace id plus an index table ordered by service, operation and
--   time, and gets services/operations from materialized views. The OTel
--   Collector's exporter keeps one wide table ordered by
--   (ServiceName, SpanName, time) plus a trace_id -> time lookup table filled
--   by a materialized view, and answers get-by-id in two steps. SigNoz has a
--   wide index table ordered by service/name/time and a separate span blob
--   table, with error and dependency tables beside them.
-- * Tracer keeps the same two access paths but fills every table from the
--   writer itself, in the same batch, instead of through materialized views:
--   each view is another insert on the write path (BENCH.md: one plain
--   table took 315k-392k rows/s on 18.16, a layout with four views 26k-59k),
--   and a failing view makes an INSERT return an error after the base rows
--   were written, which a retry then duplicates.
-- * tracer_spans holds whole spans, ordered by (trace_id, span_id) with small
--   granules: get-by-id reads one short range, in one step, with no lookup
--   table. Events and links sit in parallel arrays next to the span, so a
--   trace is one range read. The vector clock is read back from the span's
--   attributes (vclock), so it is not stored a second time.
-- * tracer_search holds what search and the dependency joins read of each
--   span, ordered by (service, start_time): a search by service (and
--   operation, kind, duration...) reads the service's rows of its time
--   window, newest first (see storage/clickhouse, searchWindows), an
--   attribute filter reads only the key and value arrays (arrayExists over
--   them), and the joins read a time range as one short range per service.
--   (Version 3 had two tables for this, one ordered by service and name,
--   one by time, and the random 32 bytes of ids of each span twice.)
-- * tracer_operations holds distinct (day, service, name, kind): a few rows
--   per batch, so services and operations are answered from a tiny table.
-- * Dependencies: a parent and its child arrive from different processes in
--   different batches, so the writer cannot resolve the edge. Instead every
--   batch records, last (after its spans are visible), the minutes it
--   touched in tracer_edge_writes (each span's minutes from its start to
--   its end, at most a day: the minutes whose children it may parent);
--   the server stamps the row with its own clock (at DEFAULT now()), so
--   many collectors need no agreement on time. A background job in every
--   Store (storage/clickhouse, edges.go) recomputes, a settle delay after
--   the last write, the edges of each such minute from the spans
--   (children that started in the minute joined to their parents, found
--   near the child first, then anywhere) and writes them to tracer_edges
--   with the server time the computation started, less a margin for the
--   clocks of a cluster's servers (computed), then a marker in
--   tracer_edge_minutes. A minute is up to date when its marker
--   is newer than its last write: then a reader sums its precomputed
--   rows, and a minute no batch wrote holds no child; every other minute
--   of a window (no marker yet, written since, the partial minutes at the
--   window's ends) is computed live, so the answer is exactly what the
--   live join gives. Two jobs (two collectors)
--   computing one minute write the same rows: the tables are
--   ReplacingMergeTree(computed) and readers keep the newest computation.
--   The joins read tracer_search: a minute of children and the parents
--   around it are one short range per service.
--   tracer_edges keeps the parent's start minute (pminute) when the parent
--   started after its child's minute or more than a day before it (else
--   the child's minute: every window counting the child counts it), so
--   that a window's parent bounds apply as the live join applies them.
-- * RED aggregates: the writer adds, per batch, one tracer_red row per
--   (service, name, kind, minute) with the calls, the errors and the
--   latency histogram (storage.LatencyBucket -> count, a Nested column
--   whose name ends in Map, which SummingMergeTree sums key by key), and one
--   tracer_red_services row per (service, kind, minute) for the series
--   not split by operation (a day at one-minute steps reads a row per
--   service and minute instead of one per operation). A
--   SummingMergeTree cannot tell a retried batch from a new one: a batch
--   written twice counts twice in RED series (spans, searches and
--   dependencies never do). Materialized views would not help: they too
--   see every insert.
-- * Search by attribute: tracer_search_attributes holds one row per span
--   attribute, ordered by (key, value hash, service, start time): a search
--   by attributes (and a service) reads one short range per attribute,
--   which gives the matching spans as (service, start time); tracer_search,
--   ordered by those, gives their trace ids. No trace id here (it was 16
--   random bytes per attribute, most of this table's size): rows of
--   several attributes of one span are matched by service and start time.
--   The value is a 64-bit FNV-1a hash of its canonical string (long values
--   stay out of the sort key). Every search re-checks its candidates
--   against the spans, so a hash collision or two spans of a service
--   starting in the same nanosecond find nothing wrong. The vector clock's
--   per-span attributes (ticks and dependencies, a value per span) are not
--   indexed: searches on them read tracer_search's arrays.
-- * tracer_attribute_values lists the distinct (span or resource,
--   service, key, value) per hour, for autocompletion; values longer than
--   256 bytes are not listed.
-- * Minutes (minute columns) are unix seconds of the minute's start, hours
--   (hour) of the hour's.
-- * Upgrading a version 2 database creates the new tables; RED series,
--   attribute listings and attribute-alone searches cover the spans
--   written after the upgrade (attribute searches with a service, or
--   matching a resource attribute, use tracer_search's arrays), and
--   dependencies over older data are computed live (exact, as slow as
--   before) until those minutes are written again.
-- * Upgrading a version 3 (or older) database to version 4 copies, on the
--   server, tracer_span_index into tracer_search and tracer_attributes
--   into tracer_search_attributes (without the trace id), then drops them,
--   tracer_span_times (a subset of tracer_span_index) and tracer_spans'
--   vc_nodes/vc_counts columns (storage/clickhouse, migrate.go). Every
--   stored span reads, searches and joins as before.
-- * tracer_resources holds each distinct resource (its attributes) once
--   per day, keyed by a hash of its content; spans and index rows carry only
--   resource_hash (zero for an empty resource). The spans of one resource
--   share it, so a large resource attribute is stored once, not once per
--   span; reads join it back by hash, and searches on resource attributes
--   select the matching hashes from this small table.
-- * A span written again with the same ids replaces the older version:
--   tracer_spans is ReplacingMergeTree(written), written being the
--   writer's clock, and reads keep the row with the largest written (ORDER
--   BY written DESC LIMIT 1 BY), merged or not. tracer_search is keyed
--   by what search filters on, so an older version's row stays there:
--   searches re-check the spans they found against the current versions.
-- * Idempotency: the span tables are ReplacingMergeTree keyed by their ORDER
--   BY, and every reader query de-duplicates on read (LIMIT 1 BY trace_id,
--   span_id, or DISTINCT / GROUP BY), so a re-sent batch never shows twice,
--   merged or not.
-- * Ids are FixedString (16 and 8 bytes), not hex strings: half the bytes
--   and cheap comparisons. Every table is partitioned by day (a Date column
--   the writer fills from the span's start time, UTC), so retention drops
--   whole partitions.

-- tracer:local
CREATE TABLE IF NOT EXISTS tracer_schema_version
(
    version UInt32,
    applied_at DateTime
)
ENGINE = ReplacingMergeTree()
ORDER BY version;

-- tracer:shard cityHash64(trace_id)
CREATE TABLE IF NOT EXISTS tracer_spans
(
    day Date,
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    trace_state String,
    flags UInt32,
    name String,
    kind Int8,
    start_time Int64,
    end_time Int64,
    status_code Int8,
    status_message String,
    service String,
    resource_hash FixedString(16),
    scope_name String,
    scope_version String,
    attr_keys Array(String),
    attr_types Array(UInt8),
    attr_values Array(String),
    event_times Array(Int64),
    event_names Array(String),
    event_attr_keys Array(Array(String)),
    event_attr_types Array(Array(UInt8)),
    event_attr_values Array(Array(String)),
    link_trace_ids Array(FixedString(16)),
    link_span_ids Array(FixedString(8)),
    link_trace_states Array(String),
    link_attr_keys Array(Array(String)),
    link_attr_types Array(Array(UInt8)),
    link_attr_values Array(Array(String)),
    dropped_attributes UInt32,
    dropped_events UInt32,
    dropped_links UInt32,
    written UInt64
)
ENGINE = ReplacingMergeTree(written)
PARTITION BY day
ORDER BY (trace_id, span_id)
SETTINGS index_granularity = 1024;

-- tracer:shard cityHash64(trace_id)
CREATE TABLE IF NOT EXISTS tracer_search
(
    day Date,
    service String,
    start_time Int64,
    name String,
    kind Int8,
    duration Int64,
    status_code Int8,
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    attr_keys Array(String),
    attr_values Array(String),
    resource_hash FixedString(16)
)
ENGINE = ReplacingMergeTree()
PARTITION BY day
ORDER BY (service, start_time, trace_id, span_id)
SETTINGS index_granularity = 8192;

-- tracer:shard cityHash64(service, name)
CREATE TABLE IF NOT EXISTS tracer_operations
(
    day Date,
    service String,
    name String,
    kind Int8
)
ENGINE = ReplacingMergeTree()
PARTITION BY day
ORDER BY (service, name, kind)
SETTINGS index_granularity = 256;

-- tracer:shard cityHash64(hash)
CREATE TABLE IF NOT EXISTS tracer_resources
(
    day Date,
    hash FixedString(16),
    attr_keys Array(String),
    attr_types Array(UInt8),
    attr_values Array(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY day
ORDER BY hash
SETTINGS index_granularity = 256;

-- tracer:shard cityHash64(key, value_hash)
CREATE TABLE IF NOT EXISTS tracer_search_attributes
(
    day Date,
    key String,
    value_hash UInt64,
    service String,
    start_time Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY day
ORDER BY (key, value_hash, service, start_time)
SETTINGS index_granularity = 8192;

-- tracer:shard cityHash64(key, value)
CREATE TABLE IF NOT EXISTS tracer_attribute_values
(
    day Date,
    hour Int64,
    resource UInt8,
    service String,
    key String,
    value String
)
ENGINE = ReplacingMergeTree()
PARTITION BY day
ORDER BY (resource, key, value, service, hour)
SETTINGS index_granularity = 1024;

-- tracer:shard cityHash64(service, name)
CREATE TABLE IF NOT EXISTS tracer_red
(
    day Date,
    minute Int64,
    service String,
    name String,
    kind Int8,
    calls UInt64,
    errors UInt64,
    latencyMap Nested(bucket UInt16, count UInt64)
)
ENGINE = SummingMergeTree()
PARTITION BY day
ORDER BY (day, service, minute, name, kind)
SETTINGS index_granularity = 1024;

-- tracer:shard cityHash64(service)
CREATE TABLE IF NOT EXISTS tracer_red_services
(
    day Date,
    minute Int64,
    service String,
    kind Int8,
    calls UInt64,
    errors UInt64,
    latencyMap Nested(bucket UInt16, count UInt64)
)
ENGINE = SummingMergeTree()
PARTITION BY day
ORDER BY (day, service, kind, minute)
SETTINGS index_granularity = 1024;

-- tracer:shard cityHash64(minute)
CREATE TABLE IF NOT EXISTS tracer_edge_writes
(
    day Date,
    minute Int64,
    at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(at)
PARTITION BY day
ORDER BY minute
SETTINGS index_granularity = 256;

-- tracer:shard cityHash64(minute)
CREATE TABLE IF NOT EXISTS tracer_edges
(
    day Date,
    minute Int64,
    parent String,
    child String,
    pminute Int64,
    calls UInt64,
    errors UInt64,
    computed DateTime
)
ENGINE = ReplacingMergeTree(computed)
PARTITION BY day
ORDER BY (minute, parent, child, pminute)
SETTINGS index_granularity = 1024;

-- tracer:shard cityHash64(minute)
CREATE TABLE IF NOT EXISTS tracer_edge_minutes
(
    day Date,
    minute Int64,
    computed DateTime
)
ENGINE = ReplacingMergeTree(computed)
PARTITION BY day
ORDER BY minute
SETTINGS index_granularity = 256;
