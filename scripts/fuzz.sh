#!/usr/bin/env bash
# A short fuzzing pass over every input parser (FUZZTIME each, default 15s). Corpora that find
# a failure are written under the package's testdata/fuzz/ and replayed by plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-15s}
for target in "./datasets FuzzParseNpy" "./retina/runconfig FuzzParseConfig" "./retina FuzzParseMeta" "./torchio FuzzParseCheckpoint"; do
  set -- $target
  echo "fuzz $2 ($1, $t)"
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$t" "$1" 2>&1 | tail -3
done
