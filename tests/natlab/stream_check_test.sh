#!/usr/bin/env bash
# stream_check_test.sh — the line stream checker (stream_check.awk) finds what it must: lines
# missing, printed twice or out of order, and the longest gap between arrivals. No lab, no root:
# made-up SENT and ARRIVALS files, each judged against the fields it must print.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# sent N: "SEQ TIME" for lines 1..N, one every 0.1 s from t = 1000.
sent() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "%d %.6f\n", i, 1000 + i / 10 }'; }

# arrive SEQ [DELAY]...: "STAMP alice SEQ TIME" for each SEQ, in the order given, each arriving
# 0.01 s after its sending unless it waits behind a later one; DELAY (seconds, "SEQ+DELAY") makes
# that line and everything after it later.
arrive() {
    local arg seq extra=0 t prev=0
    for arg in "$@"; do
        seq=${arg%%+*}
        [[ $arg == *+* ]] && extra=$(awk -v a="$extra" -v b="${arg#*+}" 'BEGIN { print a + b }')
        t=$(awk -v s="$seq" -v e="$extra" -v p="$prev" 'BEGIN { t = 1000 + s / 10 + 0.01 + e; if (t < p) t = p; printf "%.6f", t }')
        printf '%s alice %d %.6f\n' "$t" "$seq" "$(awk -v s="$seq" 'BEGIN { print 1000 + s / 10 }')"
        prev=$t
    done
}

# expect NAME WANT [END]: the checker's output for $tmp/sent and $tmp/arrivals (judged at END)
# must be WANT.
expect() {
    local name=$1 want=$2 end=${3:-} got
    got=$(awk -v from=alice -v end="$end" -f "$here/stream_check.awk" "$tmp/sent" "$tmp/arrivals")
    if [[ $got == "$want" ]]; then
        echo "ok: $name"
    else
        echo "FAIL: $name"$'\n'"  got:  $got"$'\n'"  want: $want"
        failed=1
    fi
}

sent 10 >"$tmp/sent"
arrive 1 2 3 4 5 6 7 8 9 10 >"$tmp/arrivals"
expect "every line once, in order" \
    "sent=10 received=10 lost=0 missing=- dups=- order=- pause=0.10 after=1 open=0 delay=0.01"

# Other lines (another sender, a hello) are not the stream's.
{ echo "999.000000 hello from bob"; echo "1000.050000 bob 1 1000.04"; arrive 1 2 3 4 5 6 7 8 9 10; } >"$tmp/arrivals"
expect "lines not of the stream are skipped" \
    "sent=10 received=10 lost=0 missing=- dups=- order=- pause=0.10 after=1 open=0 delay=0.01"

arrive 1 2 3 7 10 >"$tmp/arrivals"
expect "missing lines as ranges" \
    "sent=10 received=5 lost=5 missing=4-6,8-9 dups=- order=- pause=0.40 after=3 open=0 delay=0.01"

arrive 1 2 3 4 5+2.5 6 7 8 9 10 >"$tmp/arrivals"
expect "a pause: 2.5 s more before line 5, the rest queued behind it" \
    "sent=10 received=10 lost=0 missing=- dups=- order=- pause=2.60 after=4 open=0 delay=2.51"

arrive 1 2 3 4 5 6 >"$tmp/arrivals"
expect "the last lines never came: the pause lasts until the check" \
    "sent=10 received=6 lost=4 missing=7-10 dups=- order=- pause=4.39 after=6 open=1 delay=0.01" 1005.000000

arrive 1 2 3 4 5 6 7 8 9 10 >"$tmp/arrivals"
expect "every line came: the time after the last one is no pause" \
    "sent=10 received=10 lost=0 missing=- dups=- order=- pause=0.10 after=1 open=0 delay=0.01" 1005.000000

arrive 1 2 3 3 4 5 6 7 8 9 10 10 >"$tmp/arrivals"
expect "duplicates" \
    "sent=10 received=12 lost=0 missing=- dups=3,10 order=- pause=0.10 after=1 open=0 delay=0.01"

arrive 1 2 4 3 5 6 7 8 9 10 >"$tmp/arrivals"
expect "out of order" \
    "sent=10 received=10 lost=0 missing=- dups=- order=3<4 pause=0.20 after=2 open=0 delay=0.11"

arrive 1 2 3 4 5 6 7 8 9 10 11 >"$tmp/arrivals"
expect "a line never sent" \
    "sent=10 received=11 lost=0 missing=- dups=11? order=- pause=0.10 after=1 open=0 delay=0.01"

: >"$tmp/arrivals"
expect "nothing arrived" \
    "sent=10 received=0 lost=10 missing=1-10 dups=- order=- pause=0.00 after=0 open=0 delay=0.00"
expect "nothing arrived: paused since the first line was sent" \
    "sent=10 received=0 lost=10 missing=1-10 dups=- order=- pause=3.90 after=0 open=1 delay=0.00" 1004.000000

: >"$tmp/sent"
expect "nothing sent" \
    "sent=0 received=0 lost=0 missing=- dups=- order=- pause=0.00 after=0 open=0 delay=0.00"

exit "$failed"
