// Package chdb runs SQL on current ClickHouse (26.x) in process, through
// npm's chdb package driven by a small Node script (check.js), so that
// Tracer's schema and reader queries are proven on the newest ClickHouse as
// well as on the 18.16 server the other tests use.
//
// The npm packages live in this directory (package.json,
// package-lock.json); scripts/test-deps.d/chdb.sh runs `npm ci` here.
// TestCHDB applies clickhouse.sql unchanged and runs every reader query
// text of storage/clickhouse, with sample parameters bound, on sample rows.
package chdb
