#!/usr/bin/env bash
# Installs XLA's CPU PJRT plugin into deps/pjrt/ (inside the project, not system-wide), pinned by
# version and SHA-256, and checks that it loads and computes with the go-xla in go.mod
# (internal/tools/pjrtcheck). The Python package lammps-jax-pjrt-cpu 0.11.2 ships XLA's own CPU
# plugin built from jaxlib 0.11.2: PJRT C API 0.115, the newest CPU plugin on the Python index;
# go-xla v0.4.5 is compiled against PJRT C API 0.104 (a newer plugin is backward compatible) and
# its own installer would fetch the 0.114 CPU build from GitHub, unreachable here (docs/engines.md).
# Neither the Go proxy nor Debian serves a PJRT plugin. Idempotent: downloads nothing when the
# pinned plugin is already there, but always re-runs the load check.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=lammps-jax-pjrt-cpu
VERSION=0.11.2
WHEEL=lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl
SHA256=1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1
DEST=deps/pjrt
SO=pjrt_c_api_cpu_plugin.so
STAMP="$DEST/VERSION"

check_loads() {
  if ! command -v go >/dev/null 2>&1; then
    echo "install_xla_cpu: no Go toolchain on PATH; skipping the load check of $DEST/$SO" >&2
    return 0
  fi
  if ! go run ./internal/tools/pjrtcheck "$DEST/$SO"; then
    echo "install_xla_cpu: $DEST/$SO ($PKG $VERSION) does not work with this project's go-xla (see above)" >&2
    return 1
  fi
}

if [ -f "$DEST/$SO" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PKG $VERSION $SHA256" ]; then
  check_loads
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install_xla_cpu: the pinned wheel is for Linux x86-64 only (this is $(uname -s)-$(uname -m)); deepretina will use GoMLX's pure-Go engine" >&2
  exit 0
fi

PY=""
for p in python3 /usr/bin/python3; do
  if "$p" -m pip --version >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  PY=/usr/bin/python3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "$PKG==$VERSION --hash=sha256:$SHA256" >"$tmp/req.txt"
echo "install_xla_cpu: downloading $PKG $VERSION (63 MB, XLA's CPU plugin)"
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux_2_27_x86_64 --python-version 3.11 --implementation py \
  --require-hashes -r "$tmp/req.txt" -d "$tmp"
got=$(sha256sum "$tmp/$WHEEL" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
  echo "install_xla_cpu: $WHEEL has SHA-256 $got, expected $SHA256" >&2
  exit 1
fi
"$PY" - "$tmp/$WHEEL" "$tmp/$SO" <<'PYEOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open("lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so") as src, open(sys.argv[2], "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PYEOF
if ! nm -D --defined-only "$tmp/$SO" | grep -qw GetPjrtApi; then
  echo "install_xla_cpu: $SO from $WHEEL does not export GetPjrtApi; not a PJRT plugin" >&2
  exit 1
fi
mkdir -p "$DEST"
chmod 755 "$tmp/$SO"
mv -f "$tmp/$SO" "$DEST/$SO"
echo "$PKG $VERSION $SHA256" >"$STAMP"
echo "install_xla_cpu: installed $DEST/$SO ($PKG $VERSION, exports GetPjrtApi)"
check_loads
