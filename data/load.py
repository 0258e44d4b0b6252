"""Load the generated sample city into the layer tables: one transaction, COPY only."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import shapely
from psycopg import sql
from tqdm import tqdm

from data.city import Columns, generate

SRID = 4326
CHUNK_ROWS = 20_000          # rows encoded at a time (bounds the memory of hex EWKB strings)


def load_sample_city(dsn: str, parcels: int = 20000, seed: int = 1,
                     progress: bool = True) -> dict[str, int]:
    """Replace the ten layer tables with the generated city; return the rows written per table."""
    city = generate(parcels, seed)
    counts = city.counts()
    tables = list(counts)
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            _truncate(conn, tables)
            with tqdm(total=sum(counts.values()), unit="row", desc="sample city",
                      disable=not progress) as bar:
                for table, columns in city.tables():
                    _copy(conn, table, columns, bar)
            _reset_identities(conn, tables)
    _analyze(dsn, tables)
    return counts


def is_loaded(dsn: str) -> bool:
    """Whether the database holds a city: the parcels table exists and has a row."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('parcels') IS NULL").fetchone()[0]:
            return False
        return conn.execute("SELECT EXISTS (SELECT 1 FROM parcels)").fetchone()[0]


def _truncate(conn: psycopg.Connection, tables: list[str]) -> None:
    """Empty the layer tables and restart their identities (undone if the transaction fails)."""
    names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))


def _copy(conn: psycopg.Connection, table: str, columns: Columns, bar: tqdm) -> None:
    """COPY one table's rows, geometries as hex EWKB."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for rows in _chunks(table, columns):
            for row in rows:
                copy.write_row(row)
            bar.update(len(rows))


def _chunks(table: str, columns: Columns) -> Iterator[list[tuple]]:
    """The table's rows as lists of tuples of plain Python values, CHUNK_ROWS at a time."""
    total = len(columns["id"])
    for start in range(0, total, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, total)
        values = [_plain(name, column[start:stop]) for name, column in columns.items()]
        yield list(zip(*values))


def _plain(name: str, values) -> list:
    """Column values psycopg can write: hex EWKB for geometries, Python scalars otherwise."""
    if name == "geom":
        return shapely.to_wkb(shapely.set_srid(np.asarray(values), SRID), hex=True,
                              include_srid=True).tolist()
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _reset_identities(conn: psycopg.Connection, tables: list[str]) -> None:
    """Point every identity sequence at the table's largest id, so inserts continue after it."""
    for table in tables:
        conn.execute(sql.SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), coalesce(max(id), 1),"
            " max(id) IS NOT NULL) FROM {}").format(sql.Identifier(table)), [table])


def _analyze(dsn: str, tables: list[str]) -> None:
    """Refresh the planner statistics of the freshly loaded tables."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
