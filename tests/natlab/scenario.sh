#!/usr/bin/env bash
# scenario.sh — one NAT traversal scenario over the lab: the CTest entries labelled natlab.
#
# Usage: scenario.sh --rendezvous BIN --punch BIN CASE...
#   pair TYPE_A TYPE_B EXPECT   B registers and waits, A asks for B; EXPECT is direct, lan or
#                               fail (A gives up with punch_failed). TYPE: public, full-cone,
#                               port-restricted, symmetric, same-router, double.
#   keepalive                   routers forget idle UDP after 10 s; a session stays up 60 s
#                               without game traffic, and an idle registration stays reachable.
#   loss [ATTEMPTS] [LANES]     10% loss each way on both routers; at least 99% of ATTEMPTS
#                               (default 100) succeed, run LANES (default 4) at a time.
#
# Environment: NATLAB_LOGDIR (logs, kept after the run; default a temporary directory),
# NATLAB_CAPTURE=1 (tcpdump every router WAN and client into the log directory),
# NATLAB_PUNCH_TIMEOUT (seconds of punching before an expected failure, default 3),
# NATLAB_KEEPALIVE_IDLE (seconds without game traffic, default 60), NATLAB_VERBOSE=1,
# NATLAB_REQUIRE=1 (fail instead of skipping when the lab cannot run).
# Exit: 0 as expected, 1 not as expected (netcore's result), 3 the lab misbehaved, 77 skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"

NL_RENDEZVOUS="" NL_PUNCH=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --rendezvous) NL_RENDEZVOUS=$2; shift 2 ;;
        --punch) NL_PUNCH=$2; shift 2 ;;
        *) break ;;
    esac
done
[[ -x $NL_RENDEZVOUS && -x $NL_PUNCH ]] || { echo "usage: $0 --rendezvous BIN --punch BIN CASE..." >&2; exit 2; }
[[ $# -ge 1 ]] || { echo "scenario.sh: no case given" >&2; exit 2; }

lab_require
# shellcheck source=punchlib.sh
source "$here/punchlib.sh"

case_name=$(echo "$*" | tr ' ' '-')
if [[ -n ${NATLAB_LOGDIR:-} ]]; then
    NL_LOGDIR="$NATLAB_LOGDIR/$case_name"
    rm -rf "$NL_LOGDIR"
    mkdir -p "$NL_LOGDIR"
else
    NL_LOGDIR=$(mktemp -d /tmp/natlab.XXXXXX)
fi
punch_timeout=${NATLAB_PUNCH_TIMEOUT:-3}

# Capture every router's WAN and every client's interface, for a post-mortem in Wireshark.
start_capture() {
    [[ ${NATLAB_CAPTURE:-0} == 1 ]] || return 0
    command -v tcpdump >/dev/null || { lab_say "NATLAB_CAPTURE=1 needs tcpdump"; return 0; }
    local node ifname pid
    for node in "${LAB_NODES[@]}"; do
        case $node in pub | srv) continue ;; esac
        ifname=wan
        [[ -n ${LAB_TYPE[$node]:-} ]] && ifname=eth0
        lab_spawn pid "$node" /dev/null "$NL_LOGDIR/$node.tcpdump.log" tcpdump -n -U -i "$ifname" \
            -w "$NL_LOGDIR/$node.pcap" udp
    done
    sleep 0.5
}

finish() {
    local rc=$1
    lab_say "logs in $NL_LOGDIR"
    exit "$rc"
}

case $1 in
    pair)
        [[ $# -eq 4 ]] || { echo "usage: pair TYPE_A TYPE_B EXPECT" >&2; exit 2; }
        type_a=$2 type_b=$3 expect=$4
        lab_up "a:$type_a" "b:$type_b"
        start_capture
        nl_start_rendezvous
        opts=(--timeout 20)
        [[ $expect == fail ]] && opts+=(--punch-timeout "$punch_timeout")
        if nl_pair a alice b bob "$expect" "${opts[@]}"; then
            lab_say "$type_a asks $type_b: $(nl_line alice 'punch: connected|\([a-z_]+\)$') -- as expected ($expect)"
            finish 0
        fi
        nl_fail "$type_a asks $type_b, expected $expect: $NL_WHY"
        ;;

    keepalive)
        idle=${NATLAB_KEEPALIVE_IDLE:-60}
        # Every router forgets an idle UDP mapping after 10 s (RFC 4787 asks for 2 min; some
        # routers use 30 s or less). Refreshes every 3 s must keep the registrations alive,
        # ENet's pings the session.
        lab_up a:port-restricted:udp-timeout=10 b:port-restricted:udp-timeout=10 \
            c:port-restricted:udp-timeout=10 d:port-restricted:udp-timeout=10
        start_capture
        nl_start_rendezvous --refresh-ms 3000 --expiry-ms 9000
        # dave only registers: after the idle time carol must still be introduced to him.
        nl_punch dave d --timeout 0 "$NL_SERVER" dave
        lab_wait_for "$NL_LOGDIR/dave.err" "punch: registered as dave" 8 || nl_fail "dave did not register"
        nl_punch bob b --timeout 0 "$NL_SERVER" bob
        lab_wait_for "$NL_LOGDIR/bob.err" "punch: registered as bob" 8 || nl_fail "bob did not register"
        nl_punch alice a --timeout 20 "$NL_SERVER" alice bob
        lab_wait_for "$NL_LOGDIR/alice.err" "punch: connected to bob at" 15 || nl_fail "alice did not connect to bob"
        lab_wait_for "$NL_LOGDIR/bob.err" "punch: connected to alice at" 5 || nl_fail "bob did not see alice connect"
        connected_at=$SECONDS
        lab_say "alice and bob connected; now ${idle}s without game traffic"
        # Meanwhile, prove the routers really forget an idle mapping after 10 s (on other ports).
        lab_check_expiry a 10
        lab_say "router a-r forgets an idle mapping after 10 s, as configured"
        sleep $((idle - (SECONDS - connected_at)))
        for tag in alice bob dave; do
            kill -0 "${NL_PID[$tag]}" 2>/dev/null ||
                nl_fail "$tag ended during the idle time: $(tail -n1 "$NL_LOGDIR/$tag.err")"
        done
        nl_send alice "after ${idle}s from alice"
        nl_send bob "after ${idle}s from bob"
        lab_wait_for "$NL_LOGDIR/bob.out" "^after ${idle}s from alice\$" 5 ||
            nl_fail "after ${idle}s idle, alice's line did not reach bob"
        lab_wait_for "$NL_LOGDIR/alice.out" "^after ${idle}s from bob\$" 5 ||
            nl_fail "after ${idle}s idle, bob's line did not reach alice"
        lab_say "after ${idle}s idle the alice-bob session still carries lines both ways"
        nl_punch carol c --timeout 20 "$NL_SERVER" carol dave
        lab_wait_for "$NL_LOGDIR/carol.err" "punch: connected to dave at|\\([a-z_]+\\)$" 15
        nl_line carol "punch: connected to dave at" | grep -q . ||
            nl_fail "after ${idle}s, carol could not reach dave: $(tail -n1 "$NL_LOGDIR/carol.err")"
        nl_send carol "hello dave"
        lab_wait_for "$NL_LOGDIR/dave.out" "^hello dave\$" 5 || nl_fail "carol's line did not reach dave"
        lab_say "after ${idle}s, carol was introduced to the idle dave and reached him"
        for tag in alice bob carol dave; do nl_close "$tag"; done
        for tag in alice bob carol dave; do nl_wait_exit "$tag" 10; done
        for tag in alice bob carol dave; do
            [[ ${NL_RC[$tag]} == 0 ]] || nl_fail "$tag left with status ${NL_RC[$tag]}: $(tail -n1 "$NL_LOGDIR/$tag.err")"
        done
        finish 0
        ;;

    loss)
        attempts=${2:-100}
        lanes=${3:-4}
        lab_up a:port-restricted:loss=0.1 b:port-restricted:loss=0.1
        start_capture
        nl_start_rendezvous
        results="$NL_LOGDIR/results"
        : >"$results"
        start=$SECONDS
        # Lanes run side by side (each attempt is a fresh pair of names and sockets), so the
        # soak takes minutes, not a quarter of an hour.
        lane_pids=()
        for ((lane = 0; lane < lanes; lane++)); do
            (
                trap - EXIT INT TERM
                for ((i = lane; i < attempts; i += lanes)); do
                    an="a$i" bn="b$i"
                    t0=$EPOCHREALTIME
                    if nl_pair a "$an" b "$bn" direct --timeout 20; then
                        echo "$i ok $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" >>"$results"
                    else
                        echo "$i FAIL $NL_WHY" >>"$results"
                    fi
                done
            ) &
            lane_pids+=($!)
        done
        wait "${lane_pids[@]}"
        ok=$(grep -c ' ok ' "$results")
        total=$(wc -l <"$results")
        lab_say "loss: $ok of $attempts attempts succeeded ($total ran) in $((SECONDS - start)) s"
        grep ' FAIL ' "$results" >&2
        ((total == attempts)) || nl_fail "only $total of $attempts attempts ran"
        ((ok * 100 >= attempts * 99)) || nl_fail "$ok of $attempts attempts succeeded; at least 99% must"
        finish 0
        ;;

    *)
        echo "scenario.sh: unknown case '$1'" >&2
        exit 2
        ;;
esac
