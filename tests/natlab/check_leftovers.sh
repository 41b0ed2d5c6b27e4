#!/usr/bin/env bash
# check_leftovers.sh — after the natlab tests: no namespace and no process of ours is left.
# Runs as CTest's FIXTURES_CLEANUP of the natlab fixture. A test killed by CTest's timeout
# (SIGKILL: no trap runs) leaves its lab behind; this reports it as a failure and removes it,
# so the next run starts clean.
#
# Usage: check_leftovers.sh PREFIX_BASE BINARY...
#   PREFIX_BASE  the namespace prefix of this build's runs (NATLAB_PREFIX_BASE)
#   BINARY       programs the tests start (rendezvous, punch); any process still running one
#                of them is a leftover
# Also leftovers: the lab's probe, its wire delay (natlab_delay), and a coturn (turnserver) started by one of this build's labs
# (its config file lies in the lab's state directory, named after the prefix).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"

[[ $# -ge 1 && -n $1 ]] || { echo "usage: $0 PREFIX_BASE BINARY..." >&2; exit 2; }
base=$1
shift
[[ $EUID -eq 0 ]] || lab_skip "needs root (the natlab tests skipped too)"

status=0
spaces=$(lab_namespaces "$base")
if [[ -n $spaces ]]; then
    echo "natlab: FAIL: namespaces left behind: $(tr '\n' ' ' <<<"$spaces")" >&2
    for ns in $spaces; do
        ns_pids=$(ip netns pids "$ns" 2>/dev/null | paste -sd, -)
        [[ -n $ns_pids ]] && echo "natlab:   $ns still runs: $(ps -o pid=,args= -p "$ns_pids" 2>/dev/null | tr '\n' ';')" >&2
    done
    lab_remove_prefix "$base"
    status=1
fi

# Processes running our binaries, or our probe, in a network namespace other than ours: the lab
# starts everything inside its namespaces (and a process outlives the name of its namespace).
# Processes in our own namespace are other tests' (the sample and e2e tests run a rendezvous on
# loopback at the same time) and not the lab's.
own_netns=$(readlink /proc/self/ns/net)
declare -a stray=()
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $pid == "$$" ]] && continue
    [[ $(readlink "$dir/ns/net" 2>/dev/null) == "$own_netns" ]] && continue
    exe=$(readlink "$dir/exe" 2>/dev/null) || continue
    # A process in a live namespace of another prefix belongs to another run going on now (the
    # long tests run beside the others with their own prefix); one whose namespace is gone, or
    # is ours, is a leftover.
    ns_name=$(ip netns identify "$pid" 2>/dev/null || true)
    [[ -n $ns_name && $ns_name != "$base"* ]] && continue
    for bin in "$@"; do
        if [[ $exe == "$(readlink -f "$bin")" ]]; then stray+=("$pid"); fi
    done
    if [[ $exe == */python3* ]] && tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -q "$here/natprobe.py"; then
        stray+=("$pid")
    fi
    # The wire delay (NL_DELAY_MS) runs in a router's namespace and must go with it.
    [[ $exe == */natlab_delay ]] && stray+=("$pid")
    # Only ours: other builds' labs and other tests (on loopback) run turnserver too.
    if [[ $exe == */turnserver ]] && tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -qF -- "/$base"; then
        stray+=("$pid")
    fi
done
if ((${#stray[@]} > 0)); then
    echo "natlab: FAIL: processes left behind:" >&2
    ps -o pid=,args= -p "$(IFS=,; echo "${stray[*]}")" >&2
    # Not killed: outside our namespaces, such a process may be someone's own run of the tool.
    status=1
fi

((status == 0)) && echo "natlab: no namespace ($base*) and no process left behind"
exit "$status"
