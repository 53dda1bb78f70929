#!/usr/bin/env bash
# Checks the quick tier's promise: `go test -short ./...` passes with no python3, chromium, Slurm,
# munge or unshare on the machine. Runs it (with any extra go test flags given) in a private mount
# namespace whose /usr/bin and /usr/sbin are copies without those programs (hard links where the
# filesystem allows, so the copy is cheap), and prints its time. Needs root (for the namespace);
# changes nothing outside it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test_short_isolated: needs root for a private mount namespace" >&2; exit 1; }
tmp=$(mktemp -d /tmp/deepretina-short.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
drop='^(python.*|pydoc.*|chromium.*|sbatch|squeue|srun|sacct|sacctmgr|scontrol|sinfo|scancel|salloc|sattach|sbcast|sprio|sshare|sstat|strigger|sview|sdiag|sreport|sh5util|slurm.*|munge.*|mungekey|unmunge|remunge|unshare)$'
for d in bin sbin; do
  cp -a --link /usr/$d "$tmp/$d" 2>/dev/null || cp -a /usr/$d "$tmp/$d"
  (cd "$tmp/$d" && ls | grep -E "$drop" | xargs -r rm -f)
done
unshare -m --propagation private bash -c '
set -euo pipefail
tmp=$1; shift
mount --bind "$tmp/bin" /usr/bin
mount --bind "$tmp/sbin" /usr/sbin
export PATH=/usr/local/go/bin:/usr/bin:/usr/sbin
for b in python3 chromium sbatch squeue slurmctld munged unshare; do
  if command -v "$b" >/dev/null; then echo "test_short_isolated: $b is still on PATH" >&2; exit 1; fi
done
echo "test_short_isolated: no python3, chromium, Slurm, munge or unshare; go test -short ./... $*"
time go test -short "$@" ./...
' bash "$tmp" "$@"
