# Sourced by scripts and tests: start a local rendezvous on an ephemeral port.
#   start_rendezvous BINARY LOGFILE [extra options...]
# Sets RENDEZVOUS_PID and RENDEZVOUS_PORT, or prints why and returns 1. The caller kills the pid.
start_rendezvous() {
  local binary=$1 log=$2
  shift 2
  "$binary" --bind 127.0.0.1 --port 0 "$@" 2>"$log" &
  RENDEZVOUS_PID=$!
  RENDEZVOUS_PORT=
  local _
  for _ in $(seq 100); do
    # "rendezvous: listening on ADDRESS:PORT": the port is what the kernel chose.
    RENDEZVOUS_PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
    [[ -n $RENDEZVOUS_PORT ]] && return 0
    kill -0 "$RENDEZVOUS_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "the rendezvous did not say where it listens:" >&2
  cat "$log" >&2
  return 1
}
