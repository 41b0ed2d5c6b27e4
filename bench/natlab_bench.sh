#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2030,SC2031,SC2119 # labs live in subshells on purpose; some functions take optional arguments
# natlab_bench.sh — how fast, whether, and on which path punch connects through each pair of NAT
# types; and what the relay costs against the direct path.
#
# For every pair of the table in docs/NAT.md it builds the lab (tests/natlab/lab.sh), starts
# the rendezvous server (and coturn, with a relay), and runs N attempts: B registers and waits,
# A asks for B. It prints, per pair, the outcomes and the median and 95th percentile of the time
# from A's introduction to A's ENet connection; per path (lan, direct, relay), the share of the
# matrix's sessions and their times; then the overhead: in one lab, port-restricted to
# port-restricted sessions direct and, with the direct path blocked in the internet, relayed
# through coturn, each measuring ENet's round-trip time at rest (punch --stats), the time to
# carry a bulk of lines one way, and the bytes on the sender's socket per byte of lines. It
# rewrites the measured block of docs/NAT.md.
#
# Usage: bench/natlab_bench.sh [--runs N] [--fail-runs N] [--overhead-runs N] [--transfer-kib K]
#                              [--relay auto|on|off] [--build DIR] [--no-doc] [--only WHAT]
#                              [--delay MS] [--ticket] [--standing]
#   --runs N           attempts per pair expected to connect (default 20)
#   --fail-runs N      attempts per pair expected to fail; each takes the punch timeout (default 3)
#   --overhead-runs N  sessions per path for the overhead (default 5; 0: none)
#   --transfer-kib K   the bulk carried one way in each overhead session (default 4096 KiB,
#                      lines of 1000 bytes + newline)
#   --relay MODE       on: coturn in every lab and the rendezvous given --turn-server and
#                      --turn-secret-file; pairs that cannot punch expect relay. off: today's
#                      expectations, no relay in the overhead. auto (default): on when the
#                      rendezvous' --help mentions --turn-server.
#   --ticket           each side's punch keeps a resumption ticket (punch --ticket, from local
#                      port 40200) from one attempt to the next: registration without the
#                      Challenge round trip (PROTOCOL.md §6 step 1). A's first attempt of each pair
#                      has none: its start -> connected is left out of the medians.
#   --standing         every punch holds a standing relay (--standing-relay, docs/RELAY.md), and
#                      each attempt's B has it up before A starts (a player already online):
#                      the relayed pairs' figures for issue 15's goal. Its own docs/NAT.md block.
#   --build DIR        the build directory holding rendezvous/rendezvous and punch/punch
#                      (default build/default); or set NATLAB_RENDEZVOUS and NATLAB_PUNCH
#   --no-doc           print only; leave docs/NAT.md alone
#   --only WHAT        just one pair (e.g. --only symmetric,public) or just "overhead"
#   --delay MS         a wire delay of MS ms each way on every router (NL_DELAY_MS, natlab_delay
#                      from DIR/natlab or NATLAB_DELAY_PROGRAM). Each lab then measures A's and
#                      B's UDP round trips to the server host (natprobe rtt): the server RTT is
#                      A's, the peer RTT the sum of both (A to B crosses the same routers; the
#                      bridge between adds nothing). Every pair's intro -> connected and A's start
#                      -> connected (punch started to connected) are also given in peer RTTs
#                      and server RTTs, and docs/NAT.md's delay block (natlab-bench-delay) is
#                      rewritten instead of the undelayed one. No overhead sessions unless
#                      --overhead-runs is given.
# Needs root (network namespaces); see tests/natlab/lab.sh. coturn (turnserver) and nftables
# for the relay parts.
#
# Times come from punch's own progress lines on stderr, stamped as they are read (the
# "introduced to" line, then "connected to"): both stamps are taken by the same reader, so the
# difference is punch's, give or take a millisecond of scheduling.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=20 fail_runs=3 overhead_runs=5 transfer_kib=4096 relay_mode=auto
build="$root/build/default" write_doc=1 only="" delay=0 overhead_given=0 tickets=0 standing=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --fail-runs) fail_runs=$2; shift 2 ;;
        --overhead-runs) overhead_runs=$2; overhead_given=1; shift 2 ;;
        --delay) delay=$2; shift 2 ;;
        --ticket) tickets=1; shift ;;
        --standing) standing=1; export NL_STANDING=1; shift ;;
        --transfer-kib) transfer_kib=$2; shift 2 ;;
        --relay) relay_mode=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --no-doc) write_doc=0; shift ;;
        --only) only=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "natlab_bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $delay =~ ^[0-9]+$ ]] || { echo "natlab_bench: --delay takes whole milliseconds" >&2; exit 2; }
if ((delay > 0)); then
    export NL_DELAY_MS=$delay
    export NATLAB_DELAY_PROGRAM=${NATLAB_DELAY_PROGRAM:-$build/natlab/natlab_delay}
    [[ -x $NATLAB_DELAY_PROGRAM ]] || { echo "natlab_bench: $NATLAB_DELAY_PROGRAM not built (libnetfilter-queue-dev, then cmake --build)" >&2; exit 2; }
    ((overhead_given)) || overhead_runs=0
fi
NL_RENDEZVOUS=${NATLAB_RENDEZVOUS:-$build/rendezvous/rendezvous}
NL_PUNCH=${NATLAB_PUNCH:-$build/punch/punch}
for bin in "$NL_RENDEZVOUS" "$NL_PUNCH"; do
    [[ -x $bin ]] || { echo "natlab_bench: $bin not built (cmake --build --preset default)" >&2; exit 2; }
done
case $relay_mode in
    on) relay=1 ;;
    off) relay=0 ;;
    auto) relay=0; "$NL_RENDEZVOUS" --help 2>/dev/null | grep -q -- --turn-server && relay=1 ;;
    *) echo "natlab_bench: --relay auto, on or off" >&2; exit 2 ;;
esac
"$NL_PUNCH" --help 2>/dev/null | grep -q -- --stats || {
    echo "natlab_bench: $NL_PUNCH has no --stats: no RTT in the overhead table" >&2
}

# shellcheck source=../tests/natlab/lab.sh
source "$root/tests/natlab/lab.sh"
NATLAB_REQUIRE=${NATLAB_REQUIRE:-1}  # a benchmark that cannot run says so loudly
lab_require

# A;B;expected;expected with a relay;lab options for both routers;label
pairs=(
    "public;public;direct;;;"
    "public;full-cone;direct;;;"
    "public;port-restricted;direct;;;"
    "public;symmetric;direct;;;"
    "full-cone;full-cone;direct;;;"
    "full-cone;port-restricted;direct;;;"
    "full-cone;symmetric;direct;;;"
    "port-restricted;port-restricted;direct;;;"
    "port-restricted;symmetric;fail;relay;;"
    "symmetric;symmetric;fail;relay;;"
    "symmetric;public;direct;;;"
    "symmetric;full-cone;direct;;;"
    "symmetric;port-restricted;fail;relay;;"
    "same-router;same-router;lan;;;"
    "double;port-restricted;direct;;;"
    "port-restricted;port-restricted;direct;;:loss=0.1;10% loss each way on both routers"
)

out=$(mktemp -d /tmp/natlab-bench.XXXXXX)
punch_timeout=3
results="$out/results.tsv"    # one line per pair
sessions="$out/sessions.tsv"  # one line per attempt of the matrix: path, intro -> connected (ms)
rtts="$out/rtts.tsv"          # with --delay, one line per pair: the pair's times in round trips
overhead="$out/overhead.tsv"  # one line per overhead session
: >"$results"
: >"$sessions"
: >"$rtts"
: >"$overhead"

# percentile P of the numbers on stdin (nearest rank)
percentile() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; print a[i] }'; }

# measure_rtt NODE: the median UDP round trip (ms) from NODE to the server host's reflector.
measure_rtt() {
    local out
    out=$(lab_exec "$1" "${LAB_PROBE[@]}" rtt --port 40006 --reflector "$LAB_SERVER_IP:3600" --count 10 --timeout 2)
    [[ $out =~ ^rtt\ ([0-9.]+) ]] && echo "${BASH_REMATCH[1]}" || echo -
}

# in_rtts MS RTT: MS as a multiple of RTT (one decimal), "-" where either is missing or RTT < 1 ms.
in_rtts() { awk -v m="$1" -v r="$2" 'BEGIN { if (m == "-" || r == "-" || r < 1) print "-"; else printf "%.1f", m / r }'; }

# bench_pair INDEX A B EXPECT OPTS LABEL: one lab, N attempts, one line in $results.
bench_pair() {
    local k=$1 ta=$2 tb=$3 expect=$4 opt=$5 label=$6 n i an bn ti tc outcome ms ts start_ms
    local rtt_a=- rtt_b=- rtt_peer=-
    n=$runs
    [[ $expect == fail ]] && n=$fail_runs
    (
        # shellcheck disable=SC2034 # lab.sh's
        LAB_PREFIX="${NATLAB_PREFIX_BASE:-nl-}$$-bench$k-"
        lab_up "a:$ta$opt" "b:$tb$opt" || exit 3
        NL_LOGDIR="$out/$k"
        if ((tickets)); then
            NL_TICKETS="$NL_LOGDIR/tickets"
            mkdir -p "$NL_TICKETS"
        fi
        mkdir -p "$NL_LOGDIR"
        # shellcheck source=../tests/natlab/punchlib.sh
        source "$root/tests/natlab/punchlib.sh"
        if ((delay > 0)); then
            local refl_pid
            lab_spawn refl_pid srv "$NL_LOGDIR/rtt.out" "$NL_LOGDIR/rtt.err" "${LAB_PROBE[@]}" reflector \
                "$LAB_SERVER_IP:3600" --lifetime 30
            lab_wait_for "$NL_LOGDIR/rtt.out" '^ready' 5 || lab_broken "the round-trip reflector did not start"
            rtt_a=$(measure_rtt a)
            rtt_b=$(measure_rtt b)
            kill "$refl_pid" 2>/dev/null
            wait "$refl_pid" 2>/dev/null
            # Players on one LAN meet without crossing a router: no peer RTT of the delay's.
            [[ $ta == same-router ]] || rtt_peer=$(awk -v a="$rtt_a" -v b="$rtt_b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", a + b }')
            echo "natlab_bench: round trips: A to the server $rtt_a ms, B $rtt_b ms, A to B $rtt_peer ms" >&2
        fi
        ((relay)) && nl_start_turn
        nl_start_rendezvous
        local -a opts=(--timeout 20)
        [[ $expect == relay ]] && opts=(--timeout 40)
        [[ $expect == fail ]] && opts+=(--punch-timeout "$punch_timeout")
        : >"$NL_LOGDIR/times"
        : >"$NL_LOGDIR/start_times"
        : >"$NL_LOGDIR/times_b"
        local -A outcomes=()
        for ((i = 0; i < n; i++)); do
            an="a$i" bn="b$i"
            # From one port, back to back: coturn holds the 5-tuple of the allocation the last
            # attempt deleted for about a second ("closed (2nd stage)"), and an Allocate from it
            # meanwhile gets 437 (Allocation Mismatch) until then. A game's next match is not a
            # second away; the bench waits it out instead of measuring coturn's clean-up.
            ((tickets && i > 0 && relay)) && sleep 2
            nl_pair a "$an" b "$bn" "$expect" "${opts[@]}" >/dev/null 2>&1
            outcome=$(nl_connected_path "$an" "$bn")
            [[ -n $outcome ]] || outcome=$(nl_line "$an" '\([a-z_]+\)$' | grep -oE '\([a-z_]+\)$' | tr -d '()')
            outcomes[${outcome:-none}]=$((${outcomes[${outcome:-none}]:-0} + 1))
            ti=$(nl_time "$an" "punch: introduced to")
            tc=$(nl_time "$an" "punch: connected to")
            ms=-
            if [[ -n $ti && -n $tc ]]; then
                ms=$(awk -v a="$ti" -v b="$tc" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
                echo "$ms" >>"$NL_LOGDIR/times"
            fi
            # B's own view: from its introduction to its connection (the responder's ENet is
            # connected half a round trip after the initiator's: PROTOCOL.md §6 step 5).
            local tbi tbc
            tbi=$(nl_time "$bn" "punch: introduced to")
            tbc=$(nl_time "$bn" "punch: connected to")
            [[ -n $tbi && -n $tbc ]] &&
                awk -v a="$tbi" -v b="$tbc" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$NL_LOGDIR/times_b"
            ts=${NL_STARTED[$an]:-}
            if [[ -n $ts && -n $tc ]] && ! ((tickets && i == 0)); then
                start_ms=$(awk -v a="$ts" -v b="$tc" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
                echo "$start_ms" >>"$NL_LOGDIR/start_times"
            fi
            # The matrix's sessions, for the table by path (the lossy row is not the matrix).
            [[ -z $opt ]] && printf '%s\t%s\n' "${outcome:-none}" "$ms" >>"$sessions"
        done
        local summary="" o
        for o in "${!outcomes[@]}"; do summary+="${outcomes[$o]}/$n $o, "; done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ta" "$tb" "$expect" "${summary%, }" \
            "$(percentile 0.5 <"$NL_LOGDIR/times")" "$(percentile 0.95 <"$NL_LOGDIR/times")" "$label" >>"$results"
        if ((delay > 0)); then
            local im ip sm sp bm bp
            bm=$(percentile 0.5 <"$NL_LOGDIR/times_b")
            bp=$(percentile 0.95 <"$NL_LOGDIR/times_b")
            im=$(percentile 0.5 <"$NL_LOGDIR/times")
            ip=$(percentile 0.95 <"$NL_LOGDIR/times")
            sm=$(percentile 0.5 <"$NL_LOGDIR/start_times")
            sp=$(percentile 0.95 <"$NL_LOGDIR/start_times")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ta" "$tb${label:+ ($label)}" "${summary%, }" \
                "$rtt_peer" "$rtt_a" "$im" "$ip" "$bm" "$bp" "$sm" "$sp" "$expect" >>"$rtts"
        fi
    )
}

# The last "punch: stats:" value KEY of TAG before time stamp LIMIT (default: any).
last_stat() {
    local tag=$1 key=$2 limit=${3:-9999999999}
    awk -v lim="$limit" -v key="$key" '$2 == "punch:" && $3 == "stats:" && $1 <= lim {
            for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) v = kv[2] } }
        END { print (v == "" ? "-" : v) }' "$NL_LOGDIR/$tag.err"
}

# Median of A's rtt_ms over its stats lines between two time stamps.
median_rtt() {
    local tag=$1 from=$2 to=$3
    awk -v f="$from" -v t="$to" '$2 == "punch:" && $3 == "stats:" && $1 >= f && $1 <= t {
            for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "rtt_ms") print kv[2] } }' \
        "$NL_LOGDIR/$tag.err" | percentile 0.5
}

# overhead_session MODE I PAYLOAD: one pair in the overhead lab; one line in $overhead:
# mode path rtt_ms seconds_for_the_bulk bytes_sent_per_payload_byte.
overhead_session() {
    local mode=$1 i=$2 payload=$3
    local an="o${mode:0:1}a$i" bn="o${mode:0:1}b$i" size t0 t1 end
    local path rtt before after secs ratio rest_from
    size=$(stat -c %s "$payload")
    nl_punch "$bn" b --timeout 60 --stats 0.5 "$NL_SERVER" "$bn"
    lab_wait_for "$NL_LOGDIR/$bn.err" "punch: registered as $bn" 8 || { echo "natlab_bench: $bn did not register" >&2; return 1; }
    nl_punch "$an" a --timeout 60 --stats 0.5 "$NL_SERVER" "$an" "$bn"
    lab_wait_for "$NL_LOGDIR/$an.err" "punch: connected to $bn at|\\([a-z_]+\\)$" 45
    lab_wait_for "$NL_LOGDIR/$bn.err" "punch: connected to $an at|\\([a-z_]+\\)$" 5
    path=$(nl_connected_path "$an" "$bn")
    if [[ -z $path ]]; then
        echo "natlab_bench: overhead ($mode) $an did not connect: $(tail -n1 "$NL_LOGDIR/$an.err")" >&2
        nl_stop "$an"
        nl_stop "$bn"
        printf '%s\t%s\t-\t-\t-\n' "$mode" none >>"$overhead"
        return 0
    fi
    # At rest: 3 s of ENet's pings (every 500 ms); stats every 0.5 s.
    rest_from=$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.6f", t + 0.9 }')
    sleep 3
    rtt=$(median_rtt "$an" "$rest_from" "$EPOCHREALTIME")
    before=$(last_stat "$an" bytes_sent)
    # The bulk, one way: lines of 1000 bytes from A's stdin to B's stdout.
    t0=$EPOCHREALTIME
    cat "$payload" >&"${NL_FD[$an]}" &
    local cat_pid=$!
    end=$((SECONDS + 120))
    while (($(stat -c %s "$NL_LOGDIR/$bn.out" 2>/dev/null || echo 0) < size && SECONDS < end)); do sleep 0.01; done
    t1=$EPOCHREALTIME
    wait "$cat_pid"
    if (($(stat -c %s "$NL_LOGDIR/$bn.out") < size)); then
        secs=-
    else
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    fi
    sleep 1.2 # two more stats lines: the bytes sent for the bulk, acknowledgements included
    after=$(last_stat "$an" bytes_sent)
    ratio=-
    [[ $before != - && $after != - ]] && ratio=$(awk -v a="$before" -v b="$after" -v s="$size" 'BEGIN { printf "%.4f", (b - a) / s }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$path" "$rtt" "$secs" "$ratio" >>"$overhead"
    nl_close "$an"
    nl_close "$bn"
    nl_wait_exit "$an" 20
    nl_wait_exit "$bn" 20
}

# bench_path_session MODE: the same pair measured by bench_path (bench/path_bench.cpp), which
# updates every 0.1 ms: ENet's round trip of the path itself, not of punch's 10 ms frame, and
# the throughput of ENet's reliable window over it. One line per run into $out/bench_path.tsv.
bench_path_session() {
    local mode=$1 i=$2 tool=${NATLAB_BENCH_PATH:-$build/bench/bench_path} line
    [[ -x $tool ]] || return 0
    lab_exec b timeout 60 "$tool" --timeout 55 "$NL_SERVER" "bp${mode:0:1}b$i" \
        >"$NL_LOGDIR/bench_path_b_$mode$i.out" 2>&1 &
    local responder=$!
    sleep 0.3
    lab_exec a timeout 60 "$tool" --timeout 55 "$NL_SERVER" "bp${mode:0:1}a$i" "bp${mode:0:1}b$i" \
        >"$NL_LOGDIR/bench_path_a_$mode$i.out" 2>&1
    wait "$responder"
    line=$(grep -h '^bench_path:' "$NL_LOGDIR/bench_path_a_$mode$i.out" | head -n1)
    [[ -n $line ]] || { echo "natlab_bench: bench_path ($mode) gave no result: $(tail -n1 "$NL_LOGDIR/bench_path_a_$mode$i.out")" >&2; return 0; }
    # path=relay sealed=1 pings=200 rtt_ms_median=... rtt_ms_p90=... enet_rtt_ms=... bytes=... seconds=... throughput_mbit_s=...
    awk -v m="$mode" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s\t%s\t%s\t%s\t%s\n", m, v["path"], v["rtt_ms_median"], v["rtt_ms_p90"], v["throughput_mbit_s"] }' \
        <<<"$line" >>"$out/bench_path.tsv"
}

# bench_overhead: one lab, port-restricted both sides; sessions direct, then (with a relay)
# with the direct path blocked in the internet, so that only coturn carries them.
bench_overhead() {
    (
        # shellcheck disable=SC2034 # lab.sh's
        LAB_PREFIX="${NATLAB_PREFIX_BASE:-nl-}$$-benchoh-"
        lab_up a:port-restricted b:port-restricted || exit 3
        NL_LOGDIR="$out/overhead"
        mkdir -p "$NL_LOGDIR"
        # shellcheck source=../tests/natlab/punchlib.sh
        source "$root/tests/natlab/punchlib.sh"
        ((relay)) && nl_start_turn
        nl_start_rendezvous
        local payload="$out/payload" i mode
        awk -v n=$((transfer_kib * 1024 / 1001)) 'BEGIN { s = sprintf("%1000s", ""); gsub(/ /, "x", s); for (i = 0; i < n; i++) print s }' >"$payload"
        local -a modes=(direct)
        ((relay)) && modes+=(relay)
        for mode in "${modes[@]}"; do
            [[ $mode == relay ]] && lab_block_direct a b
            for ((i = 0; i < overhead_runs; i++)); do overhead_session "$mode" "$i" "$payload"; done
            for ((i = 0; i < overhead_runs; i++)); do bench_path_session "$mode" "$i"; done
            [[ $mode == relay ]] && lab_unblock_direct
        done
    )
}

k=0
for p in "${pairs[@]}"; do
    IFS=';' read -r ta tb expect expect_relay opt label <<<"$p"
    k=$((k + 1))
    [[ -n $only && $only != "$ta,$tb" ]] && continue
    ((relay)) && [[ -n $expect_relay ]] && expect=$expect_relay
    echo "natlab_bench: $ta asks $tb${label:+ ($label)}: $([[ $expect == fail ]] && echo "$fail_runs" || echo "$runs") attempts" >&2
    bench_pair "$k" "$ta" "$tb" "$expect" "$opt" "$label"
done
if ((overhead_runs > 0)) && [[ -z $only || $only == overhead ]]; then
    echo "natlab_bench: overhead: $overhead_runs sessions per path, ${transfer_kib} KiB each" >&2
    bench_overhead
fi

# The tables, as Markdown.
pair_table() {
    echo "| A (asks) | B (waits) | expected | outcome (A's view) | intro → connected, median | p95 |"
    echo "|---|---|---|---|---|---|"
    local ta tb expect summary med p95 label
    while IFS=$'\t' read -r ta tb expect summary med p95 label; do
        [[ $med != - ]] && med="$med ms"
        [[ $p95 != - ]] && p95="$p95 ms"
        echo "| $ta | $tb${label:+ ($label)} | $expect | $summary | $med | $p95 |"
    done <"$results"
}

path_table() {
    local total path n med p95
    total=$(wc -l <"$sessions")
    ((total > 0)) || return 0
    echo "| path | sessions of the matrix | intro → connected, median | p95 |"
    echo "|---|---|---|---|"
    for path in lan direct relay $(cut -f1 "$sessions" | grep -vxE 'lan|direct|relay' | sort -u); do
        n=$(awk -F'\t' -v p="$path" '$1 == p' "$sessions" | wc -l)
        ((n > 0)) || continue
        med=$(awk -F'\t' -v p="$path" '$1 == p && $2 != "-" { print $2 }' "$sessions" | percentile 0.5)
        p95=$(awk -F'\t' -v p="$path" '$1 == p && $2 != "-" { print $2 }' "$sessions" | percentile 0.95)
        [[ $med != - ]] && med="$med ms"
        [[ $p95 != - ]] && p95="$p95 ms"
        echo "| $path | $n of $total ($(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.0f", 100 * n / t }')%) | $med | $p95 |"
    done
}

# With --delay: each pair's times in ms, in peer round trips (p) and in A's server round
# trips (s).
rtt_cell() {
    local ms=$1 peer=$2 srv=$3
    [[ $ms == - ]] && { echo -; return; }
    echo "$(printf '%.0f' "$ms") ms · $(in_rtts "$ms" "$peer") p · $(in_rtts "$ms" "$srv") s"
}

rtt_table() {
    [[ -s $rtts ]] || return 0
    echo "| A (asks) | B (waits) | outcome (A's view) | peer RTT | server RTT (A) | A: intro → connected, median | p95 | B: intro → connected, median | p95 | A: start → connected, median | p95 |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    local ta tb summary peer srv im ip bm bp sm sp expect
    while IFS=$'\t' read -r ta tb summary peer srv im ip bm bp sm sp expect; do
        echo "| $ta | $tb | $summary | $peer$([[ $peer != - ]] && echo " ms") | $srv$([[ $srv != - ]] && echo " ms") |" \
            "$(rtt_cell "$im" "$peer" "$srv") | $(rtt_cell "$ip" "$peer" "$srv") |" \
            "$(rtt_cell "$bm" "$peer" "$srv") | $(rtt_cell "$bp" "$peer" "$srv") |" \
            "$(rtt_cell "$sm" "$peer" "$srv") | $(rtt_cell "$sp" "$peer" "$srv") |"
    done <"$rtts"
}

overhead_table() {
    [[ -s $overhead ]] || return 0
    local mode n kib
    kib=$transfer_kib
    echo "| path (port-restricted ↔ port-restricted) | sessions | ENet RTT at rest, median | ${kib} KiB one way, median | throughput | bytes sent per byte of lines |"
    echo "|---|---|---|---|---|---|"
    for mode in direct relay; do
        n=$(awk -F'\t' -v m="$mode" '$1 == m' "$overhead" | wc -l)
        ((n > 0)) || continue
        local paths rtt secs ratio tput
        paths=$(awk -F'\t' -v m="$mode" '$1 == m { c[$2]++ } END { for (p in c) printf "%s%d %s", (s++ ? ", " : ""), c[p], p }' "$overhead")
        rtt=$(awk -F'\t' -v m="$mode" '$1 == m && $3 != "-" { print $3 }' "$overhead" | percentile 0.5)
        secs=$(awk -F'\t' -v m="$mode" '$1 == m && $4 != "-" { print $4 }' "$overhead" | percentile 0.5)
        ratio=$(awk -F'\t' -v m="$mode" '$1 == m && $5 != "-" { print $5 }' "$overhead" | percentile 0.5)
        tput=-
        [[ $secs != - ]] && tput="$(awk -v k="$kib" -v s="$secs" 'BEGIN { printf "%.2f MB/s", k * 1024 / s / 1e6 }')"
        [[ $rtt != - ]] && rtt="$rtt ms"
        [[ $secs != - ]] && secs="$secs s"
        echo "| $mode$([[ $mode == relay ]] && echo " (direct blocked)") | $paths | $rtt | $secs | $tput | $ratio |"
    done
}

# bench_path's figures: the round trip of the path and ENet's reliable throughput over it.
bench_path_table() {
    local t="$out/bench_path.tsv" mode n
    [[ -s $t ]] || return 0
    echo "| path (port-restricted ↔ port-restricted), bench_path | runs | round trip, median | p90 | ENet reliable throughput, median |"
    echo "|---|---|---|---|---|"
    for mode in direct relay; do
        n=$(awk -F'\t' -v m="$mode" '$1 == m' "$t" | wc -l)
        ((n > 0)) || continue
        local paths med p90 tput
        paths=$(awk -F'\t' -v m="$mode" '$1 == m { c[$2]++ } END { for (p in c) printf "%s%d %s", (s++ ? ", " : ""), c[p], p }' "$t")
        med=$(awk -F'\t' -v m="$mode" '$1 == m { print $3 }' "$t" | percentile 0.5)
        p90=$(awk -F'\t' -v m="$mode" '$1 == m { print $4 }' "$t" | percentile 0.5)
        tput=$(awk -F'\t' -v m="$mode" '$1 == m { print $5 }' "$t" | percentile 0.5)
        echo "| $mode$([[ $mode == relay ]] && echo " (direct blocked)") | $paths | $med ms | $p90 ms | $tput Mbit/s |"
    done
}

echo
pair_table
echo
if ((delay > 0)); then
    rtt_table
    echo
fi
path_table
echo
overhead_table
echo
bench_path_table
echo
echo "natlab_bench: logs in $out" >&2

if ((write_doc)) && [[ -z $only ]]; then
    doc="$root/docs/NAT.md"
    begin='<!-- natlab-bench:begin -->'
    end='<!-- natlab-bench:end -->'
    if ((delay > 0)); then
        begin='<!-- natlab-bench-delay:begin -->'
        end='<!-- natlab-bench-delay:end -->'
        if ((tickets)); then
            begin='<!-- natlab-bench-delay-ticket:begin -->'
            end='<!-- natlab-bench-delay-ticket:end -->'
        elif ((standing)); then
            begin='<!-- natlab-bench-delay-standing:begin -->'
            end='<!-- natlab-bench-delay-standing:end -->'
        fi
    fi
    if ! grep -qF "$begin" "$doc" 2>/dev/null; then
        echo "natlab_bench: $doc has no '$begin' block; not written" >&2
        exit 0
    fi
    block="$out/block.md"
    if ((delay > 0)); then
        {
            echo "$begin"
            echo "Measured $(date -u +%Y-%m-%d) by \`bench/natlab_bench.sh --delay $delay --runs $runs --fail-runs $fail_runs$( ((tickets)) && echo " --ticket")$( ((standing)) && echo " --standing")\`,"
            ((tickets)) && echo "each side resuming with its ticket from the attempt before (A's first attempt left out of start → connected),"
            ((standing)) && echo "every punch holding a standing relay (\`--standing-relay\`), B's up before A starts,"
            echo "a wire delay of **$delay ms each way on every router** (NL_DELAY_MS), relay $( ((relay)) && echo on || echo off)"
            echo "(netcore $(git -C "$root" describe --always --dirty 2>/dev/null), $(nproc) cores, kernel $(uname -r));"
            echo "expected failures use \`--punch-timeout $punch_timeout\`. Peer RTT: A's and B's measured UDP round"
            echo "trips to the server host added (A to B crosses the same routers); server RTT: A's. Each time is"
            echo "given in ms, in peer RTTs (p) and in server RTTs (s); start is when A's punch was started;"
            echo "A is the initiator (it asked), B the responder."
            echo
            rtt_table
            echo "$end"
        } >"$block"
    else
        {
            echo "$begin"
            echo "Measured $(date -u +%Y-%m-%d) by \`bench/natlab_bench.sh --runs $runs --fail-runs $fail_runs" \
                "--overhead-runs $overhead_runs --transfer-kib $transfer_kib\`, relay $( ((relay)) && echo on || echo off)"
            echo "(netcore $(git -C "$root" describe --always --dirty 2>/dev/null), $(nproc) cores, kernel $(uname -r)$( ((relay)) &&
                echo ", coturn $(turnserver --version 2>/dev/null | head -n1)"));"
            echo "expected failures use \`--punch-timeout $punch_timeout\`."
            echo
            pair_table
            echo
            echo "By path, over the matrix (every row above but the lossy one):"
            echo
            path_table
            echo
            echo "What the relay costs, measured in the same run: the same pair of port-restricted NATs,"
            echo "direct, then with the direct path blocked in the internet so that coturn carries it."
            echo
            overhead_table
            echo
            echo "The same pair measured by \`bench_path\` (built with the tools; it updates every 0.1 ms, so"
            echo "its round trip is the path's and not a 10 ms frame's): unreliable pings one at a time, then"
            echo "4 MB of 1200-byte reliable packets."
            echo
            bench_path_table
            echo "$end"
        } >"$block"
    fi
    awk -v b="$begin" -v e="$end" -v f="$block" '
        $0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
        $0 == e { skip = 0; next }
        !skip { print }' "$doc" >"$out/NAT.md" && cp "$out/NAT.md" "$doc"
    echo "natlab_bench: wrote the measured tables into $doc" >&2
fi
