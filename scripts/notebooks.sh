#!/usr/bin/env bash
# Executes every notebook in notebooks/ headlessly on the GoNB kernel and fails when any of them
# goes wrong; this is how CI (scripts/test.sh) proves that the notebooks run.
#
#   scripts/notebooks.sh                      # all notebooks/[0-9]*.ipynb
#   scripts/notebooks.sh notebooks/01-quickstart.ipynb …
#   scripts/notebooks.sh --install            # only install the tools and register the kernel
#                                             # in your own Jupyter, to run notebooks by hand
#
# It installs what is missing, idempotently: Debian's Jupyter (nbconvert, the Jupyter client,
# nbclient), GoNB v0.11.5 and goimports v0.52.0 (pinned by the tools module scripts/nbtools,
# built into bin/nbtools/), plotly.js (npm ci). Then, for each notebook:
#   1. jupyter nbconvert --execute: a cell that fails to compile fails it;
#   2. bin/nbcheck scans the executed notebook: nbconvert exits 0 when a Go cell panics or exits
#      non-zero (GoNB only prints that on stderr), so every output is checked for panics, fatal
#      errors, signals, exit statuses and error outputs, and every code cell must have run;
#   3. jupyter nbconvert --to html with the project's template (notebooks/nbconvert/deepretina,
#      plotly.js inlined), and nbcheck renders the page in headless chromium with the network
#      shut off: every figure the notebook displayed must have drawn.
# Executed notebooks and their HTML exports go to $NOTEBOOKS_OUT (default out/notebooks/);
# the notebooks' own files (simulated data, runs) to a fresh temporary folder
# ($DEEPRETINA_NOTEBOOK_WORK), removed afterwards unless KEEP_NOTEBOOK_WORK=1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="/usr/local/go/bin:$PATH"

need=(jupyter-nbconvert python3-nbconvert jupyter-client python3-jupyter-client python3-nbclient python3-nbformat chromium)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "notebooks: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -f node_modules/plotly.js-dist-min/plotly.min.js ]; then
  echo "notebooks: installing plotly.js (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# GoNB and goimports, at the versions scripts/nbtools/go.mod pins (go install pkg@version is
# refused by the module proxy here, so they are built from that module).
tools="$root/bin/nbtools"
if [ ! -x "$tools/gonb" ] || [ ! -x "$tools/goimports" ] || [ scripts/nbtools/go.mod -nt "$tools/gonb" ]; then
  echo "notebooks: building GoNB and goimports (scripts/nbtools)"
  (cd scripts/nbtools && GOBIN="$tools" go install github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports)
fi
export PATH="$tools:$PATH" # GoNB runs goimports on every cell

if [ "${1:-}" = "--install" ]; then
  "$tools/gonb" --install --force_copy --force_deps
  echo "notebooks: the GoNB kernel is registered; start Jupyter in notebooks/ with $tools on PATH"
  exit 0
fi

# A kernel registration of our own, so that the user's Jupyter set-up is left alone; --raw_error
# makes compile errors plain text in the logs.
export JUPYTER_DATA_DIR="$root/bin/jupyter"
"$tools/gonb" --install --force_copy --force_deps --raw_error >/dev/null 2>&1 || {
  echo "notebooks: registering the GoNB kernel failed:" >&2
  "$tools/gonb" --install --force_copy --force_deps --raw_error >&2
  exit 1
}
go build -o bin/nbcheck ./internal/nbcheck

out="${NOTEBOOKS_OUT:-$root/out/notebooks}"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/deepretina-notebooks-XXXXXX")
export DEEPRETINA_NOTEBOOK_WORK="$work"
cleanup() { [ "${KEEP_NOTEBOOK_WORK:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

if [ $# -gt 0 ]; then
  books=("$@")
else
  books=(notebooks/[0-9]*.ipynb)
fi
failed=()
start=$SECONDS
for nb in "${books[@]}"; do
  name=$(basename "$nb" .ipynb)
  t0=$SECONDS
  log="$out/$name.log"
  echo "== notebook $name"
  if ! jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=gonb \
      --ExecutePreprocessor.timeout=900 --output-dir "$out" --output "$name.ipynb" "$nb" >"$log" 2>&1; then
    grep -v '^[IWE][0-9]\{4\} ' "$log" | tail -40 >&2
    echo "notebooks: $name: a cell failed (nbconvert, log $log)" >&2
    failed+=("$name")
    continue
  fi
  if ! jupyter nbconvert --to html --TemplateExporter.extra_template_basedirs="$root/notebooks/nbconvert" \
      --template deepretina --output-dir "$out" --output "$name.html" "$out/$name.ipynb" >>"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "notebooks: $name: the HTML export failed (log $log)" >&2
    failed+=("$name")
    continue
  fi
  if ! bin/nbcheck -html "$out/$name.html" "$out/$name.ipynb"; then
    failed+=("$name")
    continue
  fi
  echo "notebooks: $name ran in $((SECONDS - t0)) s"
done
echo "notebooks: ${#books[@]} notebooks in $((SECONDS - start)) s; executed notebooks and HTML in $out"
if [ ${#failed[@]} -gt 0 ]; then
  echo "notebooks: FAILED: ${failed[*]}" >&2
  exit 1
fi
