"""Local users and API keys (tables auth_users, api_keys of migration 0006_auth).

An API key reads `amk_<id>_<secret>`: the id (12 hex digits) is stored in clear to find the key,
the secret (256 random bits) only as its SHA-256, compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

KEY_PREFIX = "amk_"
KEY = re.compile(r"^amk_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{20,100})$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
ROLES = ("office", "inspector", "analyst", "admin")


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
