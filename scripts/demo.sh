#!/usr/bin/env bash
# The netcore demo: a local rendezvous and two sample game players, alice and bob.
# With $DISPLAY: two windows, names prefilled, Connect pressed for you (move with WASD/arrows
# in either window; close both to end). Without: the headless pair, which moves on its own and
# prints one summary line each.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: installs what is missing, builds build/default)
#        DEMO_SECONDS=20 scripts/demo.sh   (headless run length, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-}
if [[ -z $build ]]; then
  build=build/default
  scripts/setup.sh --with-sample
  cmake --preset default >/dev/null
  cmake --build --preset default
fi
rendezvous=$build/rendezvous/rendezvous
game=$build/sample_game/sample_game
for binary in "$rendezvous" "$game"; do
  if [[ ! -x $binary ]]; then
    echo "demo.sh: $binary is missing; build first: cmake --preset default && cmake --build build/default" >&2
    exit 1
  fi
done

log=$(mktemp)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -f "$log"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port; the rendezvous says which on stderr.
# shellcheck source=scripts/lib/rendezvous.sh
source scripts/lib/rendezvous.sh  # after the cd above
start_rendezvous "$rendezvous" "$log" || exit 1
pids+=("$RENDEZVOUS_PID")
port=$RENDEZVOUS_PORT
server=127.0.0.1:$port
echo "demo.sh: rendezvous on $server"

if [[ -n ${DISPLAY:-} ]]; then
  echo "demo.sh: two windows, alice and bob; move with WASD or the arrow keys; close both to end"
  "$game" --server "$server" --server-key "$RENDEZVOUS_KEY" --name alice --peer bob --autoconnect &
  alice=$!
  "$game" --server "$server" --server-key "$RENDEZVOUS_KEY" --name bob --peer alice --autoconnect &
  bob=$!
else
  seconds=${DEMO_SECONDS:-10}
  echo "demo.sh: no \$DISPLAY: the headless pair, $seconds s, moving in circles"
  "$game" --headless --server "$server" --server-key "$RENDEZVOUS_KEY" --name alice --peer bob --seconds "$seconds" &
  alice=$!
  "$game" --headless --server "$server" --server-key "$RENDEZVOUS_KEY" --name bob --peer alice --seconds "$seconds" &
  bob=$!
fi
pids+=("$alice" "$bob")  # Ctrl-C ends the players too
status=0
wait "$alice" || status=1
wait "$bob" || status=1
exit $status
