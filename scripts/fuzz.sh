#!/usr/bin/env bash
# `make fuzz`: schemathesis over every operation of both OpenAPI documents of a server
# (/ogc/openapi?f=json and /openapi.json): no 5xx, responses conform to the documented schemas.
# Each document is fuzzed twice: without credentials, and as an administrator (the bearer token
# `amanat users add fuzz-admin --role admin` prints), so that the writes (OGC API Features
# Part 4, batch jobs and their dismissal, the audit trail) are exercised, not only their 401s.
#
# Which database. The administrator pass creates, changes and deletes licences, inspections,
# jobs and users, so it only runs against a database made for it:
#   - by default (no FUZZ_URL) this script makes a scratch database, amanat_fuzz_<random>, on
#     the PostgreSQL server of DATABASE_URL (from amanat_template; the database DATABASE_URL
#     names is never touched), loads the sample city (FUZZ_PARCELS parcels) and the sample
#     imagery into it and a scratch state directory, starts `amanat serve` on a free port, and
#     drops both on exit (FUZZ_KEEP=1 keeps them and says where they are);
#   - FUZZ_URL=http://host:port fuzzes a server started elsewhere: without credentials only,
#     unless FUZZ_TOKEN holds an administrator token of that server (its database then takes
#     the writes: give one only for a database you can throw away).
# Settings:
#   FUZZ_EXAMPLES=50   examples per operation and pass
#   FUZZ_PARCELS=2000  size of the scratch city
#   FUZZ_PHASES=examples,coverage,fuzzing,stateful   schemathesis phases (all by default)
#   FUZZ_ARGS=...      more schemathesis options
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
examples=${FUZZ_EXAMPLES:-50}
phases=${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}
url=${FUZZ_URL:-}
token=${FUZZ_TOKEN:-}
export SCHEMATHESIS_HOOKS="$PWD/scripts/schemathesis_hooks.py"
. scripts/server.sh

scratch_url() {   # scratch_url DBNAME: DATABASE_URL with another database name
  "$VENV/bin/python" -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(p._replace(path="/" + sys.argv[2]).geturl())' \
    "$DATABASE_URL" "$1"
}
database() {   # database create|drop NAME (on the server of DATABASE_URL)
  "$VENV/bin/python" - "$(scratch_url postgres)" "$@" <<'PY'
import sys, psycopg
admin, action, name = sys.argv[1:]
with psycopg.connect(admin, autocommit=True) as conn:
    if action == "drop":
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        known = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'amanat_template'")
        template = "amanat_template" if known.fetchone() else "template1"
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
PY
}
scratch_db= scratch_state=
cleanup() {
  _stop_server
  if [ -n "$scratch_db" ] && [ -z "${FUZZ_KEEP:-}" ]; then
    database drop "$scratch_db" || echo "fuzz: could not drop $scratch_db" >&2
    rm -rf "$scratch_state"
  elif [ -n "$scratch_db" ]; then
    echo "fuzz: kept database $scratch_db and state directory $scratch_state"
  fi
}
trap cleanup EXIT

if [ -z "$url" ]; then
  : "${DATABASE_URL:?set DATABASE_URL (its server gets the scratch database) or FUZZ_URL}"
  scratch_db="amanat_fuzz_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  scratch_state=$(mktemp -d -t amanat-fuzz-state.XXXXXX)
  database create "$scratch_db"
  export DATABASE_URL=$(scratch_url "$scratch_db") AMANAT_STATE_DIR=$scratch_state
  echo "fuzz: scratch database $scratch_db, state $scratch_state"
  load_log="$scratch_state/load.log"
  "$VENV/bin/amanat" sample-city --parcels "${FUZZ_PARCELS:-2000}" >"$load_log" 2>&1 \
    || { cat "$load_log" >&2; exit 1; }
  token=$("$VENV/bin/amanat" users add fuzz-admin --role admin 2>/dev/null)
  start_server fuzz
fi

run() {   # run NAME SCHEMA_URL BASE_URL [HEADER]
  local name=$1 schema=$2 base=$3 out status=0
  shift 3
  out=$(mktemp -t amanat-fuzz-report.XXXXXX)
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$schema" --url "$base" \
    --checks not_a_server_error,response_schema_conformance --max-examples "$examples" \
    --phases "$phases" --workers 2 --no-shrink --no-color "$@" ${FUZZ_ARGS:-} \
    >"$out" 2>&1 || status=1
  cat "$out"
  summary+="$name: $(grep -m1 -E '^ +Tested: ' "$out" | xargs) operations, $(grep -m1 -E \
    '^ +[0-9]+ generated' "$out" | xargs): $( [ $status = 0 ] && echo OK || echo FAILED)"$'\n'
  rm -f "$out"
  return $status
}
summary=
status=0
documents=("ogc|$url/ogc/openapi?f=json|$url/ogc" "app|$url/openapi.json|$url")
for entry in "${documents[@]}"; do
  IFS='|' read -r name schema base <<<"$entry"
  run "$name, anonymous" "$schema" "$base" || status=1
  if [ -n "$token" ]; then
    run "$name, admin" "$schema" "$base" -H "Authorization: Bearer $token" || status=1
  fi
done
[ -n "$token" ] || echo "fuzz: no administrator token (FUZZ_TOKEN): writes fuzzed anonymously only"
printf '%s' "$summary"
exit $status
