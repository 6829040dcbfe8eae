#!/usr/bin/env bash
# install-test-deps.sh — make sure the PostgreSQL server programs (initdb, pg_ctl, postgres)
# and redis-server that the integration tests need are installed, and libjpeg-turbo
# (libturbojpeg0) for the vision stage, libopusfile and the speech tools of the asr tests,
# and Chromium with Node.js and a CJK font for the browser tests of the web pages.
#
#   scripts/install-test-deps.sh [--run]
#
# With --run only what `switchboard serve` uses is checked (PostgreSQL, libjpeg-turbo,
# libopusfile, PocketSphinx and its model, ffmpeg): `make run` needs nothing that only tests use.
#
# Idempotent: installs only what is missing. As root on Debian/Ubuntu it uses apt-get (with
# retries); otherwise it prints what to install and exits 0 — tests then skip with that
# message locally and fail with CI=true. It never starts services: internal/testenv uses a
# running server when there is one and otherwise starts private ones itself.
set -euo pipefail

log() { echo "install-test-deps: $*" >&2; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

have_postgres() {
  local d initdb
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && return 0
  done
  initdb=$(command -v initdb 2>/dev/null) || return 1
  d=$(dirname "$(readlink -f "$initdb")")
  [[ -x $d/pg_ctl && -x $d/postgres ]]
}

have_redis() {
  command -v redis-server >/dev/null 2>&1 ||
    [[ -x /usr/bin/redis-server || -x /usr/local/bin/redis-server || -x /usr/sbin/redis-server ]]
}

have_lib() {
  ldconfig -p 2>/dev/null | grep -qF "$1 " ||
    [[ -e /usr/lib/x86_64-linux-gnu/$1 || -e /usr/lib/aarch64-linux-gnu/$1 ]]
}

have_turbojpeg() { have_lib libturbojpeg.so.0; }

# run_packages: what serve uses.
run_packages() {
  have_postgres || echo postgresql
  # libjpeg-turbo: the vision stage decodes JPEGs at reduced scale with it (loaded at run
  # time; without it photos are decoded in Go, about 4× slower)
  have_turbojpeg || echo libturbojpeg0
  # speech: libopusfile decodes OGG/Opus voice notes (loaded at run time)
  have_lib libopusfile.so.0 || echo libopusfile0
  # PocketSphinx and its US-English model (loaded at run time by asr/pocketsphinx)
  have_lib libpocketsphinx.so.3 || echo libpocketsphinx3
  have_lib libsphinxbase.so.3 || echo libsphinxbase3
  [[ -d /usr/share/pocketsphinx/model/en-us ]] || echo pocketsphinx-en-us
  # video notes: ffmpeg and ffprobe sample their frames and extract their sound (run as
  # programs under strict limits by vision/video)
  command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || echo ffmpeg
  # WordNet 3.0: synonym sets and definitions `switchboard kb train` learns the
  # paraphrase encoder from, beside the shared data's question sets
  [[ -f /usr/share/wordnet/data.noun ]] || echo wordnet-base
}

# test_packages: what only the tests use.
test_packages() {
  have_redis || echo redis-server
  # the asr tests synthesize and convert speech with espeak-ng, opusenc and sox
  command -v espeak-ng >/dev/null 2>&1 || echo espeak-ng
  command -v opusenc >/dev/null 2>&1 || echo opus-tools
  command -v sox >/dev/null 2>&1 || echo sox
  # the web pages' browser tests drive Debian's Chromium (web/e2e, playwright-core)
  [[ -x /usr/bin/chromium ]] || echo chromium
  command -v node >/dev/null 2>&1 || echo nodejs
  command -v npm >/dev/null 2>&1 || echo npm
  # promtool checks and unit-tests the alert rules (deploy/prometheus)
  command -v promtool >/dev/null 2>&1 || echo prometheus
  # a CJK font, so that the Chinese pages' screenshots show characters, not boxes
  fc-list :lang=zh 2>/dev/null | grep -q . || echo fonts-wqy-zenhei
}

MODE=${1:-}
missing_packages() {
  run_packages
  [[ $MODE == --run ]] || test_packages
}

present="PostgreSQL server programs, redis-server and the media libraries and tools are installed"
[[ $MODE == --run ]] && present="PostgreSQL server programs and the media libraries serve uses are installed"
install_missing "$present" "until then, tests needing them skip locally and fail with CI=true" \
  "installed; services were not started (the Go test helpers start private servers)"
