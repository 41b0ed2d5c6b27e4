#!/usr/bin/env bash
# Two real sample game windows under Xvfb, a rendezvous, --autoconnect and --autopilot: each
# window takes two screenshots once connected, and the pixels must show the friend's square
# (its colour, set with --color) in a different place in the second shot.
# Exits 77 (CTest: skipped) only when Xvfb is not installed.
# Usage: window_pair.sh RENDEZVOUS SAMPLE_GAME SCREENSHOT_CHECK [KEEP_DIR]
set -uo pipefail
rendezvous=$1
game=$2
checker=$3
keep=${4:-}

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
source "$(dirname "$0")/../../scripts/lib/rendezvous.sh"
start_rendezvous "$rendezvous" "$work/rendezvous.log" || exit 1
pids+=("$RENDEZVOUS_PID")
port=$RENDEZVOUS_PORT

# Mesa and SDL keep some allocations until exit; under the sanitizers' leak check that is noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
alice_color=00c8ff
bob_color=ff8000
common=(--server "127.0.0.1:$port" --server-key "$RENDEZVOUS_KEY" --autoconnect --autopilot --seconds 9 --verbose)
"$game" "${common[@]}" --name alice --peer bob --color $alice_color \
  --screenshot-after 6 "$work/alice1.bmp" --screenshot-after 7 "$work/alice2.bmp" \
  >"$work/alice.out" 2>"$work/alice.err" &
alice=$!
"$game" "${common[@]}" --name bob --peer alice --color $bob_color \
  --screenshot-after 6 "$work/bob1.bmp" --screenshot-after 7 "$work/bob2.bmp" \
  >"$work/bob.out" 2>"$work/bob.err" &
bob=$!
wait "$alice"; alice_status=$?
wait "$bob"; bob_status=$?

status=0
for who in alice bob; do
  echo "$who: $(cat "$work/$who.out")"
  sed "s/^/  $who stderr: /" "$work/$who.err"
done
[[ $alice_status -eq 0 ]] || { echo "FAIL: alice exited $alice_status"; status=1; }
[[ $bob_status -eq 0 ]] || { echo "FAIL: bob exited $bob_status"; status=1; }
echo "alice's window must show bob's square ($bob_color) moving:"
"$checker" $bob_color "$work/alice1.bmp" "$work/alice2.bmp" || status=1
echo "bob's window must show alice's square ($alice_color) moving:"
"$checker" $alice_color "$work/bob1.bmp" "$work/bob2.bmp" || status=1
exit $status
