"""Quotas on data reads and downloads, and the admin routes of researcher keys.

Two kinds of request are charged: `reads` (items and single items of /ogc/collections) and
`downloads` (/downloads files). Anonymous callers are counted per address, researcher keys per
key, with a larger quota; other signed-in roles (the municipality's own staff) are not
charged. Counting is the `limits` library's fixed window (limit strings such as `600/minute`,
`QuotaSettings`), its counters in PostgreSQL (layers/quota_store.py), so every server process
shares them. Each process counts in memory and syncs each window in the background every
`sync_s` (0.25 s): a charged request costs no round trip (measured: a round trip per request
halved single-item throughput), and a client may overrun by what the other processes let
through in one interval. Beyond the quota: 429 with Retry-After (seconds to the end of the window), in the
request's language. A key's charged and refused requests per day are kept for admins:
`GET /admin/keys` (keys with their usage), `POST /admin/keys` (issue; the key is shown once),
`DELETE /admin/keys/{id}` (revoke); the same as `amanat keys add|list|revoke|usage`.
"""
from __future__ import annotations

import json
import logging
import math
import time
from ipaddress import ip_address

from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from geoserver.download_settings import STAFF, QuotaSettings
from geoserver.downloads import ITEM_FORMATS
from kernel.errors import InvalidInput, NotFound, TooManyRequests
from kernel.messages import Phrase
from kernel.principal import Principal, owner_of, principal_of
from layers import accounts, audit, quota_store
from layers.database import Database

LOGGER = logging.getLogger(__name__)
KINDS = {"reads": Phrase("طلبات قراءة البيانات", "data reads"),
         "downloads": Phrase("التنزيلات", "downloads")}
MAX_BODY = 4096


class QuotaExceeded(TooManyRequests):
    """A client used its quota for this window."""

    def __init__(self, kind: str, limit: RateLimitItem, retry_after_s: int):
        """Keep the wait."""
        super().__init__("quota exceeded: {amount} {kind} per {period} for this client; "
                         "try again in {seconds} s", amount=limit.amount, kind=KINDS[kind],
                         period=_period(limit), seconds=retry_after_s)
        self.retry_after_s = retry_after_s


def _period(limit: RateLimitItem) -> Phrase:
    """The window of a limit in words ("minute", "5 minutes")."""
    words = {"second": ("ثانية", "second"), "minute": ("دقيقة", "minute"),
             "hour": ("ساعة", "hour"), "day": ("يوم", "day"), "month": ("شهر", "month"),
             "year": ("سنة", "year")}
    ar, en = words[limit.GRANULARITY.name]
    if limit.multiples == 1:
        return Phrase(ar, en)
    return Phrase(f"{limit.multiples} {ar}", f"{limit.multiples} {en}s")


def client_class(principal: Principal) -> str | None:
    """anonymous | researcher | None (staff: not charged)."""
    if principal.is_public:
        return "anonymous"
    if principal.has(*STAFF):
        return None
    return "researcher"


class Quotas:
    """The quotas of one application."""

    def __init__(self, db: Database, settings: QuotaSettings):
        """Counters in `db`, limits from the application's settings."""
        self.db, self.settings = db, settings
        storage = quota_store.PostgresStorage(db)
        self.exact = self.settings.sync_s == 0
        self.storage = storage if self.exact else quota_store.BufferedStorage(
            storage, self.settings.sync_s)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.usage = quota_store.UsageBuffer(db)
        self.limits = {(who, kind): parse(getattr(self.settings, f"{who}_{kind}"))
                       for who in ("anonymous", "researcher") for kind in KINDS}

    def charge(self, scope, kind: str) -> None:
        """Count one request of `kind`; QuotaExceeded beyond the caller's quota."""
        principal = principal_of(scope)
        who = client_class(principal)
        if who is None:
            return
        identity = (f"key:{principal.api_key_id}" if principal.api_key_id
                    else owner_of(principal, scope))   # a key's own quota, not its name's
        limit = self.limits[(who, kind)]
        allowed = self.limiter.hit(limit, who, kind, identity)
        if principal.api_key_id:
            if self.exact:
                quota_store.record_usage(self.db, principal.api_key_id, kind,
                                         int(allowed), int(not allowed))
            else:   # off the request's path
                self.usage.add(principal.api_key_id, kind, not allowed)
        if not allowed:
            reset = self.limiter.get_window_stats(limit, who, kind, identity).reset_time
            raise QuotaExceeded(kind, limit, max(1, math.ceil(reset - time.time())))

    def charged(self, handler, kind):
        """`handler` behind the quota of `kind` (a kind, or a function of the request)."""

        async def quoted(request: Request) -> Response:
            charged_kind = kind if isinstance(kind, str) else kind(request)
            if self.exact:
                await run_in_threadpool(self.charge, request.scope, charged_kind)
            else:   # counted in memory: no round trip, nothing to wait for
                self.charge(request.scope, charged_kind)
            return await handler(request)

        quoted.__name__ = quoted.__qualname__ = getattr(handler, "__name__", "handler")
        quoted.__doc__ = handler.__doc__
        return quoted


def items_kind(request: Request) -> str:
    """An items request in a file format is a download, any other a read."""
    return "downloads" if request.query_params.get("f") in ITEM_FORMATS else "reads"


# --- admin routes -------------------------------------------------------------------------------

def _actor(request: Request) -> audit.Actor:
    """The admin making the change, for the audit trail."""
    principal, client = principal_of(request.scope), request.client
    try:
        address = str(ip_address(client.host)) if client else None
    except ValueError:
        address = None
    return audit.Actor(principal.subject, principal.kind, principal.roles, principal.office,
                       principal.api_key_id, address, request.headers.get("user-agent"))


def _key_document(key: accounts.ApiKey, used: list) -> dict:
    """One key (never its secret) with its usage."""
    return {"id": key.id, "name": key.name, "role": key.role, "office": key.office,
            "created_at": key.created_at and key.created_at.isoformat(),
            "revoked_at": key.revoked_at and key.revoked_at.isoformat(),
            "usage": [{"day": u.day.isoformat(), "kind": u.kind, "charged": u.charged,
                       "refused": u.refused} for u in used if u.api_key_id == key.id]}


class KeyAdmin:
    """GET / POST /admin/keys, DELETE /admin/keys/{id} (admins only: geoserver.auth.POLICY)."""

    def __init__(self, db: Database):
        """Keys live in `db`."""
        self.db = db

    async def listing(self, request: Request) -> Response:
        """Every key with its usage of the last `days` (1 to 366, default 30) days."""
        text = request.query_params.get("days", "30")
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 366):
            raise InvalidInput("days must be an integer from 1 to 366")

        def work(conn):
            return accounts.list_keys(conn), quota_store.usage(conn, int(text))

        keys, used = await run_in_threadpool(self.db.run, work)
        return JSONResponse({"keys": [_key_document(k, used) for k in keys]})

    async def issue(self, request: Request) -> Response:
        """A new key: {"name", "role" (default researcher), "office"}; the key is shown once."""
        body = await request.body()
        try:
            fields = json.loads(body) if len(body) <= MAX_BODY else None
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or set(fields) - {"name", "role", "office"} or \
                not isinstance(fields.get("name"), str):
            raise InvalidInput("the body must be a JSON object with name, and optionally role "
                               "and office")
        name, role = fields["name"], fields.get("role", "researcher")
        office = fields.get("office")
        try:
            accounts.check_identity(name, str(role), office if office is None else str(office))
        except accounts.AccountError:
            raise InvalidInput("invalid name, role or office") from None
        actor = _actor(request)

        def work(conn):
            with conn.transaction():
                key, secret = accounts.add_key(conn, name, role, office)
                audit.record(conn, actor, "key.add", "api_keys", key.id, None,
                             {"id": key.id, "name": name, "role": role, "office": office})
            return key, secret

        key, secret = await run_in_threadpool(self.db.run, work)
        return JSONResponse({**_key_document(key, []), "key": secret}, status_code=201)

    async def revoke(self, request: Request) -> Response:
        """Revoke a key by id: 204, or 404 when there is no live key of that id."""
        key_id, actor = request.path_params["key"][:32], _actor(request)

        def work(conn):
            with conn.transaction():
                done = accounts.revoke_key(conn, key_id)
                if done:
                    audit.record(conn, actor, "key.revoke", "api_keys", key_id, None, None)
                return done

        if not await run_in_threadpool(self.db.run, work):
            raise NotFound("no live key {id!r}", id=key_id)
        return Response(status_code=204)


def routes(db: Database) -> list[Route]:
    """/admin/keys."""
    admin = KeyAdmin(db)
    return [Route("/admin/keys", admin.listing, methods=["GET", "HEAD"]),
            Route("/admin/keys", admin.issue, methods=["POST"]),
            Route("/admin/keys/{key}", admin.revoke, methods=["DELETE"])]


