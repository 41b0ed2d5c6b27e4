#!/usr/bin/env bash
# require_not_skipped.sh — fail when the natlab tests did not really run.
#
# The natlab tests exit 77 (CTest: skipped) where the lab cannot run (not root, no namespaces,
# no iptables). That is right on a developer's laptop and wrong in CI, which runs as root:
# there a skip would hide the NAT tests. CI runs ctest, then this on what ctest wrote:
#
#   ctest --preset default --output-junit natlab-junit.xml      # or: ctest ... | tee ctest.log
#   tests/natlab/require_not_skipped.sh build/default/natlab-junit.xml   # or ctest.log
#
# (--output-junit is relative to the build directory.) Fails when a test whose name starts
# with PATTERN (default "natlab") was skipped or not run, or when none ran at all.
# (Setting NATLAB_REQUIRE=1 in the tests' environment does the same from inside: the tests then
# fail instead of skipping.)
#
# Usage: require_not_skipped.sh FILE [PATTERN]     FILE: CTest JUnit XML, or ctest's output
set -euo pipefail

file=${1:?usage: require_not_skipped.sh JUNIT_XML_OR_CTEST_LOG [PATTERN]}
pattern=${2:-natlab}
[[ -r $file ]] || { echo "require_not_skipped: cannot read $file" >&2; exit 2; }

if head -c 200 "$file" | grep -q '<?xml'; then
    python3 - "$file" "$pattern" <<'EOF'
import sys
import xml.etree.ElementTree as ET

path, pattern = sys.argv[1], sys.argv[2]
ran, not_run = [], []
for case in ET.parse(path).getroot().iter("testcase"):
    name = case.get("name", "")
    if not name.startswith(pattern):
        continue
    # "run" passed, "fail" failed (ctest reports that itself); "notrun"/"disabled" did not run.
    if case.get("status") in ("run", "fail") and case.find("skipped") is None:
        ran.append(name)
    else:
        reason = case.find("skipped")
        not_run.append(f"{name} ({reason.get('message') if reason is not None else case.get('status')})")
for n in not_run:
    print(f"require_not_skipped: not run: {n}", file=sys.stderr)
if not_run or not ran:
    print(f"require_not_skipped: FAIL: {len(ran)} {pattern} tests ran, {len(not_run)} did not", file=sys.stderr)
    sys.exit(1)
print(f"require_not_skipped: all {len(ran)} {pattern} tests ran")
EOF
else
    # ctest's own lines: "12/30 Test #12: natlab: ... ***Skipped   0.01 sec"
    lines=$(grep -E "Test +#[0-9]+: $pattern" "$file" || true)
    total=$(grep -c . <<<"$lines" || true)
    [[ -n $lines ]] || total=0
    skipped=$(grep -E '\*\*\*Skipped|\*\*\*Not Run|Not Run' <<<"$lines" || true)
    if [[ -n $skipped || $total -eq 0 ]]; then
        # shellcheck disable=SC2001 # one prefix on every line of a multi-line value
        [[ -n $skipped ]] && echo "$skipped" | sed 's/^/require_not_skipped: not run: /' >&2
        echo "require_not_skipped: FAIL: $total $pattern tests listed, some or all did not run" >&2
        exit 1
    fi
    echo "require_not_skipped: all $total $pattern tests ran"
fi
