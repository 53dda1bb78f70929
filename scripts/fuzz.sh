#!/usr/bin/env bash
# A short fuzzing pass over every input parser (FUZZTIME each, default 15s). Corpora that find
# a failure are written under the package's testdata/fuzz/ and replayed by plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-15s}
for target in "./datasets FuzzParseNpy" "./retina/runconfig FuzzParseConfig" "./retina FuzzParseMeta" "./torchio FuzzParseCheckpoint"; do
  set -- $target
  echo "fuzz $2 ($1, $t)"
  # The whole output is kept and printed on failure: a failure that writes no corpus entry (a
  # worker that hung or died) is otherwise reported as a bare FAIL with nothing to go on.
  log=$(mktemp)
  if go test -run '^$' -fuzz "^$2\$" -fuzztime "$t" "$1" >"$log" 2>&1; then
    tail -3 "$log"
  else
    grep -v 'execs: .*new interesting' "$log" >&2 || true
    echo "fuzz: $2 in $1 failed (full output above; a failing input, if one was found, is under $1/testdata/fuzz/$2/)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done
