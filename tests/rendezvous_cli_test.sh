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
        --version; do
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
