#!/usr/bin/env bash
# fetch-onnxruntime.sh — put ONNX Runtime's shared library where Switchboard looks for it.
#
# ONNX Runtime is loaded at run time (onnxruntime_go dlopens it), so the binary builds
# without it; the ONNX stages (dense text encoder, vision, model registry) need it. The
# library comes from the npm package onnxruntime-node, which ships the linux-x64 build;
# `npm pack` checks the registry's integrity hash, and nothing of the package is run.
#
#   scripts/fetch-onnxruntime.sh [DEST]     (DEST defaults to .deps/onnxruntime)
#
# Prints the library's path on stdout. Idempotent: an existing library is kept.
set -euo pipefail

VERSION=${ONNXRUNTIME_VERSION:-1.30.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$ROOT/.deps/onnxruntime}
LIB=$DEST/libonnxruntime.so.$VERSION

log() { echo "fetch-onnxruntime: $*" >&2; }

if [[ -s $LIB ]]; then
  echo "$LIB"
  exit 0
fi
case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*)
  log "no prebuilt library for $(uname -s)/$(uname -m) in onnxruntime-node; install ONNX Runtime >= 1.24 and set SWITCHBOARD_ORT_LIB"
  exit 1
  ;;
esac
if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing npm (Debian package) to fetch onnxruntime-node"
    for attempt in 1 2 3; do
      apt-get update -q && apt-get install -y -q --no-install-recommends npm && break
      log "apt-get attempt $attempt of 3 failed"
      sleep $((attempt * 2))
    done
  fi
  command -v npm >/dev/null 2>&1 || {
    log "npm is needed to fetch onnxruntime-node@$VERSION; install Node.js/npm"
    exit 1
  }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "fetching onnxruntime-node@$VERSION from the npm registry (about 110 MB)"
for attempt in 1 2 3; do
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null) && break
  log "npm pack attempt $attempt of 3 failed"
  [[ $attempt == 3 ]] && exit 1
  sleep $((attempt * 2))
done
tar -xzf "$tmp"/onnxruntime-node-"$VERSION".tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
mkdir -p "$DEST"
install -m 0644 "$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$LIB.partial"
mv "$LIB.partial" "$LIB"
ln -sfn "libonnxruntime.so.$VERSION" "$DEST/libonnxruntime.so"
log "installed $LIB"
echo "$LIB"
