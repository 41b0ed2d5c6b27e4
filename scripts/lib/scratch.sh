# shellcheck shell=bash
# Sourced by test scripts: a scratch directory, the processes to stop when the script exits, and
# fail.
#
#   scratch_start: sets tmp to a new temporary directory and pids to an empty list. When the
#   script exits, every pid in pids is killed and waited for, then tmp is removed.
#   fail MESSAGE...: prints "FAIL: MESSAGE", then every text file in $tmp (what the processes
#   logged, what the test captured; the last 200 lines of each), and exits 1.

scratch_start() {
  tmp=$(mktemp -d)
  pids=()
  trap scratch_cleanup EXIT
}

scratch_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}

fail() {
  local f
  echo "FAIL: $*"
  for f in "$tmp"/*; do
    if [[ ! -f $f ]] || ! grep -Iq . "$f" 2>/dev/null; then continue; fi
    echo "--- ${f##*/}:"
    tail -n 200 "$f"
  done
  exit 1
}
