#!/usr/bin/env bash
# Four real sample game windows under Xvfb in one party, a rendezvous, --autoconnect and
# --autopilot, no --color: each window takes two screenshots once the party plays, and in each
# the pixels must show four squares in the four colours the party's member list gives
# (squares::colors_for), every one in a different place in the second shot.
# Exits 77 (CTest: skipped) only when Xvfb is not installed.
# Usage: window_party.sh RENDEZVOUS SAMPLE_GAME SCREENSHOT_CHECK [KEEP_DIR]
set -uo pipefail
rendezvous=$1
game=$2
checker=$3
keep=${4:-}

# shellcheck source=tests/sample_game/windows_lib.sh
source "$(dirname "$0")/windows_lib.sh"
players=(alice bob carol dave)
# Their palette colours (game_state.cpp): alice pink, bob yellow, carol orange; dave's own is
# alice's pink, so whichever of the two joins second takes the first free colour, red.
colours=(f15bb5 e9c46a f4a261 e63946)
common=(--server "127.0.0.1:$port" --server-key "$RENDEZVOUS_KEY" --party friday --players 4
        --autoconnect --autopilot --seconds 13 --verbose)
declare -A pid_of
for who in "${players[@]}"; do
  "$game" "${common[@]}" --name "$who" \
    --screenshot-after 7 "$work/${who}1.bmp" --screenshot-after 8 "$work/${who}2.bmp" \
    >"$work/$who.out" 2>"$work/$who.err" &
  pid_of[$who]=$!
  pids+=($!)
  sleep 0.3  # join one after the other: alice is the host, the list in this order
done

status=0
for who in "${players[@]}"; do
  wait "${pid_of[$who]}"; code=$?
  echo "$who (exit $code): $(cat "$work/$who.out")"
  [[ $code -eq 0 ]] || { echo "FAIL: $who exited $code"; status=1; sed "s/^/  $who stderr: /" "$work/$who.err" | tail -n 30; }
done
for who in "${players[@]}"; do
  for colour in "${colours[@]}"; do
    echo "$who's window must show a $colour square moving:"
    "$checker" "$colour" "$work/${who}1.bmp" "$work/${who}2.bmp" || status=1
  done
done
exit $status
