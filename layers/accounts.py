"""Local users and API keys (tables auth_users, api_keys of migration 0006_auth), and the
passwords and failed sign-ins of browser sign-in (migration 0007_signin).

An API key reads `amk_<id>_<secret>`: the id (12 hex digits) is stored in clear to find the key,
the secret (256 random bits) only as its SHA-256, compared in constant time. A password is
stored only as an argon2id hash (argon2-cffi's defaults, RFC 9106's low-memory profile).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from ipaddress import ip_address

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import sql

KEY_PREFIX = "amk_"
KEY = re.compile(r"^amk_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{20,100})$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
ROLES = ("office", "inspector", "analyst", "admin", "service-agent", "researcher")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024      # argon2 hashes any length; this bounds the work of one attempt


class AccountError(Exception):
    """A user or key request that cannot be carried out (the message says why)."""

    def __init__(self, message: str):
        """Keep the message."""
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class User:
    """A local user."""

    name: str
    role: str
    office: str | None
    created_at: datetime | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class ApiKey:
    """A machine client's key (without its secret)."""

    id: str
    name: str
    role: str
    office: str | None
    created_at: datetime | None = None
    revoked_at: datetime | None = None


def check_identity(name: str, role: str, office: str | None) -> None:
    """AccountError for a bad name, role or office (an office role needs an office)."""
    if not NAME.match(name):
        raise AccountError(f"invalid name {name!r} (letters, digits, _ . @ -; at most 64)")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if office is not None and not NAME.match(office):
        raise AccountError(f"invalid office {office!r} (letters, digits, _ . @ -; at most 64)")
    if role == "office" and not office:
        raise AccountError("the office role needs --office (the office the user works for)")
    if role == "service-agent" and not office:
        raise AccountError("the service-agent role needs --office (the municipality code)")


def add_user(conn, name: str, role: str, office: str | None) -> User:
    """Create a user, or update the role and office of an existing one (and re-enable it)."""
    check_identity(name, role, office)
    row = conn.execute(
        "INSERT INTO auth_users (name, role, office) VALUES (%s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET role = excluded.role, office = excluded.office, "
        "disabled_at = NULL RETURNING name, role, office, created_at, disabled_at",
        [name, role, office]).fetchone()
    return User(*row)


def disable_user(conn, name: str) -> bool:
    """Disable a user (their tokens stop working at once); False when there is none."""
    return conn.execute("UPDATE auth_users SET disabled_at = now() WHERE name = %s "
                        "AND disabled_at IS NULL", [name]).rowcount == 1


def active_user(conn, name: str) -> User | None:
    """The user of that name unless unknown or disabled."""
    row = conn.execute("SELECT name, role, office FROM auth_users "
                       "WHERE name = %s AND disabled_at IS NULL", [name]).fetchone()
    return User(*row) if row else None


def list_users(conn) -> list[User]:
    """Every local user."""
    rows = conn.execute("SELECT name, role, office, created_at, disabled_at FROM auth_users "
                        "ORDER BY name").fetchall()
    return [User(*row) for row in rows]


def _digest(secret: str) -> bytes:
    """What is stored of a secret."""
    return hashlib.sha256(secret.encode()).digest()


def add_key(conn, name: str, role: str, office: str | None) -> tuple[ApiKey, str]:
    """Create a key; returns it and the full key string (shown once, never stored)."""
    check_identity(name, role, office)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_keys (id, name, role, office, secret_sha256) VALUES (%s, %s, %s, %s, %s) "
        "RETURNING id, name, role, office, created_at, revoked_at",
        [key_id, name, role, office, _digest(secret)]).fetchone()
    return ApiKey(*row), f"{KEY_PREFIX}{key_id}_{secret}"


def revoke_key(conn, key_id: str) -> bool:
    """Revoke a key by id (or by the full key string); False when there is no such live key."""
    found = KEY.match(key_id)
    key_id = found["id"] if found else key_id
    return conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s "
                        "AND revoked_at IS NULL", [key_id]).rowcount == 1


def check_key(conn, credential: str) -> ApiKey | None:
    """The live key a credential string belongs to, or None."""
    found = KEY.match(credential)
    if not found:
        return None
    row = conn.execute("SELECT id, name, role, office, secret_sha256 FROM api_keys "
                       "WHERE id = %s AND revoked_at IS NULL", [found["id"]]).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[4]), _digest(found["secret"])):
        return None
    return ApiKey(*row[:4])


def list_keys(conn) -> list[ApiKey]:
    """Every key (revoked ones too), without secrets."""
    rows = conn.execute("SELECT id, name, role, office, created_at, revoked_at FROM api_keys "
                        "ORDER BY created_at").fetchall()
    return [ApiKey(*row) for row in rows]


# --- passwords (browser sign-in) ---------------------------------------------------------------


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """The password hasher (argon2id, the library's recommended parameters)."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash nobody's password matches: checked when there is no user, so that a wrong name
    takes as long as a wrong password."""
    return hasher().hash(secrets.token_urlsafe(32))


def check_password(password: str) -> None:
    """AccountError for a password that is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")


def set_password(conn, name: str, password: str) -> bool:
    """Set or change a user's password; False when there is no such user."""
    check_password(password)
    digest = hasher().hash(password)
    return conn.execute("UPDATE auth_users SET password_hash = %s, password_changed_at = now() "
                        "WHERE name = %s", [digest, name]).rowcount == 1


@dataclass(frozen=True)
class Login:
    """What a sign-in needs to know of a user (never shown to anyone)."""

    user: User
    password_hash: str | None
    disabled: bool


def login_of(conn, name: str) -> Login | None:
    """The user of that name with its password hash, or None."""
    row = conn.execute("SELECT name, role, office, password_hash, disabled_at IS NOT NULL "
                       "FROM auth_users WHERE name = %s", [name]).fetchone()
    return Login(User(*row[:3]), row[3], row[4]) if row else None


def password_matches(login: Login | None, password: str) -> bool:
    """Whether the password is the user's; as slow for no user (or no password) as for one."""
    stored = login.password_hash if login is not None else None
    try:
        return hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def rehash_if_needed(conn, login: Login, password: str) -> None:
    """Store a new hash when the hasher's parameters changed since this one was made."""
    if login.password_hash and hasher().check_needs_rehash(login.password_hash):
        conn.execute("UPDATE auth_users SET password_hash = %s WHERE name = %s",
                     [hasher().hash(password), login.user.name])


# --- failed sign-ins (throttling) ---------------------------------------------------------------


def _name_key(name: str) -> bytes:
    """What is stored of the name a failed sign-in tried."""
    return hashlib.sha256(name.lower().encode()).digest()


def _client(client_ip: str | None) -> str | None:
    """An IP address, or None (test clients and Unix sockets have none)."""
    try:
        return str(ip_address(client_ip)) if client_ip else None
    except ValueError:
        return None


RETRY_AFTER = sql.SQL("""
SELECT ceil(extract(epoch FROM at + make_interval(secs => %(window)s) - clock_timestamp()))::int
FROM auth_signin_failures WHERE {column} = %(value)s
  AND at > clock_timestamp() - make_interval(secs => %(window)s)
ORDER BY at DESC OFFSET %(limit)s - 1 LIMIT 1
""")


def _wait(conn, column: str, value, window_s: int, limit: int) -> int | None:
    """Seconds until the `limit`-th latest failure of `column` = `value` leaves the window
    (None: fewer than `limit` failures in it)."""
    row = conn.execute(RETRY_AFTER.format(column=sql.Identifier(column)),
                       {"window": window_s, "value": value, "limit": limit}).fetchone()
    return None if row is None else row[0]


def throttled_for(conn, name: str, client_ip: str | None, window_s: int, per_name: int,
                  per_client: int) -> int | None:
    """Seconds to wait when the name or the client reached its failures in the window, else
    None (the wait ends when the failure that reached the limit leaves the window)."""
    waits = [_wait(conn, "name_sha256", _name_key(name), window_s, per_name)]
    client = _client(client_ip)
    if client is not None:
        waits.append(_wait(conn, "client_ip", client, window_s, per_client))
    found = [wait for wait in waits if wait is not None]
    return max(1, min(max(found), window_s)) if found else None


def record_failure(conn, name: str, client_ip: str | None, window_s: int) -> None:
    """Count a failed sign-in (and forget the failures that left the window)."""
    conn.execute("DELETE FROM auth_signin_failures "
                 "WHERE at < clock_timestamp() - make_interval(secs => %s)", [window_s])
    conn.execute("INSERT INTO auth_signin_failures (name_sha256, client_ip) VALUES (%s, %s)",
                 [_name_key(name), _client(client_ip)])


def clear_failures(conn, name: str) -> None:
    """Forget the failed sign-ins of a name (after its user signed in)."""
    conn.execute("DELETE FROM auth_signin_failures WHERE name_sha256 = %s", [_name_key(name)])
