"""Authorisation in one place: an ASGI middleware in front of every route.

It reads the caller's credentials (a bearer token or an API key), decides from the method and
path alone whether the caller may go on, and hands the principal to the handlers in
`scope["amanat.principal"]` (and `scope["state"]["principal"]`, i.e. `request.state.principal`).
Handlers only refine what this allows (an office edits its own licences only).

Policy, first matching rule wins (POLICY below): reads of public layers, imagery, search and
certificates are open (so are the reads sent with POST: CQL2-JSON item queries and raster
statistics of a shape); the audit trail is for admins; inspection photos and the field app's
data (/field/api) for staff (office, inspector, admin), assignments written by offices and admins;
`parcel-check` and `license-site-check` may be run by anyone, `batch-compliance` by analysts and
admins; licences are written by offices and admins, inspections by inspectors and admins; any
other write needs an admin. No credentials where some are needed: 401 with WWW-Authenticate;
credentials that are bad: 401 (even where none were needed); the wrong role: 403.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from geoserver.errors import InvalidCredentials, RoleRequired, SignInRequired
from geoserver.identity import Authenticator
from kernel.errors import AmanatError, ErrorMap, language_of
from kernel.principal import PRINCIPAL, PUBLIC, Principal

LOGGER = logging.getLogger(__name__)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
ANY = frozenset()            # a rule for every method
OPEN = frozenset()           # no role needed
SIGNED_IN = frozenset({"office", "inspector", "analyst", "admin"})
STAFF = frozenset({"office", "inspector", "admin"})   # field data: inspection notes, photos
REALM = 'Bearer realm="amanat"'
QUERY_MEDIA = "application/query-cql-json"


@dataclass(frozen=True)
class Rule:
    """Requests of these methods (ANY: all) on paths matching `pattern` (and, when `media` is
    set, with that Content-Type) need one of `roles`."""

    methods: frozenset[str]
    pattern: re.Pattern
    roles: frozenset[str]
    media: str | None = None

    def matches(self, method: str, path: str, media: str = "") -> bool:
        """Whether the rule covers this request."""
        return ((not self.methods or method in self.methods) and bool(self.pattern.match(path))
                and (self.media is None or media == self.media))


def _rule(methods, pattern: str, roles, media: str | None = None) -> Rule:
    """A rule from plain values."""
    return Rule(frozenset(methods), re.compile(pattern), frozenset(roles), media)


WRITES = ("POST", "PUT", "PATCH", "DELETE")
POLICY: tuple[Rule, ...] = (
    _rule(ANY, r"^/audit(/|$)", {"admin"}),
    _rule(ANY, r"^/open311/staff(/|$)", {"service-agent", "admin"}),   # citizens/routes.py
    _rule(ANY, r"^/admin(/|$)", {"admin"}),   # researcher keys and their usage (quotas.py)
    _rule(SAFE, r"^/licences/expiring/?$", {"office", "admin"}),   # indicators/routes.py
    _rule(SAFE, r"^/ogc/collections/inspections/items/[^/]+/photos(/|$)", STAFF),
    _rule(SAFE, r"^/field/api(/|$)", STAFF),   # field/routes.py: licences, history, assignments
    _rule(WRITES, r"^/field/api/assignments(/|$)", {"office", "admin"}),
    _rule({"OPTIONS"}, r"", OPEN),
    _rule(SAFE, r"", OPEN),
    _rule({"POST"}, r"^/ogc/processes/(parcel-check|license-site-check)/execution/?$", OPEN),
    _rule({"POST"}, r"^/ogc/processes/batch-compliance/execution/?$", {"analyst", "admin"}),
    _rule({"POST"}, r"^/certificates/verify/?$", OPEN),
    _rule({"POST"}, r"^/auth/token/?$", OPEN),   # browser sign-in (geoserver/signin.py)
    _rule({"POST"}, r"^/open311/v2/requests\.(json|xml)$", OPEN),   # citizens' reports
    _rule({"POST"}, r"^/(track/rate|feedback)$", OPEN),   # citizens/ratings.py
    # reads sent with POST: CQL2-JSON item queries (Features Part 3), raster statistics of a shape
    _rule({"POST"}, r"^/ogc/collections/[^/]+/items/?$", OPEN, QUERY_MEDIA),
    _rule({"POST"}, r"^/raster/[^/]+/statistics/?$", OPEN),
    _rule({"DELETE"}, r"^/ogc/jobs/[^/]+/?$", {"analyst", "admin"}),
    _rule(WRITES, r"^/ogc/collections/licenses(/|$)", {"office", "admin"}),
    _rule(WRITES, r"^/ogc/collections/inspections(/|$)", {"inspector", "admin"}),
    _rule(ANY, r"", {"admin"}),
)


def media_type(headers: Headers) -> str:
    """The request's Content-Type without parameters, lower case."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def required_roles(method: str, path: str, media: str = "", policy=POLICY) -> frozenset[str]:
    """The roles one of which a request needs (OPEN: none)."""
    for rule in policy:
        if rule.matches(method, path, media):
            return rule.roles
    return frozenset({"admin"})


def credential(headers: Headers) -> str | None:
    """The bearer token or API key of a request, '' for a malformed header, None for none."""
    value = headers.get("authorization")
    if value is not None:
        scheme, _, token = value.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    key = headers.get("x-api-key")
    return key.strip() if key is not None else None


def _challenge(error: str | None = None, description: str | None = None) -> str:
    """A WWW-Authenticate value (RFC 6750)."""
    if error is None:
        return REALM
    safe = (description or "").replace('"', "'").replace("\\", "/")
    return f'{REALM}, error="{error}", error_description="{safe}"'


def unauthorized(errors: ErrorMap, refusal: AmanatError, scope, error: str | None = None):
    """401 with its challenge, in the request's language (the challenge in English)."""
    response = errors.response(refusal, lang=language_of(scope))
    response.headers["WWW-Authenticate"] = _challenge(error, refusal.message if error else None)
    return response


def forbidden(errors: ErrorMap, refusal: AmanatError, scope):
    """403: authenticated, but not allowed."""
    response = errors.response(refusal, lang=language_of(scope))
    response.headers["WWW-Authenticate"] = _challenge("insufficient_scope", refusal.message)
    return response


class Authorization:
    """ASGI middleware: authenticate, apply POLICY, pass the principal on."""

    def __init__(self, app, authenticator: Authenticator, errors: ErrorMap, policy=POLICY):
        """Wrap the application."""
        self.app, self.authenticator, self.policy = app, authenticator, policy
        self.errors = errors

    async def __call__(self, scope, receive, send):
        """Answer 401/403 here, or pass the request on with its principal."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        principal, refusal = await self._principal(credential(headers), scope)
        if refusal is None:
            refusal = self._refusal(scope, principal, media_type(headers))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope[PRINCIPAL] = principal
        if isinstance(scope.get("state"), dict):
            scope["state"]["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, found: str | None, scope):
        """(principal, None) or (None, error response)."""
        if found is None:
            return PUBLIC, None
        if found == "":
            return None, unauthorized(self.errors, InvalidCredentials(
                "the Authorization header must read 'Bearer <token>'"), scope, "invalid_request")
        try:
            return await run_in_threadpool(self.authenticator.authenticate, found), None
        except InvalidCredentials as err:
            return None, unauthorized(self.errors, err, scope, "invalid_token")
        except Exception as err:  # database or key server down: the error map decides
            return None, self.errors.answer(err, scope)

    def _refusal(self, scope, principal: Principal, media: str):
        """The 401/403 response for a request the principal may not make, else None."""
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        roles = required_roles(scope["method"], path, media, self.policy)
        if not roles or principal.has(*roles):
            return None
        wanted = " | ".join(sorted(roles))
        if principal.is_public:
            return unauthorized(self.errors, SignInRequired(
                "sign in: this needs the role {roles}", roles=wanted), scope)
        return forbidden(self.errors, RoleRequired("this needs the role {roles}", roles=wanted),
                         scope)


def install(app, authenticator: Authenticator, errors: ErrorMap) -> None:
    """Put the middleware in front of the application's routes."""
    app.add_middleware(Authorization, authenticator=authenticator, errors=errors)
