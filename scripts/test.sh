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

# Each phase's start, in seconds since this script's: CI must stay under 30 minutes in all.
phase() { echo "test.sh: [$((SECONDS / 60))m$((SECONDS % 60))s] $*" >&2; }

phase "setup"
scripts/setup.sh --with-sample --with-lab --with-interop --with-fuzz --with-metrics

jobs=$(nproc)
phase "build (default)"
cmake --preset default
cmake --build --preset default -j "$jobs"
# Tests labelled `long` mostly wait (the NAT lab's 10-minute idle relayed session): they start
# now, in the background, beside the rest of the suite, the sanitizer build and the fuzzers, and
# are waited for at the end. Their lab has its own namespace prefix and leftover check.
long_log=build/default/long-tests.log
ctest --preset default -L long --output-junit junit-long.xml >"$long_log" 2>&1 &
long_pid=$!
trap 'kill "$long_pid" 2>/dev/null || true' EXIT

phase "tests (default; the long ones beside them)"
ctest --preset default -j "$jobs" -LE long --output-junit junit.xml  # build/default/junit.xml

if ((asan)); then
  phase "build (asan)"
  cmake --preset asan
  cmake --build --preset asan -j "$jobs"
  # The NAT lab runs the same programs as the e2e tests, over minutes of wall time: it runs
  # once (above); under the sanitizers it would only be slower.
  phase "tests (asan)"
  ctest --preset asan -j "$jobs" -LE natlab
fi

if ((fuzz)); then
  phase "fuzzers"
  scripts/fuzz.sh 15
fi

phase "waiting for the long tests ($long_log)"
long_status=0
wait "$long_pid" || long_status=$?
trap - EXIT
cat "$long_log"
phase "done"
exit "$long_status"
