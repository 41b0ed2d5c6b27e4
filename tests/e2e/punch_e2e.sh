#!/usr/bin/env bash
# End-to-end tests of the punch program against a real rendezvous server, over 127.0.0.1.
#
#   punch_e2e.sh <punch> <rendezvous|none> <case>
#
# Cases:
#   alice-first  alice asks for bob while bob is offline; bob comes later and streams his input
#   bob-first    bob waits to be reached; alice asks for him
#   both-ask     alice and bob name each other, started together, 200 lines each way
#   timeout      --timeout 2 and a peer that never comes: exit 2, one line on stderr
#   unreachable  a server port nothing listens on: exit 2, one line naming server_unreachable
#   sigterm      SIGTERM while waiting for the peer: exit 143
#   owned-name   --name-key: a crashed punch's restart takes its name back at once; the binding
#                survives a restart of the rendezvous (--names-file) and refuses an unkeyed alice
#   ticket       --ticket: a file that holds no ticket is a warning; the run writes one, and the
#                next run from the same --port registers on it without a Challenge round trip
#   party        alice, bob and carol in one party (--party): every pair connects, each line
#                reaches both others as "name: line"; bob leaves, then the host alice: carol
#                hosts; each leaves at the end of its input with status 0
#   cli          bad arguments: exit 1 with exactly one stderr line; --help/--version exit 0
#                (needs no server: pass "none")
#
# Every process runs under `timeout`; the EXIT trap kills whatever is left and, on failure,
# prints the logs.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 <punch> <rendezvous|none> <case>" >&2
    exit 2
fi
PUNCH=$1
RENDEZVOUS=$2
CASE=$3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/punch_e2e.XXXXXX")
PIDS=()
declare -A PID=()
PORT=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ $rc -ne 0 ]]; then
        echo "punch_e2e $CASE: FAILED (exit $rc); logs:" >&2
        for f in "$WORK"/*.err "$WORK"/*.out; do
            [[ -e $f ]] || continue
            echo "--- ${f##*/}" >&2
            head -c 4000 "$f" >&2 || true
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "FAIL ($CASE): $*" >&2
    exit 1
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches.
wait_for() {
    local file=$1 regex=$2 deadline=$((SECONDS + $3))
    until grep -qE -- "$regex" "$file" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "no line matching '$regex' in ${file##*/} within $3 s"
        sleep 0.05
    done
}

# shellcheck source=scripts/lib/rendezvous.sh
source "$(dirname "$0")/../../scripts/lib/rendezvous.sh"

# start_server [ARGS...]: runs the rendezvous (with ARGS, under `timeout`) on an ephemeral port
# and sets PORT from its banner.
start_server() {
    [[ -x $RENDEZVOUS ]] || fail "rendezvous not found: $RENDEZVOUS"
    run_rendezvous "$WORK/server.err" timeout -k 2 120 "$RENDEZVOUS" --bind 127.0.0.1 --port 0 "$@" \
        >"$WORK/server.out" || fail "the rendezvous did not say where it listens"
    PIDS+=("$RENDEZVOUS_PID")
    PID[server]=$RENDEZVOUS_PID
    PORT=$RENDEZVOUS_PORT
    [[ $PORT -gt 0 ]] || fail "port $PORT in the banner"
}

stop_server() {
    kill "${PID[server]}" 2>/dev/null || true
    wait "${PID[server]}" 2>/dev/null || true
}

# start_punch TAG STDIN ARGS...: punch in the background, stdout/stderr in TAG.out/TAG.err.
start_punch() {
    local tag=$1 input=$2
    shift 2
    timeout -k 2 30 "$PUNCH" "$@" <"$input" >"$WORK/$tag.out" 2>"$WORK/$tag.err" &
    PIDS+=($!)
    PID[$tag]=$!
}

# finish TAG: waits for TAG's punch; sets RC.
finish() {
    RC=0
    wait "${PID[$1]}" || RC=$?
}

expect_exit() {  # TAG CODE
    finish "$1"
    [[ $RC -eq $2 ]] || fail "$1 exited $RC, expected $2"
}

expect_output() {  # TAG EXACT-LINE
    grep -qxF -- "$2" "$WORK/$1.out" || fail "$1's stdout lacks the line '$2'"
}

expect_progress() {  # TAG REGEX
    grep -qE -- "$2" "$WORK/$1.err" || fail "$1's stderr has no line matching '$2'"
}

expect_one_stderr_line() {  # TAG REGEX
    local lines
    lines=$(wc -l <"$WORK/$1.err")
    [[ $lines -eq 1 ]] || fail "$1 wrote $lines lines on stderr, expected exactly 1"
    grep -qE -- "$2" "$WORK/$1.err" || fail "$1's stderr line does not match '$2'"
}

# Both exit 0, each printed the other's lines, both said they connected.
expect_exchange() {  # A-LINES-FILE B-LINES-FILE
    expect_exit alice 0
    expect_exit bob 0
    cmp -s "$1" "$WORK/bob.out" || fail "bob's stdout differs from alice's input"
    cmp -s "$2" "$WORK/alice.out" || fail "alice's stdout differs from bob's input"
    expect_progress alice '^punch: connected to bob at [0-9.]+:[0-9]+ \((lan|direct)\)$'
    expect_progress bob '^punch: connected to alice at [0-9.]+:[0-9]+ \((lan|direct)\)$'
}

case $CASE in
alice-first)
    start_server
    printf 'hello from alice\n' >"$WORK/a.in"
    start_punch alice "$WORK/a.in" "127.0.0.1:$PORT" alice bob
    wait_for "$WORK/alice.err" '^punch: waiting for bob to come online$' 10
    # bob's input is a pipe: one line at once, another a second later, then EOF.
    printf 'hello from bob\nstill bob\n' >"$WORK/b.expected"
    { printf 'hello from bob\n'; sleep 1; printf 'still bob\n'; } \
        | timeout -k 2 30 "$PUNCH" "127.0.0.1:$PORT" bob >"$WORK/bob.out" 2>"$WORK/bob.err" &
    PIDS+=($!)
    PID[bob]=$!
    expect_exchange "$WORK/a.in" "$WORK/b.expected"
    expect_progress alice '^punch: registered as alice \(public [0-9.]+:[0-9]+\)$'
    expect_progress alice '^punch: introduced to bob at [0-9.]+:[0-9]+$'
    ;;
bob-first)
    start_server
    printf 'hello from alice\n' >"$WORK/a.in"
    printf 'hello from bob\n' >"$WORK/b.in"
    start_punch bob "$WORK/b.in" "127.0.0.1:$PORT" bob
    wait_for "$WORK/bob.err" '^punch: registered as bob ' 10
    start_punch alice "$WORK/a.in" "127.0.0.1:$PORT" alice bob
    expect_exchange "$WORK/a.in" "$WORK/b.in"
    ;;
both-ask)
    start_server
    seq -f 'alice %g' 1 200 >"$WORK/a.in"
    seq -f 'bob %g' 1 200 >"$WORK/b.in"
    start_punch alice "$WORK/a.in" "127.0.0.1:$PORT" alice bob
    start_punch bob "$WORK/b.in" "127.0.0.1:$PORT" bob alice
    expect_exchange "$WORK/a.in" "$WORK/b.in"
    ;;
timeout)
    start_server
    started=$SECONDS
    start_punch alice /dev/null --quiet --timeout 2 "127.0.0.1:$PORT" alice bob
    expect_exit alice 2
    elapsed=$((SECONDS - started))
    ((elapsed >= 1 && elapsed <= 8)) || fail "gave up after ${elapsed} s, expected about 2"
    expect_one_stderr_line alice '^punch: no connection to bob within 2 s: peer_not_online$'
    [[ ! -s $WORK/alice.out ]] || fail "alice wrote to stdout"
    ;;
unreachable)
    # A port that was just the rendezvous': nothing listens there any more.
    start_server
    stop_server
    start_punch alice /dev/null --quiet --timeout 3 "127.0.0.1:$PORT" alice bob
    expect_exit alice 2
    expect_one_stderr_line alice '^punch: .*server_unreachable\)?$'
    ;;
sigterm)
    start_server
    start_punch alice /dev/null "127.0.0.1:$PORT" alice bob
    wait_for "$WORK/alice.err" '^punch: waiting for bob to come online$' 10
    kill -TERM "${PID[alice]}"  # `timeout` passes it on to punch
    expect_exit alice 143
    ;;
owned-name)
    start_server --names-file "$WORK/names"
    start_punch alice /dev/null --timeout 0 --name-key "$WORK/alice.key" "127.0.0.1:$PORT" alice
    wait_for "$WORK/alice.err" '^punch: registered as alice ' 10
    expect_progress alice "^punch: created name key $WORK/alice.key "
    [[ $(stat -c %a "$WORK/alice.key") == 600 ]] || fail "the name key file is not mode 600"
    grep -qE '^[0-9a-f]{64}$' "$WORK/alice.key" || fail "the name key file is not 64 hex digits"
    # The game crashes (no Unregister): its restart, on another port, is not told name_taken.
    # SIGKILL goes to punch itself: killing its `timeout` wrapper would leave punch running.
    pkill -KILL -P "${PID[alice]}"
    wait "${PID[alice]}" || true
    start_punch alice2 /dev/null --timeout 0 --name-key "$WORK/alice.key" "127.0.0.1:$PORT" alice
    wait_for "$WORK/alice2.err" '^punch: registered as alice ' 5
    kill -TERM "${PID[alice2]}"
    expect_exit alice2 143
    # The rendezvous restarts: the binding was written, and is read back.
    stop_server
    grep -qE '^alice [0-9a-f]{64} [0-9]+$' "$WORK/names" || fail "alice is not in the names file"
    [[ $(stat -c %a "$WORK/names") == 600 ]] || fail "the names file is not mode 600"
    start_server --names-file "$WORK/names"
    start_punch mallory /dev/null --timeout 5 "127.0.0.1:$PORT" alice
    expect_exit mallory 2
    expect_progress mallory "^punch: the rendezvous refused the name 'alice': name_owned"
    start_punch alice3 /dev/null --timeout 0 --name-key "$WORK/alice.key" "127.0.0.1:$PORT" alice
    wait_for "$WORK/alice3.err" '^punch: registered as alice ' 5
    kill -TERM "${PID[alice3]}"
    expect_exit alice3 143
    # A name key others may read is refused, as the rendezvous refuses its own key file.
    chmod 640 "$WORK/alice.key"
    start_punch alice4 /dev/null --name-key "$WORK/alice.key" "127.0.0.1:$PORT" alice
    expect_exit alice4 1
    expect_one_stderr_line alice4 "^punch: --name-key: $WORK/alice.key: permissions 0640 are too open"
    ;;
ticket)
    start_server
    echo 'not a ticket' >"$WORK/ticket"
    start_punch alice /dev/null --timeout 0 --ticket "$WORK/ticket" "127.0.0.1:$PORT" alice
    wait_for "$WORK/alice.err" '^punch: registered as alice ' 10
    expect_progress alice "^punch: warning: the ticket file $WORK/ticket holds no ticket: ignored$"
    grep -qE '^[0-9a-f]{162}$' "$WORK/ticket" || fail "the ticket file does not hold a ticket"
    [[ $(stat -c %a "$WORK/ticket") == 600 ]] || fail "the ticket file is not mode 600"
    local_port=$(sed -nE 's/^punch: registered as alice \(public 127\.0\.0\.1:([0-9]+)\)$/\1/p' \
        "$WORK/alice.err")
    [[ -n $local_port ]] || fail "no public port in alice's registered line"
    kill -TERM "${PID[alice]}"
    expect_exit alice 143
    # The next run, from the same port (the same public address), within the cookie's life.
    start_punch alice2 /dev/null --timeout 0 --port "$local_port" --ticket "$WORK/ticket" \
        "127.0.0.1:$PORT" alice
    wait_for "$WORK/alice2.err" '^punch: registered as alice ' 5
    expect_progress alice2 '^punch: registered on the ticket: no Challenge round trip$'
    kill -TERM "${PID[alice2]}"
    expect_exit alice2 143
    ;;
party)
    start_server
    declare -A IN=()
    members=(alice bob carol)
    # Each member's stdin is a FIFO held open here, so that it stays in the party until we close
    # it, and sends its line only once everybody is connected.
    for name in "${members[@]}"; do
        mkfifo "$WORK/$name.in"
        # Without the others' FIFO ends, or those would never see their input end.
        (
            for fd in "${IN[@]}"; do eval "exec $fd>&-"; done
            exec timeout -k 2 30 "$PUNCH" --party club "127.0.0.1:$PORT" "$name" \
                <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err"
        ) &
        PIDS+=($!)
        PID[$name]=$!
        exec {fd}>"$WORK/$name.in"
        IN[$name]=$fd
        wait_for "$WORK/$name.err" '^punch: joined party club \(host alice\)$' 10
    done
    expect_progress alice '^punch: bob joined$'
    expect_progress alice '^punch: carol joined$'
    expect_progress bob '^punch: carol joined$'
    for name in "${members[@]}"; do
        for peer in "${members[@]}"; do
            [[ $peer == "$name" ]] && continue
            wait_for "$WORK/$name.err" "^punch: connected to $peer at [0-9.]+:[0-9]+ \((lan|direct)\)\$" 10
        done
    done
    for name in "${members[@]}"; do printf 'hello from %s\n' "$name" >&"${IN[$name]}"; done
    for name in "${members[@]}"; do
        for peer in "${members[@]}"; do
            [[ $peer == "$name" ]] && continue
            wait_for "$WORK/$name.out" "^$peer: hello from $peer\$" 10
        done
    done
    # bob leaves; then alice, the host: carol, the only one left, hosts.
    eval "exec ${IN[bob]}>&-"
    expect_exit bob 0
    expect_progress bob '^punch: end of input; leaving party club$'
    wait_for "$WORK/alice.err" '^punch: bob left$' 10
    wait_for "$WORK/carol.err" '^punch: bob left$' 10
    eval "exec ${IN[alice]}>&-"
    expect_exit alice 0
    wait_for "$WORK/carol.err" '^punch: alice left$' 10
    wait_for "$WORK/carol.err" '^punch: host is now carol$' 10
    eval "exec ${IN[carol]}>&-"
    expect_exit carol 0
    for name in "${members[@]}"; do
        [[ $(wc -l <"$WORK/$name.out") -eq 2 ]] || fail "$name printed other lines than the two members' hello"
    done
    ;;
cli)
    # check_usage EXPECTED-CODE ARGS...: exactly one line on stderr, "punch: ..." and a hint.
    check_usage() {
        local want=$1
        shift
        local rc=0
        timeout 10 "$PUNCH" "$@" </dev/null >"$WORK/cli.out" 2>"$WORK/cli.err" || rc=$?
        [[ $rc -eq $want ]] || fail "punch $* exited $rc, expected $want"
        local lines
        lines=$(wc -l <"$WORK/cli.err")
        [[ $lines -eq 1 ]] || fail "punch $* wrote $lines lines on stderr, expected 1"
        grep -qE '^punch: .+--help' "$WORK/cli.err" || fail "punch $*: unexpected message: $(cat "$WORK/cli.err")"
        [[ ! -s $WORK/cli.out ]] || fail "punch $* wrote to stdout"
    }
    check_usage 1
    check_usage 1 127.0.0.1
    check_usage 1 127.0.0.1 'bad name'
    check_usage 1 127.0.0.1 alice 'bob!'
    check_usage 1 127.0.0.1 alice alice
    check_usage 1 127.0.0.1 alice bob carol
    check_usage 1 127.0.0.1:0 alice
    check_usage 1 127.0.0.1:99999 alice
    check_usage 1 --timeout soon 127.0.0.1 alice
    check_usage 1 --timeout -1 127.0.0.1 alice
    check_usage 1 --punch-timeout 0 127.0.0.1 alice
    check_usage 1 --port 65536 127.0.0.1 alice
    check_usage 1 --no-such-option 127.0.0.1 alice
    check_usage 1 127.0.0.1 a-name-that-is-longer-than-32-bytes
    check_usage 1 --party club 127.0.0.1 alice bob
    check_usage 1 --party 'bad party' 127.0.0.1 alice
    check_usage 1 --admit 127.0.0.1 alice
    check_usage 1 --party club --accept bob 127.0.0.1 alice
    check_usage 1 127.0.0.1 alice --party

    rc=0
    timeout 10 "$PUNCH" --help >"$WORK/help.out" 2>"$WORK/help.err" || rc=$?
    [[ $rc -eq 0 ]] || fail "--help exited $rc"
    grep -q '^Usage: punch' "$WORK/help.out" || fail "--help printed no usage on stdout"
    grep -q -- '--party NAME' "$WORK/help.out" || fail "--help does not list --party"
    [[ ! -s $WORK/help.err ]] || fail "--help wrote to stderr"

    rc=0
    timeout 10 "$PUNCH" --version >"$WORK/version.out" 2>"$WORK/version.err" || rc=$?
    [[ $rc -eq 0 ]] || fail "--version exited $rc"
    grep -qE '^punch [0-9]+\.[0-9]+\.[0-9]+$' "$WORK/version.out" || fail "--version printed: $(cat "$WORK/version.out")"
    ;;
*)
    fail "unknown case '$CASE'"
    ;;
esac

echo "punch_e2e $CASE: ok"
