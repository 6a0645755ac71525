#!/usr/bin/env bash
# Measures Tracer's ClickHouse storage: raw insert ceiling, Store write rate,
# bytes on disk per span and read latencies (p50/p99) on a real server.
# Default: 10 million spans on a server started for the run (takes a while).
#   bench/clickhouse.sh                      # full run
#   bench/clickhouse.sh -spans 1000000       # quicker
#   bench/clickhouse.sh -addr 127.0.0.1:9000 # an existing server
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/clickhouse "$@"
