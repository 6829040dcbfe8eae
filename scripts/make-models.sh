#!/usr/bin/env bash
# make-models.sh [MODELS_DIR] — put the models Switchboard's tests and benchmarks serve into
# the model repository: today one, resnet50 version 1 (torchvision's architecture with
# random weights, exported to ONNX by scripts/export-resnet50.py with Debian's PyTorch).
#
# Layout: <MODELS_DIR>/<name>/<version>/{model.onnx,labels.txt,manifest.yaml}. MODELS_DIR is
# the first argument, else $MODELS_DIR, else ./data/models in the repository (the default
# data_dir is ./data).
#
# Idempotent: a version that already has model.onnx and manifest.yaml is left alone. Every
# file is written to a hidden temporary file in the version directory and renamed into
# place, and the manifest goes last, so a watcher of the repository never sees a version
# with a half-written file or a manifest without its model.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3

log() { echo "make-models: $*" >&2; }

# write_atomic DEST: stdin to DEST through a temporary file in DEST's directory.
write_atomic() {
  local dest=$1 tmp
  tmp=$(mktemp "$(dirname "$dest")/.$(basename "$dest").XXXXXX.tmp")
  if ! cat >"$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  chmod 644 "$tmp"
  mv -f "$tmp" "$dest"
}

labels() {
  local i
  for ((i = 0; i < 1000; i++)); do echo "class_$i"; done
}

resnet50_manifest() {
  cat <<'EOF'
task: image-classification
description: ResNet50 (torchvision architecture, random weights; for latency tests, not accuracy)
inputs:
  - {name: input, type: float32, shape: [-1, 3, 224, 224]}
outputs:
  - {name: output, type: float32, shape: [-1, 1000]}
labels: labels.txt
preprocess:
  resize_short: 256
  crop: 224
  scale: 0.00392156862745098
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
  layout: NCHW
  color: RGB
  filter: bilinear
batching:
  max_batch: 8
  max_delay: 2ms
max_concurrency: 2
EOF
}

make_resnet50() {
  local repo=$1 dir=$1/resnet50/1
  if [[ -s $dir/model.onnx && -s $dir/manifest.yaml ]]; then
    echo "make-models: resnet50/1 is present: $dir/model.onnx"
    return 0
  fi
  "$ROOT/scripts/install-torch.sh"
  mkdir -p "$dir"
  # A model.onnx without a manifest is what an interrupted run leaves behind; the export
  # takes seconds, so make it again rather than trust it.
  "$PY" "$ROOT/scripts/export-resnet50.py" "$dir/model.onnx"
  labels | write_atomic "$dir/labels.txt"
  resnet50_manifest | write_atomic "$dir/manifest.yaml"
  echo "make-models: resnet50/1 ready in $repo: $dir/model.onnx"
}

main() {
  local repo=${1:-${MODELS_DIR:-$ROOT/data/models}}
  mkdir -p "$repo"
  repo=$(cd "$repo" && pwd)
  make_resnet50 "$repo"
}

main "$@"
