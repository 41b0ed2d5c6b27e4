#!/bin/bash
# Answered packets per second of the rendezvous server against baselines measured in the same run:
# the echo server (this machine's ceiling for one core) and, if installed, coturn's STUN server.
# Server and load generator are pinned each to its own core with taskset.
# Usage: bench/run_rendezvous_bench.sh [BUILD_DIR] [SECONDS]   (defaults: build/bench, 3)
# Build first: cmake --preset bench && cmake --build build/bench  (see docs/PERFORMANCE.md)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/bench}
seconds=${2:-3}
server_core=0
loadgen_core=1
loadgen=$build/bench/bench_loadgen
echo_server=$build/bench/bench_echo_server
rendezvous=$build/rendezvous/rendezvous
for b in "$loadgen" "$echo_server" "$rendezvous"; do
    [ -x "$b" ] || { echo "run_rendezvous_bench: missing $b (build the bench preset)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || echo "run_rendezvous_bench: fewer than 2 cores: figures will mean little" >&2

tmp=$(mktemp -d)
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=""
    fi
}
trap 'stop; rm -rf "$tmp"' EXIT

# shellcheck source=scripts/lib/rendezvous.sh
source "$here/../scripts/lib/rendezvous.sh"
# Starts "$@" pinned to the server core and waits for its banner, "listening on 127.0.0.1:PORT"
# (scripts/lib/rendezvous.sh); sets port, and key when the banner ends with one (the rendezvous'
# key, which the load generator pins; none for the echo server).
start() {
    run_rendezvous "$tmp/server.err" taskset -c "$server_core" "$@" >/dev/null || {
        echo "run_rendezvous_bench: $1 did not start" >&2
        exit 1
    }
    pid=$RENDEZVOUS_PID
    port=$RENDEZVOUS_PORT
    key=$RENDEZVOUS_KEY
}

# Runs the load generator against $port with mix $1; prints its line, sets rate.
measure() {
    local line
    line=$(taskset -c "$loadgen_core" "$loadgen" --port "$port" ${key:+--server-key "$key"} \
        --mix "$1" --seconds "$seconds")
    echo "  $line"
    rate=$(sed -n 's/.*answered_per_s=\([0-9]*\).*/\1/p' <<<"$line")
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "echo server (recvmmsg/sendmmsg), Register-sized datagrams:"
start "$echo_server" 0
measure refresh
echo_rate=$rate
stop

echo "rendezvous (--log-level warn: info logs two lines per new name):"
# The per-IP limits would throttle a generator that plays every client from 127.0.0.1.
start "$rendezvous" --bind 127.0.0.1 --port 0 --log-level warn --max-names 1000000 \
    --rate 1e9 --burst 1e9 --answer-rate 1e9 --answer-burst 1e9
declare -A r
for mix in refresh register introduce stun; do
    measure "$mix"
    r[$mix]=$rate
done
stop

coturn_rate=0
if command -v turnserver >/dev/null; then
    echo "coturn STUN (turnserver --stun-only, one relay thread):"
    cport=$((20000 + RANDOM % 20000))
    taskset -c "$server_core" turnserver -n --stun-only --no-cli --no-tls --no-dtls \
        --listening-ip 127.0.0.1 --listening-port "$cport" --relay-threads 1 \
        --log-file stdout --no-stdout-log >/dev/null 2>&1 &
    pid=$!
    sleep 1
    port=$cport
    measure stun
    coturn_rate=$rate
    stop
else
    echo "coturn: not installed (apt-get install coturn): no STUN baseline"
fi

echo
echo "rendezvous/echo = $(ratio "${r[refresh]}" "$echo_rate")  (refresh; target >= 0.80)"
echo "rendezvous_register/echo = $(ratio "${r[register]}" "$echo_rate")"
echo "rendezvous_introduce/echo = $(ratio "${r[introduce]}" "$echo_rate")  (two replies per request)"
echo "rendezvous_stun/coturn_stun = $(ratio "${r[stun]}" "$coturn_rate")  (target >= 1.3; n/a: no STUN answers or no coturn)"
