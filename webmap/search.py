"""GET /search: parcels, districts, streets, facilities and licences by name or number.

One SQL statement, one branch per kind of place, each using an index of migration 0005_search:
names by word similarity of `amanat_search_text(...)` (Arabic spelling variants folded, typos
tolerated; nearest neighbours on a GiST trigram index), parcel and licence numbers by prefix of
`amanat_search_ident(...)` (B-tree). A query that looks like (part of) a number also finds the
licences whose digits start or end with its digits (`amanat_search_digits`, B-trees of migration
0008_search_licences): "2025000123", "000123" and "LIC-123" all find LIC-2025-000123. A place
found by several branches is listed once, with its best score. Only public catalogue fields are
selected: a licence holder's id or phone is never read.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from psycopg import sql
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from kernel.errors import InvalidInput
from layers.database import Database

MAX_QUERY_CHARS = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
LANGS = ("ar", "en")
MIN_SIMILARITY = 0.45          # word similarity a name needs to be a match
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

TEXT = "amanat_search_text(%(q)s)"
IDENT = "amanat_search_ident(%(q)s)"
DIGITS = "amanat_search_digits(%(q)s)"
# A query that may be (part of) a licence number: an optional Latin prefix ("LIC"), then digits
# in any script with separators between them.
ANY_DIGIT = "0-9\u0660-\u0669\u06F0-\u06F9"
NUMBER_LIKE = re.compile(rf"([A-Za-z]{{0,10}})[\W_]*[{ANY_DIGIT}][\W_{ANY_DIGIT}]*")


@dataclass(frozen=True)
class Source:
    """One kind of place the search looks in: its table, label, and how it is matched.

    `key` is the indexed expression of migration 0005_search (word-similarity nearest
    neighbours, GiST) or, with `ident=True`, of a number (prefix, B-tree). Every identifier in
    the statement comes from here, never from the request.
    """

    kind: str
    collection: str
    key: str
    label_ar: str
    label_en: str
    ref: str
    district: str
    weight: float
    ident: bool = False


LICENCE_DISTRICT = "(SELECT p.district_id FROM parcels p WHERE p.id = t.parcel_id)"
SOURCES = (
    Source("district", "districts", "amanat_search_text(t.name_ar || ' ' || t.name_en || ' ' "
           "|| t.code)", "t.name_ar", "t.name_en", "t.code", "NULL::integer", 0.03),
    Source("street", "streets", "amanat_search_text(t.name_ar || ' ' || t.name_en)",
           "t.name_ar", "t.name_en", "NULL::text", "t.district_id", 0.02),
    Source("facility", "facilities", "amanat_search_text(t.name_ar || ' ' || t.name_en)",
           "t.name_ar", "t.name_en", "t.kind", "t.district_id", 0.01),
    Source("license", "licenses", "amanat_search_text(t.trade_name_ar || ' ' || "
           "t.trade_name_en)", "t.trade_name_ar", "t.trade_name_en", "t.license_no",
           LICENCE_DISTRICT, 0.0),
    Source("license", "licenses", "amanat_search_ident(t.license_no)", "t.trade_name_ar",
           "t.trade_name_en", "t.license_no", LICENCE_DISTRICT, 0.0, ident=True),
    Source("parcel", "parcels", "amanat_search_ident(t.parcel_no)", "t.parcel_no",
           "t.parcel_no", "t.parcel_no", "t.district_id", 0.0, ident=True),
)
# The indexed expression of migration 0008_search_licences (its reverse is indexed too).
LICENCE_DIGITS = "amanat_search_digits(t.license_no)"

# A name: word similarity, plus a bonus when the whole name (in either language) is the query
# or starts with it.
NAME_BRANCH = """
(SELECT {kind} AS kind, t.id, {label_ar} AS label_ar, {label_en} AS label_en, {ref} AS ref,
        {district} AS district_id, 1 - ({text} <<-> {key}) AS similarity,
        CASE WHEN {text} IN (amanat_search_text({label_ar}), amanat_search_text({label_en}))
             THEN 1.0
             WHEN {text} = '' THEN 0
             WHEN starts_with(amanat_search_text({label_ar}), {text})
               OR starts_with(amanat_search_text({label_en}), {text}) THEN 0.3
             ELSE 0 END + {weight} AS bonus, t.geom
   FROM {table} t ORDER BY {text} <<-> {key} LIMIT %(limit)s)"""
# A number: the exact number first, then the numbers that start with the query.
IDENT_BRANCH = """
(SELECT {kind} AS kind, t.id, {label_ar} AS label_ar, {label_en} AS label_en, {ref} AS ref,
        {district} AS district_id, 1.0::float8 AS similarity,
        CASE WHEN {key} = {ident} THEN 1.0 ELSE length({ident})::float8 / length({key}) - 1
        END AS bonus, t.geom
   FROM {table} t WHERE {key} COLLATE "C" LIKE {ident} || '%%' ORDER BY {key} COLLATE "C"
   LIMIT %(limit)s)"""
# Licences whose digits start or end with the query's digits and whose number starts with the
# query's Latin prefix, if it has one. The exact number first; of the numbers that end with the
# digits, those whose last group is that number ("-000123" for "123") before the others.
DIGITS_BRANCH = """
(SELECT 'license' AS kind, t.id, t.trade_name_ar AS label_ar, t.trade_name_en AS label_en,
        t.license_no AS ref, {district} AS district_id, 1.0::float8 AS similarity,
        CASE WHEN {key} = {digits} THEN 1.0 ELSE length({digits})::float8 / length({key}) - 1
          + CASE WHEN {from_end} AND amanat_search_ident(t.license_no)
                      ~ ('(^|[^0-9])0*' || {digits} || '$') THEN 0.5 ELSE 0 END
        END AS bonus, t.geom
   FROM licenses t
  WHERE {ordered} COLLATE "C" LIKE {wanted} || '%%'
    AND starts_with(amanat_search_ident(t.license_no), %(letters)s)
  ORDER BY {ordered} COLLATE "C" LIMIT %(limit)s)"""

STATEMENT = """
SELECT r.kind, r.id, r.label_ar, r.label_en, r.ref, d.name_ar AS context_ar,
       d.name_en AS context_en, round((r.similarity + r.bonus)::numeric, 3)::float8 AS score,
       CASE WHEN GeometryType(r.geom) LIKE '%%POINT' THEN NULL ELSE
         ARRAY[round(ST_XMin(r.geom)::numeric, 6), round(ST_YMin(r.geom)::numeric, 6),
               round(ST_XMax(r.geom)::numeric, 6), round(ST_YMax(r.geom)::numeric, 6)]::float8[]
       END AS bbox,
       ARRAY[round(ST_X(p.point)::numeric, 6), round(ST_Y(p.point)::numeric, 6)]::float8[]
         AS point
FROM (SELECT DISTINCT ON (b.kind, b.id) b.* FROM ({branches}) b
      WHERE b.similarity >= %(min_similarity)s OR b.bonus >= 0.3
      ORDER BY b.kind, b.id, b.similarity + b.bonus DESC) r
LEFT JOIN districts d ON d.id = r.district_id,
LATERAL (SELECT CASE
  WHEN GeometryType(r.geom) LIKE '%%POINT' THEN ST_GeometryN(r.geom, 1)
  WHEN GeometryType(r.geom) LIKE '%%LINESTRING' THEN ST_LineInterpolatePoint(
    ST_GeometryN(r.geom, 1), 0.5)
  ELSE ST_PointOnSurface(r.geom) END AS point) p
ORDER BY score DESC, r.kind, r.id
LIMIT %(limit)s
"""

COLLECTIONS = {source.kind: source.collection for source in SOURCES}


def _branch(source: Source) -> str:
    """The SQL of one source: its best matches, at most `limit` of them."""
    template = IDENT_BRANCH if source.ident else NAME_BRANCH
    return template.format(kind=f"'{source.kind}'", table=source.collection, key=source.key,
                           label_ar=source.label_ar, label_en=source.label_en, ref=source.ref,
                           district=source.district, weight=source.weight, text=TEXT,
                           ident=IDENT)


def _digits_branch(from_end: bool) -> str:
    """The SQL of the licences whose digits start (or end) with the query's digits."""
    key = LICENCE_DIGITS
    ordered, wanted = (f"reverse({key})", f"reverse({DIGITS})") if from_end else (key, DIGITS)
    return DIGITS_BRANCH.format(key=key, digits=DIGITS, ordered=ordered, wanted=wanted,
                                from_end="TRUE" if from_end else "FALSE",
                                district=LICENCE_DISTRICT)


@functools.lru_cache(maxsize=4)
def statement(with_numbers: bool, with_licence_digits: bool = False) -> sql.SQL:
    """The search statement (composed from the constants above only); numbers are looked up
    only when the query has a digit, licences by their digits only when it looks like a
    number."""
    branches = [_branch(source) for source in SOURCES if with_numbers or not source.ident]
    if with_licence_digits:
        branches += [_digits_branch(False), _digits_branch(True)]
    return sql.SQL(STATEMENT.replace("{branches}", " UNION ALL ".join(branches)))


def number_prefix(q: str) -> str | None:
    """The Latin prefix ("LIC", upper case, maybe "") of a query that looks like (part of) a
    licence number, or None when it does not."""
    found = NUMBER_LIKE.fullmatch(q)
    return found.group(1).upper() if found else None


@dataclass(frozen=True)
class SearchParams:
    """The validated query of a search request."""

    q: str
    lang: str = "ar"
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, params) -> SearchParams:
        """Validate q, lang and limit (InvalidInput naming the parameter otherwise)."""
        q = _single(params, "q")
        if q is None or not q.strip():
            raise InvalidInput("q is required: a name or number to look for")
        if len(q) > MAX_QUERY_CHARS:
            raise InvalidInput("q is too long (at most {limit} characters)", limit=MAX_QUERY_CHARS)
        if CONTROL.search(q):
            raise InvalidInput("q must not contain control characters")
        lang = _single(params, "lang") or "ar"
        if lang not in LANGS:
            raise InvalidInput("lang must be ar or en")
        return cls(q.strip(), lang, _limit(_single(params, "limit")))


def _single(params, name: str) -> str | None:
    """A parameter given at most once."""
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidInput("{name} is given more than once", name=name)
    return values[0] if values else None


def _limit(value: str | None) -> int:
    """The limit parameter: an integer from 1 to MAX_LIMIT."""
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput("limit must be an integer from 1 to {highest}", highest=MAX_LIMIT)
    return int(value)


def search(db: Database, params: SearchParams) -> list[dict]:
    """The ranked matches of a query, public fields only."""
    if not any(ch.isalnum() for ch in params.q):
        return []                       # punctuation alone names nothing
    letters = number_prefix(params.q)
    query = statement(any(ch.isdigit() for ch in params.q), letters is not None)
    values = {"q": params.q, "limit": params.limit, "min_similarity": MIN_SIMILARITY,
              "letters": letters or ""}

    def work(conn):
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, values).fetchall()

    return [_result(row, params.lang) for row in db.run(work)]


def _result(row: dict, lang: str) -> dict:
    """One match as JSON: labels in both languages, the one asked for first."""
    context = {"ar": row["context_ar"], "en": row["context_en"]}
    return {
        "kind": row["kind"], "collection": COLLECTIONS[row["kind"]], "id": row["id"],
        "label": row[f"label_{lang}"], "label_ar": row["label_ar"], "label_en": row["label_en"],
        "ref": row["ref"], "context": context[lang], "score": row["score"],
        "bbox": row["bbox"], "point": row["point"],
    }


def search_endpoint(db: Database):
    """GET /search?q=...&lang=ar|en&limit=N on this database."""

    async def endpoint(request: Request) -> JSONResponse:
        params = SearchParams.from_query(request.query_params)
        results = await run_in_threadpool(search, db, params)
        return JSONResponse({"query": params.q, "lang": params.lang, "count": len(results),
                             "results": results},
                            headers={"Cache-Control": "public, max-age=30"})

    return endpoint
