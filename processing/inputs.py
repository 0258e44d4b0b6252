"""Process inputs: their JSON Schemas, validation, and the typed requests made from them.

pygeoapi does not validate inputs against the declared schemas, so every process validates here
(JSON Schema 2020-12, then geometry: valid, simple, small enough, in longitude/latitude or UTM
39N). What passes becomes a small typed request; what does not is a CheckInputError naming the
input and the problem.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import shapely
from jsonschema import Draft202012Validator
from pyproj import Transformer

from kernel.messages import N_
from processing.errors import CheckInputError
from processing.subjects import UTM_SRID, Area, Proposal

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
UTM = f"http://www.opengis.net/def/crs/EPSG/0/{UTM_SRID}"
CRS_SRID = {CRS84: 4326, UTM: UTM_SRID}
LAND_USES = ["residential", "commercial", "mixed", "industrial", "public", "park", "vacant"]

_POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
_RING = {"type": "array", "minItems": 4, "items": _POSITION}
POLYGON = {
    "type": "object", "required": ["type", "coordinates"],
    "properties": {
        "type": {"enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "minItems": 1},
    },
}
POINT = {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "Point"}, "coordinates": _POSITION}}
PARCEL_NO = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9/_-]+$"}
ISIC = {"type": "string", "pattern": r"^[0-9]{4,6}$"}
CRS = {"enum": [CRS84, UTM], "default": CRS84}

PARCEL_CHECK = {
    "type": "object", "additionalProperties": False,
    "oneOf": [{"required": ["parcel_no"]}, {"required": ["parcel"]}],
    "properties": {
        "parcel_no": PARCEL_NO,
        "parcel": POLYGON,
        "use": {"enum": LAND_USES},
        "activity": ISIC,
        "floors": {"type": "integer", "minimum": 1, "maximum": 200},
        "height_m": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        "footprint": POLYGON,
        "footprint_area_m2": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e6},
        "crs": CRS,
    },
    "not": {"required": ["footprint", "footprint_area_m2"]},
}
SITE_CHECK = {
    "type": "object", "additionalProperties": False, "required": ["activity"],
    "oneOf": [{"required": ["parcel_no"]}, {"required": ["location"]}],
    "properties": {"activity": ISIC, "parcel_no": PARCEL_NO, "location": POINT, "crs": CRS},
}
BATCH = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "area": {
            "type": "object", "additionalProperties": False, "maxProperties": 1,
            "properties": {
                "district": {"type": "string", "pattern": r"^[A-Z]{2,5}-[0-9]{1,4}$"},
                "municipality": {"type": "string", "pattern": r"^[A-Z]{2,5}$"},
                "bbox": {"type": "array", "minItems": 4, "maxItems": 4,
                         "items": {"type": "number"}},
            },
        },
        "rules": {"type": "array", "minItems": 1, "maxItems": 200, "uniqueItems": True,
                  "items": {"type": "string", "pattern": r"^[a-z][a-z0-9-]{1,63}$"}},
    },
}


@dataclass(frozen=True)
class ParcelCheck:
    """A parcel-check request: a registered or drawn parcel and a building proposal."""

    parcel_no: str | None
    parcel: str | None            # EWKB hex of a drawn parcel
    proposal: Proposal
    echo: dict


@dataclass(frozen=True)
class SiteCheck:
    """A license-site-check request: an activity at a parcel or a point."""

    parcel_no: str | None
    proposal: Proposal
    echo: dict


@dataclass(frozen=True)
class BatchCheck:
    """A batch-compliance request: an area and, optionally, some of the rules."""

    area: Area
    rule_ids: frozenset[str] | None
    echo: dict


def _unwrap(value):
    """OGC qualified input values ({"value": ..., "mediaType": ...}) to the plain value."""
    if isinstance(value, dict) and "value" in value and "type" not in value:
        return value["value"]
    return value


def validate(schema: dict, data) -> dict:
    """The inputs if they match the schema, else CheckInputError naming the first problem."""
    if not isinstance(data, dict):
        raise CheckInputError("'inputs' must be a JSON object")
    data = {key: _unwrap(value) for key, value in data.items()}
    errors = sorted(_validator(schema).iter_errors(data),
                    key=lambda e: (len(e.absolute_path) == 0, list(map(str, e.absolute_path))))
    if errors:
        raise _describe(errors[0])
    return data


_validators: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    """The validator of a schema, made on first use (building one costs as much as using it)."""
    known = _validators.get(id(schema))
    if known is None or known[0] is not schema:
        known = _validators[id(schema)] = (schema, Draft202012Validator(schema))
    return known[1]


def _describe(error) -> CheckInputError:
    """A jsonschema error as one sentence naming the input (in our words, both languages)."""
    path = ".".join(str(p) for p in error.absolute_path) or "inputs"
    if error.validator == "oneOf" and path == "inputs":
        options = [" | ".join(s.get("required", [])) for s in error.validator_value]
        return CheckInputError("give exactly one of: {options}", options=", ".join(options))
    if error.validator == "not" and path == "inputs":
        return CheckInputError("give either footprint or footprint_area_m2, not both")
    if error.validator == "additionalProperties":
        return CheckInputError("unknown input: {name!r}", name=error.message.split(chr(39))[1])
    if error.validator == "required":
        return CheckInputError("input '{name}' is required", name=error.message.split(chr(39))[1])
    return _value_error(error.validator, path, error.validator_value)


def _value_error(validator: str, path: str, wanted) -> CheckInputError:
    """The message of a jsonschema keyword a value breaks (name, bound or type)."""
    bounded = {"minimum": N_("input '{name}' must be at least {limit}"),
               "exclusiveMinimum": N_("input '{name}' must be more than {limit}"),
               "maximum": N_("input '{name}' must be at most {limit}"),
               "exclusiveMaximum": N_("input '{name}' must be less than {limit}"),
               "minLength": N_("input '{name}' must have at least {limit} characters"),
               "maxLength": N_("input '{name}' may have at most {limit} characters"),
               "minItems": N_("input '{name}' must have at least {limit} items"),
               "maxItems": N_("input '{name}' may have at most {limit} items")}
    if validator == "type":
        kinds = wanted if isinstance(wanted, list) else [wanted]
        return CheckInputError("input '{name}' must be of type {kind}", name=path,
                               kind=" | ".join(map(str, kinds)))
    if validator in ("enum", "const"):
        choices = wanted if isinstance(wanted, list) else [wanted]
        return CheckInputError("input '{name}' must be one of {choices}", name=path,
                               choices=", ".join(map(str, choices)))
    if validator in bounded:
        return CheckInputError(bounded[validator], name=path, limit=wanted)
    return CheckInputError("input '{name}' is not valid", name=path)


@functools.lru_cache(maxsize=4)
def _to_utm(srid: int) -> Transformer:
    """Transformer from a supported CRS to UTM 39N (built on first use)."""
    return Transformer.from_crs(srid, UTM_SRID, always_xy=True)


def geometry(value: dict, name: str, srid: int, limits) -> str:
    """A GeoJSON geometry checked and returned as EWKB hex in its CRS."""
    try:
        geom = shapely.geometry.shape(value)
    except Exception:
        raise CheckInputError("'{name}' is not a GeoJSON geometry", name=name) from None
    if shapely.get_num_coordinates(geom) > limits.max_vertices:
        raise CheckInputError("'{name}' has too many vertices (at most {limit})", name=name,
                              limit=limits.max_vertices)
    if geom.is_empty:
        raise CheckInputError("'{name}' is empty", name=name)
    _check_crs(geom, name, srid)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise CheckInputError("'{name}' is not a valid geometry ({reason})", name=name,
                              reason=reason)
    if geom.geom_type != "Point":
        metric = shapely.transform(geom, lambda xy: _stack(_to_utm(srid).transform(*xy.T)))
        if metric.area > limits.max_area_m2:
            raise CheckInputError("'{name}' is too large (more than {limit:g} m²)", name=name,
                                  limit=limits.max_area_m2)
    return shapely.to_wkb(shapely.set_srid(geom, srid), hex=True, include_srid=True)


def _stack(xy):
    """Two coordinate arrays to an (n, 2) array."""
    import numpy as np

    return np.column_stack(xy)


def _check_crs(geom, name: str, srid: int) -> None:
    """Coordinates must be plausible for the declared CRS."""
    minx, miny, maxx, maxy = geom.bounds
    if srid == 4326 and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CheckInputError(
            "'{name}' coordinates are not longitude/latitude (CRS84); projected coordinates "
            "need \"crs\": \"{crs}\"", name=name, crs=UTM)
    if srid == UTM_SRID and not (100_000 <= minx <= maxx <= 900_000 and 0 <= miny <= maxy
                                 <= 9_400_000):
        raise CheckInputError("'{name}' coordinates are not UTM zone 39N metres", name=name)


def _common_proposal(data: dict, ruleset) -> dict:
    """Activity code known to the rules file, floors and height within its bounds."""
    isic = data.get("activity")
    if isic is not None and isic not in ruleset.activities:
        raise CheckInputError("unknown activity code {code!r} (not in the municipality's "
                              "activity list)", code=isic)
    limits = ruleset.input_limits
    if data.get("floors") is not None and data["floors"] > limits.max_floors:
        raise CheckInputError("input 'floors': at most {limit}", limit=limits.max_floors)
    if data.get("height_m") is not None and data["height_m"] > limits.max_height_m:
        raise CheckInputError("input 'height_m': at most {limit:g}", limit=limits.max_height_m)
    return {"isic": isic}


def parcel_check(data, ruleset) -> ParcelCheck:
    """Validate parcel-check inputs."""
    data = validate(PARCEL_CHECK, data)
    srid = CRS_SRID[data.get("crs", CRS84)]
    limits = ruleset.input_limits
    common = _common_proposal(data, ruleset)
    footprint = data.get("footprint")
    proposal = Proposal(
        land_use=data.get("use"), isic=common["isic"], floors=data.get("floors"),
        height_m=data.get("height_m"),
        footprint=geometry(footprint, "footprint", srid, limits) if footprint else None,
        footprint_area_m2=data.get("footprint_area_m2"))
    parcel = geometry(data["parcel"], "parcel", srid, limits) if "parcel" in data else None
    return ParcelCheck(data.get("parcel_no"), parcel, proposal, data)


def site_check(data, ruleset) -> SiteCheck:
    """Validate license-site-check inputs."""
    data = validate(SITE_CHECK, data)
    srid = CRS_SRID[data.get("crs", CRS84)]
    common = _common_proposal(data, ruleset)
    location = data.get("location")
    site = geometry(location, "location", srid, ruleset.input_limits) if location else None
    return SiteCheck(data.get("parcel_no"), Proposal(isic=common["isic"], site=site), data)


def batch_check(data, ruleset) -> BatchCheck:
    """Validate batch-compliance inputs (rule ids must exist in the rules file)."""
    data = validate(BATCH, data or {})
    area = data.get("area") or {}
    bbox = area.get("bbox")
    if bbox is not None and not (-180 <= bbox[0] < bbox[2] <= 180 and -90 <= bbox[1] < bbox[3]
                                 <= 90):
        raise CheckInputError("input 'area.bbox': give [min lon, min lat, max lon, max lat]")
    known = {rule.id for rule in ruleset.rules}
    unknown = sorted(set(data.get("rules", [])) - known)
    if unknown:
        raise CheckInputError("unknown rules: {names}", names=", ".join(unknown))
    chosen = frozenset(data["rules"]) if "rules" in data else None
    return BatchCheck(Area(area.get("district"), area.get("municipality"),
                           tuple(bbox) if bbox else None), chosen, data)
