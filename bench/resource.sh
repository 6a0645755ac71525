#!/usr/bin/env bash
# The "small request, huge memory" case of issue 9: one OTLP/JSON request of
# SPANS spans (default 300) whose resource carries a 1 MiB attribute, posted
# to `tracer collector` on the embedded store. Prints the collector's peak
# resident memory (VmHWM) and the disk the Badger store and the WAL take
# once the spans are written.
#
# Usage: bench/resource.sh [extra collector flags...]
#   e.g. bench/resource.sh --max-attribute-value-len 2097152
#   (keeps the 1 MiB value whole instead of cutting it to 4096 bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${SPANS:-300}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/tracer" ./cmd/tracer
python3 - "$SPANS" >"$work/req.json" <<'PY'
import json, sys
n = int(sys.argv[1])
spans = [{"traceId": "%032x" % (i + 1), "spanId": "%016x" % (i + 1), "name": "op", "kind": 2,
          "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}
         for i in range(n)]
res = {"attributes": [{"key": "service.name", "value": {"stringValue": "big"}},
                      {"key": "blob", "value": {"stringValue": "x" * (1 << 20)}}]}
json.dump({"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "s"}, "spans": spans}]}]}, sys.stdout)
PY
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
http=127.0.0.1:$(port) tel=127.0.0.1:$(port)
"$work/tracer" collector --wal-dir "$work/wal" --badger-dir "$work/badger" --grpc-endpoint "" \
  --http-endpoint "$http" --telemetry-endpoint "$tel" --max-request-bytes 8388608 "$@" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$tel/health" >/dev/null && break; sleep 0.1; done
echo "request: $(stat -c %s "$work/req.json") bytes, $SPANS spans"
curl -s -o /dev/null -w 'POST /v1/traces: HTTP %{http_code}\n' -H 'Content-Type: application/json' \
  --data-binary @"$work/req.json" "http://$http/v1/traces"
for _ in $(seq 100); do
  w=$(curl -s "http://$tel/metrics" | awk '/^tracer_collector_spans_written_total/ {print $2}')
  [ "${w:-0}" = "$SPANS" ] && break
  sleep 0.1
done
echo "spans written: ${w:-0}"
grep VmHWM "/proc/$pid/status"
kill -INT "$pid"; wait "$pid" || true; pid=
du -sh "$work/badger" "$work/wal" | sed "s|$work/||"
