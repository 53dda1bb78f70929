#!/usr/bin/env bash
# Stops the private test cluster that scripts/slurm_up.sh DIR started: cancels its jobs, waits
# for them to end, then stops slurmd, slurmctld and munged by their pid files. Safe to run on a
# half-started cluster and more than once.
set -uo pipefail

dir=${1:?usage: slurm_down.sh DIR}
export PATH="$PATH:/usr/sbin"
export SLURM_CONF="$dir/slurm.conf"

if [ -f "$dir/slurmctld.pid" ] && [ -f "$SLURM_CONF" ]; then
  scancel --user "$(id -un)" >/dev/null 2>&1 || true
  for _ in $(seq 100); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
    sleep 0.2
  done
fi

stop() { # pid file
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
# The watcher of slurm_up.sh runs this script itself (as its parent, or in its place).
watcher=$(cat "$dir/watcher.pid" 2>/dev/null || true)
if [ -n "$watcher" ] && [ "$watcher" != "$$" ] && [ "$watcher" != "$PPID" ]; then
  stop "$dir/watcher.pid"
fi
stop "$dir/slurmd.pid"
stop "$dir/slurmctld.pid"
stop "$dir/munge/munged.pid"
exit 0
