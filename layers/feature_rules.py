"""What may be written to the editable layers, who may write it, and the checks before a write.

Two collections are editable: `licenses` (engineering offices, each its own licences; admins)
and `inspections` (inspectors, each their own visits; admins). A feature is checked property by
property here (types, patterns, dates) and then against the database (`check`: inside the city,
on its parcel, activity allowed by zoning, licence exists) before anything is written. Errors
carry a message safe to show a client and know nothing about HTTP.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from kernel.errors import AmanatError
from layers.audit import Actor
from layers.catalogue import LAYERS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
VIOLATIONS = re.compile(r"^([a-z][a-z_]{1,39}(,[a-z][a-z_]{1,39}){0,19})?$")   # codes, a,b
OFFICE_STATUSES = ("active", "suspended", "expired")   # `cancelled` is for admins
CLOCK_SKEW = timedelta(minutes=5)


class EditError(AmanatError):
    """Base of the editing errors: a client-safe message."""


class InvalidFeature(EditError):
    """The feature cannot be written as sent (type, range, place, zoning, dates)."""


class NotAllowed(EditError):
    """The caller may not make this change (not their licence, not their role's to make)."""


class Conflict(EditError):
    """The change clashes with what is stored (duplicate number, key reused, rows depend on it)."""


class FeatureMissing(EditError):
    """No feature with that id."""


@dataclass(frozen=True)
class Field:
    """One writable property: its kind and bounds."""

    kind: str                      # text | integer | number | date | datetime
    required: bool = True
    pattern: re.Pattern | None = None
    max_length: int = 200
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def _text(name: str, spec: Field, value) -> str:
    """A string within its pattern, choices and length."""
    if not isinstance(value, str):
        raise InvalidFeature("property '{name}' must be a string", name=name)
    value = value.strip()
    if "\x00" in value or len(value) > spec.max_length or (spec.required and not value):
        raise InvalidFeature("property '{name}' must be 1 to {longest} characters", name=name,
                             longest=spec.max_length)
    if spec.choices and value not in spec.choices:
        raise InvalidFeature("property '{name}' must be one of {choices}", name=name,
                             choices=", ".join(spec.choices))
    if spec.pattern and not spec.pattern.match(value):
        raise InvalidFeature("property '{name}' is not in the expected format", name=name)
    return value


def _number(name: str, spec: Field, value):
    """An integer or number within bounds."""
    integer = spec.kind == "integer"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise (InvalidFeature("property '{name}' must be an integer", name=name) if integer
               else InvalidFeature("property '{name}' must be a number", name=name))
    if not math.isfinite(value) or (integer and abs(value) >= 2**63):
        raise InvalidFeature("property '{name}' is out of range", name=name)
    if (spec.minimum is not None and value < spec.minimum) or (
            spec.maximum is not None and value > spec.maximum):
        raise InvalidFeature("property '{name}' must be between {minimum} and {maximum}",
                             name=name, minimum=spec.minimum, maximum=spec.maximum)
    return value


def _when(name: str, spec: Field, value):
    """An RFC 3339 date, or date-time with a time zone."""
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidFeature("property '{name}' must be an RFC 3339 {kind}", name=name,
                             kind=spec.kind)
    try:
        if spec.kind == "date":
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidFeature("property '{name}' is not a valid {kind}", name=name,
                             kind=spec.kind) from None
    if parsed.tzinfo is None:
        raise InvalidFeature("property '{name}' needs a time zone "
                             "(e.g. 2026-05-01T09:30:00+03:00)", name=name)
    return parsed


def parse_value(name: str, spec: Field, value):
    """A JSON value as the column's Python value, or InvalidFeature."""
    if spec.kind == "text":
        return _text(name, spec, value)
    if spec.kind in ("integer", "number"):
        return _number(name, spec, value)
    return _when(name, spec, value)


def point(geometry) -> tuple[float, float]:
    """(longitude, latitude) of a GeoJSON Point in CRS84, or InvalidFeature."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise InvalidFeature("geometry must be a GeoJSON Point (longitude, latitude)")
    coords = geometry.get("coordinates")
    if (not isinstance(coords, list) or len(coords) not in (2, 3)
            or any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in coords)):
        raise InvalidFeature("a Point has 2 numbers: [longitude, latitude]")
    x, y = float(coords[0]), float(coords[1])
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidFeature("the Point's coordinates are not a longitude and latitude")
    return x, y


def parts(feature) -> tuple[dict, dict]:
    """(geometry, properties) of a GeoJSON Feature, or InvalidFeature."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidFeature("the body must be a GeoJSON Feature")
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise InvalidFeature("'properties' must be a JSON object")
    return feature.get("geometry"), properties


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Spec:
    """What one editable collection accepts; subclasses fill in the rules."""

    collection: str = ""
    fields: dict[str, Field] = {}
    read_only: frozenset[str] = frozenset({"id"})
    owner_column: str = ""
    touch_column: str | None = None          # set to now() on every change
    personal: tuple[str, ...] = ()           # stored, never public (see private_names)
    idempotent: bool = False                 # creations may carry an Idempotency-Key
    key_property: str | None = None          # a property that may carry the key instead
    derived: dict[str, tuple[str, ...]] = {}  # property -> properties filled from it
    refusals = {"edit": "this feature is not yours to change",
                "delete": "this feature is not yours to delete",
                "reused": "this Idempotency-Key was already used for a different request; "
                          "use a new one for a new feature"}

    @property
    def layer(self):
        """The catalogue entry."""
        return LAYERS[self.collection]

    def properties(self, given: dict, before: dict | None) -> dict:
        """Typed values of the writable properties (required ones present)."""
        unknown = set(given) - set(self.fields) - self.read_only
        if unknown:
            raise InvalidFeature("unknown properties: {names}", names=", ".join(sorted(unknown)))
        values = {}
        for name, spec in self.fields.items():
            if given.get(name) is not None:
                values[name] = parse_value(name, spec, given[name])
            elif spec.required and not self.defaulted(name, before):
                raise InvalidFeature("property '{name}' is required", name=name)
        return values

    def defaulted(self, name: str, before: dict | None) -> bool:
        """Whether a missing required property gets a value elsewhere."""
        return False

    def may_edit(self, actor: Actor, row: dict) -> bool:
        """Whether the actor may change or delete this stored feature."""
        return actor.has("admin")

    def may_delete(self, actor: Actor, row: dict) -> bool:
        """Whether the actor may delete this stored feature."""
        return self.may_edit(actor, row)

    def private_names(self, actor: Actor, owner: str | None) -> tuple[str, ...]:
        """Non-public properties this actor may read on a feature with this owner."""
        return ()


def in_city(conn, x: float, y: float) -> bool:
    """Whether a point lies in a district of the city."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM districts d WHERE ST_Intersects(d.geom, "
                        "ST_SetSRID(ST_MakePoint(%s, %s), 4326)))", [x, y]).fetchone()[0]


@dataclass(frozen=True)
class Context:
    """What the checks need besides the database: activity names, the zoning rule, the clock."""

    activities: dict            # ISIC code -> (name_ar, name_en)
    zoning: object = None       # callable(conn, parcel_no, isic, x, y) -> refusal values|None
    now: object = None          # callable() -> aware datetime

    def current(self) -> datetime:
        """The current time."""
        return self.now() if self.now else datetime.now(timezone.utc)


LICENCE_CHECKS = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) AS g)
SELECT EXISTS (SELECT 1 FROM districts d WHERE ST_Intersects(d.geom, pt.g)),
       (SELECT p.id FROM parcels p WHERE ST_Intersects(p.geom, pt.g) ORDER BY p.id LIMIT 1),
       (SELECT ST_Intersects(p.geom, pt.g) FROM parcels p WHERE p.id = %(parcel)s)
FROM pt
"""


class LicenceSpec(Spec):
    """Shop licences: written by the office that issued them, and by admins.

    A creation is idempotent by the Idempotency-Key header only: the key and the request's
    digest are stored (client_id, request_sha256, with created_by) but are no property of the
    licence, so no response ever shows them and a `client_id` property is refused as unknown.
    """

    collection = "licenses"
    owner_column = "owner_office"
    touch_column = "updated_at"
    read_only = frozenset({"id", "updated_at"})
    personal = ("holder_national_id", "holder_phone", "owner_office")
    derived = {"isic_code": ("activity_ar", "activity_en")}
    refusals = {"edit": "this licence belongs to another office",
                "delete": "only an administrator deletes a licence; suspend it or let it "
                          "expire instead",
                "reused": "this Idempotency-Key was already used for a different licence "
                          "request; use a new one for a new licence"}
    idempotent = True
    fields = {
        "license_no": Field("text", pattern=re.compile(r"^[A-Z0-9][A-Z0-9/-]{2,31}$"),
                            max_length=32),
        "isic_code": Field("text", pattern=re.compile(r"^[0-9]{4,6}$"), max_length=6),
        "activity_ar": Field("text"),
        "activity_en": Field("text"),
        "trade_name_ar": Field("text"),
        "trade_name_en": Field("text"),
        "status": Field("text", choices=("active", "expired", "suspended", "cancelled")),
        "issue_date": Field("date"),
        "expiry_date": Field("date"),
        "shop_area_m2": Field("number", minimum=1, maximum=100_000),
        "parcel_id": Field("integer", required=False, minimum=1),
        "holder_national_id": Field("text", pattern=re.compile(r"^[12][0-9]{9}$"), max_length=10),
        "holder_phone": Field("text", pattern=re.compile(r"^05[0-9]{8}$"), max_length=10),
        "owner_office": Field("text", required=False, pattern=NAME, max_length=64),
    }

    def defaulted(self, name: str, before: dict | None) -> bool:
        """Activity names come from the rules file; a new licence is active."""
        return name in ("activity_ar", "activity_en", "status")

    def values(self, geometry, given: dict, actor: Actor, before: dict | None,
               ctx: Context) -> dict:
        """Checked column values of a licence (no database needed)."""
        values = self.properties(given, before)
        values["geom"] = point(geometry)
        values.setdefault("status", "active")
        self._activity(values, ctx)
        self._owner(values, actor, before)
        self._status(values, actor, before)
        self._dates(values, before, ctx.current().date())
        if before is None:
            values["created_by"] = actor.subject
        return values

    @staticmethod
    def _activity(values: dict, ctx: Context) -> None:
        """Fill the activity names from the rules file when they are not given."""
        if "activity_ar" in values and "activity_en" in values:
            return
        names = ctx.activities.get(values["isic_code"])
        if names is None:
            raise InvalidFeature("ISIC code {code} is not in the activity list; "
                                 "give activity_ar and activity_en", code=values["isic_code"])
        values.setdefault("activity_ar", names[0])
        values.setdefault("activity_en", names[1])

    @staticmethod
    def _owner(values: dict, actor: Actor, before: dict | None) -> None:
        """A licence stays with its office; only admins assign or move it."""
        current = before.get("owner_office") if before else None
        if actor.has("admin"):
            values.setdefault("owner_office", current)
            return
        current = current if before else actor.office
        if values.get("owner_office", current) != current:
            raise NotAllowed("a licence belongs to the office that issued it; only an "
                             "administrator can move it to another office")
        values["owner_office"] = current

    @staticmethod
    def _status(values: dict, actor: Actor, before: dict | None) -> None:
        """Offices activate, renew, suspend and expire; cancelling is for admins."""
        changed = before is None or before.get("status") != values["status"]
        if changed and values["status"] not in OFFICE_STATUSES and not actor.has("admin"):
            raise NotAllowed("an office may set the status to active, suspended or expired; "
                             "cancelling a licence is for administrators")

    @staticmethod
    def _dates(values: dict, before: dict | None, today: date) -> None:
        """Issue before expiry, at most 10 years, not far ahead; an active licence is current."""
        issue, expiry = values["issue_date"], values["expiry_date"]
        if expiry <= issue:
            raise InvalidFeature("expiry_date must be after issue_date")
        if issue > today + timedelta(days=90):
            raise InvalidFeature("issue_date is more than 90 days ahead")
        if expiry > issue + timedelta(days=3653):
            raise InvalidFeature("a licence runs at most 10 years (expiry_date)")
        touched = before is None or before.get("status") != values["status"] or \
            before.get("expiry_date") != expiry.isoformat()
        if touched and values["status"] == "active" and expiry < today:
            raise InvalidFeature("an active licence cannot be past its expiry_date; renew it "
                                 "with a later expiry_date or set the status to expired")

    def check(self, conn, values: dict, ctx: Context) -> None:
        """In the city, on its parcel, activity allowed by the parcel's zoning."""
        x, y = values["geom"]
        inside, under, on_given = conn.execute(
            LICENCE_CHECKS, {"x": x, "y": y, "parcel": values.get("parcel_id")}).fetchone()
        if not inside:
            raise InvalidFeature("the location is outside the city (in no district)")
        if values.get("parcel_id") is None:
            if under is None:
                raise InvalidFeature("the location is not on a registered parcel")
            values["parcel_id"] = under
        elif on_given is None:
            raise InvalidFeature("no parcel with id {id}", id=values["parcel_id"])
        elif not on_given:
            raise InvalidFeature("the location is not inside parcel {id}", id=values["parcel_id"])
        if ctx.zoning is not None:
            parcel_no = conn.execute("SELECT parcel_no FROM parcels WHERE id = %s",
                                     [values["parcel_id"]]).fetchone()[0]
            refusal = ctx.zoning(conn, parcel_no, values["isic_code"], x, y)
            if refusal:
                raise InvalidFeature("activity {isic} is not allowed by the zoning of parcel "
                                     "{parcel} (rule {rule}; allowed activity prefixes: "
                                     "{allowed})", **refusal)

    def may_edit(self, actor: Actor, row: dict) -> bool:
        """Admins, and the office that owns the licence."""
        return actor.has("admin") or (actor.has("office") and actor.office is not None
                                      and row.get("owner_office") == actor.office)

    def may_delete(self, actor: Actor, row: dict) -> bool:
        """Only admins delete licences (an office suspends or lets them expire)."""
        return actor.has("admin")

    def private_names(self, actor: Actor, owner: str | None) -> tuple[str, ...]:
        """Holder details and owner: for admins and the owning office only."""
        if actor.has("admin") or (actor.has("office") and actor.office and owner == actor.office):
            return self.personal
        return ()

    def before_delete(self, conn, feature_id: int) -> None:
        """A licence with inspections is kept (suspend or cancel it instead)."""
        count = conn.execute("SELECT count(*) FROM inspections WHERE license_id = %s",
                             [feature_id]).fetchone()[0]
        if count:
            raise Conflict("the licence has {count} inspection(s) and cannot be deleted; "
                           "suspend or cancel it instead", count=count)


class InspectionSpec(Spec):
    """Field inspections: created by inspectors (with photos), changed by their author."""

    collection = "inspections"
    owner_column = "created_by"
    touch_column = None
    read_only = frozenset({"id", "photos"})
    personal = ("client_id", "notes", "violations")
    staff = ("inspector", "office", "admin")   # who may read notes and violations
    refusals = {"edit": "this inspection was made by another inspector",
                "delete": "this inspection was made by another inspector",
                "reused": "this client id (Idempotency-Key) was already used for a different "
                          "upload; use a new one for a new inspection"}
    idempotent = True
    key_property = "client_id"
    fields = {
        "license_id": Field("integer", minimum=1),
        "visited_at": Field("datetime"),
        "result": Field("text", choices=("compliant", "violation", "closed", "not_found")),
        "notes": Field("text", required=False, max_length=4000),
        "violations": Field("text", required=False, pattern=VIOLATIONS, max_length=800),
        "client_id": Field("text", required=False, pattern=CLIENT_ID, max_length=100),
    }

    def values(self, geometry, given: dict, actor: Actor, before: dict | None,
               ctx: Context) -> dict:
        """Checked column values of an inspection (no database needed)."""
        values = self.properties(given, before)
        values["geom"] = point(geometry)
        values.setdefault("notes", "")
        values.setdefault("violations", "")
        if values["visited_at"] > ctx.current() + CLOCK_SKEW:
            raise InvalidFeature("visited_at is in the future")
        if before is None:
            values["created_by"] = actor.subject
        elif values.get("client_id", before.get("client_id")) != before.get("client_id"):
            raise InvalidFeature("client_id cannot be changed")
        else:
            values.pop("client_id", None)
        return values

    def check(self, conn, values: dict, ctx: Context) -> None:
        """The licence exists and was issued before the visit; the visit is in the city."""
        row = conn.execute("SELECT issue_date FROM licenses WHERE id = %s",
                           [values["license_id"]]).fetchone()
        if row is None:
            raise InvalidFeature("no licence with id {id}", id=values["license_id"])
        if values["visited_at"].date() < row[0]:
            raise InvalidFeature("visited_at is before the licence was issued")
        if not in_city(conn, *values["geom"]):
            raise InvalidFeature("the location is outside the city (in no district)")

    def may_edit(self, actor: Actor, row: dict) -> bool:
        """Admins, and the inspector who made it."""
        return actor.has("admin") or (actor.has("inspector")
                                      and row.get("created_by") == actor.subject)

    def private_names(self, actor: Actor, owner: str | None) -> tuple[str, ...]:
        """Notes and violations: for staff roles; the client id: for its author and admins."""
        shown = ("notes", "violations") if actor.has(*self.staff) else ()
        if actor.has("admin") or owner == actor.subject:
            shown += ("client_id",)
        return shown

    def before_delete(self, conn, feature_id: int) -> None:
        """Nothing depends on an inspection (its photos go with it)."""


SPECS: dict[str, Spec] = {spec.collection: spec for spec in (LicenceSpec(), InspectionSpec())}
