#!/usr/bin/env bash
# Sets up and runs every test: unit and integration tests of all packages (on the default
# engine, XLA's CPU plugin; the tests of the pure-Go fallback pick it themselves), every notebook
# headlessly, then a short fuzzing pass over each input parser.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="/usr/local/go/bin:$PATH"

echo "== go vet"
go vet ./...
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
