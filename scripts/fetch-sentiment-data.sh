#!/usr/bin/env bash
# fetch-sentiment-data.sh — put the English training set of the sentiment model (nlp/sentiment)
# where `switchboard quality train` and the package's tests look for it.
#
# The set is the UCI "Sentiment Labelled Sentences" (Kotzias, Denil, de Freitas and Smyth,
# "From group to individual labels using deep features", KDD 2015): 1,000 Amazon, 1,000
# IMDb and 1,000 Yelp sentences labelled 0 (negative) or 1 (positive). The npm package
# sentiment@5.0.2 (MIT) ships it as package/test/fixtures/{amazon,imdb,yelp}.json; `npm pack`
# checks the registry's integrity hash and nothing of the package runs. Only the three
# JSON files are kept. Nothing is fetched when they are already there; offline it says why
# and exits non-zero (callers decide whether that matters).
#
#   scripts/fetch-sentiment-data.sh [DEST]     (DEST defaults to .deps/sentiment-en)
set -euo pipefail

VERSION=${SENTIMENT_DATA_VERSION:-5.0.2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$ROOT/.deps/sentiment-en}
SETS=(amazon imdb yelp)

log() { echo "fetch-sentiment-data: $*" >&2; }

have_all() {
  local s
  for s in "${SETS[@]}"; do
    [[ -s $DEST/$s.json ]] || return 1
  done
}

if have_all; then
  echo "$DEST"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  log "npm not installed (apt-get install npm); the English sentiment model stays off"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for attempt in 1 2; do
  (cd "$tmp" && npm pack --silent "sentiment@$VERSION" >/dev/null) && break
  if [[ $attempt == 2 ]]; then
    log "could not fetch sentiment@$VERSION from the npm registry (offline?); the English sentiment model stays off"
    exit 1
  fi
  log "npm pack sentiment@$VERSION failed; retrying once"
  sleep 3
done
files=()
for s in "${SETS[@]}"; do
  files+=("package/test/fixtures/$s.json")
done
if ! tar -xzf "$tmp"/*.tgz -C "$tmp" "${files[@]}"; then
  log "sentiment@$VERSION does not hold ${files[*]}"
  exit 1
fi
mkdir -p "$DEST"
for s in "${SETS[@]}"; do
  install -m 0644 "$tmp/package/test/fixtures/$s.json" "$DEST/$s.json.partial"
  mv "$DEST/$s.json.partial" "$DEST/$s.json"
done
log "installed the UCI Sentiment Labelled Sentences (amazon, imdb, yelp) into $DEST"
echo "$DEST"
