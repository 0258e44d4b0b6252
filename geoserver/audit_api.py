"""GET /audit: the audit trail for administrators (the role is checked by geoserver.auth)."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from geoserver.services import services_of
from kernel.errors import InvalidInput
from layers import audit

PARAMETERS = {"since", "until", "user", "collection", "feature", "limit", "offset", "f"}
MAX_LIMIT = 1000


def _instant(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 date-time with a time zone."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("{name} must be an RFC 3339 date-time, got {value!r}", name=name,
                           value=value) from None
    if parsed.tzinfo is None:
        raise InvalidInput("{name} needs a time zone (e.g. 2026-11-01T00:00:00Z)", name=name)
    return parsed


def _integer(params, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within bounds."""
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidInput("{name} must be an integer from {low} to {high}", name=name, low=low,
                           high=high)
    return int(raw)


def parse_query(params) -> audit.AuditQuery:
    """The listing asked for, or InvalidInput."""
    unknown = set(params.keys()) - PARAMETERS
    if unknown:
        raise InvalidInput("unknown query parameter(s): {names}", names=", ".join(sorted(unknown)))
    if params.get("f", "json") != "json":
        raise InvalidInput("f must be json")
    return audit.AuditQuery(
        since=_instant("since", params.get("since")), until=_instant("until", params.get("until")),
        user=params.get("user"), collection=params.get("collection"),
        feature_id=params.get("feature"), limit=_integer(params, "limit", 100, 1, MAX_LIMIT),
        offset=_integer(params, "offset", 0, 0, 10**9))


def _entry(row: dict) -> dict:
    """One audit row as JSON."""
    return {**row, "at": row["at"].isoformat()}


async def audit_trail(request: Request) -> JSONResponse:
    """The audit rows matching the query, oldest first, with a next link."""
    query = parse_query(request.query_params)
    services = services_of(request)
    rows, total = await run_in_threadpool(
        services.db.run, lambda conn: audit.listing(conn, query))
    base = f"{services.settings.server.base_url}/audit"
    params = {k: v for k, v in request.query_params.items() if k != "offset"}
    links = [{"rel": "self", "type": "application/json",
              "href": f"{base}?{urlencode(dict(request.query_params))}"}]
    if query.offset + len(rows) < total:
        following = urlencode({**params, "offset": query.offset + len(rows)})
        links.append({"rel": "next", "type": "application/json", "href": f"{base}?{following}"})
    return JSONResponse({"entries": [_entry(row) for row in rows], "numberMatched": total,
                         "numberReturned": len(rows), "links": links},
                        headers={"Cache-Control": "private, no-store"})
