# Amanat: `make run` serves the sample city on http://127.0.0.1:8000, `make test` runs the suite.
# DATABASE_URL selects the database for `make run`; without it a local PostgreSQL + PostGIS is
# installed/started and used. TEST_DATABASE_URL does the same for `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install bench clean-state

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

clean-state:
	rm -rf var
