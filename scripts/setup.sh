#!/usr/bin/env bash
# Installs what deepretina needs on a Debian machine, idempotently: Debian packages (libhdf5 for
# the HDF5 reader; h5py, SciPy and PyTorch for the reference files and cross-checks; chromium,
# with which the tests check that HTML reports render offline), XLA's CPU plugin (the default
# engine) into deps/pjrt/, plotly.js into node_modules/ (npm ci), the Go module downloads, and
# the deepretina binary in bin/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(libhdf5-dev hdf5-tools pkg-config gcc binutils python3-numpy python3-h5py python3-scipy python3-torch slurm-wlm munge chromium)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup: Go 1.26 or newer is required (https://go.dev/dl/); Debian's golang package is too old" >&2
    exit 1
  fi
fi

./scripts/install_xla_cpu.sh

# plotly.js for the HTML reports (package.json pins plotly.js-dist-min 2.34.0), into node_modules/.
if [ ! -f node_modules/plotly.js-dist-min/plotly.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing plotly.js (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

go mod download
mkdir -p bin
go build -o bin/deepretina ./cmd/deepretina
echo "setup: built bin/deepretina ($(go version | cut -d' ' -f3))"
