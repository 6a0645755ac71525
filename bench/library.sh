#!/usr/bin/env bash
# Library benchmarks against their peers, in one run:
#   - span start+end: plain OpenTelemetry provider vs Tracer's (clock processor),
#     both in front of a processor that reads the attributes as an exporter does
#   - clock inject+extract for 1, 8, 16 and 32 entries
#   - one unary gRPC call: no instrumentation, an empty stats handler,
#     otelgrpc, Tracer's stats handlers, Tracer's interceptors (same recording
#     provider); and the stats handlers alone, without gRPC
# Prints benchstat tables (wall ns/op, CPU ns/op, B/op, allocs/op) and the
# ratios the budgets in DESIGN.md are about. CPU ns/op comes from getrusage
# and is the steadier figure on a shared machine.
#
# Usage: bench/library.sh [COUNT]   (default 6 runs of each benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

gobin=$(go env GOPATH)/bin
if [ ! -x "$gobin/benchstat" ]; then
  echo "installing benchstat" >&2
  go install golang.org/x/perf/cmd/benchstat@latest
fi

run() { # name package pattern
  echo "running $1 ($count x)" >&2
  go test -run '^$' -bench "$3" -benchmem -count "$count" -cpu 1 "$2" | grep '^Benchmark' >"$out/$1.txt"
}
run span ./sdk 'SpanStartEnd'
run clock ./propagation 'InjectExtract'
run grpc ./interceptors 'UnaryCall|Handlers'

for f in span clock grpc; do
  echo "== $f"
  "$gobin/benchstat" "$out/$f.txt"
done

# Ratios of medians of CPU ns/op.
median() { # file benchmark-name-regex [unit, default cpu-ns/op]
  grep -E "^Benchmark$2 " "$1" | awk -v u="${3:-cpu-ns/op}" '{for (i = 1; i < NF; i++) if ($(i+1) == u) print $i}' |
    sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }
echo "== ratios of median CPU ns/op"
for kind in root child attrs; do
  t=$(median "$out/span.txt" "SpanStartEnd/tracer/$kind")
  o=$(median "$out/span.txt" "SpanStartEnd/otel/$kind")
  extra=$(awk -v a="$(median "$out/span.txt" "SpanStartEnd/tracer/$kind" allocs/op)" \
    -v b="$(median "$out/span.txt" "SpanStartEnd/otel/$kind" allocs/op)" 'BEGIN {print a - b}')
  echo "span start+end ($kind): tracer/otel = $(ratio "$t" "$o"), $extra extra allocs   (budget <= 1.10, no extra allocation)"
done
# gRPC: the cost of each instrumentation over none (median CPU ns, B and
# allocations per call), and Tracer's as a ratio of otelgrpc's (goal <= 0.7
# for each). noop-stats is an empty stats.Handler on both sides: what gRPC
# itself charges any stats handler.
medianOf() { # file benchmark-name-regex unit
  grep -E "^Benchmark$2 " "$1" | awk -v u="$3" '{for (i = 1; i < NF; i++) if ($(i+1) == u) print $i}' |
    sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}
declare -A otel
for unit in cpu-ns/op B/op allocs/op; do
  none=$(medianOf "$out/grpc.txt" 'UnaryCall/none' "$unit")
  otel[$unit]=$(awk -v a="$(medianOf "$out/grpc.txt" 'UnaryCall/otelgrpc' "$unit")" -v b="$none" 'BEGIN {print a - b}')
  for v in noop-stats otelgrpc tracer-stats tracer-interceptors; do
    m=$(medianOf "$out/grpc.txt" "UnaryCall/$v" "$unit")
    cost=$(awk -v a="$m" -v b="$none" 'BEGIN {printf "%.0f", a - b}')
    echo "unary call $v: $(printf '%.0f' "$m") $unit, $cost over none, $(ratio "$cost" "${otel[$unit]}")x otelgrpc's   (goal for tracer-*: <= 0.70)"
  done
done
# The stats handlers alone, without gRPC (BenchmarkHandlers): the
# instrumentation's own cost, steadier than the calls' on a loaded machine.
for unit in cpu-ns/op B/op allocs/op; do
  t=$(medianOf "$out/grpc.txt" 'Handlers/tracer' "$unit")
  o=$(medianOf "$out/grpc.txt" 'Handlers/otelgrpc' "$unit")
  echo "stats handlers alone: tracer $(printf '%.0f' "$t") $unit, otelgrpc $(printf '%.0f' "$o"), tracer/otelgrpc = $(ratio "$t" "$o")"
done
