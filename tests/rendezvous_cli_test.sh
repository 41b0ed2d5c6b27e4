#!/bin/bash
# Command-line tests of the rendezvous binary: exit codes and the exact lines it prints.
# Usage: rendezvous_cli_test.sh PATH_TO_RENDEZVOUS CASE   (cases: see the `case` at the end)
# Servers bind 127.0.0.1 (listen_default binds 0.0.0.0 but sends nothing) and are stopped on exit.
set -u
bin=$1
lib=$(cd "$(dirname "$0")/../scripts/lib" && pwd)
# shellcheck source=scripts/lib/scratch.sh
. "$lib/scratch.sh"
# shellcheck source=scripts/lib/rendezvous.sh
. "$lib/rendezvous.sh"
scratch_start
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

# Starts a server with exactly these options in the background, logging to $tmp/server.err,
# and waits for its banner (scripts/lib/rendezvous.sh). Sets pid, port and key.
start() {
    run_rendezvous "$tmp/server.err" "$bin" "$@" || fail "no listening line"
    pid=$RENDEZVOUS_PID
    pids+=("$pid")
    port=$RENDEZVOUS_PORT
    key=$RENDEZVOUS_KEY
}

# Sends signal $1 to the server and requires exit 0 with a final stats line.
stop_with() {
    kill -s "$1" "$pid" || fail "cannot signal the server"
    wait "$pid"
    code=$?
    pids=()
    [ "$code" -eq 0 ] || fail "exit code $code after SIG$1, expected 0"
    [ "$(grep -vc '^rendezvous: ' "$tmp/server.err")" -eq 1 ] ||
        fail "expected the start-up lines and one stats line"
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
    run --max-requests-per-ip 0
    expect_one_line_failure '^rendezvous: --max-requests-per-ip must be at least 1$'
    run --max-introductions-per-ip 0
    expect_one_line_failure '^rendezvous: --max-introductions-per-ip must be at least 1$'
    run --max-party-members 17
    expect_one_line_failure '^rendezvous: --max-party-members must be between 2 and 16$'
    run --max-parties-per-ip 0
    expect_one_line_failure '^rendezvous: --max-parties-per-ip must be at least 1$'
    run --party-ttl-ms 1000
    expect_one_line_failure '^rendezvous: --party-ttl-ms must be at least 2000$'
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
    for ttl in 0 3601; do
        run --turn-server 203.0.113.1 --turn-secret-file "$tmp/secret" --turn-ttl "$ttl"
        expect_one_line_failure '^rendezvous: --turn-ttl must be between 1 and 3600 seconds$'
    done
    run --grant-rate 0
    expect_one_line_failure '^rendezvous: --grant-rate must be positive$'
    run --name-grant-burst 0.5
    expect_one_line_failure '^rendezvous: --name-grant-burst must be at least 1$'
    run --turn-server 203.0.113.1 --turn-secret-file "$tmp/secret" --turn-ttl abc
    expect_one_line_failure '^rendezvous: .*--turn-ttl.*abc.*\(see --help\)$'
    ;;
turn)
    # A coturn configuration file serves as the secret file; the default port is 3478.
    printf 'listening-port=3478\nuse-auth-secret\nstatic-auth-secret=sekrit\nrealm=x\n' >"$tmp/turnserver.conf"
    start --bind 127.0.0.1 --port 0 --turn-server 203.0.113.1 --turn-server 203.0.113.2:3479 \
        --turn-secret-file "$tmp/turnserver.conf"
    i=0
    while ! grep -q "granting" "$tmp/server.err" && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    grep -A1 'listening on' "$tmp/server.err" | sed -n 2p |
        grep -Eq '^rendezvous: granting TURN relays on 203\.0\.113\.1:3478, 203\.0\.113\.2:3479 \(credentials valid 600 s\)$' ||
        fail "the line after the banner does not say which TURN servers are granted"
    grep -q sekrit "$tmp/server.err" && fail "the secret was printed"
    kill -s TERM "$pid" || fail "cannot signal the server"
    wait "$pid"
    code=$?
    pids=()
    [ "$code" -eq 0 ] || fail "exit code $code after SIGTERM, expected 0"
    tail -n 1 "$tmp/server.err" | grep -Eq ' relay_grants=0 relay_grants_refused=0 relay_renewals=0 .* relay_offers_forwarded=0 .* standing_relays_forwarded=0 ' ||
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
        --turn-server --turn-secret-file --turn-ttl --no-standing-relays --grant-rate --grant-burst --name-grant-rate \
        --name-grant-burst --key-file --print-public-key --version \
        --max-requests --max-requests-per-ip --max-requests-per-name --request-ttl-ms; do
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
    # Without --key-file: a warning that the key is this run's alone, then the banner.
    start --port 0
    [ "$(lines "$tmp/server.err")" -eq 2 ] || fail "expected exactly two lines at start"
    sed -n 1p "$tmp/server.err" |
        grep -Eq '^rendezvous: warning: no --key-file: .*ephemeral.*every restart$' ||
        fail "the first line does not warn that the key changes on every restart"
    sed -n 2p "$tmp/server.err" |
        grep -Eq '^rendezvous: listening on 0\.0\.0\.0:[1-9][0-9]* key [0-9a-f]{64}$' ||
        fail "the listening line is not 'rendezvous: listening on 0.0.0.0:PORT key HEX'"
    first=$key
    stop_with TERM
    start --bind 127.0.0.1 --port 0
    [ "$key" != "$first" ] || fail "two runs without --key-file announced the same key"
    stop_with TERM
    ;;
key_file)
    # Created on the first start (mode 0600), then the same key on every start and when printed.
    # Key files live in $tmp/keys, which fail() does not print.
    mkdir "$tmp/keys"
    file=$tmp/keys/rendezvous.key
    start --bind 127.0.0.1 --port 0 --key-file "$file"
    [ "$(lines "$tmp/server.err")" -eq 2 ] || fail "expected exactly two lines at start"
    sed -n 1p "$tmp/server.err" | grep -Fxq "rendezvous: created key file $file" ||
        fail "the first line does not say the key file was created"
    [ "$(stat -c %a "$file")" = 600 ] || fail "the key file's mode is $(stat -c %a "$file"), not 600"
    grep -Eqx '[0-9a-f]{64}' "$file" || fail "the key file is not 64 hex digits"
    [ "$(ls -A "$tmp/keys")" = rendezvous.key ] || fail "files left beside the key: $(ls -A "$tmp/keys")"
    grep -qf "$file" "$tmp/server.err" && fail "the secret key was printed"
    first=$key
    stop_with TERM
    start --bind 127.0.0.1 --port 0 --key-file "$file"
    [ "$(lines "$tmp/server.err")" -eq 1 ] || fail "expected only the banner on the second start"
    [ "$key" = "$first" ] || fail "the second start announced another key: $key, not $first"
    stop_with INT
    run --key-file "$file" --print-public-key
    [ "$rc" -eq 0 ] || fail "--print-public-key: exit code $rc, expected 0"
    [ "$(cat "$tmp/out")" = "$first" ] || fail "--print-public-key printed another key than the banner"
    [ "$(lines "$tmp/out")" -eq 1 ] || fail "--print-public-key: expected one line on stdout"
    [ -s "$tmp/err" ] && fail "--print-public-key: expected nothing on stderr"
    ;;
key_print)
    # Before the first start: --print-public-key creates the file, opens no socket, and the
    # server then announces that key.
    mkdir "$tmp/keys"
    file=$tmp/keys/rendezvous.key
    start --bind 127.0.0.1 --port 0
    # The port is taken: had it tried to bind it, it would fail.
    run --key-file "$file" --bind 127.0.0.1 --port "$port" --print-public-key
    [ "$rc" -eq 0 ] || fail "--print-public-key: exit code $rc, expected 0"
    stop_with TERM
    [ "$(lines "$tmp/out")" -eq 1 ] || fail "--print-public-key: expected one line on stdout"
    grep -Eqx '[0-9a-f]{64}' "$tmp/out" || fail "--print-public-key did not print 64 hex digits"
    [ "$(lines "$tmp/err")" -eq 1 ] || fail "--print-public-key: expected one line on stderr"
    grep -Fxq "rendezvous: created key file $file" "$tmp/err" ||
        fail "--print-public-key did not say that it created the key file"
    [ "$(stat -c %a "$file")" = 600 ] || fail "the key file's mode is $(stat -c %a "$file"), not 600"
    printed=$(cat "$tmp/out")
    run --key-file "$file" --print-public-key
    [ "$rc" -eq 0 ] || fail "--print-public-key: exit code $rc the second time, expected 0"
    [ "$(cat "$tmp/out")" = "$printed" ] || fail "--print-public-key printed another key the second time"
    start --bind 127.0.0.1 --port 0 --key-file "$file"
    [ "$key" = "$printed" ] || fail "the banner's key $key is not the printed $printed"
    stop_with TERM
    ;;
key_print_needs_file)
    run --print-public-key
    expect_one_line_failure '^rendezvous: --print-public-key needs --key-file$'
    ;;
key_group_readable)
    mkdir "$tmp/keys"
    file=$tmp/keys/rendezvous.key
    run --key-file "$file" --print-public-key
    [ "$rc" -eq 0 ] || fail "cannot create the key file"
    for mode in 640 604 660; do
        chmod "$mode" "$file"
        run --bind 127.0.0.1 --port 0 --key-file "$file"
        expect_one_line_failure "^rendezvous: --key-file: $file: permissions 0$mode .*: run chmod 600 $file\$"
        grep -qf "$file" "$tmp/err" && fail "the secret key was printed"
    done
    chmod 600 "$file"
    run --key-file "$file" --print-public-key
    [ "$rc" -eq 0 ] || fail "exit code $rc after chmod 600, expected 0"
    ;;
key_corrupt)
    mkdir "$tmp/keys"
    file=$tmp/keys/rendezvous.key
    for content in '' 'not a key' "$(printf '%063d' 0)" "$(printf '%065d' 0)" \
        "$(printf '%064d' 0) extra" "-----BEGIN OPENSSH PRIVATE KEY-----"; do
        printf '%s\n' "$content" >"$file"
        chmod 600 "$file"
        run --bind 127.0.0.1 --port 0 --key-file "$file"
        expect_one_line_failure "^rendezvous: --key-file: $file: not a key file \\(expected 64 hex digits\\)\$"
        [ "$(cat "$file")" = "$content" ] || fail "the corrupt key file was changed"
    done
    run --port 0 --key-file "$tmp/keys/missing/rendezvous.key"
    expect_one_line_failure "^rendezvous: --key-file: cannot create $tmp/keys/missing/rendezvous\\.key: No such file or directory\$"
    ;;
names_file)
    # A names file that does not parse stops the start with one line naming the line, and is
    # left as it was; a missing one is an empty table (created at the first binding).
    file=$tmp/names
    printf '# netcore rendezvous names v1\nalice nothex 1\n' >"$file"
    run --bind 127.0.0.1 --port 0 --names-file "$file"
    expect_one_line_failure "^rendezvous: --names-file: $file:2: the key is not 64 hex digits\$"
    [ "$(sed -n 2p "$file")" = "alice nothex 1" ] || fail "the malformed names file was changed"
    run --bind 127.0.0.1 --port 0 --names-file "$tmp"
    expect_one_line_failure "^rendezvous: --names-file: $tmp: not a regular file\$"
    run --bind 127.0.0.1 --port 0 --name-hold 0
    expect_one_line_failure "^rendezvous: --name-hold must be between 1 and [0-9]+ seconds\$"
    run --bind 127.0.0.1 --port 0 --max-owned-names 0
    expect_one_line_failure "^rendezvous: --max-owned-names must be at least 1\$"
    start --bind 127.0.0.1 --port 0 --names-file "$tmp/missing"
    grep -q "^loaded 0 owned names from $tmp/missing\$" "$tmp/server.err" || fail "no 'loaded' line"
    kill -s TERM "$pid" || fail "cannot signal the server"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM, expected 0"
    [ -e "$tmp/missing" ] && fail "a names file was written with no binding in it"
    run --help
    grep -q -- "--names-file" "$tmp/out" || fail "--help does not list --names-file"
    grep -q -- "--name-hold" "$tmp/out" || fail "--help does not list --name-hold"
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
