#!/usr/bin/env bash
# Benchmarks "tracer agent" against the OpenTelemetry Collector configured as
# an agent, on this machine, in the same run, with the same load and the same
# downstream collector.
#
#   Tracer:  OTLP/gRPC -> validate -> WAL (fsync, group commit) -> OTLP/gRPC out
#   OTel:    OTLP/gRPC -> otlp exporter, sending queue persisted by the
#            file_storage extension (fsync per FSYNC) -> OTLP/gRPC out
#            (bench/otelcol-agent.yaml, built with its builder from
#            bench/otelcol-agent-builder.yaml)
#   Downstream of both: one "tracer collector" with the memory store, started
#   once; its CPU is not counted.
#
# Load: INSTANCES telemetrygen processes at --rate 0 for DURATION seconds each
# run. Spans are counted on the agent's receiving side (telemetrygen drops
# spans silently when its queue is full): tracer's
# tracer_collector_spans_received_total, the OTel Collector's
# otelcol_receiver_accepted_spans. CPU is utime+stime of the agent process
# from /proc/PID/stat, read before the load and once the agent has forwarded
# what it received (tracer_agent_spans_forwarded_total,
# otelcol_exporter_sent_spans).
#
# Output: spans/s, CPU-seconds per million spans and spans per CPU-second for
# each run, then the ratio tracer / otel of spans per CPU-second.
#
# Environment: DURATION (s, default 20), INSTANCES (default 4), WORKERS (per
# instance, default 4), BATCH (spans per export request, default 512),
# FSYNC (true, the default: both agents fsync what they acknowledge, tracer
# with --wal-sync batch, OTel with file_storage fsync; false: tracer
# --wal-sync interval, OTel without fsync), COMPRESSION (to the downstream:
# gzip, the default of both, or none), ROUNDS (default 2: runs alternate
# tracer, otel...), OTEL_VERSION (default v0.161.0), TOOLS (where
# telemetrygen, builder and the OTel build go; default $(go env GOPATH)/bin),
# WORK (scratch dir; default a new temp dir).
#
# The helpers below are bench/collector.sh's (that script runs when sourced,
# so they are repeated here).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
INSTANCES=${INSTANCES:-4}
WORKERS=${WORKERS:-4}
BATCH=${BATCH:-512}
FSYNC=${FSYNC:-true}
COMPRESSION=${COMPRESSION:-gzip}
ROUNDS=${ROUNDS:-2}
OTEL_VERSION=${OTEL_VERSION:-v0.161.0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}
WORK=${WORK:-$(mktemp -d)}
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$TOOLS" "$WORK"

. bench/lib.sh

# --- tools ---------------------------------------------------------------
install_telemetrygen
build_otelcol otelcol-agent-bench bench/otelcol-agent-builder.yaml "otlpreceiver, otlpexporter, filestorage"
log "building tracer"
go build -o "$WORK/tracer" ./cmd/tracer

# measure NAME PID METRICS_URL RECEIVED_METRIC FORWARDED_METRIC: load, then
# wait until received is stable and forwarded has caught up with it.
measure() {
  local name=$1 pid=$2 url=$3 recv=$4 fwd=$5
  local c0 t0 s0 f0 s1 c1 t1 prev f1
  c0=$(cpu_ticks "$pid"); s0=$(metric "$url" "$recv"); f0=$(metric "$url" "$fwd")
  t0=$(date +%s.%N)
  load "$ENDPOINT"
  t1=$(date +%s.%N)
  prev=-1
  for _ in $(seq 1 600); do
    s1=$(metric "$url" "$recv")
    f1=$(metric "$url" "$fwd")
    if [ "$s1" = "$prev" ] && [ $((f1 - f0)) -ge $((s1 - s0)) ]; then break; fi
    prev=$s1
    sleep 0.2
  done
  c1=$(cpu_ticks "$pid")
  [ $((f1 - f0)) -ge $((s1 - s0)) ] || log "$name forwarded $((f1 - f0)) of $((s1 - s0)) spans within two minutes"
  awk -v n="$name" -v spans=$((s1 - s0)) -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" 'BEGIN {
    secs = t1 - t0
    cpu = ticks / hz
    printf "%-7s spans %9d  spans/s %8.0f  cpu-s %6.2f  cpu-s/M spans %6.2f  spans/cpu-s %9.0f\n", n, spans, spans / secs, cpu, cpu / spans * 1e6, spans / cpu
  }' | tee -a "$WORK/results.txt"
}

# The downstream collector of both agents.
start_downstream() {
  DOWN_GRPC=127.0.0.1:$(free_port); DOWN_TEL=127.0.0.1:$(free_port)
  "$WORK/tracer" collector --grpc-endpoint "$DOWN_GRPC" --http-endpoint "" --telemetry-endpoint "$DOWN_TEL" \
    --wal-dir "$WORK/downstream-wal" --wal-sync interval --storage memory --memory-max-spans 100000 \
    --log-level warn > "$WORK/downstream.log" 2>&1 &
  DOWN_PID=$!
  trap 'kill -TERM $DOWN_PID 2>/dev/null; wait $DOWN_PID 2>/dev/null || true' EXIT
  wait_up "http://$DOWN_TEL/health"
}

run_tracer() {
  local grpc tel pid sync=batch
  [ "$FSYNC" = true ] || sync=interval
  grpc=127.0.0.1:$(free_port); tel=127.0.0.1:$(free_port)
  rm -rf "$WORK/agent-wal"
  "$WORK/tracer" agent --collector "$DOWN_GRPC" --collector-insecure --collector-compression "$COMPRESSION" \
    --grpc-endpoint "$grpc" --http-endpoint "" --telemetry-endpoint "$tel" \
    --wal-dir "$WORK/agent-wal" --wal-sync "$sync" --log-level warn > "$WORK/tracer-agent.log" 2>&1 &
  pid=$!
  wait_up "http://$tel/health"
  ENDPOINT=$grpc measure tracer "$pid" "http://$tel/metrics" \
    'tracer_collector_spans_received_total{transport="grpc"}' tracer_agent_spans_forwarded_total
  kill -TERM "$pid"; wait "$pid" || true
}

run_otel() {
  local grpc mport pid
  grpc=127.0.0.1:$(free_port); mport=$(free_port)
  rm -rf "$WORK/otel-queue"
  OTELCOL_GRPC_ENDPOINT=$grpc OTELCOL_METRICS_PORT=$mport OTELCOL_DOWNSTREAM=$DOWN_GRPC \
    OTELCOL_STORAGE_DIR=$WORK/otel-queue OTELCOL_FSYNC=$FSYNC OTELCOL_COMPRESSION=$COMPRESSION \
    "$OTELCOL" --config bench/otelcol-agent.yaml > "$WORK/otelcol-agent.log" 2>&1 &
  pid=$!
  wait_up "http://127.0.0.1:$mport/metrics"
  ENDPOINT=$grpc measure otel "$pid" "http://127.0.0.1:$mport/metrics" otelcol_receiver_accepted_spans otelcol_exporter_sent_spans
  kill -TERM "$pid"; wait "$pid" || true
}

# --- runs ----------------------------------------------------------------
: > "$WORK/results.txt"
log "load: $INSTANCES telemetrygen x $WORKERS workers, batches of $BATCH, rate 0, ${DURATION}s per run, $ROUNDS rounds; fsync $FSYNC, compression $COMPRESSION; $(nproc) CPUs"
start_downstream
for _ in $(seq 1 "$ROUNDS"); do
  run_tracer
  run_otel
done
awk '{ for (i = 1; i <= NF; i++) if ($i == "spans/cpu-s") v = $(i + 1); sum[$1] += v; n[$1]++ }
  END {
    t = sum["tracer"] / n["tracer"]; o = sum["otel"] / n["otel"]
    printf "mean spans per CPU-second: tracer agent %.0f, otel agent %.0f; ratio %.2f\n", t, o, t / o
  }' "$WORK/results.txt"
log "logs and results in $WORK"
