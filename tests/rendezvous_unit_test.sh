#!/bin/bash
# systemd-analyze verify accepts rendezvous/packaging/rendezvous.service.
# Usage: rendezvous_unit_test.sh UNIT_FILE PATH_TO_RENDEZVOUS
# ExecStart is pointed at the built binary first, since verify requires it to exist.
# Exit 77 (skipped) when systemd-analyze is not installed.
set -u
unit=$1
bin=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=/usr/local/bin/rendezvous|ExecStart=$bin|" "$unit" >"$tmp/rendezvous.service"
grep -q "^ExecStart=$bin " "$tmp/rendezvous.service" || { echo "FAIL: no ExecStart to rewrite"; exit 1; }
if ! systemd-analyze verify --man=no "$tmp/rendezvous.service" >"$tmp/out" 2>&1; then
    echo "FAIL: systemd-analyze verify rejected the unit:"
    cat "$tmp/out"
    exit 1
fi
# verify also prints warnings without failing: an unknown directive is a typo in our unit.
if grep -Ei "unknown|invalid|failed to parse" "$tmp/out"; then
    echo "FAIL: systemd-analyze warned about the unit"
    exit 1
fi
echo "ok: systemd-analyze verify accepts the unit"
