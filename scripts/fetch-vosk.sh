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

if [[ -s $LIB ]]; then
  echo "$LIB"
  exit 0
fi
if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
  log "no prebuilt libvosk for $(uname -s)/$(uname -m) in the npm package; set SWITCHBOARD_VOSK_LIB"
  exit 1
fi
command -v npm >/dev/null 2>&1 || {
  log "npm is needed to fetch vosk@$VERSION (scripts/fetch-onnxruntime.sh installs it as root)"
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for attempt in 1 2 3; do
  (cd "$tmp" && npm pack --silent "vosk@$VERSION" >/dev/null) && break
  log "npm pack attempt $attempt of 3 failed"
  [[ $attempt == 3 ]] && exit 1
  sleep $((attempt * 2))
done
tar -xzf "$tmp/vosk-$VERSION.tgz" -C "$tmp" package/lib/linux-x86_64/libvosk.so
mkdir -p "$DEST"
install -m 0644 "$tmp/package/lib/linux-x86_64/libvosk.so" "$LIB.partial"
mv "$LIB.partial" "$LIB"
log "installed $LIB"
echo "$LIB"
