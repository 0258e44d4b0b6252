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
. scripts/server.sh
if [ -z "$url" ]; then
  : "${DATABASE_URL:?set DATABASE_URL (or SOAK_URL and SOAK_PID of a running server)}"
  start_server soak
  pid=$server_pid
fi
"$VENV/bin/python" scripts/soak.py "$url" "$pid" "${SOAK_SECONDS:-60}"
