# shellcheck shell=bash
# punchlib.sh — run the rendezvous server and punch clients inside a lab built by lab.sh.
# Sourced by scenario.sh and bench/natlab_bench.sh, after lab.sh.
#
# Every process gets a tag (its log files' name in $NL_LOGDIR): TAG.out is its stdout, TAG.err
# its stderr with each line prefixed by the wall-clock time it was read (EPOCHREALTIME, µs), and
# a punch's stdin is the FIFO TAG.in, which we hold open until nl_close TAG. With NL_ARRIVALS=1
# (set before nl_punch), TAG.arrivals also has each stdout line, prefixed by the time it was read.
#
# Needs: NL_RENDEZVOUS, NL_PUNCH (the binaries), NL_LOGDIR (a directory of our own).

NL_PORT=7777                       # the rendezvous port (PROTOCOL.md's default)
NL_SERVER="$LAB_SERVER_IP:$NL_PORT"
declare -gA NL_PID=()              # tag -> pid
declare -gA NL_STARTED=()          # tag -> $EPOCHREALTIME just before nl_punch started it
declare -gA NL_FD=()               # tag -> our write end of its stdin FIFO
declare -gA NL_RC=()               # tag -> exit status once reaped
declare -ga NL_TURN_ARGS=()        # the rendezvous' TURN options, once nl_start_turn ran
declare -gA NL_STREAM=()           # tag -> pid of its line stream's writer (nl_stream_start)
NL_ARRIVALS=${NL_ARRIVALS:-0}      # 1: nl_punch also time-stamps stdout into TAG.arrivals
NL_TICKETS=${NL_TICKETS:-}         # a directory: each node's punch resumes (--ticket NODE.ticket,
                                   # always from local port 40200; PROTOCOL.md §6 step 1)
NL_STANDING=${NL_STANDING:-0}      # 1: every punch holds a standing relay (--standing-relay), and
                                   # nl_pair's B has it up before A asks (a player already online)
NL_STREAM_CHECK="$LAB_DIR/stream_check.awk"

# ---- punch's progress lines that the lab reads (punch/README.md), in one place --------------
#   punch: registered as NAME (public ADDR)
#   punch: introduced to PEER at ADDR
#   punch: connected to PEER at ADDR (PATH)          PATH: lan, direct, relay (issue 6)
#   punch: path changed: PATH ADDR                   the session moved to another path (issue 6)
#   punch: SENTENCE (ERROR_CODE)                     a failure, last line
# and with --party (issue 12), where a failure naming a member is not the last line:
#   punch: joined party PARTY (host HOST)
#   punch: PEER joined | punch: PEER left | punch: host is now HOST
#   punch: path to PEER changed: PATH ADDR
#   stdout: PEER: LINE                               a line PEER sent to the party
# (Older scenarios still spell the first three inline.)

# nl_connected_path TAG PEER: the PATH of TAG's "connected to PEER" line; empty if none.
nl_connected_path() {
    nl_line "$1" "punch: connected to $2 at" | sed -n 's/.* (\([a-z_]*\))$/\1/p'
}

# nl_mark TAG: the number of stderr lines TAG has written so far; nl_*_after read only later
# lines (a member that rejoins, or a pair that reconnects, prints its lines again).
nl_mark() { wc -l <"$NL_LOGDIR/$1.err" 2>/dev/null || echo 0; }

# nl_line_after TAG MARK REGEX: the first stderr line after MARK matching REGEX, no time stamp.
nl_line_after() {
    tail -n +"$(($2 + 1))" "$NL_LOGDIR/$1.err" 2>/dev/null | grep -E -m1 -- "$3" | cut -d' ' -f2-
}

# nl_wait_after TAG MARK REGEX SECONDS: wait until a stderr line after MARK matches REGEX.
nl_wait_after() {
    local end=$((SECONDS + ${4%.*} + 1))
    while ((SECONDS < end)); do
        [[ -n $(nl_line_after "$1" "$2" "$3") ]] && return 0
        sleep 0.05
    done
    [[ -n $(nl_line_after "$1" "$2" "$3") ]]
}

# nl_connected_path_after TAG MARK PEER: the PATH of TAG's first "connected to PEER" after MARK.
nl_connected_path_after() {
    nl_line_after "$1" "$2" "punch: connected to $3 at" | sed -n 's/.* (\([a-z_]*\))$/\1/p'
}

# nl_matrix_path TYPE_A TYPE_B RELAY: the path docs/NAT.md's matrix predicts for a pair of NAT
# types (either way round), with a relay granted (RELAY 1) or not (0, then "fail" where only a
# relay gets through). The pair cells in tests/CMakeLists.txt spell the same table.
nl_matrix_path() {
    local a=$1 b=$2 relay=$3 other
    # Only a peer that accepts the symmetric side's unknown port (public, full cone) lets it in.
    if [[ $a == same-router && $b == same-router ]]; then
        echo lan
        return
    fi
    if [[ $a == symmetric || $b == symmetric ]]; then
        other=$a
        [[ $a == symmetric ]] && other=$b
        case $other in
            public | full-cone) echo direct ;;
            *) if ((relay)); then echo relay; else echo fail; fi ;;
        esac
        return
    fi
    echo direct
}

# nl_path_changed_re PATH: a regex for the line punch prints when its session moves to PATH.
nl_path_changed_re() { echo "punch: path changed: $1( |\$)"; }

# Stamp each line with the time it arrived: lets a test or the benchmark time the phases
# without punch printing times itself.
_nl_stamp() {
    local line
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}

# Children must not inherit our ends of other punches' FIFOs, or those would never see EOF.
_nl_close_fds() {
    local fd
    for fd in "${NL_FD[@]}"; do eval "exec $fd>&-"; done
}

# nl_start_turn [lab_turn_up OPTIONS...]: coturn on its public host (log: turnserver.log in
# NL_LOGDIR); the rendezvous started after this hands its clients TURN credentials for it:
# --turn-server IP:3478 --turn-secret-file FILE (and --turn-ttl $NATLAB_TURN_TTL if set).
nl_start_turn() {
    lab_turn_up --log "$NL_LOGDIR/turnserver.log" "$@"
    # The soaks make hundreds of introductions from the two routers' IPs within minutes, far
    # beyond what the grant limits let one IP or name have (docs/RENDEZVOUS.md): lifted here.
    NL_TURN_ARGS=(--turn-server "$LAB_TURN_IP:$LAB_TURN_PORT" --turn-secret-file "$LAB_TURN_SECRET_FILE"
        --grant-rate 1000 --grant-burst 1000 --name-grant-rate 1000 --name-grant-burst 1000)
    [[ -n ${NATLAB_TURN_TTL:-} ]] && NL_TURN_ARGS+=(--turn-ttl "$NATLAB_TURN_TTL")
    return 0
}

# nl_start_rendezvous [ARGS...]: rendezvous on the server host; waits until it listens. With
# coturn up (nl_start_turn), it is given coturn's address and secret.
nl_start_rendezvous() {
    local tag=rendezvous
    (
        _nl_close_fds
        exec ip netns exec "$(lab_ns srv)" "$NL_RENDEZVOUS" --bind "$LAB_SERVER_IP" --port "$NL_PORT" \
            "${NL_TURN_ARGS[@]}" "$@" \
            </dev/null >"$NL_LOGDIR/$tag.out" 2> >(_nl_stamp >"$NL_LOGDIR/$tag.err")
    ) &
    NL_PID[$tag]=$!
    lab_wait_for "$NL_LOGDIR/$tag.err" "rendezvous: listening on $LAB_SERVER_IP:$NL_PORT" 5 ||
        nl_fail "the rendezvous server did not start"
    # Its public key, from the banner: every punch pins it, as a shipped game would.
    NL_SERVER_KEY=$(sed -n 's/.*listening on [0-9.]*:[0-9]* key \([0-9a-f]\{64\}\).*/\1/p' \
        "$NL_LOGDIR/$tag.err" | head -n1)
    [[ -n $NL_SERVER_KEY ]] || nl_fail "the rendezvous banner carries no key"
}

# nl_punch TAG NODE ARGS...: start punch in NODE with ARGS (server, names, options).
nl_punch() {
    local tag=$1 node=$2 fifo fd
    shift 2
    fifo="$NL_LOGDIR/$tag.in"
    rm -f "$fifo"
    mkfifo "$fifo"
    : >"$NL_LOGDIR/$tag.err"
    local -a cmd=(ip netns exec "$(lab_ns "$node")" "$NL_PUNCH" ${NL_SERVER_KEY:+--server-key "$NL_SERVER_KEY"})
    [[ -n $NL_TICKETS ]] && cmd+=(--port 40200 --ticket "$NL_TICKETS/$node.ticket")
    ((NL_STANDING)) && cmd+=(--standing-relay)
    cmd+=("$@")
    NL_STARTED[$tag]=$EPOCHREALTIME
    if ((NL_ARRIVALS)); then
        : >"$NL_LOGDIR/$tag.arrivals"
        (
            _nl_close_fds
            # tee writes what it reads at once: TAG.out is as prompt as without it.
            exec "${cmd[@]}" <"$fifo" > >(tee "$NL_LOGDIR/$tag.out" | _nl_stamp >"$NL_LOGDIR/$tag.arrivals") \
                2> >(_nl_stamp >"$NL_LOGDIR/$tag.err")
        ) &
    else
        (
            _nl_close_fds
            exec "${cmd[@]}" <"$fifo" >"$NL_LOGDIR/$tag.out" 2> >(_nl_stamp >"$NL_LOGDIR/$tag.err")
        ) &
    fi
    NL_PID[$tag]=$!
    exec {fd}>"$fifo"
    NL_FD[$tag]=$fd
}

# nl_member TAG NODE NAME PARTY [PUNCH_OPTS...]: NAME joins PARTY from NODE (punch --party).
nl_member() {
    local tag=$1 node=$2 name=$3 party=$4
    shift 4
    nl_punch "$tag" "$node" "$@" --party "$party" "$NL_SERVER" "$name"
}

# nl_send TAG LINE: one line on TAG's stdin (it goes to the peer).
nl_send() { printf '%s\n' "$2" >&"${NL_FD[$1]}"; }

# nl_close TAG: end TAG's stdin.
nl_close() {
    local fd=${NL_FD[$1]:-}
    [[ -n $fd ]] || return 0
    eval "exec $fd>&-"
    unset "NL_FD[$1]"
}

# nl_wait_exit TAG SECONDS: wait for TAG to exit; its status goes into NL_RC[TAG] (124 when it
# had to be killed). Returns 0 if it exited by itself.
nl_wait_exit() {
    local tag=$1 limit=$2 pid=${NL_PID[$1]} end rc
    end=$(($(date +%s%N) / 1000000 + ${limit%.*} * 1000))
    while kill -0 "$pid" 2>/dev/null && (($(date +%s%N) / 1000000 < end)); do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        NL_RC[$tag]=124
        return 1
    fi
    wait "$pid"
    rc=$?
    NL_RC[$tag]=$rc
    return 0
}

# nl_stop TAG: SIGTERM (by its pid) and reap.
nl_stop() {
    local pid=${NL_PID[$1]:-}
    nl_close "$1"
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    NL_RC[$1]=${NL_RC[$1]:-stopped}
}

# nl_line TAG REGEX: the first stderr line of TAG matching REGEX, without its time stamp.
nl_line() { grep -E -m1 -- "$2" "$NL_LOGDIR/$1.err" 2>/dev/null | cut -d' ' -f2-; }

# nl_time TAG REGEX: the time stamp of that line.
nl_time() { grep -E -m1 -- "$2" "$NL_LOGDIR/$1.err" 2>/dev/null | cut -d' ' -f1; }

# Print every log, for a failure report. A long stdout (a line stream's) shows its first and
# last lines only; the whole file stays in NL_LOGDIR.
nl_dump_logs() {
    local f n
    for f in "$NL_LOGDIR"/*.err "$NL_LOGDIR"/*.out; do
        [[ -s $f ]] || continue
        echo "---- ${f##*/}" >&2
        n=$(wc -l <"$f")
        if [[ $f == *.out ]] && ((n > 60)); then
            head -n 10 "$f" >&2
            echo "... ($((n - 30)) lines more; the whole file: $f)" >&2
            tail -n 20 "$f" >&2
        else
            cat "$f" >&2
        fi
    done
}

# The reason comes first and again after the logs, where a reader of a long report looks.
nl_fail() {
    echo "natlab: FAIL: $*" >&2
    nl_dump_logs
    lab_dump
    echo "natlab: FAIL: $*" >&2
    exit 1
}

# ---- a line stream (issue 13): a numbered line every 100 ms, judged at the other side --------
# The sender's lines are "TAG SEQ TIME" (SEQ from 1, TIME its EPOCHREALTIME when written to the
# punch's stdin), each also logged to TAG.sent as "SEQ TIME"; punch sends them on the reliable
# channel (ordered) and the receiver prints them on stdout as they are. The receiver must run
# with NL_ARRIVALS=1, so that its TAG.arrivals has the time each line came out.

# nl_stream_start TAG [INTERVAL_MS]: TAG sends a stream line every INTERVAL_MS (100) from now
# until nl_stream_stop TAG. Each line's time is planned from the start, so the pace does not drift.
nl_stream_start() {
    local tag=$1 interval_us=$((${2:-100} * 1000)) fd=${NL_FD[$1]}
    local sent="$NL_LOGDIR/$tag.sent" stop="$NL_LOGDIR/$tag.stream-stop"
    : >"$sent"
    rm -f "$stop"
    (
        trap - EXIT INT TERM
        # Hold no other punch's stdin open, or that punch would never see its end.
        local f seq=0 start now wait
        for f in "${NL_FD[@]}"; do [[ $f == "$fd" ]] || eval "exec $f>&-"; done
        start=${EPOCHREALTIME/./}
        while [[ ! -e $stop ]]; do
            seq=$((seq + 1))
            now=$EPOCHREALTIME
            # One write() each (well below PIPE_BUF): a line is never torn. A punch that ended
            # ends the writer (EPIPE).
            printf '%s %d %s\n' "$tag" "$seq" "$now" 1>&"$fd" 2>/dev/null || break
            printf '%d %s\n' "$seq" "$now" >>"$sent"
            wait=$((start + seq * interval_us - ${EPOCHREALTIME/./}))
            ((wait > 0)) && sleep "$((wait / 1000000)).$(printf '%06d' $((wait % 1000000)))"
        done
    ) &
    NL_STREAM[$tag]=$!
}

# nl_stream_stop TAG...: the streams send no more lines; returns once their writers are done.
nl_stream_stop() {
    local tag
    for tag in "$@"; do [[ -n ${NL_STREAM[$tag]:-} ]] && touch "$NL_LOGDIR/$tag.stream-stop"; done
    for tag in "$@"; do
        [[ -n ${NL_STREAM[$tag]:-} ]] || continue
        wait "${NL_STREAM[$tag]}" 2>/dev/null
        unset "NL_STREAM[$tag]"
    done
}

# nl_stream_sent TAG: the SEQ of TAG's last stream line (0 before the first).
nl_stream_sent() { tail -n1 "$NL_LOGDIR/$1.sent" 2>/dev/null | awk '{ print $1 + 0; exit } END { if (!NR) print 0 }'; }

# nl_stream_top FROM TO: the highest SEQ of FROM's stream that TO has printed (0 if none).
nl_stream_top() {
    awk -v from="$1" '$2 == from && $3 + 0 > top { top = $3 + 0 } END { print top + 0 }' \
        "$NL_LOGDIR/$2.arrivals" 2>/dev/null || echo 0
}

# nl_stream_reach FROM TO SEQ SECONDS: wait until TO has printed FROM's line SEQ or a later one.
nl_stream_reach() {
    local end=$((SECONDS + ${4%.*} + 1))
    while ((SECONDS < end)); do
        (($(nl_stream_top "$1" "$2") >= $3)) && return 0
        sleep 0.1
    done
    (($(nl_stream_top "$1" "$2") >= $3))
}

# nl_stream_check FROM TO: FROM's stream as TO printed it (stream_check.awk). Sets
# NL_STREAM_WHY (empty when every line sent arrived once and in order), NL_STREAM_PAUSE (s, the
# longest gap between consecutive arrivals; when the last lines never came, at least the time
# since the last arrival, and NL_STREAM_OPEN=1) and NL_STREAM_SUMMARY (one line, for lab_say).
nl_stream_check() {
    local from=$1 to=$2 out sent lost missing dups order pause after open delay
    out=$(awk -v from="$from" -v end="$EPOCHREALTIME" -f "$NL_STREAM_CHECK" "$NL_LOGDIR/$from.sent" \
        "$NL_LOGDIR/$to.arrivals" 2>&1)
    # shellcheck disable=SC2001 # a pattern per field, not one string
    read -r sent _ lost missing dups order pause after open delay <<<"$(sed 's/[a-z]*=//g' <<<"$out")"
    # shellcheck disable=SC2034 # read by the scenarios
    NL_STREAM_WHY="" NL_STREAM_PAUSE=${pause:-0} NL_STREAM_OPEN=${open:-0}
    if [[ ! $out =~ ^sent= ]]; then
        NL_STREAM_WHY="$from -> $to: the checker failed: $out"
        NL_STREAM_SUMMARY=$NL_STREAM_WHY
        return
    fi
    ((sent > 0)) || NL_STREAM_WHY+="$from sent no stream line; "
    [[ $missing == - ]] || NL_STREAM_WHY+="$from's lines $missing never reached $to ($lost of $sent); "
    [[ $dups == - ]] || NL_STREAM_WHY+="$to printed $from's lines $dups twice (or lines never sent); "
    [[ $order == - ]] || NL_STREAM_WHY+="$to printed $from's line ${order%<*} after line ${order#*<}; "
    NL_STREAM_WHY=${NL_STREAM_WHY%; }
    NL_STREAM_SUMMARY="$from -> $to: $((sent - lost)) of $sent lines"
    if [[ -z $NL_STREAM_WHY ]]; then
        NL_STREAM_SUMMARY+=", every one once and in order"
    else
        NL_STREAM_SUMMARY+=" ($NL_STREAM_WHY)"
    fi
    if ((open)); then
        NL_STREAM_SUMMARY+="; pause $pause s and on (no line since line $after), longest delay $delay s"
        return
    fi
    NL_STREAM_SUMMARY+="; pause $pause s (after line $after), longest delay $delay s"
}

# nl_pair A_NODE A_NAME B_NODE B_NAME EXPECT [PUNCH_OPTS...]
# B registers and waits; A asks for B. EXPECT is lan, direct or relay (both connect on that
# path, a line crosses each way, then A leaves first (--exit-on-eof) and B prints A's goodbye as
# a goodbye, "punch: A disconnected" (peer_disconnected), within NL_GOODBYE_BOUND seconds of A's
# end of input, and both leave with status 0) or fail (A, the asking side, gives up with
# punch_failed; neither connects). Returns 0 when the outcome is as expected, else 1 with the
# reason in NL_WHY. Tags: A_NAME and B_NAME.
# The goodbye's bound: the leaver ends its goodbye after 2 s at most (docs/PROTOCOL.md §6,
# step 7), and B reports it one trip after a copy arrives; the rest is margin for a busy machine.
NL_GOODBYE_BOUND=${NL_GOODBYE_BOUND:-3}
nl_pair() {
    local a=$1 an=$2 b=$3 bn=$4 expect=$5
    shift 5
    local -a opts=("$@")
    NL_WHY="" NL_RELAY_FIRST=""
    nl_punch "$bn" "$b" "${opts[@]}" "$NL_SERVER" "$bn"
    if ! lab_wait_for "$NL_LOGDIR/$bn.err" "punch: registered as $bn" 8; then
        NL_WHY="$bn did not register"
        nl_stop "$bn"
        return 1
    fi
    if ((NL_STANDING)) && [[ -n ${NL_TURN_ARGS[*]:-} ]] &&
        ! lab_wait_for "$NL_LOGDIR/$bn.err" "punch: standing relay ready" 8; then
        NL_WHY="$bn's standing relay did not come up"
        nl_stop "$bn"
        return 1
    fi
    nl_punch "$an" "$a" "${opts[@]}" --exit-on-eof "$NL_SERVER" "$an" "$bn"
    case $expect in
        lan | direct | relay)
            local ok=1 line path wait=15
            # A relay comes after punching gave up, or at least after an allocation round trip.
            [[ $expect == relay ]] && wait=${NATLAB_RELAY_WAIT:-30}
            lab_wait_for "$NL_LOGDIR/$an.err" "punch: connected to $bn at|\\([a-z_]+\\)$" "$wait"
            lab_wait_for "$NL_LOGDIR/$bn.err" "punch: connected to $an at|\\([a-z_]+\\)$" 5
            for line in "$an:$bn" "$bn:$an"; do
                path=$(nl_connected_path "${line%%:*}" "${line#*:}")
                if ! nl_line "${line%%:*}" "punch: connected to ${line#*:} at" | grep -q .; then
                    NL_WHY+="${line%%:*} did not connect: $(nl_line "${line%%:*}" '\([a-z_]+\)$'); "
                    ok=0
                elif [[ $path != "$expect" ]]; then
                    # A pair starts on whichever path answers first (docs/PATHS.md): under loss
                    # the relay may, and the pair then moves to the direct path when it answers.
                    # Where the caller allows it (NL_RELAY_FIRST_OK=1, the loss soaks), that is
                    # the expected path, reached within NATLAB_UPGRADE_WITHIN s (5).
                    if ((${NL_RELAY_FIRST_OK:-0})) && [[ $path == relay && $expect != relay ]] &&
                        lab_wait_for "$NL_LOGDIR/${line%%:*}.err" "$(nl_path_changed_re "$expect")" \
                            "${NATLAB_UPGRADE_WITHIN:-5}"; then
                        NL_RELAY_FIRST+=" ${line%%:*}"
                    else
                        NL_WHY+="${line%%:*}: '$(nl_line "${line%%:*}" "punch: connected to")', expected ($expect); "
                        ok=0
                    fi
                fi
            done
            if ((ok)); then
                nl_send "$an" "hello from $an"
                nl_send "$bn" "hello from $bn"
                if ! lab_wait_for "$NL_LOGDIR/$bn.out" "^hello from $an\$" 5; then
                    NL_WHY+="$an's line did not reach $bn; "
                    ok=0
                fi
                if ! lab_wait_for "$NL_LOGDIR/$an.out" "^hello from $bn\$" 5; then
                    NL_WHY+="$bn's line did not reach $an; "
                    ok=0
                fi
            fi
            local closed heard
            closed=$EPOCHREALTIME
            nl_close "$an"
            if ((ok)); then
                if lab_wait_for "$NL_LOGDIR/$bn.err" "punch: $an disconnected\$" "$NL_GOODBYE_BOUND"; then
                    heard=$(awk -v a="$closed" -v b="$(nl_time "$bn" "punch: $an disconnected\$")" \
                        'BEGIN { printf "%.2f", b - a }')
                    if awk -v t="$heard" -v m="$NL_GOODBYE_BOUND" 'BEGIN { exit !(t > m) }'; then
                        NL_WHY+="$bn heard $an's goodbye $heard s after $an's end of input (bound $NL_GOODBYE_BOUND s); "
                        ok=0
                    fi
                else
                    NL_WHY+="$bn did not print $an's goodbye as one within $NL_GOODBYE_BOUND s: '$(tail -n1 "$NL_LOGDIR/$bn.err" | cut -d' ' -f2-)'; "
                    ok=0
                fi
            fi
            nl_close "$bn"
            nl_wait_exit "$an" 10
            nl_wait_exit "$bn" 10
            if ((ok)) && [[ ${NL_RC[$an]} != 0 || ${NL_RC[$bn]} != 0 ]]; then
                NL_WHY+="exit status $an ${NL_RC[$an]}, $bn ${NL_RC[$bn]} (expected 0 0); "
                ok=0
            fi
            ((ok))
            ;;
        fail)
            local ok=1
            nl_wait_exit "$an" 30
            if [[ ${NL_RC[$an]} != 2 ]] || ! grep -q '(punch_failed)$' "$NL_LOGDIR/$an.err"; then
                NL_WHY+="$an: exit ${NL_RC[$an]}, last words '$(tail -n1 "$NL_LOGDIR/$an.err" | cut -d' ' -f2-)',"
                NL_WHY+=" expected exit 2 with (punch_failed); "
                ok=0
            fi
            nl_close "$an"
            nl_close "$bn"
            nl_wait_exit "$bn" 10
            if grep -q "punch: connected to" "$NL_LOGDIR/$an.err" "$NL_LOGDIR/$bn.err"; then
                NL_WHY+="a side reported a connection; "
                ok=0
            fi
            ((ok))
            ;;
        *)
            NL_WHY="unknown expectation '$expect'"
            return 1
            ;;
    esac
}
