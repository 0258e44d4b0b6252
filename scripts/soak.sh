#!/usr/bin/env bash
# `make soak`: 60 s of mixed load (scripts/soak.py) at 16 connections on loopback.
#   SOAK_URL + SOAK_PID   load that running server (PID of `amanat serve`, for its memory)
#   otherwise             start `amanat serve` on a free port against DATABASE_URL
#   SOAK_SECONDS=60
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
command -v wrk >/dev/null || { echo "soak: wrk is needed (apt-get install wrk)" >&2; exit 2; }
url=${SOAK_URL:-}
pid=${SOAK_PID:-}
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$url" ]; then
  : "${DATABASE_URL:?set DATABASE_URL (or SOAK_URL and SOAK_PID of a running server)}"
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  log=$(mktemp -t amanat-soak-server.XXXXXX.log)
  PORT=$port "$VENV/bin/amanat" serve >"$log" 2>&1 &
  server_pid=$!
  pid=$server_pid
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$url/healthz" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.5
  done
fi
"$VENV/bin/python" scripts/soak.py "$url" "$pid" "${SOAK_SECONDS:-60}"
