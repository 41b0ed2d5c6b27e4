# Sourced by scripts and tests: start a local rendezvous on an ephemeral port, read its banner.
# The banner is "rendezvous: listening on ADDRESS:PORT key HEX" (docs/RENDEZVOUS.md).

# rendezvous_port LOGFILE: prints the port the banner in LOGFILE announces (nothing before it).
rendezvous_port() {
  sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -n1
}

# rendezvous_key LOGFILE: prints the server's public key from the banner in LOGFILE (64 hex
# digits, what game builds pin; nothing before the banner).
rendezvous_key() {
  sed -n 's/.*listening on [0-9.]*:[0-9][0-9]* key \([0-9a-f]\{64\}\)$/\1/p' "$1" | head -n1
}

#   start_rendezvous BINARY LOGFILE [extra options...]
# Sets RENDEZVOUS_PID, RENDEZVOUS_PORT and RENDEZVOUS_KEY, or prints why and returns 1. The caller
# kills the pid.
start_rendezvous() {
  local binary=$1 log=$2
  shift 2
  "$binary" --bind 127.0.0.1 --port 0 "$@" 2>"$log" &
  RENDEZVOUS_PID=$!
  RENDEZVOUS_PORT=
  RENDEZVOUS_KEY=
  local _
  for _ in $(seq 100); do
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
  echo "the rendezvous did not say where it listens:" >&2
  cat "$log" >&2
  return 1
}
