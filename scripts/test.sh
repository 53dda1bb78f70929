#!/usr/bin/env bash
# The full test tier, what CI runs: sets up, runs go vet and staticcheck, every unit and
# integration test of all packages (on the default engine, XLA's CPU plugin; the tests of the
# pure-Go fallback pick it themselves), every notebook headlessly, then a short fuzzing pass over
# each input parser. It never passes -short and fails if any test skips; the quick tier is
# `go test -short ./...` (docs/developing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="/usr/local/go/bin:$PATH"

echo "== go vet"
go vet ./...
echo "== staticcheck"
# Pinned by the tools module scripts/staticcheck (its go.mod's tool directive), built into bin/
# once per version, so the main go.mod carries none of its requirements.
if [ ! -x bin/staticcheck ] || [ scripts/staticcheck/go.mod -nt bin/staticcheck ]; then
  (cd scripts/staticcheck && go build -o ../../bin/staticcheck honnef.co/go/tools/cmd/staticcheck)
fi
./bin/staticcheck ./...
echo "== go test"
log=$(mktemp)
status=0
# One test binary at a time: each XLA process sizes its thread pools to every core, and two of them
# oversubscribe a 2-core machine badly. (go vet above has already compiled everything in parallel.)
go test -p 1 -v -count=1 -timeout 40m ./... >"$log" 2>&1 || status=$?
if [ $status -ne 0 ]; then
  cat "$log"
  echo "test.sh: go test failed" >&2
  exit $status
fi
grep -E '^(ok|FAIL|\?|--- SKIP)' "$log" || true
echo "$(grep -c -- "^--- PASS" "$log") passed, 0 failed"
if grep -q -- '--- SKIP' "$log"; then
  echo "test.sh: some tests were skipped; every test must run" >&2
  exit 1
fi
./scripts/notebooks.sh
if [ -x scripts/fuzz.sh ]; then
  echo "== fuzz"
  ./scripts/fuzz.sh
fi
