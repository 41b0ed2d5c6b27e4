#!/usr/bin/env bash
# natlab_bench.sh — how fast, and whether, punch connects through each pair of NAT types.
#
# For every pair of the table in docs/NAT.md it builds the lab (tests/natlab/lab.sh), starts
# the rendezvous server, and runs N attempts: B registers and waits, A asks for B. It prints, per
# pair, the outcomes and the median and 95th percentile of the time from A's introduction to
# A's ENet connection, and rewrites the measured block of docs/NAT.md.
#
# Usage: bench/natlab_bench.sh [--runs N] [--fail-runs N] [--build DIR] [--no-doc] [--only A,B]
#   --runs N       attempts per pair expected to connect (default 20)
#   --fail-runs N  attempts per pair expected to fail; each takes the punch timeout (default 3)
#   --build DIR    the build directory holding rendezvous/rendezvous and punch/punch
#                  (default build/default); or set NATLAB_RENDEZVOUS and NATLAB_PUNCH
#   --no-doc       print only; leave docs/NAT.md alone
#   --only A,B     just that pair (e.g. --only symmetric,public)
# Needs root (network namespaces); see tests/natlab/lab.sh.
#
# Times come from punch's own progress lines on stderr, stamped as they are read (the
# "introduced to" line, then "connected to"): both stamps are taken by the same reader, so the
# difference is punch's, give or take a millisecond of scheduling.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=20 fail_runs=3 build="$root/build/default" write_doc=1 only=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --fail-runs) fail_runs=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --no-doc) write_doc=0; shift ;;
        --only) only=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "natlab_bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
NL_RENDEZVOUS=${NATLAB_RENDEZVOUS:-$build/rendezvous/rendezvous}
NL_PUNCH=${NATLAB_PUNCH:-$build/punch/punch}
for bin in "$NL_RENDEZVOUS" "$NL_PUNCH"; do
    [[ -x $bin ]] || { echo "natlab_bench: $bin not built (cmake --build --preset default)" >&2; exit 2; }
done

# shellcheck source=../tests/natlab/lab.sh
source "$root/tests/natlab/lab.sh"
NATLAB_REQUIRE=${NATLAB_REQUIRE:-1}  # a benchmark that cannot run says so loudly
lab_require

# A;B;expected;lab options for both routers;label
pairs=(
    "public;public;direct;;"
    "public;full-cone;direct;;"
    "public;port-restricted;direct;;"
    "public;symmetric;direct;;"
    "full-cone;full-cone;direct;;"
    "full-cone;port-restricted;direct;;"
    "full-cone;symmetric;direct;;"
    "port-restricted;port-restricted;direct;;"
    "port-restricted;symmetric;fail;;"
    "symmetric;symmetric;fail;;"
    "symmetric;public;direct;;"
    "symmetric;full-cone;direct;;"
    "same-router;same-router;lan;;"
    "double;port-restricted;direct;;"
    "port-restricted;port-restricted;direct;:loss=0.1;10% loss each way on both routers"
)

out=$(mktemp -d /tmp/natlab-bench.XXXXXX)
punch_timeout=3
results="$out/results.tsv"
: >"$results"

# percentile P of the numbers on stdin (nearest rank)
percentile() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; print a[i] }'; }

# bench_pair INDEX A B EXPECT OPTS LABEL: one lab, N attempts, one line in $results.
bench_pair() {
    local k=$1 ta=$2 tb=$3 expect=$4 opt=$5 label=$6 n i an bn ti tc outcome
    n=$runs
    [[ $expect == fail ]] && n=$fail_runs
    (
        LAB_PREFIX="${NATLAB_PREFIX_BASE:-nl-}$$-bench$k-"
        lab_up "a:$ta$opt" "b:$tb$opt" || exit 3
        NL_LOGDIR="$out/$k"
        mkdir -p "$NL_LOGDIR"
        # shellcheck source=../tests/natlab/punchlib.sh
        source "$root/tests/natlab/punchlib.sh"
        nl_start_rendezvous
        local -a opts=(--timeout 20)
        [[ $expect == fail ]] && opts+=(--punch-timeout "$punch_timeout")
        : >"$NL_LOGDIR/times"
        local -A outcomes=()
        for ((i = 0; i < n; i++)); do
            an="a$i" bn="b$i"
            nl_pair a "$an" b "$bn" "$expect" "${opts[@]}" >/dev/null 2>&1
            outcome=$(nl_line "$an" 'punch: connected to|\([a-z_]+\)$' | grep -oE '\([a-z_]+\)$' | tr -d '()')
            outcomes[${outcome:-none}]=$((${outcomes[${outcome:-none}]:-0} + 1))
            ti=$(nl_time "$an" "punch: introduced to")
            tc=$(nl_time "$an" "punch: connected to")
            if [[ -n $ti && -n $tc ]]; then
                awk -v a="$ti" -v b="$tc" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$NL_LOGDIR/times"
            fi
        done
        local summary="" o
        for o in "${!outcomes[@]}"; do summary+="${outcomes[$o]}/$n $o, "; done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ta" "$tb" "$expect" "${summary%, }" \
            "$(percentile 0.5 <"$NL_LOGDIR/times")" "$(percentile 0.95 <"$NL_LOGDIR/times")" "$label" >>"$results"
    )
}

k=0
for p in "${pairs[@]}"; do
    IFS=';' read -r ta tb expect opt label <<<"$p"
    k=$((k + 1))
    [[ -n $only && $only != "$ta,$tb" ]] && continue
    echo "natlab_bench: $ta asks $tb${label:+ ($label)}: $([[ $expect == fail ]] && echo $fail_runs || echo $runs) attempts" >&2
    bench_pair "$k" "$ta" "$tb" "$expect" "$opt" "$label"
done

# The table, as Markdown.
table() {
    echo "| A (asks) | B (waits) | expected | outcome (A's view) | intro → connected, median | p95 |"
    echo "|---|---|---|---|---|---|"
    local ta tb expect summary med p95 label
    while IFS=$'\t' read -r ta tb expect summary med p95 label; do
        [[ $med != - ]] && med="$med ms"
        [[ $p95 != - ]] && p95="$p95 ms"
        echo "| $ta | $tb${label:+ ($label)} | $expect | $summary | $med | $p95 |"
    done <"$results"
}

echo
table
echo
echo "natlab_bench: logs in $out" >&2

if ((write_doc)) && [[ -z $only ]]; then
    doc="$root/docs/NAT.md"
    begin='<!-- natlab-bench:begin -->'
    end='<!-- natlab-bench:end -->'
    if ! grep -qF "$begin" "$doc" 2>/dev/null; then
        echo "natlab_bench: $doc has no '$begin' block; not written" >&2
        exit 0
    fi
    block="$out/block.md"
    {
        echo "$begin"
        echo "Measured $(date -u +%Y-%m-%d) by \`bench/natlab_bench.sh --runs $runs --fail-runs $fail_runs\`"
        echo "(netcore $(git -C "$root" describe --always --dirty 2>/dev/null), $(nproc) cores, kernel $(uname -r));"
        echo "expected failures use \`--punch-timeout $punch_timeout\`."
        echo
        table
        echo "$end"
    } >"$block"
    awk -v b="$begin" -v e="$end" -v f="$block" '
        $0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
        $0 == e { skip = 0; next }
        !skip { print }' "$doc" >"$out/NAT.md" && cp "$out/NAT.md" "$doc"
    echo "natlab_bench: wrote the measured table into $doc" >&2
fi
