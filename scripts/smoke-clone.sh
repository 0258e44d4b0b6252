#!/usr/bin/env bash
# The README's `make run`, from a fresh clone of this repository's HEAD: it must install what it
# needs, provision the database, load the sample city and serve the nine collections with data.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
port=${SMOKE_PORT:-8097}
git clone -q "$here" "$dir/amanat"
cd "$dir/amanat"
# A database of its own, so the smoke run never touches the developer's data.
admin=$(scripts/database.sh postgres)
psql -q "$admin" -c "drop database if exists amanat_smoke with (force)"
url=$(scripts/database.sh amanat_smoke)
log="$dir/run.log"
DATABASE_URL="$url" PORT=$port setsid make run > "$log" 2>&1 &
pid=$!
cleanup() { kill -- -$pid 2>/dev/null || true; sleep 1; kill -9 -- -$pid 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ok=""
for _ in $(seq 1 600); do
  if body=$(curl -fs "http://127.0.0.1:$port/ogc/collections?f=json" 2>/dev/null); then ok=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
[ -n "$ok" ] || { echo "smoke: make run did not serve (log follows)"; tail -40 "$log"; exit 1; }
n=$(echo "$body" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['collections']))")
parcels=$(curl -fs "http://127.0.0.1:$port/ogc/collections/parcels/items?f=json&limit=1" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['numberReturned'])")
health=$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/healthz")
echo "smoke: fresh clone served $n collections, parcels returned $parcels, /healthz $health"
[ "$n" = 9 ] && [ "$parcels" = 1 ] && [ "$health" = 200 ]
