"""The OGC API part of the server: pygeoapi configured from pygeoapi-config.yml.

pygeoapi builds its application when its module is imported, from the files named by the
PYGEOAPI_CONFIG and PYGEOAPI_OPENAPI environment variables; this module prepares both files
(resolved configuration with extents read from the database, generated OpenAPI document) in the
state directory and only then imports it.
"""
import hashlib
import importlib
import logging
import os
import sys
from datetime import datetime, time, timezone
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from geoserver import auth, openapi, pygeoapi_fixes
from geoserver.settings import Settings
from layers import feature_rules
from layers.catalogue import layer_for_table

LOGGER = logging.getLogger(__name__)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _environment(settings: Settings) -> dict[str, str]:
    """The variables pygeoapi-config.yml refers to."""
    return {
        "DATABASE_URL": settings.database.dsn,
        "AMANAT_PUBLIC_URL": settings.server.base_url,
        "AMANAT_OGC_URL": f"{settings.server.base_url}/ogc",
    }


def load_config(settings: Settings) -> dict:
    """pygeoapi-config.yml with its ${VAR} references resolved."""
    from pygeoapi.util import yaml_load

    os.environ.update(_environment(settings))
    with settings.pygeoapi_config.open(encoding="utf-8") as fh:
        return yaml_load(fh)


def _extent(conn, table: str) -> tuple[list[float] | None, list[str | None]]:
    """Bounding box (CRS84) and time range of one table."""
    layer = layer_for_table(table)
    time = sql.SQL("min(t.{0}), max(t.{0})").format(
        sql.Identifier(layer.time_field)) if layer.time_field else sql.SQL("NULL, NULL")
    row = conn.execute(sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM "
        "(SELECT ST_Extent(t.{geom}) e, {time} FROM {table} t) x (e, t0, t1)"
    ).format(time=time, geom=sql.Identifier(layer.geometry_column),
             table=sql.Identifier(layer.table))).fetchone()
    if row is None or row[0] is None:
        return None, [None, None]
    times = [_utc(value) for value in row[4:]]
    return [round(v, 6) for v in row[:4]], times


def _utc(value) -> datetime | None:
    """A date or timestamp as an aware UTC datetime (pygeoapi wants datetimes in extents)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0)


def refresh_extents(config: dict, dsn: str) -> None:
    """Replace each collection's extents by what the database holds (left alone if it is down)."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            for resource in config["resources"].values():
                provider = resource["providers"][0]
                bbox, (begin, end) = _extent(conn, provider["data"]["table"])
                extents = resource.setdefault("extents", {})
                if bbox:
                    extents["spatial"] = {"bbox": bbox, "crs": CRS84}
                if "temporal" in extents and begin:
                    extents["temporal"] = {"begin": begin, "end": end}
    except psycopg.Error as err:
        LOGGER.warning("extents not refreshed, database unavailable: %s", err.__class__.__name__)


def complete_openapi(document: dict) -> dict:
    """Declare `datetime` on every items operation (Features Part 1 requires it everywhere;
    pygeoapi only declares it for collections with a time field)."""
    for path, operations in document.get("paths", {}).items():
        get = operations.get("get")
        if not path.endswith("/items") or not get:
            continue
        refs = [p.get("$ref", "") for p in get.get("parameters", [])]
        bbox = next((ref for ref in refs if ref.endswith("/parameters/bbox")), None)
        if bbox and not any(ref.endswith("/parameters/datetime") for ref in refs):
            get["parameters"].append({"$ref": bbox.replace("/parameters/bbox",
                                                           "/parameters/datetime")})
    return document


def prepare(settings: Settings) -> tuple[Path, Path]:
    """Write the resolved configuration and its OpenAPI document; return both paths."""
    from pygeoapi.openapi import generate_openapi_document

    state = settings.server.state_dir / "ogc"
    state.mkdir(parents=True, exist_ok=True)
    config = load_config(settings)
    refresh_extents(config, settings.database.dsn)
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    config_path, openapi_path = state / "pygeoapi-config.yml", state / "openapi.yml"
    # the code and files that write the document are part of its identity: an upgrade
    # regenerates it (so do other editing limits)
    sources = (openapi.__file__, openapi.OGC_ADDITIONS, feature_rules.__file__, auth.__file__,
               __file__)
    code = b"".join(Path(source).read_bytes() for source in sources)
    limits = settings.editing.model_dump_json().encode()
    digest = hashlib.sha256(text.encode() + code + limits).hexdigest()
    stamp = state / "openapi.sha256"
    if not (openapi_path.exists() and stamp.exists() and stamp.read_text() == digest):
        config_path.write_text(text, encoding="utf-8")
        config_path.chmod(0o600)
        document = yaml.safe_load(generate_openapi_document(config_path, "yaml"))
        document = openapi.ogc_routes(openapi.bundle(complete_openapi(document)),
                                      settings.editing.max_photos)
        openapi_path.write_text(yaml.safe_dump(document, allow_unicode=True),
                                encoding="utf-8")
        stamp.write_text(digest)
    return config_path, openapi_path


DATASET_TILES_CONFORMANCE = tuple(
    f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}"
    for name in ("dataset-tilesets", "collections-selection"))


def declare_conformance() -> None:
    """Add the OGC API Features Part 4 classes that geoserver/editing.py implements (create,
    replace, delete; update by JSON merge patch; If-Match with ETags; on features), and the
    Tiles classes of geoserver/dataset_tiles.py, to what /conformance declares. pygeoapi 0.24 already lists create-replace-delete for every server
    with a feature collection, whether a provider is editable or not; it reads this list on
    every /conformance request."""
    from pygeoapi.api import itemtypes, tiles

    declared = itemtypes.CONFORMANCE_CLASSES_FEATURES
    declared.extend([uri for uri in openapi.PART4_CONFORMANCE if uri not in declared])
    declared = tiles.CONFORMANCE_CLASSES             # /tiles (geoserver/dataset_tiles.py)
    declared.extend([uri for uri in DATASET_TILES_CONFORMANCE if uri not in declared])


def build(settings: Settings):
    """The OGC API application: GeoJSON items fast path in front of pygeoapi."""
    from geoserver.items import FastItems

    config_path, openapi_path = prepare(settings)
    pygeoapi_fixes.apply()
    declare_conformance()
    os.environ["PYGEOAPI_CONFIG"] = str(config_path)
    os.environ["PYGEOAPI_OPENAPI"] = str(openapi_path)
    module = sys.modules.get("pygeoapi.starlette_app")
    module = importlib.reload(module) if module else importlib.import_module(
        "pygeoapi.starlette_app")
    module.APP.debug = False  # pygeoapi turns Starlette's debug pages on; never show tracebacks
    return FastItems(module.APP, module.CONFIG, f"{settings.server.base_url}/ogc",
                     settings.database.dsn)
