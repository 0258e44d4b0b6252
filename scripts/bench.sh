#!/usr/bin/env bash
# make bench: the sample city at 200k parcels in its own database, our server on BENCH_PORT,
# scripts/bench_webmap.py (first render of the map) and scripts/bench.py for the project's own
# figures; with PEERS=1 also tipg and stock pygeoapi
# through ../shared/bench (when present) for ratios in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
parcels=${BENCH_PARCELS:-200000}
port=${BENCH_PORT:-8090}
url=${BENCH_DATABASE_URL:-$(scripts/database.sh amanat_bench)}
# the benchmark measures the server, not the per-address quotas (geoserver/quotas.py): every
# request comes from 127.0.0.1, so the anonymous quota would answer most of them 429
export AMANAT_QUOTA_ANONYMOUS_READS=${AMANAT_QUOTA_ANONYMOUS_READS:-100000000/minute}
export AMANAT_QUOTA_ANONYMOUS_DOWNLOADS=${AMANAT_QUOTA_ANONYMOUS_DOWNLOADS:-100000000/minute}
state=${BENCH_STATE_DIR:-var/bench}   # the imagery the database names lives here: load and serve alike
shared=${SHARED_BENCH:-../shared/bench}
mkdir -p "$state"
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
DATABASE_URL="$url" .venv/bin/amanat migrate >/dev/null
have=$(psql "$url" -Atc "select count(*) from parcels")
if [ "$have" -lt $((parcels * 9 / 10)) ] || [ "$have" -gt $((parcels * 11 / 10)) ]; then
  DATABASE_URL="$url" AMANAT_STATE_DIR="$state" .venv/bin/amanat sample-city --parcels "$parcels"
fi
DATABASE_URL="$url" AMANAT_STATE_DIR="$state" .venv/bin/amanat sample-imagery >/dev/null
DATABASE_URL="$url" PORT=$port AMANAT_STATE_DIR="$state" .venv/bin/amanat serve --no-sample \
  > "$state/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
echo "== Amanat, $(psql "$url" -Atc 'select count(*) from parcels') parcels, 1 worker, $(nproc) cores"
if command -v chromium >/dev/null; then   # first, while the server's tile cache is cold
  echo "== web map first render (headless Chromium, 1366x768)"
  .venv/bin/python scripts/bench_webmap.py --url "http://127.0.0.1:$port"
else
  echo "== web map first render skipped: no chromium (make test installs it)"
fi
.venv/bin/python scripts/bench.py --url "http://127.0.0.1:$port" --dsn "$url" ${BENCH_ARGS:-}
echo "== downloads (whole-layer GeoPackage beside ogr2ogr; streamed CSV / GeoJSONSeq)"
.venv/bin/python scripts/bench_downloads.py --dsn "$url" --port $((port + 3))
if [ "${PEERS:-0}" = 1 ] && [ ! -x "$shared/peers.sh" ]; then
  echo "== peers skipped: no $shared/peers.sh (set SHARED_BENCH)"
elif [ "${PEERS:-0}" = 1 ]; then
  psql -q "$url" -c "create schema if not exists bench; drop table if exists bench.parcels;
    create table bench.parcels as select id, parcel_no, plan_no, block_no, district_id, area_m2,
      frontage_m, land_use, zoning_code, geom from public.parcels;
    alter table bench.parcels add primary key (id);
    create index on bench.parcels using gist (geom); analyze bench.parcels;"
  "$shared/peers.sh" start "$url" bench.parcels id geom
  trap 'kill $server 2>/dev/null; "$shared/peers.sh" stop' EXIT
  python3 "$shared/compare.py" --dsn "$url" --table bench.parcels ${COMPARE_ARGS:-} \
    --server "ours|http://127.0.0.1:$port/ogc/collections/parcels|f=json|{c}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt" \
    --server "tipg|http://127.0.0.1:5102/collections/bench.parcels|f=geojson|{c}/tiles/WebMercatorQuad/{z}/{x}/{y}"
fi
