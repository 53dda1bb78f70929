#!/usr/bin/env bash
# Creates .venv-torch/ (git-ignored): the newest PyTorch and NumPy from the Python index, pinned
# by version, as the reference of `deepretina bench --python .venv-torch/bin/python`.
#
# The Python index serves one torch wheel for Linux x86_64, built for CUDA: it pulls the NVIDIA
# CUDA libraries as dependencies (several GB), which the CPU benchmark does not use. The
# CPU-only builds (version suffix +cpu) are published only on PyTorch's own wheel index, which
# this project does not use; the index's "torch-cpu-for-poetry" is an unofficial shim, not a
# build. So the default wheel it is.
#
# Usage: [PYTHON=python3.12] scripts/torch_venv.sh [venv-dir]   (default .venv-torch in the repository root)
set -euo pipefail
TORCH_VERSION=2.15.0
H5PY_VERSION=3.16.0
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/.venv-torch}"
python="${PYTHON:-python3}"
# NumPy 2.5 needs Python 3.12 or newer; Debian 12's Python 3.11 gets the last NumPy for it.
if "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  NUMPY_VERSION=2.5.5
else
  NUMPY_VERSION=2.4.6
fi
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" - "$TORCH_VERSION" "$NUMPY_VERSION" "$H5PY_VERSION" <<'PY' 2>/dev/null
import sys, torch, numpy, h5py
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] and numpy.__version__ == sys.argv[2] and h5py.__version__ == sys.argv[3] else 1)
PY
then
  echo "torch_venv: $venv already has torch $TORCH_VERSION, numpy $NUMPY_VERSION and h5py $H5PY_VERSION"
  exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# h5py: bench's end-to-end epoch reads the simulated recording as torch-deep-retina does.
"$venv/bin/python" -m pip install --quiet "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION" "h5py==$H5PY_VERSION"
"$venv/bin/python" -c 'import torch, numpy, h5py; print("torch_venv: torch", torch.__version__, "numpy", numpy.__version__, "h5py", h5py.__version__, "threads", torch.get_num_threads())'
