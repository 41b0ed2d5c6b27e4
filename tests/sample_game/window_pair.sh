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

# shellcheck source=tests/sample_game/windows_lib.sh
source "$(dirname "$0")/windows_lib.sh"
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
