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
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

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
log "fetching onnxruntime-node@$VERSION from the npm registry (about 110 MB)"
npm_extract "onnxruntime-node@$VERSION" package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$LIB"
ln -sfn "libonnxruntime.so.$VERSION" "$DEST/libonnxruntime.so"
log "installed $LIB"
echo "$LIB"
