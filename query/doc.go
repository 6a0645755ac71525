// Package query is Tracer's HTTP read API: the routes the Jaeger UI and
// Grafana's Jaeger data source call (v1 under /api/, v3 under /api/v3/),
// Jaeger's service performance monitoring routes (/api/metrics/...)
// computed from Tracer's own store, and Tracer's own routes
// (/api/tracer/...) for what Jaeger's shapes cannot carry. It also serves
// the web UI, or a placeholder page when none is built in.
//
// Each API answers errors in its own shape (see errors.go) with a request id
// that the log line of the request carries too; internal details never reach
// the client.
package query
