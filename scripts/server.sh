# Sourced by scripts that need a running server of their own (fuzz.sh, soak.sh):
#   start_server NAME   `amanat serve` on a free loopback port against DATABASE_URL;
#                       sets url and server_pid, stops the server on exit.
server_pid=
_stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
trap _stop_server EXIT
start_server() {
  local port log
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  log=$(mktemp -t "amanat-$1-server.XXXXXX.log")
  # load tools read from one address far past the anonymous quota (600/minute): unbounded here
  AMANAT_QUOTA_ANONYMOUS_READS=${AMANAT_QUOTA_ANONYMOUS_READS:-1000000000/minute} \
  AMANAT_QUOTA_ANONYMOUS_DOWNLOADS=${AMANAT_QUOTA_ANONYMOUS_DOWNLOADS:-1000000000/minute} \
  PORT=$port "$VENV/bin/amanat" serve >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$url/healthz" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$1: server on $url (log $log)"
}
