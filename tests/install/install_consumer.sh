#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then configures, builds and runs a consumer
# that finds it with find_package(netcore).
#
#   install_consumer.sh <cmake> <build dir> <consumer source> <generator> <c++ compiler> \
#                       <expected version> [extra cmake arguments...]
set -euo pipefail

if [[ $# -lt 6 ]]; then
    echo "usage: $0 <cmake> <build dir> <consumer source> <generator> <c++ compiler> <version> [args...]" >&2
    exit 2
fi
CMAKE=$1 BUILD=$2 SOURCE=$3 GENERATOR=$4 CXX_COMPILER=$5 VERSION=$6
shift 6

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netcore_install.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT
    [[ $rc -eq 0 ]] || echo "install_consumer: FAILED (exit $rc)" >&2
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout 120 "$CMAKE" --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" \
    || { cat "$WORK/install.log" >&2; exit 1; }
[[ -f $WORK/prefix/include/netcore/netcore.hpp ]] || { echo "no installed headers" >&2; exit 1; }
ls "$WORK"/prefix/lib*/cmake/netcore/netcoreConfig.cmake >/dev/null \
    || { echo "no installed netcoreConfig.cmake" >&2; exit 1; }

timeout 120 "$CMAKE" -S "$SOURCE" -B "$WORK/build" -G "$GENERATOR" \
    -DCMAKE_CXX_COMPILER="$CXX_COMPILER" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "$@" >"$WORK/configure.log" 2>&1 \
    || { cat "$WORK/configure.log" >&2; exit 1; }
timeout 300 "$CMAKE" --build "$WORK/build" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; exit 1; }

output=$("$WORK/build/consumer")
echo "$output"
expected="consumer: netcore $VERSION, server 203.0.113.7:7777, name player1 valid"
if [[ $output != "$expected" ]]; then
    echo "install_consumer: expected: $expected" >&2
    exit 1
fi
