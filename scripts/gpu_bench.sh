#!/usr/bin/env bash
# The GPU rows of docs/benchmarks.md, in one prepared run on a machine with an NVIDIA GPU and
# JAX's CUDA 13 PJRT plugin (jax-cuda13-pjrt) in its python3, but no Go toolchain.
#
#   scripts/gpu_bench.sh pack    # here (amd64, with Go): builds .gpu/ — the stripped binary, a
#                                # test binary of the retina package, and the shared libraries
#                                # they link that a CUDA image lacks, as one tarball (about 25 MB)
#   scripts/gpu_bench.sh run     # there, from the repository root with .gpu/ copied beside it:
#                                # GPU parity tests, then `deepretina bench`, which rewrites the
#                                # GPU section of docs/benchmarks.md; logs and results go to
#                                # $OUT (default: ./gpu-out)
#
# The run takes about 5 minutes on an H100/H200 (simulating the paper retina included).
set -euo pipefail
cd "$(dirname "$0")/.."

pack() {
  export PATH="/usr/local/go/bin:$PATH"
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/libs"
  go build -trimpath -ldflags "-s -w" -o "$stage/deepretina" ./cmd/deepretina
  go test -c -trimpath -ldflags "-s -w" -o "$stage/retina.test" ./retina
  for bin in "$stage/deepretina" "$stage/retina.test"; do
    ldd "$bin" | awk '/=> \//{print $3}' | while read -r lib; do
      case "$(basename "$lib")" in
        libc.so.*|libm.so.*|libresolv.so.*|libpthread.so.*|libdl.so.*|ld-linux*) ;;
        *) cp -Lu "$lib" "$stage/libs/" ;;
      esac
    done
  done
  # Compressed: the working tree that travels to the GPU machine is limited to 64 MiB.
  rm -rf .gpu && mkdir -p .gpu
  tar -C "$stage" -czf .gpu/bundle.tar.gz deepretina retina.test libs
  rm -rf "$stage"
  du -sh .gpu
}

run() {
  [ -f .gpu/bundle.tar.gz ] && tar -C .gpu -xzf .gpu/bundle.tar.gz
  OUT=$(realpath -m "${OUT:-gpu-out}")
  mkdir -p "$OUT"
  SITE=$(python3 -c 'import site; print(site.getsitepackages()[0])')
  PDIR=$(python3 -c 'import jax_plugins.xla_cuda13 as p, os; print(os.path.dirname(p.__file__))')
  export LD_LIBRARY_PATH="$PWD/.gpu/libs:$(find "$SITE/nvidia" -maxdepth 3 -type d -name lib | tr '\n' ':')${LD_LIBRARY_PATH:-}"
  export GOMLX_BACKEND="xla:$PDIR/xla_cuda_plugin.so"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
  echo "== parity tests on the GPU (golden PyTorch files, float32 and float64)"
  (cd retina && timeout 240 ../.gpu/retina.test -test.count=1 \
    -test.run 'TestEnginesPickTheirConvolution|TestConv2DForwardVsNaive/xla|TestConv2DGradients/xla|TestParityEval/xla|TestParityTrainGradients/xla|TestTrainingStepMatchesPyTorch/xla|TestTrainSaveLoadPredictsIdentically/xla|TestNoiseFiniteAtZeroUniform/xla' \
    -test.v 2>&1 | tee "$OUT/gpu-tests.log" | grep -E '^(--- |ok|FAIL|PASS)|worst rel err' | head -60) || true
  echo "== bench"
  ./.gpu/deepretina bench --python python3 --out docs/benchmarks.md --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" | grep -v '^  '
  cp docs/benchmarks.md "$OUT/benchmarks.md"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: $0 pack|run" >&2; exit 2 ;;
esac
