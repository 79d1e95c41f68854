# shellcheck shell=bash
# Sourced by bench.sh and soak.sh: a scratch directory $WORK and the PIDS of every process the
# script starts, killed and waited for, and the directory removed, however the script ends.
# scratch_start PREFIX: sets WORK to a new /tmp/PREFIX.XXXXXX and installs the traps.
scratch_start() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap scratch_cleanup EXIT
  trap 'exit 130' INT TERM
}

scratch_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
