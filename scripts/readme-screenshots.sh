#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png) of the web UI on
# the demo's live data: builds bin/tracer with the UI, runs
# `all-in-one --demo` on free ports in a temporary directory for a minute,
# and photographs each page with headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
make build >/dev/null
out=docs/screenshots
mkdir -p "$out"
dir=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
q=$(port)
bin/tracer all-in-one --demo --grpc-endpoint "127.0.0.1:$(port)" --http-endpoint "" \
  --query-endpoint "127.0.0.1:$q" --telemetry-endpoint "" \
  --demo-service-a-endpoint 127.0.0.1:0 --demo-service-b-endpoint 127.0.0.1:0 --demo-service-c-endpoint 127.0.0.1:0 \
  --wal-dir "$dir/wal" --badger-dir "$dir/badger" >"$dir/demo.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$q"
echo "readme-screenshots: demo running at $base; collecting a minute of traffic" >&2
sleep "${WAIT:-60}"
shot() { # name path
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/chromium" --hide-scrollbars --window-size=1400,860 \
    --virtual-time-budget=10000 --screenshot="$out/$1.png" "$base$2" >/dev/null 2>&1
  echo "readme-screenshots: $out/$1.png ($2)" >&2
}
# A process request: the retry, the queue and the async consumer.
id=$(curl -fsS "$base/api/tracer/trace-summaries?service=service-a&operation=GET%20/api/v1/process&limit=20" |
  grep -o '"traceId":"[0-9a-f]*"' | sed -n '1s/.*:"\(.*\)"/\1/p')
shot search "/search?service=service-a&lookback=15m"
shot trace "/trace/$id"
shot dependencies "/dependencies?window=15m"
shot dashboard "/dashboards?service=service-b&window=15m"
