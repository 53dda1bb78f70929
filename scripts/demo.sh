#!/usr/bin/env bash
# The main job: simulate the small ground-truth retina, train the default BNCNN and its LN
# baseline on it, and print the test-set table (CNN vs LN vs the retina's reliability ceiling).
# Re-running it resumes/reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
OUT=${OUT:-out}
[ -f "$OUT/data/sim-small/naturalscene.h5" ] || ./bin/deepretina simulate --out "$OUT/data" --preset small
./bin/deepretina train --data "$OUT/data" --out "$OUT/runs"
echo
echo "Evaluation summary: $OUT/runs/bncnn-small/eval.json"
