"""`amanat users`, `amanat keys` and `amanat audit`: local sign-on and the audit trail.

Tokens and keys are printed alone on standard output (so a script can capture them); what was
done goes to standard error. Every change made here is recorded in the audit trail as done by
`cli:<operating-system user>` (a password change as the action `user.password`, never the
password or its hash). Passwords are typed twice at a prompt, or read from one line of standard
input with --password-stdin (for scripts); they never appear on the command line.
"""
from __future__ import annotations

import contextlib
import getpass
import json

import click
import psycopg

from geoserver import cli_common
from geoserver.audit_api import parse_query
from geoserver.identity import LocalIssuer
from geoserver.settings import Settings
from kernel.errors import InvalidInput
from layers import accounts, audit, quota_store

ROLE = click.Choice(list(accounts.ROLES))


def _cli_actor() -> audit.Actor:
    """The operator at the terminal, as the audit trail names them."""
    try:
        who = getpass.getuser()
    except Exception:  # no user name in this environment
        who = "unknown"
    return audit.Actor(f"cli:{who}", "cli", frozenset({"admin"}))


def _settings_and_fail():
    """The CLI's settings reader and its error exit."""
    return cli_common.settings(), cli_common.fail, cli_common.database_down


@contextlib.contextmanager
def _guarded(fail, down):
    """Database trouble as one line: down, or not migrated yet."""
    try:
        yield
    except psycopg.errors.UndefinedTable:
        fail("the database has no sign-on tables yet: run `amanat migrate` first", 1)
    except psycopg.OperationalError as err:
        fail(down(err), 1)


def add_user_with_token(settings: Settings, name: str, role: str, office: str | None,
                        days: int | None = None, password: str | None = None) -> str:
    """Create (or update) a local user, and set its password when one is given; record both in
    the audit trail, return a fresh token."""

    if password is not None:
        accounts.check_password(password)
    with psycopg.connect(settings.database.dsn) as conn, conn.transaction():
        user = accounts.add_user(conn, name, role, office)
        audit.record(conn, _cli_actor(), "user.add", "auth_users", name, None,
                     {"name": user.name, "role": user.role, "office": user.office})
        if password is not None:
            _store_password(conn, name, password)
    return LocalIssuer(settings.auth, settings.server.state_dir).issue(name, role, office, days)


def _store_password(conn, name: str, password: str) -> bool:
    """Set a user's password and record that it changed; False when there is no such user."""
    if not accounts.set_password(conn, name, password):
        return False
    audit.record(conn, _cli_actor(), "user.password", "auth_users", name, None, None)
    return True


def set_user_password(settings: Settings, name: str, password: str) -> bool:
    """Set or change a local user's password (audited); False when there is no such user."""
    accounts.check_password(password)
    with psycopg.connect(settings.database.dsn) as conn, conn.transaction():
        return _store_password(conn, name, password)


def _read_password(from_stdin: bool, fail) -> str:
    """The new password: one line of standard input, or typed twice at a hidden prompt."""
    if not from_stdin:
        return click.prompt("New password", hide_input=True, confirmation_prompt=True)
    line = click.get_text_stream("stdin").readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        fail("--password-stdin: no password on standard input")
    return password


@click.group()
def users():
    """Local users of the embedded sign-on (roles: office, inspector, analyst, admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, required=True)
@click.option("--office", default=None, help="The engineering office (needed for --role office).")
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="Token lifetime (default AMANAT_AUTH_TOKEN_DAYS, 30).")
@click.option("--password-stdin", is_flag=True,
              help="Also set a sign-in password, read from one line of standard input.")
def users_add(name: str, role: str, office: str | None, days: int | None,
              password_stdin: bool):
    """Create NAME (or change its role) and print a bearer token for it."""
    settings, fail, down = _settings_and_fail()
    password = _read_password(True, fail) if password_stdin else None
    try:
        with _guarded(fail, down):
            token = add_user_with_token(settings, name, role, office, days, password)
    except accounts.AccountError as err:
        fail(err.message)
    click.echo(f"user {name}: role {role}" + (f", office {office}" if office else ""), err=True)
    click.echo(token)


@users.command("token")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, 366), default=None)
def users_token(name: str, days: int | None):
    """Print a new token for an existing, enabled user."""

    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn:
        user = accounts.active_user(conn, name)
    if user is None:
        fail(f"no enabled user {name!r}")
    click.echo(LocalIssuer(settings.auth, settings.server.state_dir).issue(
        user.name, user.role, user.office, days))


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from one line of standard input instead of prompting.")
def users_password(name: str, password_stdin: bool):
    """Set or change the sign-in password of NAME (at least 10 characters)."""
    settings, fail, down = _settings_and_fail()
    password = _read_password(password_stdin, fail)
    try:
        with _guarded(fail, down):
            changed = set_user_password(settings, name, password)
    except accounts.AccountError as err:
        fail(err.message)
    if not changed:
        fail(f"no user {name!r} (create it with `amanat users add`)")
    click.echo(f"password of {name} set", err=True)


@users.command("disable")
@click.argument("name")
def users_disable(name: str):
    """Disable NAME: its tokens stop working at once."""
    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn, \
            conn.transaction():
        if not accounts.disable_user(conn, name):
            fail(f"no enabled user {name!r}")
        audit.record(conn, _cli_actor(), "user.disable", "auth_users", name, None, None)
    click.echo(f"disabled {name}", err=True)


@users.command("list")
def users_list():
    """List the local users."""
    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn:
        for user in accounts.list_users(conn):
            state = "disabled" if user.disabled_at else "enabled"
            click.echo(f"{user.name}\t{user.role}\t{user.office or '-'}\t{state}")


@click.group()
def keys():
    """API keys for machine clients (other agencies' systems)."""


@keys.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, required=True)
@click.option("--office", default=None)
def keys_add(name: str, role: str, office: str | None):
    """Create a key for NAME and print it (it is shown only this once)."""
    settings, fail, down = _settings_and_fail()
    try:
        with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn, \
                conn.transaction():
            key, secret = accounts.add_key(conn, name, role, office)
            audit.record(conn, _cli_actor(), "key.add", "api_keys", key.id, None,
                         {"id": key.id, "name": name, "role": role, "office": office})
    except accounts.AccountError as err:
        fail(err.message)
    click.echo(f"key {key.id} for {name}: role {role} (send it as 'Authorization: Bearer "
               "<key>' or 'X-API-Key: <key>')", err=True)
    click.echo(secret)


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str):
    """Revoke a key by its id (refused from the next request on)."""
    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn, \
            conn.transaction():
        if not accounts.revoke_key(conn, key_id):
            fail(f"no live key {key_id!r}")
        audit.record(conn, _cli_actor(), "key.revoke", "api_keys", key_id[:16], None, None)
    click.echo(f"revoked {key_id[:16]}", err=True)


@keys.command("list")
def keys_list():
    """List the keys (never their secrets)."""
    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn:
        for key in accounts.list_keys(conn):
            state = "revoked" if key.revoked_at else "live"
            click.echo(f"{key.id}\t{key.name}\t{key.role}\t{key.office or '-'}\t{state}")


@keys.command("usage")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--key", "key_id", default=None, help="Only this key id.")
def keys_usage(days: int, key_id: str | None):
    """Requests charged to each key's quota (and refused beyond it), per UTC day."""
    settings, fail, down = _settings_and_fail()
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn:
        for row in quota_store.usage(conn, days, key_id):
            click.echo(f"{row.day.isoformat()}\t{row.api_key_id}\t{row.name}\t{row.role}\t"
                       f"{row.kind}\t{row.charged}\t{row.refused}")


@click.command("audit")
@click.option("--since", default=None, help="RFC 3339 date-time, e.g. 2026-11-01T00:00:00Z")
@click.option("--until", default=None)
@click.option("--user", default=None, help="Only changes by this user (or key:NAME, cli:NAME).")
@click.option("--collection", default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line, with before/after.")
def audit_command(since, until, user, collection, limit, as_json):
    """List the audit trail, oldest first."""

    settings, fail, down = _settings_and_fail()
    params = {k: v for k, v in {"since": since, "until": until, "user": user,
                                "collection": collection}.items() if v is not None}
    try:
        query = parse_query(params)
    except InvalidInput as err:
        fail(err.message)
    if query.since and query.until and query.until < query.since:
        fail("--until is before --since")
    query = audit.AuditQuery(**{**query.__dict__, "limit": limit})
    with _guarded(fail, down), psycopg.connect(settings.database.dsn) as conn:
        rows, total = audit.listing(conn, query)
    for row in rows:
        if as_json:
            click.echo(json.dumps({**row, "at": row["at"].isoformat()}, ensure_ascii=False))
        else:
            client = row["api_key_id"] and f"key {row['api_key_id']}" or row["client_ip"] or "-"
            click.echo(f"{row['at'].isoformat(timespec='seconds')}\t{row['actor']}\t"
                       f"{row['action']}\t{row['collection']}/{row['feature_id'] or '-'}\t{client}")
    click.echo(f"{len(rows)} of {total} entries", err=True)


def register(main: click.Group) -> None:
    """Add these commands to the `amanat` group."""
    main.add_command(users)
    main.add_command(keys)
    main.add_command(audit_command)
