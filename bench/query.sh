#!/usr/bin/env bash
# Benchmarks Tracer's query API end to end and its own overhead on top of the
# storage call, per query kind, against the budgets of issue 11:
#
#   get trace by id p99 < 50 ms; search by service, operation, attribute or
#   duration p99 < 300 ms; dependencies over 24 h < 200 ms; RED over 24 h
#   < 300 ms (Jaeger's own ClickHouse benchmark: 101 ms by id, 1.77 s by
#   attribute).
#
# It loads SPANS generated spans (over 24 h ending now) into the backend, then
# runs each kind RUNS times with varied parameters on the storage.ReadStore
# and through the HTTP API on a loopback server, and prints a table: storage
# p50/p99, API p50/p99, API overhead (ms and %), budget, ok/FAIL.
#
#   bench/query.sh                         # Badger, 1M spans
#   BACKEND=clickhouse bench/query.sh      # ClickHouse (a server started for the run), 10M spans
#   SPANS=100000 RUNS=50 bench/query.sh    # quick
#   KEEP=1 bench/query.sh; SKIP_LOAD=1 WORK=<dir it printed> bench/query.sh   # load once, measure again
#   bench/query.sh -only search            # extra flags go to the program (see -help)
#
# Environment: BACKEND (badger, the default; clickhouse; memory), SPANS
# (default 1000000 on badger and memory, 10000000 on clickhouse), RUNS (runs
# per kind, default 200; dependencies and RED a quarter), CLICKHOUSE_ADDR (a
# running server's native address; default: bench/query starts Debian's
# clickhouse-server with internal/chtest), DATABASE (default
# tracer_query_bench), KEEP (1: keep the Badger store or the started
# ClickHouse server's files in WORK for a later SKIP_LOAD=1 run), SKIP_LOAD
# (1: reuse the data in WORK, or in CLICKHOUSE_ADDR's DATABASE), WORK
# (scratch dir; default a new temp dir), TOOLS (where the built program goes;
# default $(go env GOPATH)/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=${BACKEND:-badger}
if [ "$BACKEND" = clickhouse ]; then SPANS=${SPANS:-10000000}; else SPANS=${SPANS:-1000000}; fi
RUNS=${RUNS:-200}
DATABASE=${DATABASE:-tracer_query_bench}
KEEP=${KEEP:-0}
SKIP_LOAD=${SKIP_LOAD:-0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$TOOLS" "$WORK"

log() { printf 'bench: %s\n' "$*" >&2; }

log "building bench/query"
go build -o "$TOOLS/tracer-bench-query" ./bench/query

args=(-backend "$BACKEND" -spans "$SPANS" -runs "$RUNS")
case "$BACKEND" in
  badger)
    if [ "$KEEP" = 1 ] || [ "$SKIP_LOAD" = 1 ]; then args+=(-dir "$WORK/badger"); fi ;;
  clickhouse)
    args+=(-database "$DATABASE")
    if [ -n "${CLICKHOUSE_ADDR:-}" ]; then
      args+=(-addr "$CLICKHOUSE_ADDR")
    elif [ "$KEEP" = 1 ] || [ "$SKIP_LOAD" = 1 ]; then
      args+=(-dir "$WORK/clickhouse")
    fi ;;
esac
[ "$SKIP_LOAD" = 1 ] && args+=(-skip-load)

log "$BACKEND, $SPANS spans, $RUNS runs per kind; $(nproc) CPUs; results in $WORK/results.txt"
"$TOOLS/tracer-bench-query" "${args[@]}" "$@" | tee "$WORK/results.txt"
if [ "$KEEP" = 1 ]; then
  log "data kept in $WORK: measure again with SKIP_LOAD=1 WORK=$WORK BACKEND=$BACKEND bench/query.sh"
fi
