# Amanat: `make run` serves the sample city on http://127.0.0.1:8000, `make test` runs the suite.
# DATABASE_URL selects the database for `make run`; without it a local PostgreSQL + PostGIS is
# installed/started and used. TEST_DATABASE_URL does the same for `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install bench clean-state fuzz soak

install:
	@scripts/install.sh
	@webmap/install-assets.sh

run: install
	@url="$${DATABASE_URL:-}"; [ -n "$$url" ] || url=$$(scripts/database.sh amanat) || exit 1; \
	  DATABASE_URL="$$url" $(VENV)/bin/amanat serve --with-worker

test: install
	@scripts/test-tools.sh
	@url="$${TEST_DATABASE_URL:-}"; [ -n "$$url" ] || url=$$(scripts/database.sh --fresh amanat_test) || exit 1; \
	  TEST_DATABASE_URL="$$url" $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@scripts/bench.sh

# schemathesis, 50 examples per operation, both OpenAPI documents, without credentials and as
# an admin, on a scratch database it makes and drops (scripts/fuzz.sh; FUZZ_URL= fuzzes a
# running server). A short run is part of `make test` (tests/test_fuzz.py).
fuzz: install
	@url="$${DATABASE_URL:-}"; [ -n "$$url" ] || url=$$(scripts/database.sh amanat) || exit 1; \
	  DATABASE_URL="$$url" scripts/fuzz.sh

# 60 s mixed load at 16 connections with wrk: errors, p95 per route, server memory (scripts/soak.sh)
soak: install
	@command -v wrk >/dev/null || { sudo -n apt-get install -y -qq wrk || apt-get install -y -qq wrk; }
	@url="$${DATABASE_URL:-}"; [ -n "$$url" ] || url=$$(scripts/database.sh amanat) || exit 1; \
	  DATABASE_URL="$$url" scripts/soak.sh

clean-state:
	rm -rf var
