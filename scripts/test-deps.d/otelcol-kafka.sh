# Sourced by scripts/test-deps.sh: builds the OpenTelemetry Collector with
# the contrib Kafka receiver and exporter (scripts/otelcol-kafka.sh) that
# e2e/kafka_otel_test.go runs against Tracer's Kafka sink and ingester, when
# it is missing. The first build downloads and compiles the Collector's
# modules: ~4.5 CPU-minutes (3–10 minutes on 2 cores), once per machine.
if ! TOOLS=$gobin scripts/otelcol-kafka.sh >/dev/null; then
  log "building the OpenTelemetry Collector with Kafka (scripts/otelcol-kafka.sh) failed"
  exit 1
fi
