#!/usr/bin/env bash
# install-torch.sh — make sure Debian's PyTorch and torchvision (and, when the mirror has
# it, python3-onnx for checking exports) are importable by Debian's own Python,
# /usr/bin/python3. scripts/export-resnet50.py needs them; nothing else in Switchboard
# does.
#
# Idempotent: does nothing when /usr/bin/python3 already imports torch and torchvision.
# As root on Debian it installs with apt-get (3 attempts, `apt-get update` before each);
# otherwise it prints what to install and exits 1, since the export cannot run without
# them. The default `python3` on PATH may be another interpreter (pyenv) that cannot see
# apt's packages, so only /usr/bin/python3 is used.
set -euo pipefail

PY=/usr/bin/python3
REQUIRED=(python3-torch python3-torchvision)
OPTIONAL=(python3-onnx)

log() { echo "install-torch: $*" >&2; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

have() { [[ -x $PY ]] && "$PY" -c "import $1" >/dev/null 2>&1; }

have_required() { have "torch, torchvision"; }


main() {
  if have_required; then
    log "torch and torchvision are installed for $PY"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "$PY cannot import torch and torchvision"
    log "install on Debian with: sudo apt-get install -y --no-install-recommends ${REQUIRED[*]} (optional: ${OPTIONAL[*]})"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local start=$SECONDS
  log "installing: ${REQUIRED[*]}"
  apt_install "${REQUIRED[@]}" || log "apt-get reported errors; checking what got installed"
  if ! have_required; then
    log "still no torch/torchvision for $PY after 3 attempts"
    return 1
  fi
  # The ONNX checker is a nicety: a mirror without python3-onnx is not an error.
  if ! have onnx; then
    apt-get install -y -q --no-install-recommends "${OPTIONAL[@]}" >/dev/null 2>&1 ||
      log "optional ${OPTIONAL[*]} not installed; exports will not be checked with onnx.checker"
  fi
  log "installed in $((SECONDS - start))s: torch $("$PY" -c 'import torch; print(torch.__version__)')," \
    "torchvision $("$PY" -c 'import torchvision; print(torchvision.__version__)')"
}

main "$@"
