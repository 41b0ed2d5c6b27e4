#!/bin/bash
# TURN interop: the credentials a real rendezvous hands out are accepted by a real coturn.
# Usage: turn_interop.sh PATH_TO_RENDEZVOUS PATH_TO_RELAY_GRANT_CLIENT
#
# On 127.0.0.1: coturn (turnserver, use-auth-secret) with its own config file, which the
# rendezvous reads the secret from (--turn-secret-file: one file for both); turnutils_peer as the
# peer to relay to. relay_grant_client (pinned to the key in the rendezvous' banner) registers two names, gets their Introductions and checks a
# RelayOffer arrives as PeerRelay; then coturn's turnutils_uclient allocates a relay with alice's
# credential and sends through it. A tampered password and an expired credential are refused.
# Exits 77 (skipped) only when coturn's tools are not installed (setup.sh --with-interop).
set -u
bin=$1
client=$2
lib=$(cd "$(dirname "$0")/../../scripts/lib" && pwd)
# shellcheck source=scripts/lib/scratch.sh
. "$lib/scratch.sh"
# shellcheck source=scripts/lib/rendezvous.sh
. "$lib/rendezvous.sh"
scratch_start

for tool in turnserver turnutils_uclient turnutils_peer; do
    command -v "$tool" >/dev/null || { echo "turn_interop: $tool is not installed" >&2; exit 77; }
done

# Free-looking ports; a clash shows as a failure to start, not as a wrong answer.
turn_port=$((20000 + RANDOM % 20000))
peer_port=$((turn_port + 1))
secret=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# Nothing outside $tmp: coturn also opens a SQLite user database and writes a pid file.
cat >"$tmp/turnserver.conf" <<EOF
# turn_interop.sh: coturn for one test run
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=$turn_port
min-port=50000
max-port=50999
use-auth-secret
static-auth-secret=$secret
realm=netcore.test
fingerprint
no-cli
no-tls
no-dtls
# turnutils_peer listens on 127.0.0.1: coturn refuses loopback peers unless told (never in
# production: see docs/OPERATIONS.md).
allow-loopback-peers
userdb=$tmp/turndb
pidfile=$tmp/turnserver.pid
log-file=$tmp/turnserver.log
simple-log
no-stdout-log
EOF
chmod 600 "$tmp/turnserver.conf"

turnserver -c "$tmp/turnserver.conf" >"$tmp/turnserver.out" 2>&1 &
pids+=($!)
turnutils_peer -L 127.0.0.1 -p "$peer_port" >"$tmp/peer.out" 2>&1 &
pids+=($!)

# Starts a rendezvous granting relays on coturn with extra options "$@"; sets port and key (the
# key the client pins).
start_granting() {
    start_rendezvous "$bin" "$tmp/rendezvous.err" --turn-server "127.0.0.1:$turn_port" \
        --turn-secret-file "$tmp/turnserver.conf" "$@" || fail "the rendezvous did not start"
    pids+=("$RENDEZVOUS_PID")
    port=$RENDEZVOUS_PORT
    key=$RENDEZVOUS_KEY
    [ -n "$key" ] || fail "no key in the banner"
}

# Allocates with coturn's client as "$1"/"$2" and relays 3 messages to the peer; sets rc.
uclient() {
    timeout 20 turnutils_uclient -p "$turn_port" -u "$1" -w "$2" -e 127.0.0.1 -r "$peer_port" \
        -n 3 -X 127.0.0.1 >"$tmp/uclient.out" 2>&1
    rc=$?
}

start_granting
grep -q "^rendezvous: granting TURN relays on 127.0.0.1:$turn_port (credentials valid 600 s)$" \
    "$tmp/rendezvous.err" || fail "no line saying which TURN server is granted"

# coturn needs a moment to open its listener; the grant client does not depend on it.
"$client" "$port" "$key" >"$tmp/grants.out" 2>"$tmp/grants.err" || fail "relay_grant_client failed"
grep -q '^peer_relay relayed=127.0.0.1:49999 mapped=127.0.0.1:40000$' "$tmp/grants.out" ||
    fail "bob did not receive alice's RelayOffer as PeerRelay"
line=$(grep '^alice ' "$tmp/grants.out")
server=$(sed -n 's/.* server=\([^ ]*\) .*/\1/p' <<<"$line")
user=$(sed -n 's/.* username=\([^ ]*\) .*/\1/p' <<<"$line")
pass=$(sed -n 's/.* password=\([^ ]*\)$/\1/p' <<<"$line")
[ "$server" = "127.0.0.1:$turn_port" ] || fail "alice was granted $server"
[[ $user =~ ^[0-9]+:alice\.[0-9a-f]{16}$ ]] ||
    fail "alice's username is not <expiry>:alice.<pair id>: $user"
bob_user=$(sed -n 's/^bob .* username=\([^ ]*\) .*/\1/p' "$tmp/grants.out")
[ "${bob_user#*:bob.}" = "${user#*:alice.}" ] || fail "bob's pair id differs from alice's: $bob_user"
expiry=${user%%:*}
now=$(date +%s)
((expiry >= now + 600 - 5 && expiry <= now + 600)) || fail "expiry $expiry is not now + 600"
# The password is what anyone with the secret computes: the TURN-REST scheme, by openssl.
if command -v openssl >/dev/null; then
    expected=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$secret" -binary | base64)
    [ "$pass" = "$expected" ] || fail "password $pass, expected $expected"
fi

for _ in $(seq 50); do # until coturn listens
    grep -q "Total General servers" "$tmp/turnserver.log" 2>/dev/null && break
    sleep 0.1
done
uclient "$user" "$pass"
[ "$rc" -eq 0 ] || fail "coturn refused alice's credential (turnutils_uclient exit $rc)"
grep -Eq 'tot_recv_msgs=[1-9]' "$tmp/uclient.out" || fail "nothing came back through the relay"

# The same username with a tampered password (its first character changed: never the same one,
# which a password starting with "x" made of "x${pass:1}" one time in 64): refused.
tampered=x
[ "${pass:0:1}" = x ] && tampered=y
uclient "$user" "$tampered${pass:1}"
[ "$rc" -ne 0 ] || fail "coturn accepted a tampered password"

# A credential past its expiry: refused at Allocate (coturn checks the username's timestamp).
start_granting --turn-ttl 1
"$client" "$port" "$key" >"$tmp/grants.out" 2>"$tmp/grants.err" || fail "relay_grant_client failed (ttl 1)"
line=$(grep '^alice ' "$tmp/grants.out")
user=$(sed -n 's/.* username=\([^ ]*\) .*/\1/p' <<<"$line")
pass=$(sed -n 's/.* password=\([^ ]*\)$/\1/p' <<<"$line")
sleep 2.2
uclient "$user" "$pass"
[ "$rc" -ne 0 ] || fail "coturn accepted an expired credential"

echo "turn_interop: coturn relayed with the rendezvous' credential, and refused a tampered and an expired one"
