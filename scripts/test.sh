#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole suite,
# first in the default preset, then under AddressSanitizer + UndefinedBehaviorSanitizer, then
# a short run of every fuzzer (scripts/fuzz.sh, 15 s each).
# Usage: scripts/test.sh [--no-asan] [--no-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

asan=1
fuzz=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    --no-fuzz) fuzz=0 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

scripts/setup.sh --with-sample --with-lab --with-interop --with-fuzz --with-metrics

jobs=$(nproc)
cmake --preset default
cmake --build --preset default -j "$jobs"
# The NAT lab mostly waits on timers (its 10-minute idle relayed session most of all): it runs
# in the background beside the rest, the sanitizer build and the fuzzers, and is waited for at
# the end. Two runs: `long` (relay-idle) and the rest of the lab. Each has its own namespace
# prefix, fixture and leftover check, so they do not see each other's labs.
long_log=build/default/long-tests.log
natlab_log=build/default/natlab-tests.log
ctest --preset default -L long --output-junit junit-long.xml >"$long_log" 2>&1 &
long_pid=$!
ctest --preset default -j "$jobs" -L natlab -LE long --output-junit junit-natlab.xml >"$natlab_log" 2>&1 &
natlab_pid=$!
trap 'kill "$long_pid" "$natlab_pid" 2>/dev/null || true' EXIT

ctest --preset default -j "$jobs" -LE natlab --output-junit junit.xml  # build/default/junit.xml

if ((asan)); then
  cmake --preset asan
  cmake --build --preset asan -j "$jobs"
  # The NAT lab runs the same programs as the e2e tests, over minutes of wall time: it runs
  # once (above); under the sanitizers it would only be slower.
  ctest --preset asan -j "$jobs" -LE natlab
fi

if ((fuzz)); then
  scripts/fuzz.sh 15
fi

echo "test.sh: waiting for the NAT lab ($natlab_log, $long_log)" >&2
status=0
wait "$natlab_pid" || status=$?
wait "$long_pid" || status=$?
trap - EXIT
cat "$natlab_log" "$long_log"
exit "$status"
