#!/usr/bin/env bash
# Benchmarks the Kafka path against the direct one, in the same run, with
# the same load generator and the same ClickHouse server:
#
#   direct: telemetrygen -> tracer collector -> ClickHouse
#   kafka:  telemetrygen -> collector (Kafka sink) -> Kafka -> tracer ingester -> ClickHouse
#
# The broker is franz-go's kfake run as a process of its own (bench/kafka
# -broker): the Kafka wire protocol with records in memory, one process, no
# disk and no replication. It is not a Kafka cluster, so its CPU is shown
# apart and says nothing about a real broker's. The collector is "tracer
# collector --sink kafka", the ingester "tracer ingester", both with their
# defaults.
# ClickHouse is Debian's clickhouse-server, started by bench/clickhouse
# -serve on free loopback ports; each run writes a database of its own.
#
# Load: INSTANCES telemetrygen processes at --rate 0 for DURATION seconds.
# Spans are counted on the receiving side (the collector's
# spans_received_total) and count as done when written to ClickHouse (the
# collector's spans_written_total, the ingester's
# tracer_ingester_spans_written_total). spans/s is spans over the time from
# the start of the load until the last span is in ClickHouse. CPU is
# utime+stime from /proc/PID/stat of each process, read before the load and
# after the last write; cpu-s/M is per million spans: "tracer" sums Tracer's
# processes (collector, plus ingester on the Kafka path), then the broker and
# clickhouse-server each.
#
# Environment: DURATION (s, default 10), INSTANCES (default 2), WORKERS
# (per instance, default 2), BATCH (spans per export request, default 512),
# PARTITIONS (default 4), ROUNDS (default 1; runs alternate direct, kafka),
# OTEL_VERSION (telemetrygen's, default v0.161.0), TOOLS (default
# $(go env GOPATH)/bin), WORK (scratch dir; default a new temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
INSTANCES=${INSTANCES:-2}
WORKERS=${WORKERS:-2}
BATCH=${BATCH:-512}
PARTITIONS=${PARTITIONS:-4}
ROUNDS=${ROUNDS:-1}
OTEL_VERSION=${OTEL_VERSION:-v0.161.0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}
WORK=${WORK:-$(mktemp -d)}
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$TOOLS" "$WORK"

. bench/lib.sh

install_telemetrygen
log "building tracer, bench/kafka and bench/clickhouse"
go build -o "$WORK/tracer" ./cmd/tracer
go build -o "$WORK/kafkabench" ./bench/kafka
go build -o "$WORK/chbench" ./bench/clickhouse

wait_line() {
  for _ in $(seq 1 600); do grep -q '^addr ' "$1" 2>/dev/null && return 0; sleep 0.1; done
  log "no address in $1"; return 1
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

wait_done() {
  local prev=-1 s1 w
  for _ in $(seq 1 1500); do
    s1=$(metric "$1" "$2")
    w=$(metric "$3" "$4")
    if [ "$s1" = "$prev" ] && [ "$w" -ge "$s1" ]; then break; fi
    prev=$s1
    sleep 0.2
  done
  [ "$w" -ge "$s1" ] || log "not caught up: $w of $s1 spans written"
  echo "$s1"
}

# report NAME SPANS SECONDS TRACER_TICKS BROKER_TICKS CH_TICKS
report() {
  awk -v n="$1" -v spans="$2" -v secs="$3" -v tt="$4" -v bt="$5" -v ct="$6" -v hz="$CLK_TCK" 'BEGIN {
    m = spans / 1e6
    printf "%-7s spans %9d  spans/s %8.0f  tracer cpu-s/M %6.2f  broker cpu-s/M %6.2f  clickhouse cpu-s/M %6.2f\n",
      n, spans, spans / secs, tt / hz / m, bt / hz / m, ct / hz / m
  }' | tee -a "$WORK/results.txt"
}

run_direct() {
  local round=$1 grpc tel pid c0 h0 t0 spans t1 c1 h1
  grpc=127.0.0.1:$(free_port); tel=127.0.0.1:$(free_port)
  rm -rf "$WORK/wal"
  "$WORK/tracer" collector --grpc-endpoint "$grpc" --http-endpoint "" --telemetry-endpoint "$tel" \
    --wal-dir "$WORK/wal" --storage clickhouse --clickhouse-addr "$CH_ADDR" --clickhouse-database "bench_direct_$round" \
    --log-level warn > "$WORK/direct-$round.log" 2>&1 &
  pid=$!
  wait_up "http://$tel/health"
  c0=$(cpu_ticks "$pid"); h0=$(cpu_ticks "$CH_PID"); t0=$(date +%s.%N)
  load "$grpc"
  spans=$(wait_done "http://$tel/metrics" 'tracer_collector_spans_received_total{transport="grpc"}' "http://$tel/metrics" tracer_collector_spans_written_total)
  t1=$(date +%s.%N); c1=$(cpu_ticks "$pid"); h1=$(cpu_ticks "$CH_PID")
  report direct "$spans" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" $((c1 - c0)) 0 $((h1 - h0))
  stop_pid "$pid"
}

run_kafka() {
  local round=$1 grpc ctel itel bpid cpid ipid broker
  grpc=127.0.0.1:$(free_port); ctel=127.0.0.1:$(free_port); itel=127.0.0.1:$(free_port)
  rm -rf "$WORK/wal"
  "$WORK/kafkabench" -partitions "$PARTITIONS" > "$WORK/broker-$round.out" 2> "$WORK/broker-$round.log" &
  bpid=$!
  wait_line "$WORK/broker-$round.out"
  read -r _ broker _ _ < "$WORK/broker-$round.out"
  "$WORK/tracer" ingester --kafka-brokers "$broker" --storage clickhouse --clickhouse-addr "$CH_ADDR" \
    --clickhouse-database "bench_kafka_$round" --telemetry-endpoint "$itel" --log-level warn > "$WORK/ingester-$round.log" 2>&1 &
  ipid=$!
  "$WORK/tracer" collector --sink kafka --kafka-brokers "$broker" --grpc-endpoint "$grpc" --http-endpoint "" \
    --telemetry-endpoint "$ctel" --wal-dir "$WORK/wal" --log-level warn > "$WORK/kcollector-$round.log" 2>&1 &
  cpid=$!
  wait_up "http://$itel/health"; wait_up "http://$ctel/health"
  local c0 i0 b0 h0 t0 spans t1 c1 i1 b1 h1
  c0=$(cpu_ticks "$cpid"); i0=$(cpu_ticks "$ipid"); b0=$(cpu_ticks "$bpid"); h0=$(cpu_ticks "$CH_PID"); t0=$(date +%s.%N)
  load "$grpc"
  spans=$(wait_done "http://$ctel/metrics" 'tracer_collector_spans_received_total{transport="grpc"}' "http://$itel/metrics" tracer_ingester_spans_written_total)
  t1=$(date +%s.%N); c1=$(cpu_ticks "$cpid"); i1=$(cpu_ticks "$ipid"); b1=$(cpu_ticks "$bpid"); h1=$(cpu_ticks "$CH_PID")
  report kafka "$spans" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" $((c1 - c0 + i1 - i0)) $((b1 - b0)) $((h1 - h0))
  awk -v c=$((c1 - c0)) -v i=$((i1 - i0)) -v hz="$CLK_TCK" -v n="$spans" 'BEGIN {
    printf "        of which collector cpu-s/M %6.2f, ingester cpu-s/M %6.2f\n", c / hz / n * 1e6, i / hz / n * 1e6 }' | tee -a "$WORK/results.txt"
  stop_pid "$cpid"; stop_pid "$ipid"; stop_pid "$bpid"
}

: > "$WORK/results.txt"
log "load: $INSTANCES telemetrygen x $WORKERS workers, batches of $BATCH, rate 0, ${DURATION}s per run, $ROUNDS rounds; $(nproc) CPUs"
"$WORK/chbench" -serve > "$WORK/chserver.out" 2> "$WORK/chserver.log" &
chpid=$!
trap 'kill -TERM $chpid 2>/dev/null; wait $chpid 2>/dev/null' EXIT
wait_line "$WORK/chserver.out"
read -r _ CH_ADDR _ CH_PID < "$WORK/chserver.out" || { cat "$WORK/chserver.log" >&2; exit 1; }
log "clickhouse-server at $CH_ADDR (pid $CH_PID)"
for r in $(seq 1 "$ROUNDS"); do
  run_direct "$r"
  run_kafka "$r"
done
awk '$1 == "direct" || $1 == "kafka" { for (i = 1; i <= NF; i++) if ($i == "spans/s") v = $(i + 1); sum[$1] += v; n[$1]++ }
  END { if (n["direct"] && n["kafka"]) printf "mean spans/s: direct %.0f, kafka %.0f; kafka / direct %.2f\n",
    sum["direct"] / n["direct"], sum["kafka"] / n["kafka"], (sum["kafka"] / n["kafka"]) / (sum["direct"] / n["direct"]) }' "$WORK/results.txt"
log "logs and results in $WORK"
