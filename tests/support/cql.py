"""Helpers of the CQL2 filter tests (tests/test_cql.py, tests/test_cql2_classes.py): items
requests with a filter, their numberMatched, a table count, a refusal's description."""
import json

from psycopg import sql

DATABASE_WORDS = ("psycopg", "sqlstate", "postgres", "syntax error at", "line 1", "relation ",
                  "column ", "traceback", "select ")


def _items(collection: str) -> str:
    return f"/ogc/collections/{collection}/items"


def _text(client, collection: str, cql: str):
    return client.get(_items(collection), params={"f": "json", "limit": 1, "filter": cql,
                                                  "filter-lang": "cql2-text"})


def _json(client, collection: str, cql: dict | str):
    body = cql if isinstance(cql, str) else json.dumps(cql)
    return client.post(_items(collection), params={"f": "json", "limit": 1}, content=body,
                       headers={"Content-Type": "application/query-cql-json"})


def _matched(response) -> int:
    assert response.status_code == 200, response.text
    return response.json()["numberMatched"]


def _count(db, table: str, where: str, params=()) -> int:
    query = sql.SQL("SELECT count(*) FROM {} t WHERE ").format(sql.Identifier(table))
    return db.execute(query + sql.SQL(where), list(params)).fetchone()[0]


def _rejection(response) -> str:
    """The description of a 400, checked to carry nothing from the database."""
    assert response.status_code == 400, response.text
    description = response.json()["descriptions"]["en"]
    assert description
    assert not any(word in description.lower() for word in DATABASE_WORDS), description
    return description
