#!/bin/bash
# STUN interop: a real rendezvous on 127.0.0.1, asked by a STUN client nobody here wrote.
# Usage: stun_interop.sh PATH_TO_RENDEZVOUS turnutils|stun
#   turnutils: coturn's turnutils_stunclient (RFC 5389/8489, XOR-MAPPED-ADDRESS)
#   stun:      the stun-client package's `stun` 0.97 (RFC 3489, no magic cookie, MAPPED-ADDRESS)
# Exits 77 (skipped) only when the client is not installed; CI installs it (setup.sh --with-interop).
set -u
bin=$1
lib=$(cd "$(dirname "$0")/../../scripts/lib" && pwd)
# shellcheck source=scripts/lib/scratch.sh
. "$lib/scratch.sh"
# shellcheck source=scripts/lib/rendezvous.sh
. "$lib/rendezvous.sh"
scratch_start

case $2 in
turnutils) tool=turnutils_stunclient ;;
stun) tool=stun ;;
*) echo "stun_interop: unknown client $2" >&2; exit 2 ;;
esac
command -v "$tool" >/dev/null 2>&1 || { echo "stun_interop: $tool is not installed" >&2; exit 77; }

start_rendezvous "$bin" "$tmp/server.err" --log-level debug || fail "no listening line"
pid=$RENDEZVOUS_PID
pids+=("$pid")
port=$RENDEZVOUS_PORT

case $2 in
turnutils)
    timeout 20 turnutils_stunclient -p "$port" 127.0.0.1 >"$tmp/client.out" 2>&1 ||
        fail "turnutils_stunclient exited with $?"
    # It prints the reflexive address the server reported, e.g. "UDP reflexive addr: 127.0.0.1:40000".
    mapped=$(sed -n 's/.*UDP reflexive addr: *\([0-9.]*:[0-9]*\).*/\1/p' "$tmp/client.out" | head -n 1)
    case $mapped in
    127.0.0.1:0 | "") fail "no reflexive address in the client's output" ;;
    127.0.0.1:*) ;;
    *) fail "reflexive address $mapped is not 127.0.0.1" ;;
    esac
    ;;
stun)
    # A fixed source port (-p; it also opens the next one), so the mapped address to expect is
    # known: 127.0.0.1:client_port. Another port is tried if the pair is taken.
    for client_port in 64000 61000 58000 55000; do
        [ "$client_port" -eq "$port" ] || [ "$((client_port + 1))" -eq "$port" ] && continue
        timeout 20 stun 127.0.0.1:"$port" -v -p "$client_port" >"$tmp/client.out" 2>&1
        grep -q "in use" "$tmp/client.out" || break
    done
    grep -q "MappedAddress = 127\.0\.0\.1:$client_port" "$tmp/client.out" ||
        fail "the client did not report MappedAddress = 127.0.0.1:$client_port"
    grep -q "Blocked or could not reach" "$tmp/client.out" && fail "the client saw no answer"
    ;;
esac

kill -s TERM "$pid"
wait "$pid"
pids=()
tail -n 1 "$tmp/server.err" | grep -Eq ' stun_requests=[1-9][0-9]* stun_malformed=0 ' ||
    fail "the final stats line does not count the STUN requests"
echo "stun_interop: $tool learned its address from the rendezvous"
