#!/usr/bin/env bash
# Two headless sample games and a rendezvous over loopback: each must see the other's square
# move. Asserts on the summary lines.
# Usage: headless_pair.sh RENDEZVOUS SAMPLE_GAME [asks|waits]
#   asks:  both players ask for each other (the default)
#   waits: alice asks for bob; bob gives no --peer, goes online and accepts alice's request
#          (--accept-from alice: what the lobby's Accept button does)
set -uo pipefail
rendezvous=$1
game=$2
mode=${3:-asks}
seconds=6

# shellcheck source=tests/sample_game/run_lib.sh
source "$(dirname "$0")/run_lib.sh"
sample_rendezvous
echo "rendezvous on 127.0.0.1:$port"

bob_peer=(--peer alice)
[[ $mode == waits ]] && bob_peer=(--accept-from alice)
"$game" --headless --server "127.0.0.1:$port" --server-key "$RENDEZVOUS_KEY" --name alice --peer bob --seconds "$seconds" \
  >"$work/alice.out" 2>"$work/alice.err" &
alice=$!
"$game" --headless --server "127.0.0.1:$port" --server-key "$RENDEZVOUS_KEY" --name bob "${bob_peer[@]}" --seconds "$seconds" \
  >"$work/bob.out" 2>"$work/bob.err" &
bob=$!
wait "$alice"; alice_status=$?
wait "$bob"; bob_status=$?

status=0
check() {  # player exit_status
  local who=$1 code=$2 out
  out=$(cat "$work/$who.out")
  echo "$who (exit $code): $out"
  [[ -s $work/$who.err ]] && sed "s/^/  $who stderr: /" "$work/$who.err"
  local lines
  lines=$(wc -l <"$work/$who.out")
  [[ $lines -eq 1 ]] || { echo "FAIL: $who printed $lines lines, not one summary line"; status=1; }
  [[ $code -eq 0 ]] || { echo "FAIL: $who exited $code"; status=1; }
  [[ $out == "sample_game: ok "* ]] || { echo "FAIL: $who's summary is not ok"; status=1; }
  [[ $out == *" connected=yes"* ]] || { echo "FAIL: $who did not connect"; status=1; }
  [[ $out =~ \ path=(lan|direct) ]] || { echo "FAIL: $who has no path"; status=1; }
  [[ $out == *" remote_moved=yes"* ]] || { echo "FAIL: $who did not see the peer move"; status=1; }
  local updates
  updates=$(sed -n 's/.* updates=\([0-9]*\).*/\1/p' <<<"$out")
  # 20 updates a second for several seconds: fewer than 20 means the stream did not flow.
  [[ ${updates:-0} -ge 20 ]] || { echo "FAIL: $who got only ${updates:-0} state updates"; status=1; }
  [[ $out =~ \ remote=\([0-9.]+,[0-9.]+\) ]] || { echo "FAIL: $who has no remote position"; status=1; }
}
check alice "$alice_status"
check bob "$bob_status"
grep -q " peer=bob " "$work/alice.out" || { echo "FAIL: alice's peer is not bob"; status=1; }
grep -q " peer=alice " "$work/bob.out" || { echo "FAIL: bob's peer is not alice"; status=1; }
exit $status
