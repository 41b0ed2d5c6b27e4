#!/bin/sh
# Command-line tests of the rendezvous binary: exit codes and the exact lines it prints.
# Usage: rendezvous_cli_test.sh PATH_TO_RENDEZVOUS CASE   (cases: see the `case` at the end)
# Servers bind 127.0.0.1 (listen_default binds 0.0.0.0 but sends nothing) and are stopped on exit.
set -u
bin=$1
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for f in "$tmp"/*; do [ -f "$f" ] && { echo "--- $(basename "$f"):"; cat "$f"; }; done
    exit 1
}
lines() { wc -l <"$1" | tr -d ' '; }

# Runs the binary to completion: sets rc; stdout in $tmp/out, stderr in $tmp/err.
run() {
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# After run(): exit 1, nothing on stdout, exactly one line on stderr matching $1.
expect_one_line_failure() {
    [ "$rc" -eq 1 ] || fail "exit code $rc, expected 1"
    [ "$(lines "$tmp/err")" -eq 1 ] || fail "expected exactly one line on stderr"
    grep -Eq "$1" "$tmp/err" || fail "stderr does not match: $1"
    [ -s "$tmp/out" ] && fail "expected nothing on stdout"
    return 0
}

# Starts a server in the background, logging to $tmp/server.err, and waits for its
# listening line (20 s at most: a loaded CI machine can be slow to start it). Sets pid and port.
start() {
    # The last run's log goes first: the background shell truncates it only when it gets to
    # run, and until then the wait below would read the old listening line.
    rm -f "$tmp/server.out" "$tmp/server.err"
    "$bin" "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
    pid=$!
    pids="$pids $pid"
    i=0
    while ! grep -q "listening on" "$tmp/server.err" && [ $i -lt 400 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    port=$(sed -n 's/^rendezvous: listening on [0-9.]*:\([0-9]*\)$/\1/p' "$tmp/server.err")
    [ -n "$port" ] || fail "no listening line"
}

# Sends signal $1 to the server and requires exit 0 with a final stats line.
stop_with() {
    kill -s "$1" "$pid" || fail "cannot signal the server"
    wait "$pid"
    code=$?
    pids=""
    [ "$code" -eq 0 ] || fail "exit code $code after SIG$1, expected 0"
    [ "$(lines "$tmp/server.err")" -eq 2 ] || fail "expected the listening line and one stats line"
    tail -n 1 "$tmp/server.err" | grep -Eq '^stats: names=0 .*packets_in=0 ' ||
        fail "the last line is not a stats line"
    tail -n 1 "$tmp/server.err" | grep -Eq ' challenged=0 .*rate_limited=0 ' ||
        fail "the stats line lacks the validation and limit counters"
}

case $2 in
bad_port)
    run --port abc
    expect_one_line_failure '^rendezvous: .*--port.*abc'
    ;;
bad_interval)
    run --refresh-ms 20000 --expiry-ms 20000
    expect_one_line_failure '^rendezvous: --expiry-ms \(20000\) must exceed --refresh-ms \(20000\)$'
    ;;
bad_limit)
    run --rate 0
    expect_one_line_failure '^rendezvous: --rate must be positive$'
    run --max-introductions 0
    expect_one_line_failure '^rendezvous: --max-introductions must be at least 1$'
    ;;
bad_turn)
    printf 'sekrit\n' >"$tmp/secret"
    : >"$tmp/empty"
    run --turn-server 203.0.113.1
    expect_one_line_failure '^rendezvous: --turn-server needs --turn-secret-file \(the TURN server.s static-auth-secret\)$'
    run --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: --turn-secret-file needs --turn-server$'
    run --turn-ttl 3600
    expect_one_line_failure '^rendezvous: --turn-ttl needs --turn-server$'
    run --turn-server 203.0.113.1 --turn-secret-file "$tmp/missing"
    expect_one_line_failure "^rendezvous: --turn-secret-file: cannot read $tmp/missing: No such file or directory\$"
    run --turn-server 203.0.113.1 --turn-secret-file "$tmp/empty"
    expect_one_line_failure "^rendezvous: --turn-secret-file: no secret in $tmp/empty: it is empty\$"
    run --turn-server 203.0.113.1 --turn-secret-file "$tmp"
    expect_one_line_failure "^rendezvous: --turn-secret-file: cannot read $tmp: Is a directory\$"
    run --turn-server turn.example.org --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: --turn-server: not an IPv4 address with an optional port: turn\.example\.org$'
    run --turn-server 203.0.113.1:0 --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: --turn-server: not an IPv4 address with an optional port: 203\.0\.113\.1:0$'
    run --turn-server 0.0.0.0 --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: --turn-server: 0\.0\.0\.0:3478 is not an address clients can reach$'
    run --turn-server 203.0.113.1 --turn-server 203.0.113.2 --turn-server 203.0.113.3 \
        --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: --turn-server: at most 2 \(an Introduction carries no more\)$'
    run --turn-server 203.0.113.1 203.0.113.2 --turn-secret-file "$tmp/secret"
    expect_one_line_failure '^rendezvous: .*203\.0\.113\.2.*\(see --help\)$'
    for ttl in 0 604801; do
        run --turn-server 203.0.113.1 --turn-secret-file "$tmp/secret" --turn-ttl "$ttl"
        expect_one_line_failure '^rendezvous: --turn-ttl must be between 1 and 604800 seconds$'
    done
    run --turn-server 203.0.113.1 --turn-secret-file "$tmp/secret" --turn-ttl abc
    expect_one_line_failure '^rendezvous: .*--turn-ttl.*abc.*\(see --help\)$'
    ;;
turn)
    # A coturn configuration file serves as the secret file; the default port is 3478.
    printf 'listening-port=3478\nuse-auth-secret\nstatic-auth-secret=sekrit\nrealm=x\n' >"$tmp/turnserver.conf"
    start --bind 127.0.0.1 --port 0 --turn-server 203.0.113.1 --turn-server 203.0.113.2:3479 \
        --turn-secret-file "$tmp/turnserver.conf"
    i=0
    while [ "$(lines "$tmp/server.err")" -lt 2 ] && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    sed -n 2p "$tmp/server.err" |
        grep -Eq '^rendezvous: granting TURN relays on 203\.0\.113\.1:3478, 203\.0\.113\.2:3479 \(credentials valid 86400 s\)$' ||
        fail "the second line does not say which TURN servers are granted"
    grep -q sekrit "$tmp/server.err" && fail "the secret was printed"
    kill -s TERM "$pid" || fail "cannot signal the server"
    wait "$pid"
    code=$?
    pids=""
    [ "$code" -eq 0 ] || fail "exit code $code after SIGTERM, expected 0"
    tail -n 1 "$tmp/server.err" | grep -Eq ' relay_grants=0 relay_offers_forwarded=0 ' ||
        fail "the stats line lacks the relay counters"
    ;;
port_in_use)
    start --bind 127.0.0.1 --port 0
    run --bind 127.0.0.1 --port "$port"
    expect_one_line_failure "^rendezvous: cannot bind 127\.0\.0\.1:$port: "
    stop_with TERM
    ;;
help)
    run --help
    [ "$rc" -eq 0 ] || fail "exit code $rc, expected 0"
    for opt in --bind --port --refresh-ms --expiry-ms --max-names --log-level --stats-interval \
        --turn-server --turn-secret-file --turn-ttl --version; do
        grep -q -- "$opt" "$tmp/out" || fail "help does not mention $opt"
    done
    [ -s "$tmp/err" ] && fail "expected nothing on stderr"
    ;;
version)
    run --version
    [ "$rc" -eq 0 ] || fail "exit code $rc, expected 0"
    grep -Eq '^rendezvous [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "no version line"
    ;;
listen_default)
    start --port 0
    [ "$(lines "$tmp/server.err")" -eq 1 ] || fail "expected exactly one line at start"
    grep -Eq '^rendezvous: listening on 0\.0\.0\.0:[1-9][0-9]*$' "$tmp/server.err" ||
        fail "the listening line is not 'rendezvous: listening on 0.0.0.0:PORT'"
    stop_with TERM
    ;;
stop_on_signal)
    start --bind 127.0.0.1 --port 0
    stop_with TERM
    start --bind 127.0.0.1 --port 0
    stop_with INT
    ;;
*)
    fail "unknown case $2"
    ;;
esac
echo "PASS"
