#!/bin/bash
# The rendezvous server's --metrics-port: send junk, a Hello, a version-1 Register and a sealed
# datagram without a cookie, then scrape /metrics over plain bash /dev/tcp (no curl on CI) and
# check the values.
# Usage: rendezvous_metrics_test.sh PATH_TO_RENDEZVOUS
# Exit 77 (skipped) when the binary was built without prometheus-cpp.
set -u
bin=$1
lib=$(cd "$(dirname "$0")/../scripts/lib" && pwd)
# shellcheck source=scripts/lib/scratch.sh
. "$lib/scratch.sh"
# shellcheck source=scripts/lib/rendezvous.sh
. "$lib/rendezvous.sh"
scratch_start

if ! start_rendezvous "$bin" "$tmp/server.err" --metrics-port 0 2>/dev/null; then
    if grep -q "no metrics" "$tmp/server.err"; then
        echo "SKIP: built without prometheus-cpp"
        exit 77
    fi
    fail "no listening line"
fi
pid=$RENDEZVOUS_PID
pids+=("$pid")
port=$RENDEZVOUS_PORT
# The metrics line follows the banner (a second write).
for _ in $(seq 100); do
    grep -q "metrics on" "$tmp/server.err" && break
    sleep 0.05
done
mport=$(sed -n 's|^rendezvous: metrics on http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' "$tmp/server.err")
[ -n "$mport" ] && [ "$mport" != 0 ] || fail "no metrics line with a real port"

scrape() {
    exec 3<>"/dev/tcp/127.0.0.1/$mport" || return 1
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    cat <&3 >"$tmp/metrics"
    exec 3<&-
}

scrape || fail "cannot connect to the metrics port"
grep -q '^HTTP/1.[01] 200' "$tmp/metrics" || fail "not HTTP 200"
grep -q '^rendezvous_names 0$' "$tmp/metrics" || fail "expected rendezvous_names 0 before Register"
grep -q '^rendezvous_name_table_longest_probe 0$' "$tmp/metrics" ||
    fail "expected rendezvous_name_table_longest_probe 0 (an empty table)"

# A datagram that is not ours: counted as a drop by reason. Sent first, so that once the
# Register shows, the junk (ahead of it in the socket's queue) is counted too.
printf 'junk' >"/dev/udp/127.0.0.1/$port"
# A Hello (docs/PROTOCOL.md 2.2): "NCRV", version 5, type 0x30, a 32-byte client key, 32 zero
# bytes. Answered with a Challenge of the same size (which this script does not read back).
zeros() { printf '\\x00%.0s' $(seq "$1"); }
key=$(printf '\\x09%.0s' $(seq 32))
printf "NCRV\x05\x30$key$(zeros 32)" >"/dev/udp/127.0.0.1/$port" || fail "cannot send the Hello"
# A version-1 Register: "NCRV", version 1, type 1, instance 1, no cookie (16 zero bytes), name
# "alice", no LAN. Answered with an 8-byte VersionRefused, and nothing stored.
printf 'NCRV\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05alice\x00' \
    >"/dev/udp/127.0.0.1/$port" || fail "cannot send the version-1 Register"
# A ClientSealed: version 4, type 0x32, the key, no cookie (16 zero bytes), counter 1, and a box
# of 16 bytes (a tag alone). Without a cookie nothing opens it: a Challenge, no larger.
printf "NCRV\x05\x32$key$(zeros 16)$(zeros 7)\x01$(zeros 16)" >"/dev/udp/127.0.0.1/$port" ||
    fail "cannot send the sealed datagram"

# The loop publishes every 100 ms; allow 5 s.
for _ in $(seq 50); do
    scrape && grep -q '^rendezvous_challenged_total 2$' "$tmp/metrics" &&
        grep -q '^rendezvous_packets_in_total 4$' "$tmp/metrics" && break
    sleep 0.1
done
grep -q '^rendezvous_challenged_total 2$' "$tmp/metrics" || fail "expected challenged_total 2"
grep -q '^rendezvous_bad_cookies_total 0$' "$tmp/metrics" || fail "expected bad_cookies_total 0"
grep -q '^rendezvous_version_refused_total 1$' "$tmp/metrics" || fail "expected version_refused_total 1"
grep -q '^rendezvous_unauthenticated_total 0$' "$tmp/metrics" || fail "expected unauthenticated_total 0"
grep -q '^rendezvous_replayed_total 0$' "$tmp/metrics" || fail "expected replayed_total 0"
grep -q '^rendezvous_names 0$' "$tmp/metrics" || fail "expected rendezvous_names 0 (no cookie)"
grep -q '^rendezvous_registered_total 0$' "$tmp/metrics" || fail "expected registered_total 0"
grep -q '^rendezvous_refreshed_fast_total 0$' "$tmp/metrics" || fail "expected refreshed_fast_total 0"
grep -q '^rendezvous_packets_in_total 4$' "$tmp/metrics" || fail "expected packets_in_total 4"
grep -q '^rendezvous_packets_out_total 3$' "$tmp/metrics" || fail "expected packets_out_total 3"
# Two 70-byte Challenges and the 8-byte VersionRefused: never more than was sent.
grep -q '^rendezvous_bytes_out_total 148$' "$tmp/metrics" || fail "expected bytes_out_total 148"
grep -q '^rendezvous_dropped_total{reason="not_ours"} 1$' "$tmp/metrics" ||
    fail "expected one drop with reason not_ours"
grep -q '^# TYPE rendezvous_registered_total counter$' "$tmp/metrics" || fail "not a counter"
# Relays: no grants (no --turn-server), nothing forwarded or dropped.
grep -q '^rendezvous_relay_grants_total 0$' "$tmp/metrics" || fail "expected relay_grants_total 0"
for name in relay_grants_refused relay_renewals standing_grants standing_offers_stored \
    standing_relays_forwarded; do
    grep -q "^rendezvous_${name}_total 0\$" "$tmp/metrics" || fail "expected ${name}_total 0"
done
for reason in not_registered unknown_introduction token_mismatch no_turn; do
    grep -q "^rendezvous_relay_renewals_dropped_total{reason=\"$reason\"} 0\$" "$tmp/metrics" ||
        fail "expected relay_renewals_dropped_total{reason=\"$reason\"} 0"
done
grep -q '^rendezvous_relay_offers_forwarded_total 0$' "$tmp/metrics" ||
    fail "expected relay_offers_forwarded_total 0"
for reason in not_registered unknown_introduction token_mismatch no_standing_grant; do
    grep -q "^rendezvous_relay_offers_dropped_total{reason=\"$reason\"} 0\$" "$tmp/metrics" ||
        fail "expected relay_offers_dropped_total{reason=\"$reason\"} 0"
done
grep -q '^rendezvous_unexpected_total 0$' "$tmp/metrics" || fail "expected unexpected_total 0"

kill -TERM "$pid"
wait "$pid"
code=$?
pids=()
[ "$code" -eq 0 ] || fail "exit code $code after SIGTERM"
echo "ok: $(grep -c '^rendezvous_' "$tmp/metrics") samples"
