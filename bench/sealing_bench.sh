#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034 # rtt and thr are read through median()'s nameref
# sealing_bench.sh — what sealing ENet's datagrams costs (issue 10): bench_path's round trip and
# reliable throughput with every datagram sealed (ChaCha20-Poly1305, inside ENet's send)
# against the same pair in plaintext (Config::insecure_plaintext_enet), side by side in one run.
#
# On loopback it starts a rendezvous (scripts/lib/rendezvous.sh) and runs N rounds; each round
# runs one bench_path pair sealed and one in plaintext, the order alternating (sealed first in
# odd rounds), so a change in the machine's load falls on both modes alike. It prints each run's
# line, the median per mode, and
#   rtt_ratio=sealed/plaintext (median of the runs' median RTTs)       target <= 1.25
#   throughput_ratio=sealed/plaintext (median throughputs)              target >= 0.75
# with PASS or MISS. A benchmark, not a test: it exits 0 whatever the ratios (1 when a run fails).
#
# Usage: bench/sealing_bench.sh [--rounds N] [--pings N] [--bytes N] [--size N] [--build DIR]
#                               [--keep DIR]
#   --rounds N   rounds, each one sealed and one plaintext pair (default 5)
#   --pings N    unreliable pings per run, one at a time (default 200)
#   --bytes N    reliable bytes per run (default 4000000)
#   --size N     reliable message size (default 1200)
#   --build DIR  the build holding rendezvous/rendezvous and bench/bench_path (default
#                build/default; cmake --build DIR --target bench_path rendezvous)
#   --keep DIR   keep the logs there (default: a temporary directory, removed at the end)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=5 pings=200 bytes=4000000 size=1200 build="$root/build/default" keep=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --pings) pings=$2; shift 2 ;;
        --bytes) bytes=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "sealing_bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
rendezvous=$build/rendezvous/rendezvous
bench_path=$build/bench/bench_path
for bin in "$rendezvous" "$bench_path"; do
    [[ -x $bin ]] || { echo "sealing_bench: $bin not built (cmake --build $build --target bench_path rendezvous)" >&2; exit 2; }
done

# shellcheck source=../scripts/lib/rendezvous.sh
source "$root/scripts/lib/rendezvous.sh"

if [[ -n $keep ]]; then
    logs=$keep
    mkdir -p "$logs"
else
    logs=$(mktemp -d)
fi
pids=()
cleanup() {
    local p
    for p in "${pids[@]}" ${RENDEZVOUS_PID:+"$RENDEZVOUS_PID"}; do
        kill "$p" 2>/dev/null
    done
    for p in "${pids[@]}" ${RENDEZVOUS_PID:+"$RENDEZVOUS_PID"}; do
        wait "$p" 2>/dev/null
    done
    [[ -n $keep ]] || rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every pair registers from 127.0.0.1: lift the per-IP limits, which would throttle them.
start_rendezvous "$rendezvous" "$logs/rendezvous.err" --log-level warn \
    --rate 1e9 --burst 1e9 --answer-rate 1e9 --answer-burst 1e9 || exit 1
server=127.0.0.1:$RENDEZVOUS_PORT
key_args=()
[[ -n $RENDEZVOUS_KEY ]] && key_args=(--server-key "$RENDEZVOUS_KEY")
echo "sealing_bench: rendezvous at $server; $rounds rounds of $pings pings and $bytes bytes" \
    "in $size-byte messages; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Names are unique per run and per pair: the server refuses a taken name for 45 s.
tag="sb$$x$RANDOM"
declare -A rtt thr
failures=0

# run_pair MODE ROUND: one responder and one initiator; their line goes to rtt/thr[MODE,ROUND].
run_pair() {
    local mode=$1 i=$2 flags=() a b line
    [[ $mode == plaintext ]] && flags=(--plaintext)
    a="${tag}${mode:0:1}a$i" b="${tag}${mode:0:1}b$i"
    "$bench_path" "${key_args[@]}" "${flags[@]}" --no-relay --timeout 60 "$server" "$b" \
        >"$logs/$mode$i.responder" 2>&1 &
    local responder=$!
    pids+=("$responder")
    "$bench_path" "${key_args[@]}" "${flags[@]}" --no-relay --timeout 60 --pings "$pings" \
        --bytes "$bytes" --size "$size" "$server" "$a" "$b" >"$logs/$mode$i.initiator" 2>&1
    wait "$responder" 2>/dev/null
    pids=()  # one pair at a time
    line=$(grep -h '^bench_path:' "$logs/$mode$i.initiator" | head -n1)
    if [[ -z $line ]]; then
        echo "sealing_bench: $mode run $i gave no result: $(tail -n1 "$logs/$mode$i.initiator")" >&2
        failures=$((failures + 1))
        return
    fi
    echo "  $line"
    rtt[$mode,$i]=$(sed -n 's/.* rtt_ms_median=\([0-9.]*\).*/\1/p' <<<"$line")
    thr[$mode,$i]=$(sed -n 's/.* throughput_mbit_s=\([0-9.]*\).*/\1/p' <<<"$line")
}

for ((i = 1; i <= rounds; i++)); do
    if ((i % 2)); then
        run_pair sealed "$i"
        run_pair plaintext "$i"
    else
        run_pair plaintext "$i"
        run_pair sealed "$i"
    fi
done

# median MODE ARRAY: the median of the rounds' figures for MODE (mean of the middle two if even).
median() {
    local mode=$1 k
    local -n values=$2
    for ((k = 1; k <= rounds; k++)); do
        [[ -n ${values[$mode,$k]:-} ]] && echo "${values[$mode,$k]}"
    done | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "nan" }'; }
verdict() {  # verdict VALUE OP TARGET
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "nan") print "MISS"; else if ((op == "<=" && v + 0 <= t) || (op == ">=" && v + 0 >= t)) print "PASS"; else print "MISS" }'
}

sealed_rtt=$(median sealed rtt) plain_rtt=$(median plaintext rtt)
sealed_thr=$(median sealed thr) plain_thr=$(median plaintext thr)
rtt_ratio=$(ratio "$sealed_rtt" "$plain_rtt")
thr_ratio=$(ratio "$sealed_thr" "$plain_thr")
echo "sealing_bench: sealed    rtt_ms_median=$sealed_rtt throughput_mbit_s=$sealed_thr"
echo "sealing_bench: plaintext rtt_ms_median=$plain_rtt throughput_mbit_s=$plain_thr"
echo "sealing_bench: rtt_ratio=$rtt_ratio (target <= 1.25) $(verdict "$rtt_ratio" '<=' 1.25)"
echo "sealing_bench: throughput_ratio=$thr_ratio (target >= 0.75) $(verdict "$thr_ratio" '>=' 0.75)"
[[ -n $keep ]] && echo "sealing_bench: logs in $logs"
((failures == 0))
