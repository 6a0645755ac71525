# Sourced by scripts/test-deps.sh: installs telemetrygen (the OpenTelemetry
# load generator e2e's all-in-one test sends spans with) into GOBIN when
# missing, at the OTel version bench/collector.sh pins (its OTEL_VERSION
# default is the one place that says it).
telemetrygen_version=$(sed -n 's/^OTEL_VERSION=\${OTEL_VERSION:-\(v[0-9.]*\)}$/\1/p' bench/collector.sh)
if [ -z "$telemetrygen_version" ]; then
  log "cannot read OTEL_VERSION from bench/collector.sh"
  exit 1
fi
if [ ! -x "$gobin/telemetrygen" ]; then
  log "installing telemetrygen $telemetrygen_version into $gobin"
  GOBIN=$gobin GOFLAGS= go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$telemetrygen_version"
fi
