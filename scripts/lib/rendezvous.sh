# shellcheck shell=bash
# Sourced by scripts and tests: start a local rendezvous on an ephemeral port, read its banner.
# The banner is "rendezvous: listening on ADDRESS:PORT key HEX" (docs/RENDEZVOUS.md).

# rendezvous_port LOGFILE: prints the port the banner in LOGFILE announces (nothing before it,
# nor when there is no LOGFILE yet).
rendezvous_port() {
  sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n1 || true
}

# rendezvous_key LOGFILE: prints the server's public key from the banner in LOGFILE (64 hex
# digits, what game builds pin; nothing before the banner).
rendezvous_key() {
  sed -n 's/.*listening on [0-9.]*:[0-9][0-9]* key \([0-9a-f]\{64\}\)$/\1/p' "$1" 2>/dev/null |
    head -n1 || true
}

#   run_rendezvous LOGFILE COMMAND [ARGS...]
# Runs COMMAND (the rendezvous, or a wrapper such as `timeout` around it) in the background with
# its stderr in LOGFILE (a new file: an earlier one is removed first, so that no earlier banner is
# read and an earlier server still writing keeps its own), and waits for the banner:
# 20 s at most, since a loaded machine can be slow to start it, and no longer than the process
# lives. Sets RENDEZVOUS_PID, RENDEZVOUS_PORT and RENDEZVOUS_KEY, or prints why (and the log) and
# returns 1. The caller kills the pid.
run_rendezvous() {
  local log=$1
  shift
  rm -f "$log"
  "$@" 2>"$log" &
  RENDEZVOUS_PID=$!
  RENDEZVOUS_PORT=
  RENDEZVOUS_KEY=
  local _
  for _ in $(seq 400); do
    # The port is what the kernel chose.
    RENDEZVOUS_PORT=$(rendezvous_port "$log")
    if [[ -n $RENDEZVOUS_PORT ]]; then
      # shellcheck disable=SC2034 # for the caller
      RENDEZVOUS_KEY=$(rendezvous_key "$log")
      return 0
    fi
    kill -0 "$RENDEZVOUS_PID" 2>/dev/null || break
    sleep 0.05
  done
  RENDEZVOUS_PORT=$(rendezvous_port "$log")  # it may have said so as it exited
  if [[ -n $RENDEZVOUS_PORT ]]; then
    # shellcheck disable=SC2034 # for the caller
    RENDEZVOUS_KEY=$(rendezvous_key "$log")
    return 0
  fi
  echo "the rendezvous did not say where it listens:" >&2
  cat "$log" >&2
  return 1
}

#   start_rendezvous BINARY LOGFILE [extra options...]
# run_rendezvous for BINARY on 127.0.0.1 and a port the kernel picks (--port 0), with the options.
start_rendezvous() {
  local binary=$1 log=$2
  shift 2
  run_rendezvous "$log" "$binary" --bind 127.0.0.1 --port 0 "$@"
}
