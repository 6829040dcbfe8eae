#!/usr/bin/env bash
# fuzz.sh — run every fuzz target of the module for FUZZTIME each.
#
# Targets are found with grep (every `func FuzzX(f *testing.F)` in a _test.go file), so a
# new one is picked up without editing anything. `go test -fuzz` takes one target at a
# time, so they run one after another. At the end it prints the total fuzz time and the
# number of crashes, and exits non-zero on any. A crash leaves its input under the
# package's testdata/fuzz/FuzzX/, which the normal `go test` run replays from then on:
# keep it with the fix.
#
#   GO=go FUZZTIME=20s FUZZ=regexp FUZZPARALLEL=n scripts/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-20s}
FUZZ=${FUZZ:-.}
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")

mapfile -t targets < <(grep -rHo --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.deps \
  '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' . | sed -E 's|^\./||; s|:func (Fuzz[A-Za-z0-9_]*)\(.*|:\1|' |
  awk -F: -v re="$FUZZ" '$2 ~ re { n = split($1, p, "/"); d = p[1]; for (i = 2; i < n; i++) d = d "/" p[i]; if (n == 1) d = "."; print d ":" $2 }' |
  sort -u)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets match $FUZZ" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
crashes=0 fuzzed=0 execs=0
failed=()
start_all=$(date +%s)
for t in "${targets[@]}"; do
  dir=${t%%:*} name=${t##*:}
  printf 'fuzz: %-28s ./%-26s ' "$name" "$dir"
  start=$(date +%s)
  "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${par[@]}" "./$dir" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  # the last progress line: "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), …"
  last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1)
  n=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
  el=$(sed -E 's/^fuzz: elapsed: ([0-9hms.]+),.*/\1/' <<<"$last")
  execs=$(( execs + ${n:-0} ))
  if [ $rc -eq 0 ]; then
    fuzzed=$(( fuzzed + 1 ))
    if grep -q -- '--- SKIP' "$log"; then
      echo "skipped ($(grep -m1 -A1 -- '--- SKIP' "$log" | tail -1 | sed 's/^ *//'))"
    else
      echo "ok  fuzzed ${el:-?}, ${n:-0} execs (${secs}s with the build)"
    fi
  else
    crashes=$(( crashes + 1 ))
    failed+=("$name")
    echo "CRASH after ${secs}s"
    grep -E -- '--- FAIL|Error|error|panic|\.go:[0-9]+:|Failing input written to' "$log" | head -20 | sed 's/^/    /'
  fi
done
total=$(( $(date +%s) - start_all ))
echo "fuzz: ${#targets[@]} targets, ${fuzzed} passed, FUZZTIME=${FUZZTIME} each; ${total}s in all (builds included), ${execs} executions"
echo "fuzz: crashes: ${crashes}${failed:+ (${failed[*]})}"
[ "$crashes" -eq 0 ]
