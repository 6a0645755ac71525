# Sourced by scripts/test-deps.sh: installs npm's chdb (current ClickHouse,
# in process; its binary comes in @chdb/lib-linux-x64-gnu, no download at
# install) into internal/chdb for TestCHDB, and Node when missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -f internal/chdb/node_modules/chdb/package.json ] \
  || [ internal/chdb/package-lock.json -nt internal/chdb/node_modules/.package-lock.json ]; then
  log "npm ci in internal/chdb"
  (cd internal/chdb && npm ci --no-audit --no-fund --loglevel=error)
fi
