# shellcheck shell=bash
# Sourced by bench.sh and soak.sh (which define log and die first).

# scratch_start PREFIX: a scratch directory WORK (/tmp/PREFIX.XXXXXX) and PIDS, the processes the
# script starts: killed and waited for, and the directory removed, however the script ends.
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

# release_binaries SKIP-BUILD: builds irsa-webhook and loadgen in release unless SKIP-BUILD is
# set, then sets WEBHOOK and LOADGEN (IRSA_WEBHOOK / LOADGEN override them). Run from the repo.
release_binaries() {
  if [[ -z "$1" ]]; then
    log "building release (irsa-webhook, loadgen)"
    # Statically linked Swift runtime, as `make release` and deploy/Dockerfile build it.
    swift build -c release --static-swift-stdlib --product irsa-webhook >&2
    swift build -c release --static-swift-stdlib --product loadgen >&2
  fi
  local bin
  bin=$(swift build -c release --show-bin-path)
  WEBHOOK=${IRSA_WEBHOOK:-$bin/irsa-webhook}
  LOADGEN=${LOADGEN:-$bin/loadgen}
  [[ -x $WEBHOOK && -x $LOADGEN ]] || die "release binaries missing in $bin"
}
