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
# The test binaries are built first and then run COUNT rounds of one count
# each, so that every benchmark and its peer run close together in time: on
# a shared machine whose load drifts, COUNT runs of one benchmark followed by
# COUNT of its peer compare two different machines.
#
# With BASE set to a git ref (BASE=main bench/library.sh 10), the same
# benchmarks of that ref are built from a copy of it and run in the same
# rounds, alternating which goes first; benchstat then compares base and new,
# and the ratios are printed for both.
#
# With IR=1 the span benchmarks are counted in instructions instead
# (valgrind's callgrind; one round is COUNT rounds of 1): instructions per
# span start+end, GC included, from two runs of N1 and N2 spans, (Ir(N2) -
# Ir(N1)) / (N2 - N1). Unlike CPU time it does not depend on the machine's
# load; it varies by a few percent with where the GC cycles fall. It takes
# about 20 s per benchmark and round.
#
# Usage: [BASE=ref] [IR=1] bench/library.sh [COUNT]   (default 6 rounds)
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

trees=(new)
declare -A dir=([new]=$PWD)
if [ -n "${BASE:-}" ]; then
  mkdir "$out/base-src"
  git archive "$BASE" | tar -x -C "$out/base-src"
  trees=(base new)
  dir[base]=$out/base-src
fi

# name package pattern
benches=("span sdk SpanStartEnd" "clock propagation InjectExtract" "grpc interceptors UnaryCall|Handlers")
if [ -n "${IR:-}" ]; then benches=("span sdk SpanStartEnd"); fi
for t in "${trees[@]}"; do
  for b in "${benches[@]}"; do
    read -r name pkg _ <<<"$b"
    echo "building $t $pkg" >&2
    (cd "${dir[$t]}" && go test -c -o "$out/$t-$name.test" "./$pkg")
  done
done

# Median of a unit (default CPU ns/op) of the benchmarks matching a regex.
median() { # file benchmark-name-regex [unit]
  grep -E "^Benchmark$2 " "$1" | awk -v u="${3:-cpu-ns/op}" '{for (i = 1; i < NF; i++) if ($(i+1) == u) print $i}' |
    sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }

if [ -n "${IR:-}" ]; then
  # Go under valgrind: no asynchronous preemption (its signals upset
  # callgrind), no RDTSCP (valgrind 3.19 does not decode it).
  ir() { # binary benchmark spans
    GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" \
      -test.run '^$' -test.bench "^$2\$" -test.benchtime "$3x" -test.cpu 1 2>&1 | awk '/Collected/ {print $4}'
  }
  command -v valgrind >/dev/null || { echo "IR=1 needs valgrind (apt-get install valgrind)" >&2; exit 1; }
  n1=20000 n2=220000
  for ((i = 1; i <= count; i++)); do
    for kind in root child attrs; do
      for t in "${trees[@]}"; do
        for v in otel tracer; do
          name=BenchmarkSpanStartEnd/$v/$kind
          a=$(cd "${dir[$t]}/sdk" && ir "$out/$t-span.test" "$name" $n1)
          b=$(cd "${dir[$t]}/sdk" && ir "$out/$t-span.test" "$name" $n2)
          awk -v a="$a" -v b="$b" -v n=$((n2 - n1)) -v name="$name" 'BEGIN {printf "%s 1 %.0f Ir/op\n", name, (b - a) / n}' >>"$out/$t-ir.txt"
        done
      done
    done
  done
  if ((${#trees[@]} == 2)); then
    "$gobin/benchstat" base="$out/base-ir.txt" new="$out/new-ir.txt"
  fi
  for t in "${trees[@]}"; do
    echo "== instructions per span start+end ($t)"
    for kind in root child attrs; do
      tr=$(median "$out/$t-ir.txt" "SpanStartEnd/tracer/$kind" Ir/op)
      ot=$(median "$out/$t-ir.txt" "SpanStartEnd/otel/$kind" Ir/op)
      echo "span start+end ($kind): tracer $tr, otel $ot Ir/op, tracer/otel = $(ratio "$tr" "$ot")   (budget <= 1.10)"
    done
  done
  exit 0
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((i = 1; i <= count; i++)); do
  order=("${trees[@]}")
  if ((i % 2 == 0)) && ((${#trees[@]} == 2)); then order=("${trees[1]}" "${trees[0]}"); fi
  for b in "${benches[@]}"; do
    read -r name pkg pattern <<<"$b"
    for t in "${order[@]}"; do
      echo "round $i/$count: $t $name" >&2
      (cd "${dir[$t]}/$pkg" && "$out/$t-$name.test" -test.run '^$' -test.bench "$pattern" -test.benchmem \
        -test.count 1 -test.cpu 1) | grep '^Benchmark' >>"$out/$t-$name.txt"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for b in "${benches[@]}"; do
  read -r name _ <<<"$b"
  echo "== $name"
  if ((${#trees[@]} == 2)); then
    "$gobin/benchstat" base="$out/base-$name.txt" new="$out/new-$name.txt"
  else
    "$gobin/benchstat" "$out/new-$name.txt"
  fi
done

ratios() { # tree
  local span=$out/$1-span.txt grpc=$out/$1-grpc.txt
  echo "== ratios of median CPU ns/op ($1)"
  for kind in root child attrs; do
    t=$(median "$span" "SpanStartEnd/tracer/$kind")
    o=$(median "$span" "SpanStartEnd/otel/$kind")
    extra=$(awk -v a="$(median "$span" "SpanStartEnd/tracer/$kind" mallocs/op)" \
      -v b="$(median "$span" "SpanStartEnd/otel/$kind" mallocs/op)" 'BEGIN {printf "%.3f", a - b}')
    echo "span start+end ($kind): tracer/otel = $(ratio "$t" "$o"), $extra extra mallocs   (budget <= 1.10, no extra allocation)"
  done
  # gRPC: the cost of each instrumentation over none (median CPU ns, B and
  # allocations per call), and Tracer's as a ratio of otelgrpc's (goal <= 0.7
  # for each). noop-stats is an empty stats.Handler on both sides: what gRPC
  # itself charges any stats handler.
  declare -A otel
  for unit in cpu-ns/op B/op allocs/op; do
    none=$(median "$grpc" 'UnaryCall/none' "$unit")
    otel[$unit]=$(awk -v a="$(median "$grpc" 'UnaryCall/otelgrpc' "$unit")" -v b="$none" 'BEGIN {print a - b}')
    for v in noop-stats otelgrpc tracer-stats tracer-interceptors; do
      m=$(median "$grpc" "UnaryCall/$v" "$unit")
      cost=$(awk -v a="$m" -v b="$none" 'BEGIN {printf "%.0f", a - b}')
      echo "unary call $v: $(printf '%.0f' "$m") $unit, $cost over none, $(ratio "$cost" "${otel[$unit]}")x otelgrpc's   (goal for tracer-*: <= 0.70)"
    done
  done
  # The stats handlers alone, without gRPC (BenchmarkHandlers): the
  # instrumentation's own cost, steadier than the calls' on a loaded machine.
  for unit in cpu-ns/op B/op allocs/op; do
    t=$(median "$grpc" 'Handlers/tracer' "$unit")
    o=$(median "$grpc" 'Handlers/otelgrpc' "$unit")
    echo "stats handlers alone: tracer $(printf '%.0f' "$t") $unit, otelgrpc $(printf '%.0f' "$o"), tracer/otelgrpc = $(ratio "$t" "$o")"
  done
}
for t in "${trees[@]}"; do ratios "$t"; done
