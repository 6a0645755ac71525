# Shared helpers of the bench/*.sh scripts that run processes against each
# other: sourced after the script has set TOOLS, WORK, OTEL_VERSION,
# INSTANCES, WORKERS, BATCH and DURATION.

log() { printf 'bench: %s\n' "$*" >&2; }

# install_telemetrygen: the OpenTelemetry load generator, into TOOLS.
install_telemetrygen() {
  if [ ! -x "$TOOLS/telemetrygen" ]; then
    log "installing telemetrygen $OTEL_VERSION"
    GOBIN=$TOOLS GOFLAGS= go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$OTEL_VERSION"
  fi
}

# build_otelcol NAME MANIFEST WHAT: an OpenTelemetry Collector distribution
# built with its builder from the manifest (OUTPUT_PATH and OTEL_VERSION in
# it replaced) into TOOLS/NAME-OTEL_VERSION/NAME, unless it is there; sets
# OTELCOL to its path.
build_otelcol() {
  local name=$1 manifest=$2 what=$3 dir
  dir=$TOOLS/$name-$OTEL_VERSION
  OTELCOL=$dir/$name
  [ -x "$OTELCOL" ] && return 0
  if [ ! -x "$TOOLS/builder" ]; then
    log "installing the OTel Collector builder $OTEL_VERSION"
    GOBIN=$TOOLS GOFLAGS= go install "go.opentelemetry.io/collector/cmd/builder@$OTEL_VERSION"
  fi
  log "building the OTel Collector ($what) $OTEL_VERSION"
  sed -e "s|OUTPUT_PATH|$dir|" -e "s|OTEL_VERSION|$OTEL_VERSION|g" "$manifest" > "$WORK/builder-$name.yaml"
  GOFLAGS= "$TOOLS/builder" --config "$WORK/builder-$name.yaml" > "$WORK/builder-$name.log" 2>&1 ||
    { cat "$WORK/builder-$name.log" >&2; exit 1; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# cpu_ticks PID: the process's utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# metric URL NAME_PREFIX: the sum of the samples whose name starts with it.
metric() { curl -fsS "$1" | awk -v m="$2" 'index($1, m) == 1 {s += $NF} END {printf "%d\n", s}'; }
# wait_up URL: until it answers 2xx, at most 30 s.
wait_up() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "not up: $1"; return 1
}

# load ENDPOINT [RATE]: INSTANCES telemetrygen processes of WORKERS workers
# for DURATION seconds, unbounded or, with RATE (spans per second, all
# instances together; 0 = unbounded), paced: telemetrygen's --rate is per
# worker and counts spans.
load() {
  local pids=() i p failures rate=0
  if [ "${2:-0}" != 0 ]; then
    rate=$(awk -v r="$2" -v n=$((INSTANCES * WORKERS)) 'BEGIN {printf "%g", r / n}')
  fi
  for i in $(seq 1 "$INSTANCES"); do
    "$TOOLS/telemetrygen" traces --otlp-endpoint "$1" --otlp-insecure --rate "$rate" \
      --workers "$WORKERS" --batch-size "$BATCH" --duration "${DURATION}s" > "$WORK/telemetrygen-$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  failures=$(cat "$WORK"/telemetrygen-*.log | grep -c 'traces export' || true)
  [ "$failures" = 0 ] || log "telemetrygen reported $failures export failures (counted on the receiving side anyway)"
}
