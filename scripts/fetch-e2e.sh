#!/usr/bin/env bash
# fetch-e2e.sh — install the browser tests' one npm dependency (playwright-core, pinned in
# web/e2e/package-lock.json) into web/e2e/node_modules. It downloads no browser: the tests
# drive Debian's Chromium (/usr/bin/chromium, installed by install-test-deps.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/web/e2e
log() { echo "fetch-e2e: $*" >&2; }

if [[ -f $DIR/node_modules/playwright-core/package.json ]]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  log "npm not installed (apt-get install npm); the browser tests stay off"
  exit 1
fi
for attempt in 1 2 3; do
  if npm ci --prefix "$DIR" --ignore-scripts --no-audit --no-fund >&2; then
    log "installed playwright-core into $DIR/node_modules"
    exit 0
  fi
  log "npm ci failed (attempt $attempt); retrying"
  sleep $((attempt * 3))
done
exit 1
