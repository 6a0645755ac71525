#!/usr/bin/env bash
# Benchmarks Tracer's collector against the OpenTelemetry Collector on this
# machine, in the same run, with the same load generator.
#
#   Tracer:  OTLP/gRPC -> validate -> WAL (fsync, group commit) -> memory store
#   OTel:    OTLP/gRPC -> batch -> nop exporter (built with its builder)
#
# Load: several telemetrygen instances at --rate 0 for DURATION seconds each
# run. Spans are counted on the receiving side (telemetrygen drops spans
# silently when its queue is full): Tracer's spans_received_total, the OTel
# Collector's otelcol_receiver_accepted_spans. CPU is utime+stime of the
# collector process from /proc/PID/stat, read before and after the load and
# after the collector has finished writing (Tracer: spans_written_total has
# caught up with spans_received_total).
#
# Output: spans/s, CPU-seconds per million spans and spans per CPU-second for
# each run, then the ratio Tracer / OTel of spans per CPU-second (budget >= 1.2, DESIGN.md).
#
# STORAGE=clickhouse measures telemetrygen -> collector -> ClickHouse instead:
# a clickhouse-server (Debian's, started by bench/clickhouse -serve on free
# loopback ports) receives the spans; the OTel Collector is not run (its
# ClickHouse exporter's schema needs a newer server than Debian's 18.16), and
# the raw clickhouse-go insert rate of span-like rows into one plain table is
# printed as the ceiling. Spans count as done when written to ClickHouse.
#
# Environment: DURATION (s, default 20), INSTANCES (telemetrygen processes,
# default 4), WORKERS (per instance, default 4), BATCH (spans per export
# request, telemetrygen --batch-size, default 512 like the OTel SDK's batch
# span processor; telemetrygen's own default is 100), MEMORY_MAX_SPANS (the
# memory store's cap, default 100000: it evicts the oldest traces past it; a
# larger store mostly adds garbage-collector work over the spans it keeps),
# WAL_SYNC (batch, the default: fsync before acknowledging; or interval),
# ROUNDS (default 2: runs
# alternate tracer, otel, tracer, otel...), OTEL_VERSION (default v0.161.0),
# TOOLS (where telemetrygen, builder and the OTel build go; default
# $(go env GOPATH)/bin), WORK (scratch dir; default a new temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
INSTANCES=${INSTANCES:-4}
WORKERS=${WORKERS:-4}
BATCH=${BATCH:-512}
MEMORY_MAX_SPANS=${MEMORY_MAX_SPANS:-100000}
WAL_SYNC=${WAL_SYNC:-batch}
STORAGE=${STORAGE:-memory}
ROUNDS=${ROUNDS:-2}
OTEL_VERSION=${OTEL_VERSION:-v0.161.0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}
WORK=${WORK:-$(mktemp -d)}
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$TOOLS" "$WORK"

. bench/lib.sh

# --- tools ---------------------------------------------------------------
install_telemetrygen
# The OpenTelemetry Collector distribution that bench/collector.sh compares
# Tracer's collector with: OTLP receiver -> batch processor -> nop exporter.
build_otelcol otelcol-bench bench/otelcol-builder.yaml "otlpreceiver, batchprocessor, nopexporter"
log "building tracer"
go build -o "$WORK/tracer" ./cmd/tracer
if [ "$STORAGE" = clickhouse ]; then
  go build -o "$WORK/chbench" ./bench/clickhouse
fi

# measure NAME PID METRICS_URL RECEIVED_METRIC [WRITTEN_METRIC]
measure() {
  local name=$1 pid=$2 url=$3 recv=$4 written=${5:-}
  local c0 t0 s0 s1 c1 t1 prev
  c0=$(cpu_ticks "$pid"); s0=$(metric "$url" "$recv")
  t0=$(date +%s.%N)
  load "$ENDPOINT"
  t1=$(date +%s.%N)
  # Let the collector finish: received stable, and written caught up.
  prev=-1
  for _ in $(seq 1 300); do
    s1=$(metric "$url" "$recv")
    if [ "$s1" = "$prev" ]; then
      if [ -z "$written" ] || [ "$(metric "$url" "$written")" -ge "$s1" ]; then break; fi
    fi
    prev=$s1
    sleep 0.2
  done
  c1=$(cpu_ticks "$pid")
  awk -v n="$name" -v spans=$((s1 - s0)) -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" 'BEGIN {
    secs = t1 - t0
    cpu = ticks / hz
    printf "%-7s spans %9d  spans/s %8.0f  cpu-s %6.2f  cpu-s/M spans %6.2f  spans/cpu-s %9.0f\n", n, spans, spans / secs, cpu, cpu / spans * 1e6, spans / cpu
  }' | tee -a "$WORK/results.txt"
}

run_tracer() {
  local grpc tel pid
  grpc=127.0.0.1:$(free_port); tel=127.0.0.1:$(free_port)
  rm -rf "$WORK/wal"
  local store=(--storage memory --memory-max-spans "$MEMORY_MAX_SPANS")
  if [ "$STORAGE" = clickhouse ]; then
    store=(--storage clickhouse --clickhouse-addr "$CH_ADDR" --clickhouse-database "bench_$RANDOM")
  fi
  "$WORK/tracer" collector --grpc-endpoint "$grpc" --http-endpoint "" --telemetry-endpoint "$tel" \
    --wal-dir "$WORK/wal" --wal-sync "$WAL_SYNC" "${store[@]}" \
    --log-level warn > "$WORK/tracer.log" 2>&1 &
  pid=$!
  wait_up "http://$tel/health"
  ENDPOINT=$grpc measure tracer "$pid" "http://$tel/metrics" \
    'tracer_collector_spans_received_total{transport="grpc"}' tracer_collector_spans_written_total
  kill -TERM "$pid"; wait "$pid" || true
}

run_otel() {
  local grpc mport pid
  grpc=127.0.0.1:$(free_port); mport=$(free_port)
  OTELCOL_GRPC_ENDPOINT=$grpc OTELCOL_METRICS_PORT=$mport "$OTELCOL" --config bench/otelcol.yaml > "$WORK/otelcol.log" 2>&1 &
  pid=$!
  wait_up "http://127.0.0.1:$mport/metrics"
  ENDPOINT=$grpc measure otel "$pid" "http://127.0.0.1:$mport/metrics" otelcol_receiver_accepted_spans
  kill -TERM "$pid"; wait "$pid" || true
}

# --- runs ----------------------------------------------------------------
: > "$WORK/results.txt"
log "load: $INSTANCES telemetrygen x $WORKERS workers, batches of $BATCH, rate 0, ${DURATION}s per run, $ROUNDS rounds; $(nproc) CPUs"
if [ "$STORAGE" = clickhouse ]; then
  "$WORK/chbench" -serve > "$WORK/chserver.out" 2> "$WORK/chserver.log" &
  chpid=$!
  trap 'kill -TERM $chpid 2>/dev/null; wait $chpid 2>/dev/null' EXIT
  for _ in $(seq 1 600); do grep -q '^addr ' "$WORK/chserver.out" 2>/dev/null && break; sleep 0.1; done
  read -r _ CH_ADDR _ CH_PID < "$WORK/chserver.out" || { cat "$WORK/chserver.log" >&2; exit 1; }
  log "clickhouse-server at $CH_ADDR (pid $CH_PID)"
  "$WORK/chbench" -addr "$CH_ADDR" -database bench_raw -spans 0 -queries 0 -raw-rows 1000000 | grep -i -E 'raw|rows/s' || true
  for _ in $(seq 1 "$ROUNDS"); do
    ch0=$(cpu_ticks "$CH_PID")
    run_tracer
    ch1=$(cpu_ticks "$CH_PID")
    spans=$(tail -1 "$WORK/results.txt" | awk '{print $3}')
    awk -v t=$((ch1 - ch0)) -v hz="$CLK_TCK" -v n="$spans" 'BEGIN {printf "        clickhouse-server cpu-s %6.2f  cpu-s/M spans %6.2f\n", t / hz, t / hz / n * 1e6}'
  done
  exit 0
fi
for _ in $(seq 1 "$ROUNDS"); do
  run_tracer
  run_otel
done
awk '{ for (i = 1; i <= NF; i++) if ($i == "spans/cpu-s") v = $(i + 1); sum[$1] += v; n[$1]++ }
  END {
    t = sum["tracer"] / n["tracer"]; o = sum["otel"] / n["otel"]
    printf "mean spans per CPU-second: tracer %.0f, otel %.0f; ratio %.2f (budget >= 1.2)\n", t, o, t / o
  }' "$WORK/results.txt"
log "logs and results in $WORK"
