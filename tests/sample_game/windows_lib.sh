# shellcheck shell=bash
# windows_lib.sh — what every windowed sample test starts with, sourced by window_pair.sh and
# window_party.sh: skip (77) without Xvfb, a work directory and its cleanup (every pid in
# `pids` killed, screenshots copied to $keep when set), an Xvfb display exported as DISPLAY, and
# a rendezvous (scripts/lib/rendezvous.sh) whose port is in `port`. Needs $rendezvous and $keep.

if ! command -v Xvfb >/dev/null; then
  echo "SKIP: Xvfb is not installed (Debian: xvfb)"
  exit 77
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  if [[ -n $keep ]]; then mkdir -p "$keep" && cp "$work"/*.bmp "$keep"/ 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Xvfb picks a free display number and writes it to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/display ]] && break; sleep 0.05; done
if [[ ! -s $work/display ]]; then echo "FAIL: Xvfb did not start:"; cat "$work/xvfb.log"; exit 1; fi
export DISPLAY=":$(head -n1 "$work/display")"
echo "Xvfb on $DISPLAY"

# shellcheck source=scripts/lib/rendezvous.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/rendezvous.sh"
start_rendezvous "$rendezvous" "$work/rendezvous.log" || exit 1
pids+=("$RENDEZVOUS_PID")
port=$RENDEZVOUS_PORT

# Mesa and SDL keep some allocations until exit; under the sanitizers' leak check that is noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
