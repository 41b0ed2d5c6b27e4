#!/bin/bash
# systemd-analyze verify accepts rendezvous/packaging/rendezvous.service, alone and with the TURN
# drop-in (rendezvous/packaging/turn.conf, next to the unit).
# Usage: rendezvous_unit_test.sh UNIT_FILE PATH_TO_RENDEZVOUS
# ExecStart is pointed at the built binary first, since verify requires it to exist.
# Exit 77 (skipped) when systemd-analyze is not installed.
set -u
unit=$1
bin=$2
dropin=$(dirname "$unit")/turn.conf
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=/usr/local/bin/rendezvous|ExecStart=$bin|" "$unit" >"$tmp/rendezvous.service"
grep -q "^ExecStart=$bin " "$tmp/rendezvous.service" || { echo "FAIL: no ExecStart to rewrite"; exit 1; }

verify() {
    if ! systemd-analyze verify --man=no "$tmp/rendezvous.service" >"$tmp/out" 2>&1; then
        echo "FAIL: systemd-analyze verify rejected the unit ($1):"
        cat "$tmp/out"
        exit 1
    fi
    # verify also prints warnings without failing: an unknown directive is a typo in our files.
    if grep -Ei "unknown|invalid|failed to parse" "$tmp/out"; then
        echo "FAIL: systemd-analyze warned about the unit ($1)"
        exit 1
    fi
}
verify "alone"
# verify reads drop-ins from beside the unit it is given.
mkdir "$tmp/rendezvous.service.d"
cp "$dropin" "$tmp/rendezvous.service.d/turn.conf" || { echo "FAIL: no $dropin"; exit 1; }
verify "with turn.conf"
# shellcheck disable=SC2016 # a literal $RENDEZVOUS_TURN: systemd expands it, not the shell
grep -q '^ExecStart=.* \$RENDEZVOUS_TURN$' "$tmp/rendezvous.service" ||
    { echo "FAIL: ExecStart does not pass \$RENDEZVOUS_TURN"; exit 1; }
echo "ok: systemd-analyze verify accepts the unit, alone and with the TURN drop-in"
