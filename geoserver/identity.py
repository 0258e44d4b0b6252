"""Who is calling: bearer tokens (JWT, local issuer or external OpenID Connect) and API keys.

Tokens are verified with joserfc, public-key algorithms only (`none` and HS* are refused, so a
public key can never be used as an HMAC secret). A token's issuer picks the keys that verify it:
the embedded local issuer's ES256 key (created on first use in the state directory) or the
provider's JWKS (fetched over HTTPS, cached, fetched again when a token names an unknown key).
API keys (`amk_<id>_<secret>`) are looked up by id and compared by hash; local users and keys
are read from the database on every request, so disabling a user or revoking a key takes
effect at once.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet

from geoserver.errors import InvalidCredentials
from kernel.errors import Unavailable
from kernel.principal import Principal
from geoserver.settings import AuthSettings
from layers import accounts
from layers.database import Database

LOGGER = logging.getLogger(__name__)
ROLES = ("public", "office", "inspector", "analyst", "service-agent", "admin")
LOCAL_ALGORITHM = "ES256"
MAX_TOKEN_CHARS = 8192
MAX_JWKS_BYTES = 1 << 20
_key_lock = threading.Lock()




def _b64json(segment: str) -> dict:
    """One base64url JSON segment of a compact token (unverified: used to route only)."""
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):
        raise InvalidCredentials("the token is not a JWT") from None
    if not isinstance(value, dict):
        raise InvalidCredentials("the token is not a JWT")
    return value


class LocalIssuer:
    """The embedded issuer: one ES256 key, tokens for the users of `amanat users`."""

    def __init__(self, settings: AuthSettings, state_dir: Path):
        """Load the key, creating it (mode 0600) on first use."""
        self.issuer = settings.local_issuer
        self.audience = settings.audience
        self.days = settings.token_days
        self.key = _load_or_create_key(settings.key_path(state_dir))
        self.kid = self.key.thumbprint()
        self.keys = KeySet([ECKey.import_key({**self.key.as_dict(private=False),
                                              "kid": self.kid})])

    def issue(self, subject: str, role: str, office: str | None, days: int | None = None,
              seconds: int | None = None) -> str:
        """A signed token for a local user, valid `seconds`, or `days` (default token_days)."""
        now = int(time.time())
        lifetime = seconds if seconds is not None else 86400 * (days or self.days)
        claims = {"iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now,
                  "nbf": now, "exp": now + lifetime, "jti": str(uuid.uuid4()), "role": role}
        if office:
            claims["office"] = office
        header = {"alg": LOCAL_ALGORITHM, "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=[LOCAL_ALGORITHM])


def _load_or_create_key(path: Path) -> ECKey:
    """The P-256 private key in `path`; if another process creates it first, theirs is kept."""
    path = Path(path)
    with _key_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
            except FileExistsError:
                pass
        key = ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    if not key.is_private:
        raise ValueError(f"{path} does not hold a private EC key")
    return key


class JwksCache:
    """The external provider's public keys: fetched, kept `ttl_s`, refetched on a new kid."""

    def __init__(self, url: str, ttl_s: float, min_refresh_s: float):
        """Nothing is fetched until a token needs it."""
        self.url, self.ttl_s, self.min_refresh_s = url, ttl_s, min_refresh_s
        self._keys: KeySet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def keys(self, refresh: bool = False) -> KeySet:
        """The key set (fetched when absent, stale, or on request but not too often)."""
        with self._lock:
            age = time.monotonic() - self._fetched
            stale = self._keys is None or age > self.ttl_s
            if stale or (refresh and age >= self.min_refresh_s):
                self._keys = self._fetch()
                self._fetched = time.monotonic()
            return self._keys

    def _fetch(self) -> KeySet:
        """GET the JWKS document (bounded in time and size)."""
        try:
            request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (https)
                body = response.read(MAX_JWKS_BYTES + 1)
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("JWKS document too large")
            return KeySet.import_key_set(json.loads(body))
        except (OSError, ValueError, JoseError) as err:
            LOGGER.warning("cannot fetch the sign-on keys from %s: %s", self.url, err)
            if self._keys is not None:
                return self._keys   # keep serving with the keys we had
            raise Unavailable("the sign-on provider's keys cannot be fetched; try again shortly"
                              ) from None


class TokenVerifier:
    """Verify a JWT from the local issuer or the configured OpenID Connect provider."""

    def __init__(self, settings: AuthSettings, local: LocalIssuer):
        """Keep the issuers this server trusts."""
        self.settings, self.local = settings, local
        self.jwks = (JwksCache(settings.oidc_jwks_url, settings.jwks_ttl_s,
                               settings.jwks_min_refresh_s) if settings.oidc_enabled else None)

    def claims(self, token: str) -> tuple[str, dict]:
        """('local' | 'oidc', verified claims) or InvalidCredentials."""
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidCredentials("the token is not a signed JWT")
        issuer = _b64json(parts[1]).get("iss")
        if issuer == self.local.issuer:
            return "local", self._verify(token, self.local.keys, [LOCAL_ALGORITHM],
                                         self.local.issuer, self.local.audience)
        if self.jwks is not None and issuer == self.settings.oidc_issuer:
            return "oidc", self._oidc(token)
        raise InvalidCredentials("the token's issuer is not trusted here")

    def _oidc(self, token: str) -> dict:
        """Verify against the provider's keys, refetching them once for an unknown kid."""
        conf = self.settings
        try:
            return self._verify(token, self.jwks.keys(), conf.oidc_algorithms,
                                conf.oidc_issuer, conf.oidc_audience)
        except _UnknownKey:
            return self._verify(token, self.jwks.keys(refresh=True), conf.oidc_algorithms,
                                conf.oidc_issuer, conf.oidc_audience)

    def _verify(self, token: str, keys: KeySet, algorithms, issuer: str, audience: str) -> dict:
        """Signature, algorithm, issuer, audience, expiry, not-before."""
        registry = jwt.JWTClaimsRegistry(
            leeway=self.settings.leeway_s, iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience}, exp={"essential": True},
            sub={"essential": True})
        try:
            decoded = jwt.decode(token, keys, algorithms=algorithms)
            registry.validate(decoded.claims)
        except InvalidKeyIdError:
            raise _UnknownKey() from None
        except ExpiredTokenError:
            raise InvalidCredentials("the token has expired") from None
        except JoseError as err:
            raise _reason(err) from None
        except (ValueError, TypeError):
            raise InvalidCredentials("the token is malformed") from None
        return decoded.claims


class _UnknownKey(InvalidCredentials):
    """The token names a key the issuer's key set does not have."""

    def __init__(self):
        """A fixed message."""
        super().__init__("the token was signed with an unknown key")


def _reason(err: JoseError) -> InvalidCredentials:
    """The client-safe InvalidCredentials for a rejected token."""
    reasons = {"bad_signature": lambda: InvalidCredentials("the token's signature is not valid"),
               "unsupported_algorithm": lambda: InvalidCredentials(
                   "the token's signing algorithm is not accepted"),
               "invalid_claim": lambda: InvalidCredentials(
                   "the token is not meant for this server (issuer or audience)"),
               "missing_claim": lambda: InvalidCredentials(
                   "the token lacks a required claim (iss, aud, sub, exp)"),
               "invalid_token": lambda: InvalidCredentials("the token is not valid yet")}
    made = reasons.get(getattr(err, "error", ""))
    return made() if made else InvalidCredentials("the token is not valid")


def _claim(claims: dict, path: str):
    """A claim by dotted path (realm_access.roles), or None."""
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Authenticator:
    """Turn an Authorization / X-API-Key header value into a Principal."""

    def __init__(self, settings: AuthSettings, state_dir: Path, db: Database):
        """Load the local issuer's key; the provider's keys are fetched when first needed."""
        self.settings, self.db = settings, db
        self.issuer = LocalIssuer(settings, state_dir)
        self.tokens = TokenVerifier(settings, self.issuer)

    def authenticate(self, credential: str) -> Principal:
        """The caller behind a bearer token or API key (blocking: database, key fetch)."""
        if len(credential) > MAX_TOKEN_CHARS:
            raise InvalidCredentials("the token is too long")
        if credential.startswith(accounts.KEY_PREFIX):
            return self._api_key(credential)
        kind, claims = self.tokens.claims(credential)
        if kind == "local":
            return self._local_user(claims)
        return self._oidc_user(claims)

    def _api_key(self, credential: str) -> Principal:
        """A machine client's key, if it exists and is not revoked."""
        key = self.db.run(lambda conn: accounts.check_key(conn, credential))
        if key is None:
            raise InvalidCredentials("the API key is unknown or revoked")
        return Principal(f"key:{key.name}", frozenset({key.role}), key.office, "key", key.id)

    def _local_user(self, claims: dict) -> Principal:
        """A local user: role and office as they are now in the database, not in the token."""
        user = self.db.run(lambda conn: accounts.active_user(conn, claims["sub"]))
        if user is None:
            raise InvalidCredentials("the user is unknown or disabled")
        return Principal(user.name, frozenset({user.role}), user.office, "local")

    def _oidc_user(self, claims: dict) -> Principal:
        """A provider's user: roles and office from the configured claims."""
        raw = _claim(claims, self.settings.oidc_roles_claim) or []
        raw = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        roles = frozenset(r for r in raw if isinstance(r, str) and r in ROLES[1:])
        office = _claim(claims, self.settings.oidc_office_claim)
        office = office if isinstance(office, str) and office else None
        if office is None:   # an office or a service agent without one can own or serve nothing
            roles = roles - {"office", "service-agent"}
        return Principal(f"oidc:{claims['sub']}", roles, office, "oidc")
