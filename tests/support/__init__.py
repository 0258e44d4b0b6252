"""Helpers shared by the test modules (not tests themselves): the server process, test users
and their requests, scratch databases, the browser. Fixtures built on them are in
tests/conftest.py, so no test module imports another."""
