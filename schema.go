package tracer

import _ "embed"

// ClickHouseSchema is clickhouse.sql, Tracer's ClickHouse schema, as applied
// by storage/clickhouse. Statements end with ';' at the end of a line.
//
//go:embed clickhouse.sql
var ClickHouseSchema string
