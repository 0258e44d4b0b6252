#!/usr/bin/env bash
# `make fuzz`: schemathesis over every operation of both OpenAPI documents of a running server
# (/ogc/openapi?f=json and /openapi.json): no 5xx, responses conform to the documented schemas.
#   FUZZ_URL=http://host:port   fuzz that server (default: start `amanat serve` on a free port
#                               against DATABASE_URL, sample city loaded when the database is empty)
#   FUZZ_EXAMPLES=50            examples per operation
#   FUZZ_ARGS=...               more schemathesis options (e.g. --phases examples,coverage,fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
examples=${FUZZ_EXAMPLES:-50}
url=${FUZZ_URL:-}
. scripts/server.sh
if [ -z "$url" ]; then
  : "${DATABASE_URL:?set DATABASE_URL (or FUZZ_URL of a running server)}"
  start_server fuzz
fi
run() {   # run SCHEMA_URL BASE_URL
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$1" --url "$2" \
    --checks not_a_server_error,response_schema_conformance --max-examples "$examples" \
    --phases examples,fuzzing --workers 2 --no-shrink --no-color ${FUZZ_ARGS:-}
}
status=0
run "$url/ogc/openapi?f=json" "$url/ogc" || status=1
run "$url/openapi.json" "$url" || status=1
exit $status
