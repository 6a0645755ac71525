#!/usr/bin/env bash
# Builds the OpenTelemetry Collector distribution with the contrib Kafka
# receiver and exporter (bench/otelcol-kafka-builder.yaml: OTLP receiver,
# Kafka receiver, OTLP exporter, debug exporter, Kafka exporter) that
# e2e/kafka_otel_test.go runs against Tracer's Kafka sink and ingester:
#
#   TRACER_OTELCOL_KAFKA=$(scripts/otelcol-kafka.sh) go test -run KafkaOTel ./e2e/
#
# Not part of `make test`: it is an opt-in test (the test skips without
# TRACER_OTELCOL_KAFKA; TRACER_REQUIRE_OTELCOL=1 makes that a failure). The
# build is too slow to add to every run: measured once on the 2-core shared
# machine from a cold build cache (and a module cache holding none of the
# v0.165 modules), 10 min 19 s wall (builder 1.5 min, distribution 532 s;
# load average 8-12 from other work), 4 min 17 s user + 52 s system CPU.
#
# Idempotent: does nothing but print the path when the binary exists.
# Prints the binary's path on stdout, progress on stderr.
#
# Versions: CONTRIB_VERSION (default v0.165.1: the newest contrib release whose
# pkg/kafka/topic the Go module proxy serves here; v0.161.0's was refused) and
# CORE_VERSION (default v0.165.0: the go.opentelemetry.io/collector/* v0.x
# version that contrib's exporter/kafkaexporter v0.165.1 go.mod requires; the
# builder, otlpreceiver, otlpexporter and debugexporter come at that version).
# TOOLS: where the builder and the distribution go (default $(go env GOPATH)/bin);
# the builder is installed into $TOOLS/otelcol-kafka-$CONTRIB_VERSION/bin so
# that it does not replace bench/collector.sh's builder of another version.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTRIB_VERSION=${CONTRIB_VERSION:-v0.165.1}
CORE_VERSION=${CORE_VERSION:-v0.165.0}
TOOLS=${TOOLS:-$(go env GOPATH)/bin}

log() { printf 'otelcol-kafka: %s\n' "$*" >&2; }

dir=$TOOLS/otelcol-kafka-$CONTRIB_VERSION
bin=$dir/otelcol-kafka
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir/bin"
if [ ! -x "$dir/bin/builder" ]; then
  log "installing the OTel Collector builder $CORE_VERSION"
  GOBIN=$dir/bin GOFLAGS= go install "go.opentelemetry.io/collector/cmd/builder@$CORE_VERSION"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|OUTPUT_PATH|$dir/build|" -e "s|CORE_VERSION|$CORE_VERSION|g" -e "s|CONTRIB_VERSION|$CONTRIB_VERSION|g" \
  bench/otelcol-kafka-builder.yaml > "$work/builder.yaml"
log "building the OTel Collector with the Kafka receiver and exporter (contrib $CONTRIB_VERSION, core $CORE_VERSION); takes minutes"
start=$(date +%s)
if ! GOFLAGS= "$dir/bin/builder" --config "$work/builder.yaml" > "$work/builder.log" 2>&1; then
  cat "$work/builder.log" >&2
  log "build failed; the log is above"
  exit 1
fi
# Move the binary into place last, so that an interrupted build is not taken
# for a finished one next time.
mv "$dir/build/otelcol-kafka" "$bin.tmp"
mv "$bin.tmp" "$bin"
log "built $bin in $(( $(date +%s) - start ))s"
echo "$bin"
