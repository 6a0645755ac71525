// Package clickhouse is Tracer's ClickHouse storage backend: a
// storage.Store that writes spans in large native columnar batches through
// github.com/ClickHouse/clickhouse-go/v2 and reads them back with
// parameterized queries.
//
// The schema is the repository's clickhouse.sql (tracer.ClickHouseSchema),
// applied by New: idempotently, with its version recorded in
// tracer_schema_version so that a later schema migrates instead of breaking.
// It runs unchanged on ClickHouse 18.16 (Debian's package) and on current
// releases; see the comments in clickhouse.sql for why the tables are shaped
// as they are.
//
// Writes are idempotent: the span tables are ReplacingMergeTree keyed by
// trace and span id, and every read de-duplicates, so a re-sent batch never
// shows a span twice, before or after ClickHouse merges parts. A span
// written again with other contents replaces the older version (the reader
// keeps the newest, as a merge does), and searches re-check what the index
// finds against those versions, so a search matches only what Trace
// returns. Operations still lists an operation name that only an older
// version had.
//
// Each distinct resource is stored once per day in tracer_resources, keyed
// by a hash of its content; spans carry the hash. The writer hashes a
// Resource slice that spans share once per call, and the reader gives the
// spans of one resource one shared Resource slice.
//
// Write errors: a span with a zero trace or span id is refused with a
// storage.RejectedError naming it, and the other spans are stored. Every
// other error (connection, server, schema, a deadline) is retryable: the
// caller writes the whole call again. A write is bounded by
// Config.WriteTimeout and by its context; cancelling it closes the
// connection of a batch in flight (clickhouse-go's batch Send watches the
// context), and Config.ReadTimeout bounds every wait for the server.
//
// Reads are capped by Config.Limits (storage.ReaderLimits): a trace comes
// back with at most MaxTraceSpans spans and Truncated set, a search limit
// over MaxTraces and a dependency window whose join would hold more than
// MaxDependencySpans spans (the server's max_rows_in_join) are errors
// wrapping storage.ErrInvalidQuery.
//
// Searches go back in time windows (the last hour, the last day, the rest)
// and stop once they have enough traces, so typical searches read recent
// partitions only; a search by attributes (and a service) reads the
// attribute index (tracer_search_attributes), every other one tracer_search,
// and every trace found is checked against the newest version of its
// spans in SQL. FindTraceIDs and FindTraceSummaries share that search;
// summaries are aggregated by the server, and StreamTrace hands a trace
// over in batches of storage.MaxStreamBatch.
//
// The writer also keeps, per batch, RED aggregates per minute
// (tracer_red, tracer_red_services: a retried batch counts twice there),
// attribute listings per hour (tracer_attribute_values) and the minutes it
// touched (tracer_edge_writes). A background job (Config.DependencyRefresh;
// it stops on Close, logs its errors to Config.Logger and is never traced)
// precomputes dependency edges per minute from those; Dependencies reads
// the minutes computed since their last write and joins the rest live
// (the window's partial minutes, recent ones), so its answer is the live
// one.
//
// Retention drops whole day partitions (Purge).
//
// For a cluster, set Config.Cluster: the DDL gets ON CLUSTER, Replicated*
// engines and Distributed tables over "_local" tables (see
// SchemaStatements). Writes to Distributed tables are made synchronous
// (insert_distributed_sync) so that the storage contract holds.
//
// The store's ClickHouse connection is never traced: clickhouse-go creates
// no spans unless asked (clickhouse.WithSpan), and this package never asks,
// so the collector's own writes never feed back into it.
package clickhouse
