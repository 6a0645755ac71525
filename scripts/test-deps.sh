#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine with Go, when it
# is missing. Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test-deps: %s\n' "$*" >&2; }

gobin=$(go env GOPATH)/bin
if [ ! -x "$gobin/staticcheck" ]; then
  log "installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@latest
fi

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need root to apt-get install $*; install it and run again"
    exit 1
  fi
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Further steps (ClickHouse, chdb, Chromium) are added by the parts that need them.
for step in scripts/test-deps.d/*.sh; do
  [ -e "$step" ] || continue
  # shellcheck source=/dev/null
  . "$step"
done
log "ok"
