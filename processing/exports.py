"""Job results: the certificate of a single check, the findings of a batch as GeoJSON, CSV or
GeoPackage (written with the standard library's sqlite3, per OGC GeoPackage 1.4)."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import sqlite3
import struct
import tempfile
from collections.abc import Iterator

from psycopg.rows import dict_row

from kernel.errors import Unavailable
from processing import certificates, engine, jobs
from processing.errors import ResultNotReady
from processing.results import UNIT_LABELS, USE_LABELS, number

LOGGER = logging.getLogger(__name__)
FIELDS = ("subject_type", "subject_id", "subject_ref", "zone", "land_use", "activity", "rule",
          "title_en", "title_ar", "severity", "status", "measured", "limit", "unit",
          "message_en", "message_ar", "reference")
WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4326"]]')


def finished_job(conn, job_id: str) -> dict:
    """A job that has results, or ResultNotReady / UnknownJob."""
    job = jobs.get(conn, job_id)
    if job["status"] in jobs.ACTIVE:
        raise ResultNotReady("job {id} is {status}; results are not ready", id=job_id,
                             status=job["status"])
    if job["status"] == "failed":
        raise ResultNotReady("job {id} failed: {reason}", id=job_id, reason=job["message"])
    return job


def job_result(conn, rt, job_id: str) -> dict:
    """The JSON result of a finished job: a certificate response, or a batch summary."""
    job = finished_job(conn, job_id)
    if job["certificate_id"]:
        document, token, _ = certificates.fetch(conn, job["certificate_id"])
        return engine.response(rt.base_url, document, token)
    return {"jobID": str(job["id"]), "process": job["process_id"], "summary": job["summary"]}


def _message(rule: dict, row: dict, lang: str) -> str:
    """A finding's message from the rule text recorded with the job."""
    template = (rule.get("message") or {}).get(lang, "")
    unit = UNIT_LABELS.get(rule.get("unit") or "", {}).get(lang, "")
    use = row["land_use"]
    values = {"measured": _plain(row["measured"]), "limit": _plain(row["limit_value"]),
              "unit": unit, "zone": row["zone_code"] or "—", "activity": row["isic"] or "—",
              "use": (USE_LABELS.get(use, use) if lang == "ar" else use) or "—",
              "radius": number(rule.get("radius_m") or 0)}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def _plain(value) -> str:
    """A measured value or limit as text."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else number(value)


def _properties(rules: dict, row: dict) -> dict:
    """One finding as flat properties."""
    rule = rules.get(row["rule_id"], {})
    title = rule.get("title") or {}
    return {
        "subject_type": row["subject_type"], "subject_id": row["subject_id"],
        "subject_ref": row["subject_ref"], "zone": row["zone_code"], "land_use": row["land_use"],
        "activity": row["isic"], "rule": row["rule_id"], "title_en": title.get("en"),
        "title_ar": title.get("ar"), "severity": rule.get("severity"), "status": row["status"],
        "measured": row["measured"], "limit": row["limit_value"], "unit": rule.get("unit"),
        "message_en": _message(rule, row, "en"), "message_ar": _message(rule, row, "ar"),
        "reference": rule.get("reference"),
    }


FINDINGS = """
SELECT subject_type, subject_id, subject_ref, zone_code, land_use, isic, rule_id, status,
       measured, limit_value, {geometry} AS geometry {extra}
FROM processing_findings WHERE job_id = %s ORDER BY subject_type, subject_id, rule_id
"""


def _rows(conn, job_id, geometry: str, extra: str = "") -> Iterator[dict]:
    """Findings of a job, streamed from a server-side cursor."""
    with conn.transaction(), conn.cursor(name="findings", row_factory=dict_row) as cur:
        cur.itersize = 2000
        cur.execute(FINDINGS.format(geometry=geometry, extra=extra), [job_id])
        yield from cur


def geojson_chunks(conn, job: dict) -> Iterator[bytes]:
    """The findings of a batch job as a GeoJSON FeatureCollection, in chunks."""
    summary = job["summary"] or {}
    rules = summary.get("rules", {})
    head = {"type": "FeatureCollection", "jobID": str(job["id"]), "summary": summary}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "features": ['
    separator = b""
    for row in _rows(conn, job["id"], "ST_AsGeoJSON(geom, 7)"):
        feature = {"type": "Feature", "geometry": None, "properties": _properties(rules, row)}
        text = json.dumps(feature, ensure_ascii=False)
        if row["geometry"]:
            text = text.replace('"geometry": null', '"geometry": ' + row["geometry"], 1)
        yield separator + text.encode()
        separator = b","
    yield b"]}"


def csv_chunks(conn, job: dict) -> Iterator[bytes]:
    """The findings as CSV (UTF-8 with BOM so spreadsheets show Arabic), geometry as WKT."""
    rules = (job["summary"] or {}).get("rules", {})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*FIELDS, "wkt"])
    yield "\ufeff".encode() + buffer.getvalue().encode()
    for row in _rows(conn, job["id"], "ST_AsText(geom)"):
        buffer.seek(0)
        buffer.truncate()
        props = _properties(rules, row)
        writer.writerow([_cell(props[name]) for name in FIELDS] + [row["geometry"] or ""])
        yield buffer.getvalue().encode()


def _cell(value) -> str:
    """A property as a CSV cell."""
    if isinstance(value, list):
        return "|".join(map(str, value))
    return "" if value is None else str(value)


def _gpkg_blob(wkb: bytes | None, box) -> bytes | None:
    """A GeoPackage geometry: 'GP' header (little-endian, xy envelope, SRS 4326) + WKB."""
    if wkb is None:
        return None
    header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i", 4326)
    return header + struct.pack("<4d", box[0], box[2], box[1], box[3]) + bytes(wkb)


def _gpkg_schema(db: sqlite3.Connection) -> None:
    """The GeoPackage core tables and the findings feature table."""
    db.executescript(f"""
    PRAGMA application_id = 1196444487;
    PRAGMA user_version = 10400;
    CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
      organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
      definition TEXT NOT NULL, description TEXT);
    INSERT INTO gpkg_spatial_ref_sys VALUES
      ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
      ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL),
      ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WGS84_WKT}', 'longitude/latitude');
    CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
      identifier TEXT UNIQUE, description TEXT DEFAULT '',
      last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
      srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
    CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
      geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
      m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name), UNIQUE (table_name),
      FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
      FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
    CREATE TABLE findings (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom GEOMETRY,
      {", ".join(f'"{name}" {"INTEGER" if name == "subject_id" else "TEXT"}' for name in FIELDS)});
    INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
      VALUES ('findings', 'features', 'findings', 'Permit-check findings', 4326);
    INSERT INTO gpkg_geometry_columns VALUES ('findings', 'geom', 'GEOMETRY', 4326, 0, 0);
    """)


def geopackage(conn, job: dict) -> str:
    """Write the findings to a GeoPackage file; return its path (the caller removes it)."""
    try:
        fd, path = tempfile.mkstemp(suffix=".gpkg", prefix="amanat-findings-")
    except OSError as err:
        raise _unwritable(err) from None
    os.close(fd)
    try:
        _write_geopackage(conn, job, path)
    except (OSError, sqlite3.Error) as err:   # disk full, file too large, not writable
        _remove(path)
        raise _unwritable(err) from None
    except BaseException:
        _remove(path)
        raise
    return path


def _unwritable(err: Exception) -> Unavailable:
    """The client's message when the results file cannot be written (detail to the log)."""
    LOGGER.error("cannot write a results file: %s", err)
    return Unavailable("the results file cannot be written on the server (disk full or not "
                       "writable); try again later or download GeoJSON or CSV")


def _remove(path: str) -> None:
    """Delete a half-written results file and any SQLite journal beside it."""
    for name in (path, path + "-journal", path + "-wal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _write_geopackage(conn, job: dict, path: str) -> None:
    """Write the findings of `job` into the (empty) file at `path`."""
    rules = (job["summary"] or {}).get("rules", {})
    db = sqlite3.connect(path)
    try:
        _gpkg_schema(db)
        placeholders = ", ".join("?" * (len(FIELDS) + 1))
        columns = ", ".join(f'"{name}"' for name in FIELDS)
        extent = [None] * 4
        extra = ", ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
        for row in _rows(conn, job["id"], "ST_AsBinary(geom)", extra):
            box = (row["st_xmin"], row["st_ymin"], row["st_xmax"], row["st_ymax"])
            extent = _grow(extent, box) if row["geometry"] is not None else extent
            props = _properties(rules, row)
            db.execute(f"INSERT INTO findings (geom, {columns}) VALUES ({placeholders})",
                       [_gpkg_blob(row["geometry"], box), *(_cell(props[n]) if n != "subject_id"
                                                            else props[n] for n in FIELDS)])
        db.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?",
                   extent)
        db.commit()
    finally:
        db.close()


def _grow(extent: list, box) -> list:
    """The union of an extent and a box."""
    if extent[0] is None:
        return list(box)
    return [min(extent[0], box[0]), min(extent[1], box[1]), max(extent[2], box[2]),
            max(extent[3], box[3])]
