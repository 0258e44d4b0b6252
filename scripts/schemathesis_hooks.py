"""Schemathesis hooks of `make fuzz` (scripts/fuzz.sh) and tests/test_fuzz.py (SCHEMATHESIS_HOOKS).

CQL2-JSON item queries are sent as application/query-cql-json (OGC API Features Part 3; a POST
of application/json to the items is a Part 4 creation), a JSON document under another name:
serialize it as JSON.
"""
import schemathesis

schemathesis.serializer.alias("application/query-cql-json", "application/json")
