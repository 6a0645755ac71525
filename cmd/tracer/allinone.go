package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage/backend"
)

const allInOneUsage = `Usage: tracer all-in-one [flags]

The collector and the query API (and the web UI) in one process, on the
embedded store in ./tracer-data by default: the quickest way to see traces.

  send spans   OTLP/gRPC on --grpc-endpoint (localhost:4317), OTLP/HTTP
               POST /v1/traces on --http-endpoint (localhost:4318), from any
               OpenTelemetry SDK or collector
  look         http://localhost:8080/ (--query-endpoint): the web UI (until
               it exists, a placeholder page); the Jaeger v1 and v3 API that
               the Jaeger UI and Grafana's Jaeger data source read; Tracer's
               own routes under /api/tracer/

  demo         --demo also runs the example services, service-a (an HTTP
               gateway on localhost:8000) calling service-b (:8001) calling
               service-c (:8002) over gRPC, and traffic against service-a,
               all sending their spans here: live traces and the a → b → c
               dependency graph within a minute; Ctrl-C stops them first

It prints these addresses when it starts. Spans go through the collector's
write-ahead log (--wal-dir) into storage, as with "tracer collector";
ClickHouse is one flag away (--storage clickhouse --clickhouse-addr
host:9000). Every flag of "tracer collector" applies but --sink and the
Kafka ones (all-in-one writes to its own storage), and the query API's of
"tracer query".

One Prometheus registry for everything and one health report: liveness GET
/health, readiness GET /ready and GET /metrics on --telemetry-endpoint.
Ctrl-C (SIGINT) or SIGTERM stops intake, writes what it can within
--shutdown-timeout and leaves the rest in the WAL for the next start; a
second Ctrl-C stops at once.

` + configHelp

// allInOneCommand is "tracer all-in-one": every collector setting and the
// query API's.
var allInOneCommand = &command{
	name:     "all-in-one",
	usage:    allInOneUsage,
	sections: []section{receiversSection, querySection, limitsSection, walSection, batchSection, storageSection, telemetrySection, demoSection},
	validate: func(c *config) []error {
		var errs []error
		if err := c.Config.Validate(); err != nil {
			errs = split(err)
		}
		errs = append(errs, validateQuery(c.Query)...)
		return append(errs, validateDemo(c.Demo, c.Receivers.GRPC.Endpoint)...)
	},
}

func (m *Main) runAllInOne(ctx context.Context, args []string) error {
	return m.run(ctx, allInOneCommand, args, func(ctx context.Context, cfg config) error {
		return m.serve(ctx, cfg, parts{collector: true, query: true, banner: true, demo: cfg.Demo.Enabled})
	})
}

// printBanner tells where to send spans and where to look, with the
// addresses the servers listen on.
func printBanner(w io.Writer, cfg config, c *collector.Collector, qs, tel *httpServer) {
	fmt.Fprintln(w, "Tracer all-in-one is running.")
	if a := c.GRPCAddr(); a != "" {
		fmt.Fprintf(w, "  Send spans, OTLP/gRPC  %s  (OTEL_EXPORTER_OTLP_ENDPOINT=http://%[1]s OTEL_EXPORTER_OTLP_PROTOCOL=grpc)\n", dialAddr(a))
	}
	if a := c.HTTPAddr(); a != "" {
		fmt.Fprintf(w, "  Send spans, OTLP/HTTP  http://%s/v1/traces  (OTEL_EXPORTER_OTLP_ENDPOINT=http://%[1]s)\n", dialAddr(a))
	}
	base := "http://" + dialAddr(qs.addr) + cfg.Query.BasePath
	fmt.Fprintf(w, "  UI and query API       %s/  (Jaeger API: %[1]s/api/services, %[1]s/api/v3/services)\n", base)
	switch cfg.Storage.Type {
	case backend.TypeBadger:
		fmt.Fprintf(w, "  Data                   %s (badger), write-ahead log %s\n", absPath(cfg.Storage.Badger.Dir), absPath(cfg.WAL.Dir))
	default:
		fmt.Fprintf(w, "  Data                   %s: %s, write-ahead log %s\n", cfg.Storage.Type, storageLocation(cfg.Storage), absPath(cfg.WAL.Dir))
	}
	if tel.addr != "" {
		fmt.Fprintf(w, "  Health and metrics     http://%s/health, /ready, /metrics\n", dialAddr(tel.addr))
	}
	fmt.Fprintln(w, "Ctrl-C stops it (a second Ctrl-C stops at once).")
}

// dialAddr is a listen address as a client dials it: an unspecified host
// (0.0.0.0, ::, none) becomes localhost.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// absPath is p made absolute when it can be.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
