#!/usr/bin/env bash
# A short fuzzing pass over every input parser. Corpora that find a failure are written under
# the package's testdata/fuzz/ and replayed by plain `go test`.
#
# Each target runs a fixed number of executions (about 15 s each on the 2-core dev machine), not
# a duration: Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" FAIL, with
# no failing input, when a duration -fuzztime expires while a worker is mid-call
# (go.dev/issue/75804, fixed in Go 1.27). It failed a clean-clone CI run that way on
# FuzzParseConfig. A count has no deadline to race. FUZZTIME overrides every target's budget
# (a count such as 1000x, or a duration for local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
for target in "./datasets FuzzParseNpy 600000x" "./retina/runconfig FuzzParseConfig 300000x" \
  "./retina FuzzParseMeta 150000x" "./torchio FuzzParseCheckpoint 60000x"; do
  set -- $target
  t=${FUZZTIME:-$3}
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
