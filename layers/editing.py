"""Writes to the editable layers: create, replace, update (JSON merge patch) and delete.

Each write is one transaction: lock the stored feature, check the caller may change it and that
their copy is current (entity tag), check the new feature (layers.feature_rules), write it, add
its audit row, and only then run the caller's last step (storing photo files). Any error rolls
all of it back, so a rejected write changes nothing.

A feature's entity tag is its collection, id and the row version PostgreSQL keeps (`xmin`, the
transaction that wrote it), so any committed change, through this API or not, changes the tag.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from layers import audit, queries
from layers.audit import Actor
from layers.database import Database
from layers.feature_rules import (SPECS, Conflict, Context, EditError, FeatureMissing,
                                  InvalidFeature, NotAllowed, Spec, merge_patch, parts)

LOGGER = logging.getLogger(__name__)


class PreconditionFailed(EditError):
    """The client's entity tag is not the stored feature's (someone changed it since)."""


class PreconditionRequired(EditError):
    """A change of a stored feature came without If-Match."""


@dataclass(frozen=True)
class Photo:
    """A checked photo of an inspection (its bytes are stored by the caller)."""

    sha256: str
    media_type: str
    size: int
    width: int
    height: int


@dataclass(frozen=True)
class Write:
    """One write as the client asked for it."""

    action: str                         # create | replace | update | delete
    collection: str
    feature_id: int | None = None
    body: dict | None = None            # the Feature (create, replace) or merge patch (update)
    if_match: str | None = None
    client_id: str | None = None        # idempotency key of a creation
    fingerprint: str | None = None      # digest of the request, to tell a retry from a reuse
    photos: tuple[Photo, ...] = ()
    last_step: Callable[[int], None] | None = None   # run in the transaction, after all SQL


@dataclass(frozen=True)
class Outcome:
    """What a write did, and the feature as the caller may see it now."""

    action: str                          # created | replaced | updated | deleted | replayed
    feature_id: int
    etag: str | None = None
    feature: str | None = None           # GeoJSON Feature text
    photos: tuple[tuple[int, str], ...] = ()   # (position, media type)


def etag(collection: str, feature_id, version) -> str:
    """The strong entity tag of a stored feature."""
    return f'"{collection}-{feature_id}-{version}"'


def matches(if_match: str, current: str) -> bool:
    """RFC 9110 If-Match: `*`, or a strong tag equal to the current one (weak ones never)."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or current in tags


def apply(db: Database, write: Write, actor: Actor, ctx: Context) -> Outcome:
    """Carry out one write in one transaction (EditError subclasses when refused)."""
    spec = SPECS[write.collection]
    if write.action != "create" and not write.if_match:
        raise PreconditionRequired("send If-Match with the feature's ETag (GET it first)")
    return db.run(lambda conn: _transaction(conn, spec, write, actor, ctx))


def _transaction(conn, spec: Spec, write: Write, actor: Actor, ctx: Context) -> Outcome:
    """The write, its checks and its audit row; constraint violations become EditErrors."""
    try:
        with conn.transaction():
            if write.action == "create":
                return _create(conn, spec, write, actor, ctx)
            before = _locked(conn, spec, write.feature_id)
            if not spec.may_edit(actor, before["row"]):
                raise NotAllowed(spec.refusals["edit"])
            if write.action == "delete" and not spec.may_delete(actor, before["row"]):
                raise NotAllowed(spec.refusals["delete"])
            if not matches(write.if_match, before["etag"]):
                raise PreconditionFailed("the feature has changed since you read it; GET it "
                                         "again and re-apply your change")
            if write.action == "delete":
                return _delete(conn, spec, write, actor, before)
            return _change(conn, spec, write, actor, ctx, before)
    except psycopg.errors.UniqueViolation as err:
        raise _duplicate(err) from None
    except psycopg.errors.ForeignKeyViolation:
        raise Conflict("other features refer to this one") from None
    except (psycopg.errors.CheckViolation, psycopg.errors.NotNullViolation):
        raise InvalidFeature("a value is outside what the layer accepts") from None


def _duplicate(err: psycopg.errors.UniqueViolation) -> Conflict:
    """The client-safe Conflict for a unique violation."""
    name = getattr(err.diag, "constraint_name", "") or ""
    if "license_no" in name:
        return Conflict("a licence with this license_no already exists")
    if "client_id" in name:
        return Conflict("this client id was already used")
    return Conflict("a feature with these values already exists")


def _locked(conn, spec: Spec, feature_id: int) -> dict:
    """The stored feature, locked until the transaction ends (FeatureMissing when none)."""
    row = conn.execute(sql.SQL(
        "SELECT to_jsonb(t) - 'geom' - 'geom_utm', ST_AsGeoJSON(t.geom, 7)::jsonb, t.xmin::text "
        "FROM {} t WHERE t.id = %s FOR UPDATE").format(sql.Identifier(spec.layer.table)),
        [feature_id]).fetchone()
    if row is None:
        raise FeatureMissing("no feature with id {id}", id=feature_id)
    return {"row": row[0], "geometry": row[1],
            "etag": etag(spec.collection, feature_id, row[2])}


def _snapshot(conn, spec: Spec, feature_id: int) -> dict:
    """The stored row as JSON (every column, for the audit trail)."""
    row = conn.execute(sql.SQL(
        "SELECT to_jsonb(t) - 'geom' - 'geom_utm' || jsonb_build_object('geometry', "
        "ST_AsGeoJSON(t.geom, 7)::jsonb) FROM {} t WHERE t.id = %s").format(
        sql.Identifier(spec.layer.table)), [feature_id]).fetchone()
    return row[0]


def _audit_row(locked: dict) -> dict:
    """A locked feature as it goes into the audit trail."""
    return {**locked["row"], "geometry": locked["geometry"]}


def _create(conn, spec: Spec, write: Write, actor: Actor, ctx: Context) -> Outcome:
    """Insert a feature (or, for a retried creation, answer with the one made the first time)."""
    if spec.idempotent and write.client_id:
        replay = _replay(conn, spec, write, actor)
        if replay is not None:
            return replay
    geometry, given = parts(write.body)
    values = spec.values(geometry, given, actor, None, ctx)
    if spec.idempotent and write.client_id:
        values["client_id"], values["request_sha256"] = write.client_id, write.fingerprint
    spec.check(conn, values, ctx)
    feature_id = _insert(conn, spec, values)
    _insert_photos(conn, feature_id, write.photos)
    audit.record(conn, actor, "create", spec.collection, feature_id, None,
                 _snapshot(conn, spec, feature_id))
    if write.last_step:
        write.last_step(feature_id)
    return _outcome(conn, spec, "created", feature_id, actor)


def _replay(conn, spec: Spec, write: Write, actor: Actor) -> Outcome | None:
    """The feature an earlier request with the same client id made, or None."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                 [f"{spec.collection}:{write.client_id}"])
    row = conn.execute(sql.SQL(
        "SELECT id, request_sha256, created_by FROM {} WHERE client_id = %s").format(
        sql.Identifier(spec.layer.table)), [write.client_id]).fetchone()
    if row is None:
        return None
    if row[1] != write.fingerprint or row[2] != actor.subject:
        raise Conflict(spec.refusals["reused"])
    return _outcome(conn, spec, "replayed", row[0], actor)


def _change(conn, spec: Spec, write: Write, actor: Actor, ctx: Context, before: dict) -> Outcome:
    """Replace (PUT) or merge-patch (PATCH) a stored feature."""
    if write.action == "update":
        if not isinstance(write.body, dict):
            raise InvalidFeature("a merge patch must be a JSON object")
        body = merge_patch(_editable(spec, before, write.body), write.body)
    else:
        body = write.body
    geometry, given = parts(body)
    values = spec.values(geometry, given, actor, before["row"], ctx)
    spec.check(conn, values, ctx)
    _update(conn, spec, write.feature_id, values)
    audit.record(conn, actor, write.action, spec.collection, write.feature_id,
                 _audit_row(before), _snapshot(conn, spec, write.feature_id))
    return _outcome(conn, spec, "replaced" if write.action == "replace" else "updated",
                    write.feature_id, actor)


def _editable(spec: Spec, before: dict, patch: dict) -> dict:
    """A stored feature as a client would send it (writable properties only), less the
    properties derived from one the patch changes (new ISIC code: names from the rules file)."""
    properties = {name: before["row"][name] for name in spec.fields
                  if before["row"].get(name) is not None}
    changed = patch.get("properties") if isinstance(patch.get("properties"), dict) else {}
    for source, derived in spec.derived.items():
        if source in changed:
            for name in derived:
                if name not in changed:
                    properties.pop(name, None)
    return {"type": "Feature", "geometry": before["geometry"], "properties": properties}


def _delete(conn, spec: Spec, write: Write, actor: Actor, before: dict) -> Outcome:
    """Delete a stored feature."""
    spec.before_delete(conn, write.feature_id)
    conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(
        sql.Identifier(spec.layer.table)), [write.feature_id])
    audit.record(conn, actor, "delete", spec.collection, write.feature_id, _audit_row(before),
                 None)
    return Outcome("deleted", write.feature_id)


def _columns(values: dict) -> tuple[list[str], list]:
    """Column names and values, the geometry left out."""
    names = [name for name in values if name != "geom"]
    return names, [values[name] for name in names]


POINT = sql.SQL("ST_SetSRID(ST_MakePoint(%s, %s), 4326)")


def _insert(conn, spec: Spec, values: dict) -> int:
    """INSERT the values; the new id."""
    names, params = _columns(values)
    statement = sql.SQL("INSERT INTO {} ({}, geom) VALUES ({}, {}) RETURNING id").format(
        sql.Identifier(spec.layer.table), sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)), POINT)
    return conn.execute(statement, [*params, *values["geom"]]).fetchone()[0]


def _update(conn, spec: Spec, feature_id: int, values: dict) -> None:
    """UPDATE the row with the values (and its touch column)."""
    names, params = _columns(values)
    assignments = [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in names]
    assignments.append(sql.SQL("geom = ") + POINT)
    if spec.touch_column:
        assignments.append(sql.SQL("{} = now()").format(sql.Identifier(spec.touch_column)))
    conn.execute(sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
        sql.Identifier(spec.layer.table), sql.SQL(", ").join(assignments)),
        [*params, *values["geom"], feature_id])


def _insert_photos(conn, inspection_id: int, photos: tuple[Photo, ...]) -> None:
    """The photo records of a new inspection."""
    for position, photo in enumerate(photos):
        conn.execute(
            "INSERT INTO inspection_photos (inspection_id, position, sha256, media_type, bytes, "
            "width, height) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [inspection_id, position, photo.sha256, photo.media_type, photo.size, photo.width,
             photo.height])


def _outcome(conn, spec: Spec, action: str, feature_id: int, actor: Actor) -> Outcome:
    """The outcome with the feature as the actor may see it."""
    found = represent(conn, spec, feature_id, actor)
    if found is None:
        raise FeatureMissing("no feature with id {id}", id=feature_id)
    text, tag, photos = found
    return Outcome(action, feature_id, tag, text, photos)


def represent(conn, spec: Spec, feature_id: int, actor: Actor):
    """(feature text, entity tag, photos) of a stored feature as the actor may see it, or None.

    One query reads the public and the private properties; the private ones the actor may not
    see are dropped before the text is made.
    """
    names = tuple(spec.layer.fields) + spec.personal
    feature = queries.feature_json(spec.layer, names, None, False)
    row = conn.execute(sql.SQL("SELECT {}, t.xmin::text, t.{}::text FROM {} t WHERE t.id = %s")
                       .format(feature, sql.Identifier(spec.owner_column),
                               sql.Identifier(spec.layer.table)), [feature_id]).fetchone()
    if row is None:
        return None
    document, version, owner = row
    allowed = set(spec.private_names(actor, owner))
    for name in spec.personal:
        if name not in allowed:
            document["properties"].pop(name, None)
    photos = _photos(conn, feature_id) if spec.collection == "inspections" else ()
    return (json.dumps(document, ensure_ascii=False), etag(spec.collection, feature_id, version),
            photos)


def _photos(conn, inspection_id: int) -> tuple[tuple[int, str], ...]:
    """(position, media type) of an inspection's photos."""
    rows = conn.execute("SELECT position, media_type FROM inspection_photos "
                        "WHERE inspection_id = %s ORDER BY position", [inspection_id]).fetchall()
    return tuple((position, media) for position, media in rows)


def read(db: Database, collection: str, feature_id: int, actor: Actor):
    """(feature text, entity tag, photos) of one stored feature for this actor, or None."""
    spec = SPECS[collection]
    return db.run(lambda conn: represent(conn, spec, feature_id, actor))


def photo(db: Database, inspection_id: int, position: int) -> tuple[str, str] | None:
    """(sha256, media type) of one photo of an inspection, or None."""
    return db.fetch_one(
        sql.SQL("SELECT sha256, media_type FROM inspection_photos "
                "WHERE inspection_id = %s AND position = %s"), [inspection_id, position])


__all__ = ["Photo", "Write", "Outcome", "apply", "read", "photo", "etag", "matches",
           "PreconditionFailed", "PreconditionRequired", "EditError", "Conflict",
           "InvalidFeature", "NotAllowed", "FeatureMissing", "Context"]
