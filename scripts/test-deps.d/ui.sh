# Sourced by scripts/test-deps.sh: Node (for the UI build) and Debian's
# Chromium (for the UI's browser tests), when missing. The UI build itself
# is `make ui`, which `make test` runs after this.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
  apt_install chromium
fi
