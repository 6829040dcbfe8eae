#!/usr/bin/env bash
# fetch-vosk.sh — put libvosk.so (Vosk/Kaldi speech recognition) where Switchboard looks for it.
#
# Vosk is loaded at run time (dlopen), so the binary builds without it. The library comes
# from the npm package vosk, which ships the linux-x86_64 build; `npm pack` checks the
# registry's integrity hash and nothing of the package is run. Models are not fetched
# (none is reachable from here): point asr at a model folder in the configuration.
#
#   scripts/fetch-vosk.sh [DEST]     (DEST defaults to .deps/vosk)
set -euo pipefail

VERSION=${VOSK_VERSION:-0.3.39}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$ROOT/.deps/vosk}
LIB=$DEST/libvosk.so

log() { echo "fetch-vosk: $*" >&2; }
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

if [[ -s $LIB ]]; then
  echo "$LIB"
  exit 0
fi
if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
  log "no prebuilt libvosk for $(uname -s)/$(uname -m) in the npm package; set SWITCHBOARD_VOSK_LIB"
  exit 1
fi
npm_extract "vosk@$VERSION" package/lib/linux-x86_64/libvosk.so "$LIB"
log "installed $LIB"
echo "$LIB"
