"""OGC API Features Part 4 (create, replace, update, delete) for licences and inspections.

Called by the items routes (geoserver/routes.py; pygeoapi's own write routes have no PATCH, no
If-Match and no access control): POST /collections/{id}/items, PUT / PATCH / DELETE
/collections/{id}/items/{fid} for the editable collections, GET of inspection photos, and — for
signed-in callers only — GET of a single licence or inspection with its entity tag (and, for its
owner, the holder's details), never cached by shared caches.

Bodies: a GeoJSON Feature (application/geo+json or application/json), a JSON merge patch for
PATCH (application/merge-patch+json), or for an inspection with photos multipart/form-data with
a `feature` part and up to N `photo` parts. Sizes are checked before parsing: a JSON body is a
point feature and may not exceed max_feature_bytes, so a geometry with millions of vertices is
refused (413) before it is read in full.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from geoserver import photos
from geoserver.auth import media_type
from geoserver.errors import MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType
from geoserver.settings import Settings
from kernel.errors import NotFound
from kernel.messages import Phrase
from kernel.principal import Principal, principal_of
from layers import editing, queries
from layers.audit import Actor
from layers.database import Database
from layers.feature_rules import CLIENT_ID, SPECS, InvalidFeature
from processing import zoning

LOGGER = logging.getLogger(__name__)
WRITES = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
JSON_TYPES = ("application/geo+json", "application/json")
PATCH_TYPES = ("application/merge-patch+json", *JSON_TYPES)
GEOJSON = "application/geo+json"
THE_BODY = Phrase("متن الطلب", "the body")
FEATURE_PART = Phrase("الجزء `feature`", "the `feature` part")
NO_TYPE = Phrase("لم يُحدَّد", "no content type")
STATUS = {"created": 201, "replayed": 201, "replaced": 200, "updated": 200, "deleted": 204}


@dataclass
class Body:
    """What a write request carried."""

    feature: dict | None = None
    photos: tuple = ()                  # (editing.Photo, bytes)


def _actor(scope, principal: Principal) -> Actor:
    """The principal, and the client it called from, for ownership checks and the audit."""
    client = scope.get("client")
    return Actor(principal.subject, principal.kind, principal.roles, principal.office,
                 principal.api_key_id, client[0] if client else None,
                 Headers(scope=scope).get("user-agent"))


class FeatureEditing:
    """Writes, photos and signed-in single-item reads of one application."""

    def __init__(self, settings: Settings, db: Database, runtime):
        """The limits, the database, the photo store and the permit rules for zoning."""
        self.db = db
        self.limits = settings.editing
        self.base_url = f"{settings.server.base_url}/ogc"
        self.photo_root = settings.server.state_dir / "photos"
        self.context = _context(runtime)

    @staticmethod
    def applies_to(request: Request, collection: str) -> bool:
        """Whether a single-item GET is this caller's private read (signed in, an editable
        collection, plain GeoJSON with no other parameter)."""
        params = request.query_params
        return (not principal_of(request.scope).is_public and collection in SPECS
                and set(params.keys()) <= {"f"} and params.get("f", "json") == "json")

    async def write(self, request: Request, collection: str, item: str | None) -> Response:
        """POST to the items, PUT / PATCH / DELETE of an item."""
        return await self._write(request.scope, request.receive, collection, item)

    async def photo(self, request: Request) -> Response:
        """GET /collections/inspections/items/{item}/photos/{position} (signed-in roles)."""
        item, position = request.path_params["item"], request.path_params["position"]
        if not (position.isascii() and position.isdigit()) or len(position) > 3:
            raise editing.FeatureMissing("no such photo")
        return await self._photo(_feature_id(item), int(position))

    async def private_item(self, request: Request, collection: str, item: str) -> Response:
        """A single licence or inspection as this signed-in caller may see it."""
        return await self._private_item(request.scope, collection, item,
                                        principal_of(request.scope))

    async def _write(self, scope, receive, collection: str, item: str | None) -> Response:
        """Check the route, read the body, carry out the write."""
        action = WRITES[scope["method"]]
        _check_route(collection, item, action)
        feature_id = _feature_id(item) if item else None
        headers = Headers(scope=scope)
        body = Body() if action == "delete" else await self._body(scope, receive, headers,
                                                                  collection, action)
        principal = principal_of(scope)
        write = self._prepare(collection, action, feature_id, body, headers)
        outcome = await run_in_threadpool(editing.apply, self.db, write,
                                          _actor(scope, principal), self.context)
        return self._written(collection, outcome)

    def _prepare(self, collection: str, action: str, feature_id, body: Body,
                 headers: Headers) -> editing.Write:
        """The write to carry out, with its idempotency key and fingerprint."""
        key_property = SPECS[collection].key_property
        client_id = _client_id(headers, body.feature, key_property) \
            if action == "create" else None
        if body.photos and collection != "inspections":
            raise UnsupportedMediaType("only inspections take photos")
        last_step = None
        if body.photos:
            def last_step(_feature_id: int) -> None:
                for photo, data in body.photos:
                    photos.store(self.photo_root, photo, data)
        return editing.Write(
            action, collection, feature_id, body.feature, headers.get("if-match"), client_id,
            _fingerprint(body, key_property), tuple(photo for photo, _ in body.photos),
            last_step)

    def _written(self, collection: str, outcome: editing.Outcome) -> Response:
        """201 with Location, 200 with the feature, or 204."""
        status = STATUS[outcome.action]
        if status == 204:
            return Response(status_code=204)
        href = f"{self.base_url}/collections/{collection}/items/{outcome.feature_id}"
        headers = {"ETag": outcome.etag, "Cache-Control": "no-store"}
        if status == 201:
            headers["Location"] = href
        if outcome.action == "replayed":
            headers["Idempotent-Replayed"] = "true"
        return Response(self._with_links(collection, outcome, href).encode(), status,
                        headers=headers, media_type=GEOJSON)

    def _with_links(self, collection: str, outcome, href: str) -> str:
        """The feature text with self, collection and photo links."""
        links = [{"rel": "self", "type": GEOJSON, "href": f"{href}?f=json"},
                 {"rel": "collection", "type": "application/json",
                  "href": f"{self.base_url}/collections/{collection}"}]
        links += [{"rel": "enclosure", "type": media, "title": f"photo {position}",
                   "href": f"{href}/photos/{position}"} for position, media in outcome.photos]
        return outcome.feature[:-1] + ',"links":' + json.dumps(links) + "}"

    async def _body(self, scope, receive, headers: Headers, collection: str,
                    action: str) -> Body:
        """The parsed body, after its type and size are checked."""
        media = media_type(headers)
        if media == "multipart/form-data" and action == "create" and collection == "inspections":
            return await self._multipart(scope, receive, headers)
        allowed = PATCH_TYPES if action == "update" else JSON_TYPES
        if media not in allowed:
            shown = {"allowed": " | ".join(allowed), "media": media or NO_TYPE}
            raise (UnsupportedMediaType("send the feature as {allowed} (or multipart/form-data "
                                        "with photos), not {media}", **shown)
                   if collection == "inspections" and action == "create" else
                   UnsupportedMediaType("send the feature as {allowed}, not {media}", **shown))
        _declared_length(headers, self.limits.max_feature_bytes)
        raw = await _read(receive, self.limits.max_feature_bytes)
        return Body(feature=_json(raw, THE_BODY))

    async def _multipart(self, scope, receive, headers: Headers) -> Body:
        """A `feature` part and up to N `photo` parts, each checked."""
        limits = self.limits
        _declared_length(headers, limits.max_upload_bytes)
        request = Request(scope, _limited(receive, limits.max_upload_bytes))
        try:
            form = await request.form(max_files=limits.max_photos + 1, max_fields=4,
                                      max_part_size=limits.max_feature_bytes)
        except (MultiPartException, HTTPException) as err:   # Starlette wraps the former
            detail = getattr(err, "message", None) or getattr(err, "detail", "")
            if "Too many files" in detail:
                raise InvalidFeature("the multipart body cannot be read: at most {limit} photos "
                                     "per inspection", limit=limits.max_photos) from None
            raise InvalidFeature("the multipart body cannot be read: {reason}",
                                 reason=detail) from None
        try:
            return await _form_body(form, limits)
        finally:
            await form.close()

    async def _photo(self, inspection_id: int, position: int) -> Response:
        """One stored photo of an inspection."""
        found = await run_in_threadpool(editing.photo, self.db, inspection_id, position)
        if found is None:
            raise editing.FeatureMissing("no such photo")
        path = photos.path_of(self.photo_root, found[0], found[1])
        if not path.exists():
            raise editing.FeatureMissing("the photo's file is missing")
        return FileResponse(path, media_type=found[1],
                            headers={"Cache-Control": "private, max-age=3600",
                                     "ETag": f'"{found[0]}"'})

    async def _private_item(self, scope, collection: str, item: str,
                            principal: Principal) -> Response:
        """A single feature with its entity tag, as this caller may see it."""
        feature_id = _feature_id(item)
        found = await run_in_threadpool(editing.read, self.db, collection, feature_id,
                                        _actor(scope, principal))
        if found is None:
            raise editing.FeatureMissing("no feature with id {id!r}", id=item)
        text, tag, shown = found
        headers = {"ETag": tag, "Cache-Control": "private, no-store", "Vary": "Authorization"}
        if editing.matches(Headers(scope=scope).get("if-none-match", ""), tag):
            return Response(status_code=304, headers=headers)
        href = f"{self.base_url}/collections/{collection}/items/{feature_id}"
        outcome = editing.Outcome("read", feature_id, tag, text, shown)
        body = self._with_links(collection, outcome, href)
        return Response(body.encode(), headers=headers, media_type=GEOJSON)


def _check_route(collection: str, item: str | None, action: str) -> None:
    """MethodNotAllowed for read-only collections and for verbs on the wrong resource."""
    if collection not in SPECS:
        raise MethodNotAllowed("the {collection} collection is read-only", "GET, HEAD",
                               collection=collection)
    if action == "create" and item:
        raise MethodNotAllowed("POST to the items of the collection to create a feature",
                               "GET, HEAD, PUT, PATCH, DELETE")
    if action != "create" and not item:
        raise MethodNotAllowed("{action} needs a feature: /items/{{featureId}}",
                               "GET, HEAD, POST", action=action)


def _feature_id(item: str) -> int:
    """A path feature id (ids are integers), or FeatureMissing."""
    try:
        return queries.feature_id(item)
    except NotFound:
        raise editing.FeatureMissing("no feature with id {id!r}", id=item[:40]) from None


def _declared_length(headers: Headers, limit: int) -> None:
    """PayloadTooLarge when Content-Length already says the body is too large."""
    length = headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge("the body is larger than {limit:,} bytes", limit=limit)


def _limited(receive, limit: int):
    """A receive() that raises PayloadTooLarge once more than `limit` bytes have come."""
    seen = 0

    async def limited():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise PayloadTooLarge("the body is larger than {limit:,} bytes", limit=limit)
        return message

    return limited


async def _read(receive, limit: int) -> bytes:
    """The whole body, up to `limit` bytes."""
    chunks, more, source = [], True, _limited(receive, limit)
    while more:
        message = await source()
        if message["type"] == "http.disconnect":
            raise InvalidFeature("the client went away before the body was complete")
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _json(raw: bytes, what: Phrase):
    """Parsed JSON, or InvalidFeature."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidFeature("{what} is not valid JSON", what=what) from None


async def _form_body(form, limits) -> Body:
    """The feature and the checked photos of a multipart form."""
    unknown = set(form.keys()) - {"feature", "photo"}
    if unknown:
        raise InvalidFeature("unknown form parts: {names} (send `feature` and `photo` parts)",
                             names=", ".join(sorted(unknown)))
    parts = form.getlist("feature")
    if len(parts) != 1:
        raise InvalidFeature("send exactly one `feature` part (the GeoJSON Feature)")
    part = parts[0]
    raw = await part.read() if isinstance(part, UploadFile) else part.encode()
    feature = _json(raw, FEATURE_PART)
    files = form.getlist("photo")
    if len(files) > limits.max_photos:
        raise InvalidFeature("at most {limit} photos per inspection", limit=limits.max_photos)
    checked = []
    for number, upload in enumerate(files, start=1):
        if not isinstance(upload, UploadFile):
            raise UnsupportedMediaType("photo {number} must be a file part", number=number)
        data = await upload.read(limits.max_photo_bytes + 1)
        checked.append(photos.accept(data, upload.content_type, number, limits))
    return Body(feature, tuple(checked))


def _client_id(headers: Headers, feature, key_property: str | None) -> str | None:
    """The idempotency key: the Idempotency-Key header, or the collection's key property
    (inspections' `client_id`; licences take the header only)."""
    header = headers.get("idempotency-key")
    header = header.strip().strip('"') if header is not None else None
    given = None
    if key_property and isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
        given = feature["properties"].get(key_property)
    if header is not None and not CLIENT_ID.match(header):
        raise InvalidFeature("Idempotency-Key must be 8 to 100 letters, digits, . _ : - "
                             "(a UUID is best)")
    if header and given is not None and given != header:
        raise InvalidFeature("Idempotency-Key and the {name} property differ", name=key_property)
    return header or (given if isinstance(given, str) else None)


def _fingerprint(body: Body, key_property: str | None) -> str:
    """A digest of what the request asks for (feature without its key property, photo
    digests)."""
    feature = body.feature
    if key_property and isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
        props = {k: v for k, v in feature["properties"].items() if k != key_property}
        feature = {**feature, "properties": props}
    text = json.dumps(feature, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode())
    for photo, _ in body.photos:
        digest.update(photo.sha256.encode())
    return digest.hexdigest()


def _context(runtime) -> editing.Context:
    """Activity names and the zoning rule from the permit checks' rules file."""
    if runtime is None:
        LOGGER.warning("permit rules not configured: licence activities are not checked "
                       "against zoning")
        return editing.Context(activities={})
    ruleset = runtime.ruleset
    activities = {code: (names.ar, names.en) for code, names in ruleset.activities.items()}
    return editing.Context(activities=activities, zoning=zoning.refusal_check(ruleset))


__all__ = ["FeatureEditing"]
