#!/usr/bin/env bash
# A party of headless sample games and a rendezvous over loopback: every player joins the same
# party and must see every other player's square move. Asserts on the summary lines.
# Usage: headless_party.sh RENDEZVOUS SAMPLE_GAME [PLAYERS]   (PLAYERS: 2..8, default 4)
set -uo pipefail
rendezvous=$1
game=$2
count=${3:-4}
party=friday
seconds=8
names=(alice bob carol dave erin frank grace heidi)
(( count >= 2 && count <= ${#names[@]} )) || { echo "PLAYERS must be 2..${#names[@]}"; exit 2; }
players=("${names[@]:0:count}")

# shellcheck source=tests/sample_game/run_lib.sh
source "$(dirname "$0")/run_lib.sh"
sample_rendezvous
echo "rendezvous on 127.0.0.1:$port; party $party of $count"

declare -A pid_of
for who in "${players[@]}"; do
  "$game" --headless --server "127.0.0.1:$port" --server-key "$RENDEZVOUS_KEY" --name "$who" \
    --party "$party" --players "$count" --seconds "$seconds" --verbose \
    >"$work/$who.out" 2>"$work/$who.err" &
  pid_of[$who]=$!
  pids+=($!)
done

status=0
others=$((count - 1))
hosts=()
for who in "${players[@]}"; do
  wait "${pid_of[$who]}"; code=$?
  out=$(cat "$work/$who.out")
  echo "$who (exit $code): $out"
  lines=$(wc -l <"$work/$who.out")
  failed=0
  fail() { echo "FAIL: $who $1"; status=1; failed=1; }
  [[ $lines -eq 1 ]] || fail "printed $lines lines, not one summary line"
  [[ $code -eq 0 ]] || fail "exited $code"
  [[ $out == "sample_game: ok "* ]] || fail "has a summary that is not ok"
  [[ $out == *" party=$party "* ]] || fail "is not in the party $party"
  [[ $out == *" connected=yes "* ]] || fail "did not connect"
  [[ $out == *" seen=$others moved=$others/$others "* ]] || fail "did not see all $others others move"
  # peers=bob:lan,carol:direct,...: one entry per other player, each with a path.
  peers=$(sed -n 's/.* peers=\([^ ]*\).*/\1/p' <<<"$out")
  for other in "${players[@]}"; do
    [[ $other == "$who" ]] && continue
    [[ ,$peers, =~ ,$other:(lan|direct|relay), ]] || fail "has no path to $other (peers=$peers)"
  done
  # 20 updates a second for several seconds from each: fewer than 20 means a stream did not flow.
  updates=$(sed -n 's/.* updates_min=\([0-9]*\).*/\1/p' <<<"$out")
  [[ ${updates:-0} -ge 20 ]] || fail "got only ${updates:-0} state updates from someone"
  hosts+=("$(sed -n 's/.* host=\([^ ]*\).*/\1/p' <<<"$out")")
  (( failed )) && sed "s/^/  $who stderr: /" "$work/$who.err" | tail -n 40
done
# Every member names the same host, and it is one of the players.
if [[ $(printf '%s\n' "${hosts[@]}" | sort -u | wc -l) -ne 1 ]]; then
  echo "FAIL: the players disagree on the host: ${hosts[*]}"; status=1
elif [[ " ${players[*]} " != *" ${hosts[0]} "* ]]; then
  echo "FAIL: the host ${hosts[0]} is not a player"; status=1
fi
exit $status
