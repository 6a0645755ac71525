# Sourced by scripts/test-deps.sh: installs Debian's ClickHouse server and
# client (18.16 on bookworm) when missing. internal/chtest starts the server
# itself on free loopback ports, so the packaged service is not needed.
if ! command -v clickhouse >/dev/null 2>&1 && ! command -v clickhouse-server >/dev/null 2>&1 \
  && [ ! -x /usr/sbin/clickhouse-server ] \
  && [ ! -x /usr/bin/clickhouse ] && [ ! -x /usr/bin/clickhouse-server ]; then
  apt_install clickhouse-server clickhouse-client
  # The package may start its own service; tests do not use it.
  if command -v service >/dev/null 2>&1; then
    service clickhouse-server stop >/dev/null 2>&1 || true
  fi
fi
