package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage/backend"
)

const queryUsage = `Usage: tracer query [flags]

Serves the query API on --query-endpoint (8080, the Jaeger UI's port): the
Jaeger v1 and v3 HTTP routes that the Jaeger UI and Grafana's Jaeger data
source call (/api/services, /api/traces, /api/v3/traces, ...), service
performance monitoring (/api/metrics/...) and Tracer's own routes
(/api/tracer/..., described by /api/tracer/openapi.yaml). Every other path is
the web UI (until it exists, a placeholder page).

It reads storage that collectors write from other processes: ClickHouse
(--storage clickhouse). The embedded store (badger) and the memory store
belong to the one process that writes them: for those, run
"tracer all-in-one", the collector and the query API in one process.

Liveness GET /health, readiness GET /ready and Prometheus metrics GET
/metrics on --telemetry-endpoint. On SIGINT or SIGTERM it stops accepting
requests and lets those in flight finish within --shutdown-timeout.

` + configHelp

// querySection is the query API's settings, in "tracer query" and
// "tracer all-in-one".
var querySection = section{"Query API and UI (the Jaeger UI's port, 8080)", []setting{
	{flag: "query-endpoint", env: "TRACER_QUERY_ENDPOINT", key: "query.endpoint", arg: "host:port",
		help:  "listen address of the API and the UI; 0.0.0.0:8080 accepts remote clients",
		field: strField(func(c *config) *string { return &c.Query.Endpoint })},
	{flag: "query-base-path", env: "TRACER_QUERY_BASE_PATH", key: "query.base_path", arg: "/path",
		help:  "path prefix of every route, behind a reverse proxy that keeps it (Jaeger's --query.base-path); empty: none",
		field: strField(func(c *config) *string { return &c.Query.BasePath })},
	{flag: "query-max-lookback", env: "TRACER_QUERY_MAX_LOOKBACK", key: "query.max_lookback",
		help:  "longest time range one search, dependency or metrics request may cover",
		field: durField(func(c *config) *time.Duration { return &c.Query.MaxLookback })},
	{flag: "query-timeout", env: "TRACER_QUERY_TIMEOUT", key: "query.request_timeout",
		help:  "longest one request may take in storage; past it the answer is 503 and says to narrow the search",
		field: durField(func(c *config) *time.Duration { return &c.Query.RequestTimeout })},
	{flag: "query-cors-origins", env: "TRACER_QUERY_CORS_ORIGINS", key: "query.cors.allowed_origins", arg: "origin,...",
		help:  "origins allowed to call the API from a browser (https://grafana.example.com; * for any); empty: no cross-origin requests",
		field: listField(func(c *config) *[]string { return &c.Query.CORS.AllowedOrigins })},
	{flag: "query-cors-headers", env: "TRACER_QUERY_CORS_HEADERS", key: "query.cors.allowed_headers", arg: "header,...",
		help:  "request headers allowed in cross-origin requests beyond the CORS-safelisted ones (Authorization, say)",
		field: listField(func(c *config) *[]string { return &c.Query.CORS.AllowedHeaders })},
}}

// queryCommand is "tracer query".
var queryCommand = &command{
	name:  "query",
	usage: queryUsage,
	sections: []section{
		querySection,
		pick("Storage (ClickHouse; the embedded store is read by tracer all-in-one)", storageSection,
			map[string]string{"storage.type": "storage to read: clickhouse. The default (the collector's), badger, is refused, as memory is: only the process that writes them can read them, so run tracer all-in-one for them"},
			"storage.type", "storage.clickhouse.addr", "storage.clickhouse.database", "storage.clickhouse.username",
			"storage.clickhouse.password", "storage.clickhouse.tls.enabled", "storage.clickhouse.tls.ca_file", "storage.clickhouse.cluster"),
		pick(telemetrySection.title, telemetrySection,
			map[string]string{"shutdown_timeout": "how long shutdown lets the requests in flight finish"},
			"telemetry.endpoint", "telemetry.log_level", "telemetry.log_format", "shutdown_timeout"),
	},
	validate: func(c *config) []error {
		var errs []error
		switch c.Storage.Type {
		case backend.TypeBadger, backend.TypeMemory:
			errs = append(errs, fmt.Errorf("storage.type %s: tracer query reads storage that another process writes, and the %s store opens in one process only: "+
				`run "tracer all-in-one" (the collector, the query API and the UI in one process on the embedded store), `+
				"or keep spans in ClickHouse: tracer collector --storage clickhouse, and tracer query --storage clickhouse --clickhouse-addr host:9000",
				c.Storage.Type, c.Storage.Type))
		}
		// Only the problems of the settings it reads: the file may be one
		// a collector shares.
		if err := c.Config.Validate(); err != nil {
			for _, e := range split(err) {
				if msg := e.Error(); strings.HasPrefix(msg, "storage.") || strings.HasPrefix(msg, "telemetry.") || strings.HasPrefix(msg, "shutdown_timeout") {
					errs = append(errs, e)
				}
			}
		}
		return append(errs, validateQuery(c.Query)...)
	},
}

// pick returns a section titled title of the settings of from with keys,
// in that order, each with the help text help gives it, if any.
func pick(title string, from section, help map[string]string, keys ...string) section {
	out := section{title: title}
	for _, k := range keys {
		for _, s := range from.settings {
			if s.key == k {
				if h, ok := help[k]; ok {
					s.help = h
				}
				out.settings = append(out.settings, s)
			}
		}
	}
	return out
}

func (m *Main) runQuery(ctx context.Context, args []string) error {
	return m.run(ctx, queryCommand, args, func(ctx context.Context, cfg config) error {
		return m.serve(ctx, cfg, parts{query: true})
	})
}
