#!/usr/bin/env bash
# Benchmarks Tracer's collector against the OpenTelemetry Collector on this
# machine, in the same run, with the same load, the peers interleaved.
#
# Peers (PEERS, default "tracer otel otelpq"):
#   tracer  OTLP/gRPC -> validate -> WAL (fsync, group commit) -> memory store
#   base    the same, from the binary BASE_TRACER (another revision built
#           with go build ./cmd/tracer), to compare old and new in one run
#   otel    the OpenTelemetry Collector: OTLP/gRPC -> batch -> nop exporter
#           (keeps nothing; bench/otelcol-builder.yaml, bench/otelcol.yaml)
#   otelpq  the OpenTelemetry Collector with its persistent queue: OTLP/gRPC
#           -> debug exporter's sending_queue in the file_storage extension,
#           fsync on (bench/otelcol-pq-builder.yaml, bench/otelcol-pq.yaml)
#
# Load, for each rate of RATES (spans per second; 0 = as fast as the
# requests are acknowledged; default "1000 5000 25000 0"): with LOAD=otlpload
# (the default) bench/otlpload sends pre-built requests of BATCH spans from
# SENDERS connections (default 4) paced to the rate, or at rate 0 from
# FULL_SENDERS connections (default 16: with 4 requests in flight Tracer
# waits on fsync latency and is not CPU-bound, so its spans per CPU-second
# then measure a part load: 233k vs 325k at 16 on this machine), for
# DURATION seconds;
# with LOAD=telemetrygen, INSTANCES telemetrygen processes of WORKERS
# workers each (paced rates only: telemetrygen's own CPU caps it near 25k
# spans/s here, so at rate 0 otlpload is used). For each rate, ROUNDS rounds
# run every peer once, in PEERS order.
#
# Spans are counted on the receiving side: Tracer's spans_received_total,
# the OTel Collector's otelcol_receiver_accepted_spans. CPU is utime+stime
# of the collector process from /proc/PID/stat, read before the load and
# after the collector has finished writing (Tracer: spans_written_total has
# caught up with spans_received_total).
#
# Output: a line per run (rate, peer, spans, spans/s, CPU-seconds per
# million spans, spans per CPU-second), then per rate the mean of each peer
# and the ratios of tracer to each other peer: of spans per CPU-second
# (budgets, DESIGN.md: >= 1.2 vs otel at full speed, >= 4 vs otelpq) and of
# CPU per span (budget at low load: <= 1.3 vs otel).
#
# PROFILE=1 records the tracer peer's CPU with perf (perf record -g) during
# each run and writes perf report summaries into WORK (perf-RATE-ROUND.txt).
#
# STORAGE=clickhouse measures the load -> collector -> ClickHouse instead:
# a clickhouse-server (Debian's, started by bench/clickhouse -serve on free
# loopback ports) receives the spans; only the tracer peer runs (the OTel
# ClickHouse exporter's schema needs a newer server than Debian's 18.16),
# and the raw clickhouse-go insert rate of span-like rows into one plain
# table is printed as the ceiling. Spans count as done when written to
# ClickHouse; the server's CPU per span is printed beside the collector's.
#
# Environment: RATES, PEERS, LOAD, DURATION (s, default 20), ROUNDS
# (default 2), SENDERS (otlpload connections, default 4), BATCH (spans per
# request, default 512 like the OTel SDK's batch span processor), FULL_SENDERS,
# INSTANCES and WORKERS (telemetrygen, default 4 and 4), MEMORY_MAX_SPANS
# (the memory store's cap, default 100000: it evicts the oldest traces past
# it), WAL_SYNC (batch, the default: fsync before acknowledging; or
# interval), BASE_TRACER, PROFILE, STORAGE, OTEL_VERSION (default v0.161.0),
# TOOLS (where telemetrygen, builder and the OTel builds go; default
# $(go env GOPATH)/bin), WORK (scratch dir; default a new temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-1000 5000 25000 0}
PEERS=${PEERS:-tracer otel otelpq}
LOAD=${LOAD:-otlpload}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-2}
SENDERS=${SENDERS:-4}
FULL_SENDERS=${FULL_SENDERS:-16}
INSTANCES=${INSTANCES:-4}
WORKERS=${WORKERS:-4}
BATCH=${BATCH:-512}
MEMORY_MAX_SPANS=${MEMORY_MAX_SPANS:-100000}
WAL_SYNC=${WAL_SYNC:-batch}
STORAGE=${STORAGE:-memory}
PROFILE=${PROFILE:-0}
BASE_TRACER=${BASE_TRACER:-}
OTEL_VERSION=${OTEL_VERSION:-v0.161.0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}
WORK=${WORK:-$(mktemp -d)}
CLK_TCK=$(getconf CLK_TCK)
# Polls (0.2 s) for a collector to finish writing after the load: the WAL
# takes spans faster than ClickHouse, so it gets longer there.
DRAIN_POLLS=300
if [ "$STORAGE" = clickhouse ]; then DRAIN_POLLS=1500; fi
mkdir -p "$TOOLS" "$WORK"

. bench/lib.sh

has_peer() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- tools ---------------------------------------------------------------
if [ "$STORAGE" = clickhouse ]; then
  # Only Tracer's peers write to ClickHouse 18.16 (see above).
  ch_peers=
  for p in $PEERS; do case $p in tracer | base) ch_peers="$ch_peers $p" ;; esac; done
  PEERS=${ch_peers:-tracer}
  PEERS=${PEERS# }
fi
if [ "$LOAD" = telemetrygen ]; then install_telemetrygen; fi
if has_peer otel; then
  build_otelcol otelcol-bench bench/otelcol-builder.yaml "otlpreceiver, batchprocessor, nopexporter"
  OTELCOL_NOP=$OTELCOL
fi
if has_peer otelpq; then
  build_otelcol otelcol-pq-bench bench/otelcol-pq-builder.yaml "otlpreceiver, debugexporter, filestorage"
  OTELCOL_PQ=$OTELCOL
fi
if has_peer base; then
  [ -x "$BASE_TRACER" ] || { log "PEERS has base: set BASE_TRACER to a tracer binary"; exit 1; }
fi
log "building tracer and otlpload"
go build -o "$WORK/tracer" ./cmd/tracer
go build -o "$WORK/otlpload" ./bench/otlpload
if [ "$STORAGE" = clickhouse ]; then
  go build -o "$WORK/chbench" ./bench/clickhouse
fi

# run_load ENDPOINT RATE PEER: the load of one run.
run_load() {
  if [ "$LOAD" = telemetrygen ] && [ "$2" != 0 ]; then
    load "$1" "$2"
  else
    local senders=$SENDERS
    if [ "$2" = 0 ]; then senders=$FULL_SENDERS; fi
    printf '%s rate %s: ' "$3" "$2" >> "$WORK/otlpload.log"
    "$WORK/otlpload" -endpoint "$1" -senders "$senders" -spans "$BATCH" -rate "$2" \
      -duration "${DURATION}s" >> "$WORK/otlpload.log" 2>&1 ||
      log "otlpload failed: $(tail -1 "$WORK/otlpload.log") (counted on the receiving side anyway)"
  fi
}

# measure NAME PID METRICS_URL RECEIVED_METRIC [WRITTEN_METRIC]: one run
# of the load at RATE against the process PID; appends a result line.
measure() {
  local name=$1 pid=$2 url=$3 recv=$4 written=${5:-}
  local c0 t0 s0 s1 c1 t1 prev perfpid=
  c0=$(cpu_ticks "$pid"); s0=$(metric "$url" "$recv")
  if [ "$PROFILE" = 1 ] && [ "$name" = tracer ]; then
    perf record -q -F 499 -g -p "$pid" -o "$WORK/perf-$RATE-$ROUND.data" > /dev/null 2>&1 &
    perfpid=$!
  fi
  t0=$(date +%s.%N)
  run_load "$ENDPOINT" "$RATE" "$name"
  t1=$(date +%s.%N)
  # Let the collector finish: received stable, and written caught up.
  prev=-1
  for _ in $(seq 1 "$DRAIN_POLLS"); do
    s1=$(metric "$url" "$recv")
    if [ "$s1" = "$prev" ]; then
      if [ -z "$written" ] || [ "$(metric "$url" "$written")" -ge "$s1" ]; then break; fi
    fi
    prev=$s1
    sleep 0.2
  done
  c1=$(cpu_ticks "$pid")
  # With STORAGE=clickhouse, spans/s is end to end: until ClickHouse has
  # them all, not until the load ends (the WAL takes them faster).
  if [ "$STORAGE" = clickhouse ]; then t1=$(date +%s.%N); fi
  if [ -n "$perfpid" ]; then
    kill -INT "$perfpid"; wait "$perfpid" || true
    perf report -q -i "$WORK/perf-$RATE-$ROUND.data" --no-children --sort symbol --stdio -g none 2> /dev/null |
      head -60 > "$WORK/perf-$RATE-$ROUND.txt" || true
  fi
  awk -v r="$RATE" -v n="$name" -v spans=$((s1 - s0)) -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" 'BEGIN {
    secs = t1 - t0
    cpu = ticks / hz
    if (spans <= 0 || cpu <= 0) { printf "rate %6d %-7s no spans or no CPU measured\n", r, n; exit }
    printf "rate %6d %-7s spans %9d  spans/s %8.0f  cpu-s %6.2f  cpu-s/M spans %6.2f  spans/cpu-s %9.0f\n", r, n, spans, spans / secs, cpu, cpu / spans * 1e6, spans / cpu
  }' | tee -a "$WORK/results.txt"
}

# run_tracer NAME BINARY
run_tracer() {
  local name=$1 bin=$2 grpc tel pid
  grpc=127.0.0.1:$(free_port); tel=127.0.0.1:$(free_port)
  rm -rf "$WORK/wal"
  local store=(--storage memory --memory-max-spans "$MEMORY_MAX_SPANS")
  if [ "$STORAGE" = clickhouse ]; then
    CH_DB=bench_${name}_${RATE}_${ROUND}_$RANDOM
    store=(--storage clickhouse --clickhouse-addr "$CH_ADDR" --clickhouse-database "$CH_DB")
  fi
  "$bin" collector --grpc-endpoint "$grpc" --http-endpoint "" --telemetry-endpoint "$tel" \
    --wal-dir "$WORK/wal" --wal-sync "$WAL_SYNC" "${store[@]}" \
    --log-level warn > "$WORK/$name.log" 2>&1 &
  pid=$!
  wait_up "http://$tel/health"
  ENDPOINT=$grpc measure "$name" "$pid" "http://$tel/metrics" \
    'tracer_collector_spans_received_total{transport="grpc"}' tracer_collector_spans_written_total
  kill -TERM "$pid"; wait "$pid" || true
}

# run_otel NAME BINARY CONFIG
run_otel() {
  local name=$1 bin=$2 config=$3 grpc mport pid
  grpc=127.0.0.1:$(free_port); mport=$(free_port)
  rm -rf "$WORK/otelstorage"
  OTELCOL_GRPC_ENDPOINT=$grpc OTELCOL_METRICS_PORT=$mport OTELCOL_STORAGE_DIR=$WORK/otelstorage \
    "$bin" --config "$config" > "$WORK/$name.log" 2>&1 &
  pid=$!
  wait_up "http://127.0.0.1:$mport/metrics"
  ENDPOINT=$grpc measure "$name" "$pid" "http://127.0.0.1:$mport/metrics" otelcol_receiver_accepted_spans
  kill -TERM "$pid"; wait "$pid" || true
}

run_peer() {
  case $1 in
    tracer) run_tracer tracer "$WORK/tracer" ;;
    base) run_tracer base "$BASE_TRACER" ;;
    otel) run_otel otel "$OTELCOL_NOP" bench/otelcol.yaml ;;
    otelpq) run_otel otelpq "$OTELCOL_PQ" bench/otelcol-pq.yaml ;;
    *) log "unknown peer $1"; exit 1 ;;
  esac
}

# summary RATE: the mean of each peer at RATE and tracer's ratios to the
# others.
summary() {
  awk -v r="$1" '$1 == "rate" && $2 == r && $4 == "spans" {
      for (i = 1; i <= NF; i++) { if ($i == "spans/cpu-s") v = $(i + 1); if ($i == "spans/s") s = $(i + 1) }
      sum[$3] += v; rate[$3] += s; n[$3]++; if (!($3 in seen)) { seen[$3] = 1; order[++k] = $3 }
    }
    END {
      if (!("tracer" in n)) exit
      t = sum["tracer"] / n["tracer"]
      for (j = 1; j <= k; j++) {
        p = order[j]; m = sum[p] / n[p]
        printf "rate %6d mean %-7s spans/s %8.0f  cpu-s/M spans %6.2f  spans/cpu-s %9.0f", r, p, rate[p] / n[p], 1e6 / m, m
        if (p != "tracer") printf "  tracer/%s: spans per cpu-s %.2f, cpu per span %.2f", p, t / m, m / t
        printf "\n"
      }
    }' "$WORK/results.txt"
}

# ch_summary RATE: with STORAGE=clickhouse, the mean of each peer at RATE,
# collector and server, and tracer's ratios to base.
ch_summary() {
  awk -v r="$1" '$2 == r && ($1 == "rate" && $4 == "spans" || $1 == "server") {
      p = $3; if (!(p in seen)) { seen[p] = 1; order[++k] = p }
      if ($1 == "rate") {
        for (i = 1; i <= NF; i++) { if ($i == "spans/cpu-s") v = $(i + 1); if ($i == "spans/s") s = $(i + 1) }
        sum[p] += v; rate[p] += s; n[p]++
      } else { srv[p] += $8; srvm[p] += $15; ns[p]++ }
    }
    END {
      for (j = 1; j <= k; j++) {
        p = order[j]; if (!n[p]) continue
        m[p] = sum[p] / n[p]; e[p] = rate[p] / n[p]; sv[p] = ns[p] ? srv[p] / ns[p] : 0; svm[p] = ns[p] ? srvm[p] / ns[p] : 0
        printf "rate %6d mean %-7s spans/s %8.0f  collector cpu-s/M spans %6.2f  spans/cpu-s %9.0f  server cpu-s/M spans %6.2f (after merges %6.2f)\n", r, p, e[p], 1e6 / m[p], m[p], sv[p], svm[p]
      }
      if (("tracer" in m) && ("base" in m) && sv["tracer"] > 0)
        printf "rate %6d tracer/base: spans/s %.2f, collector spans per cpu-s %.2f, server cpu per span %.2f (after merges %.2f)\n", r, e["tracer"] / e["base"], m["tracer"] / m["base"], sv["tracer"] / sv["base"], svm["tracer"] / svm["base"]
    }' "$WORK/results.txt"
}

# --- runs ----------------------------------------------------------------
: > "$WORK/results.txt"
log "peers: $PEERS; rates: $RATES; load: $LOAD, ${DURATION}s per run, $ROUNDS rounds; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$STORAGE" = clickhouse ]; then
  "$WORK/chbench" -serve > "$WORK/chserver.out" 2> "$WORK/chserver.log" &
  chpid=$!
  trap 'kill -TERM $chpid 2>/dev/null; wait $chpid 2>/dev/null' EXIT
  for _ in $(seq 1 600); do grep -q '^addr ' "$WORK/chserver.out" 2>/dev/null && break; sleep 0.1; done
  read -r _ CH_ADDR _ CH_PID < "$WORK/chserver.out" || { cat "$WORK/chserver.log" >&2; exit 1; }
  log "clickhouse-server at $CH_ADDR (pid $CH_PID)"
  "$WORK/chbench" -addr "$CH_ADDR" -database bench_raw -spans 0 -queries 0 -raw-rows 1000000 | grep -i -E 'raw|rows/s' || true
  ch_port=${CH_ADDR##*:}
  chq() { clickhouse-client --host 127.0.0.1 --port "$ch_port" --query "$1"; }
  for RATE in $RATES; do
    for ROUND in $(seq 1 "$ROUNDS"); do
      for p in $PEERS; do
        ch0=$(cpu_ticks "$CH_PID")
        run_peer "$p"
        ch1=$(cpu_ticks "$CH_PID")
        # The merges the run's inserts caused, until none runs (at most
        # 60 s), count too: "after merges"; then the run's database goes,
        # so that its merges do not run in the next peer's time.
        for _ in $(seq 1 300); do
          [ "$(chq 'SELECT count() FROM system.merges' 2> /dev/null || echo 0)" = 0 ] && break
          sleep 0.2
        done
        ch2=$(cpu_ticks "$CH_PID")
        chq "DROP DATABASE IF EXISTS $CH_DB" || log "drop database $CH_DB failed"
        spans=$(tail -1 "$WORK/results.txt" | awk '{print $5}')
        awk -v r="$RATE" -v n="$p" -v t=$((ch1 - ch0)) -v t2=$((ch2 - ch0)) -v hz="$CLK_TCK" -v spans="$spans" 'BEGIN {
          if (spans <= 0) exit
          printf "server %6d %-7s cpu-s %6.2f  cpu-s/M spans %6.2f  after merges: cpu-s %6.2f  cpu-s/M spans %6.2f\n", r, n, t / hz, t / hz / spans * 1e6, t2 / hz, t2 / hz / spans * 1e6
        }' | tee -a "$WORK/results.txt"
      done
    done
  done
  for RATE in $RATES; do ch_summary "$RATE"; done | tee "$WORK/summary.txt"
  log "load average $(cut -d' ' -f1-3 /proc/loadavg); logs and results in $WORK"
  exit 0
fi
for RATE in $RATES; do
  for ROUND in $(seq 1 "$ROUNDS"); do
    for p in $PEERS; do run_peer "$p"; done
  done
done
for RATE in $RATES; do summary "$RATE"; done | tee "$WORK/summary.txt"
log "load average $(cut -d' ' -f1-3 /proc/loadavg); logs and results in $WORK"
