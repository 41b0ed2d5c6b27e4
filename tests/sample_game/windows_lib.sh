# shellcheck shell=bash
# windows_lib.sh — what every windowed sample test starts with, sourced by window_pair.sh and
# window_party.sh: skip (77) without Xvfb, run_lib.sh's work directory and cleanup, an Xvfb
# display exported as DISPLAY, and a rendezvous whose port is in `port`. Needs $rendezvous and
# $keep.

if ! command -v Xvfb >/dev/null; then
  echo "SKIP: Xvfb is not installed (Debian: xvfb)"
  exit 77
fi

# shellcheck source=tests/sample_game/run_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/run_lib.sh"

# Xvfb picks a free display number and writes it to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/display ]] && break; sleep 0.05; done
if [[ ! -s $work/display ]]; then echo "FAIL: Xvfb did not start:"; cat "$work/xvfb.log"; exit 1; fi
export DISPLAY=":$(head -n1 "$work/display")"
echo "Xvfb on $DISPLAY"

sample_rendezvous

# Mesa and SDL keep some allocations until exit; under the sanitizers' leak check that is noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
