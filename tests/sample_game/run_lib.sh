# shellcheck shell=bash
# run_lib.sh — what every sample script test starts with, sourced by headless_pair.sh,
# headless_party.sh and windows_lib.sh: a work directory and its cleanup (every pid in `pids`
# killed; screenshots copied to $keep when it is set), and sample_rendezvous, which starts a
# rendezvous (scripts/lib/rendezvous.sh) from $rendezvous and sets `port`.

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  if [[ -n ${keep:-} ]]; then mkdir -p "$keep" && cp "$work"/*.bmp "$keep"/ 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/rendezvous.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/rendezvous.sh"
sample_rendezvous() {
  start_rendezvous "$rendezvous" "$work/rendezvous.log" || exit 1
  pids+=("$RENDEZVOUS_PID")
  port=$RENDEZVOUS_PORT
}
