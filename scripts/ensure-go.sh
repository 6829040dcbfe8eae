#!/usr/bin/env bash
# ensure-go.sh — print the path of a Go toolchain new enough for go.mod.
#
# Uses `go` from PATH (or /usr/local/go/bin) when it is at least the version
# go.mod asks for; otherwise fetches that toolchain once from the Go module
# proxy (golang.org/toolchain, the same zip `GOTOOLCHAIN=auto` uses) into
# ~/.cache/switchboard/go. Progress goes to stderr, the path to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want=$(awk '/^go [0-9]/ {print $2; exit}' "$here/go.mod")

version_ok() { # $1 = go binary
  local have
  have=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ]
}

for cand in "$(command -v go || true)" /usr/local/go/bin/go "$HOME/.cache/switchboard/go/go$want/bin/go"; do
  if [ -n "$cand" ] && [ -x "$cand" ] && version_ok "$cand"; then
    echo "$cand"
    exit 0
  fi
done

dest="$HOME/.cache/switchboard/go"
mkdir -p "$dest"
arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
url="$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
need() { command -v "$1" >/dev/null 2>&1; }
if ! need curl || ! need unzip; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    for i in 1 2 3; do
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl unzip ca-certificates >&2 && break
      sleep 2
    done
  else
    echo "ensure-go: need curl and unzip to fetch Go $want (apt-get install -y curl unzip)" >&2
    exit 1
  fi
fi
echo "ensure-go: fetching Go $want from $url" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fL --retry 3 --progress-bar -o "$tmp/go.zip" "$url" >&2
unzip -q "$tmp/go.zip" -d "$tmp/x"
rm -rf "$dest/go$want"
mv "$tmp/x/golang.org/toolchain@v0.0.1-go$want.linux-$arch" "$dest/go$want"
chmod +x "$dest/go$want/bin/"* "$dest/go$want/pkg/tool/"*/* 2>/dev/null || true
echo "$dest/go$want/bin/go"
