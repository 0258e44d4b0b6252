"""Browser sign-in: POST /auth/token trades a local user's name and password for a short-lived
bearer token of the local issuer; GET /auth/me says who a token (or API key) belongs to.

POST /auth/token takes JSON `{"username", "password"}` or the same two fields form-encoded
(other fields, such as OAuth 2's `grant_type`, are ignored) and answers
`{"access_token", "token_type": "Bearer", "expires_in", "user", "role", "office"}`; the token
lives `session_hours` (AMANAT_AUTH_SESSION_HOURS), not the CLI's `token_days`.

A wrong name, a wrong password, a disabled user and a user without a password all get the same
401, after the same work: a name that does not exist is checked against a dummy hash. Failed
attempts are counted in the database per name and per client address (every worker sees the
same counts); at the limit the answer is 429 with Retry-After until the oldest failure that
counts leaves the window. Successful sign-ins are recorded in the audit trail (action
`user.signin`); failed ones only in the throttling table (the name hashed) and the server log
(without the name: it may be a mistyped password). Password checks cost ~0.1 s and 64 MiB each,
so only `signin_concurrency` sign-ins are checked at once per process; the rest wait in the
event loop.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from geoserver.auth import REALM, media_type, unauthorized
from geoserver.errors import SignInRefused, SignInRequired, TooManyAttempts
from geoserver.identity import ROLES, LocalIssuer
from kernel.errors import ErrorMap, InvalidInput
from kernel.principal import Principal, principal_of
from layers.database import Database
from geoserver.settings import Settings
from layers import accounts, audit

LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 8192
MAX_NAME = 64
MAX_FORM_FIELDS = 20
REFUSED = "wrong user name or password"
JSON_MEDIA = "application/json"
FORM_MEDIA = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Attempt:
    """One sign-in request."""

    name: str
    password: str
    client_ip: str | None = None
    user_agent: str | None = None


# --- the request body --------------------------------------------------------------------------


async def _body(request: Request) -> bytes:
    """The body, refused once it grows past MAX_BODY_BYTES."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise InvalidInput("a sign-in request may not exceed {limit} bytes",
                               limit=MAX_BODY_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


def _json_fields(body: bytes) -> dict:
    """The members of a JSON object body."""
    try:
        value = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput('the body must be a JSON object {{"username": ..., "password": ...}}')
    return value


def _form_fields(body: bytes) -> dict:
    """The fields of a form-encoded body (a field given twice is refused)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          strict_parsing=bool(body), max_num_fields=MAX_FORM_FIELDS)
    except ValueError:   # UnicodeDecodeError too
        raise InvalidInput("the form is not valid UTF-8 form encoding") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInput("the field {name!r} is given more than once", name=key)
        fields[key] = value
    return fields


def _text(fields: dict, name: str, longest: int) -> str:
    """A required, non-empty string field of at most `longest` characters."""
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput("{name} is required (a non-empty string)", name=name)
    if len(value) > longest:
        raise InvalidInput("{name} may have at most {longest} characters", name=name,
                           longest=longest)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate escaped in JSON
        raise InvalidInput("{name} is not valid Unicode text", name=name) from None
    return value


def parse_credentials(media: str, body: bytes) -> tuple[str, str]:
    """(username, password) of a JSON or form body, or InvalidInput."""
    if media == JSON_MEDIA:
        fields = _json_fields(body)
    elif media == FORM_MEDIA:
        fields = _form_fields(body)
    else:
        raise InvalidInput("send {json} or {form} with username and password", json=JSON_MEDIA,
                           form=FORM_MEDIA)
    return _text(fields, "username", MAX_NAME), _text(fields, "password", accounts.MAX_PASSWORD)


# --- signing in --------------------------------------------------------------------------------


class SignIn:
    """The sign-in service of one application: its settings, issuer and password-check limit."""

    def __init__(self, settings: Settings, db: Database, errors: ErrorMap):
        """Load the local issuer's key; compute the dummy hash now rather than in a request."""
        self.db, self.conf, self.errors = db, settings.auth, errors
        self.issuer = LocalIssuer(settings.auth, settings.server.state_dir)
        self.limiter = anyio.CapacityLimiter(self.conf.signin_concurrency)
        accounts.password_matches(None, "")

    async def token(self, request: Request) -> JSONResponse:
        """POST /auth/token: a bearer token for a local user's name and password."""
        name, password = parse_credentials(media_type(request.headers), await _body(request))
        client = request.client.host if request.client else None
        attempt = Attempt(name, password, client, request.headers.get("user-agent"))
        try:
            user = await self._sign_in(attempt)
        except (SignInRefused, TooManyAttempts) as err:
            return self.refusal(err, request)
        lifetime = self.conf.session_hours * 3600
        token = self.issuer.issue(user.name, user.role, user.office, seconds=lifetime)
        return JSONResponse({"access_token": token,
                             "token_type": "Bearer", "expires_in": lifetime, "user": user.name,
                             "role": user.role, "office": user.office}, headers=NO_STORE)

    async def _sign_in(self, attempt: Attempt) -> accounts.User:
        """The user the attempt signs in, or SignInRefused / TooManyAttempts.

        The whole check (count, verify, record) holds a place of the limiter, so a burst of
        requests cannot all pass the count before the first failure is recorded.
        """
        async with self.limiter:
            wait, login = await run_in_threadpool(self.db.run,
                                                  lambda conn: self._look_up(conn, attempt))
            if wait is not None:
                LOGGER.warning("sign-in throttled for %d s (client %s)", wait, attempt.client_ip)
                raise TooManyAttempts(wait)
            matches = await run_in_threadpool(accounts.password_matches, login, attempt.password)
            accepted = login if matches and not login.disabled else None
            await run_in_threadpool(self.db.run,
                                    lambda conn: self._settle(conn, attempt, accepted))
        if accepted is None:
            LOGGER.info("sign-in refused (client %s)", attempt.client_ip)
            raise SignInRefused()
        return accepted.user

    def _look_up(self, conn, attempt: Attempt):
        """(seconds to wait or None, the login of the name or None)."""
        conf = self.conf
        wait = accounts.throttled_for(conn, attempt.name, attempt.client_ip, conf.signin_window_s,
                                      conf.signin_failures_per_name,
                                      conf.signin_failures_per_client)
        if wait is not None:
            return wait, None
        known = accounts.NAME.fullmatch(attempt.name)
        return None, accounts.login_of(conn, attempt.name) if known else None

    def _settle(self, conn, attempt: Attempt, accepted: accounts.Login | None) -> None:
        """Count a failure, or forget the name's failures and record the sign-in."""
        if accepted is None:
            accounts.record_failure(conn, attempt.name, attempt.client_ip,
                                    self.conf.signin_window_s)
            return
        user = accepted.user
        with conn.transaction():
            accounts.clear_failures(conn, attempt.name)
            accounts.rehash_if_needed(conn, accepted, attempt.password)
            actor = audit.Actor(user.name, "local", frozenset({user.role}), user.office,
                                client_ip=attempt.client_ip, user_agent=attempt.user_agent)
            audit.record(conn, actor, "user.signin", "auth_users", user.name, None,
                         {"session_hours": self.conf.session_hours})


    def refusal(self, err: SignInRefused | TooManyAttempts, request: Request) -> JSONResponse:
        """The 401 (with its challenge) or 429 (with Retry-After) of a refused sign-in."""
        response = self.errors.answer(err, request)
        if not isinstance(err, TooManyAttempts):
            response.headers["WWW-Authenticate"] = REALM
        response.headers.update(NO_STORE)
        return response


# --- who am I ----------------------------------------------------------------------------------


def _role(principal: Principal) -> str | None:
    """The caller's highest role (an OpenID Connect user may hold several), or None."""
    return next((role for role in reversed(ROLES) if role in principal.roles), None)


def me(errors: ErrorMap):
    """GET /auth/me: the caller's user name, role and office; 401 without credentials."""

    async def endpoint(request: Request) -> JSONResponse:
        return _me(errors, request)

    return endpoint


def _me(errors: ErrorMap, request: Request) -> JSONResponse:
    """The caller's user name, role and office, or the 401."""
    principal = principal_of(request.scope)
    if principal.is_public:
        return unauthorized(errors, SignInRequired("sign in: no token or API key was sent"),
                            request.scope)
    return JSONResponse({"user": principal.subject, "role": _role(principal),
                         "office": principal.office},
                        headers={"Cache-Control": "private, no-store", "Vary": "Authorization"})


def routes(settings: Settings, db: Database, errors: ErrorMap) -> list[Route]:
    """POST /auth/token and GET /auth/me (POST /auth/token is open in geoserver.auth.POLICY)."""
    service = SignIn(settings, db, errors)
    return [Route("/auth/token", service.token, methods=["POST"]),
            Route("/auth/me", me(errors), methods=["GET"])]
