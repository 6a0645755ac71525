// Command query measures Tracer's query API end to end and the API's own
// overhead on top of the storage call it makes, for each kind of query the
// Jaeger UI, Grafana and Tracer's UI send.
//
// It stores a generated data set in a backend (the embedded Badger store, a
// ClickHouse server, or the memory store), then runs each query kind K times
// with varied parameters, both directly on the storage.ReadStore and through
// the HTTP API (query.New(...).Handler() behind a real loopback HTTP server,
// the whole answer read), alternating which goes first so that neither is
// always the warm one. It prints, per kind, p50 and p99 of the storage call
// and of the HTTP request, the API's overhead (API p50 minus storage p50, in
// milliseconds and as a share of the storage p50), the budget of issue 11
// and whether the API's p99 meets it. It also checks that the API answered
// as many traces, spans, edges or series as the storage call returned.
//
// The data set comes from storagetest.Generator, the one bench/clickhouse
// uses (with -extra-attrs 0 -per-trace 5 the spans are alike, though the
// trace sizes vary here), with -extra-attrs more attributes on each span
// (5 by default, 10 in all): traces of 1 to
// 2×-per-trace-1 spans spread evenly over -window (24 h) ending now, 8
// services, 16 operations, a tenth of the spans with an error status,
// parents and children in different services (so there are dependencies).
//
// The query kinds and the routes they go through:
//
//	trace by id            StreamTrace        GET /api/traces/{id}, /api/v3/traces/{id}
//	search service         FindTraces         GET /api/traces?service=
//	search service+op      FindTraces         GET /api/traces?service=&operation=
//	search service+dur     FindTraces         GET /api/traces?service=&minDuration=
//	search attribute       FindTraces         GET /api/v3/traces?query.attributes=
//	search duration        FindTraces         GET /api/v3/traces?query.durationMin=
//	trace summaries        FindTraceSummaries GET /api/v3/trace-summaries?query.serviceName=,
//	                                          /api/tracer/trace-summaries?attr=
//	dependencies 24h       Dependencies       GET /api/dependencies?endTs=&lookback=
//	RED 24h                RED                GET /api/metrics/latencies, /api/tracer/red
//
// On ClickHouse it runs the store's dependencies job once over the loaded
// data before measuring (as bench/clickhouse does), so that dependencies
// are measured as a store that has been running answers them.
//
// Searches cover the whole data set's time range (-window) and ask for 20
// traces, the Jaeger UI's default. Run it through bench/query.sh, which
// builds it and picks the defaults: Badger at 1M spans, or ClickHouse at
// 10M spans with BACKEND=clickhouse. Timings are only meaningful on an
// otherwise idle machine.
package main
