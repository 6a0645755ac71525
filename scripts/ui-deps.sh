#!/usr/bin/env bash
# Installs Node.js and npm for the UI build (make ui) when they are missing,
# with Debian's packages. Vite 8 needs Node 20.19 or later.
set -euo pipefail
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ui-deps: the UI build needs Node.js (20.19 or later) and npm; install them (apt-get install nodejs npm) and run again" >&2
  exit 1
fi
echo "ui-deps: apt-get install nodejs npm" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
