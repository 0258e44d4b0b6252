"""Layers written as files: GeoPackage, FlatGeobuf, GeoJSON, CSV, zipped Shapefile, KML.

Rows come from a server-side cursor (`rows`), a batch at a time, so memory stays flat whatever
the layer's size. GeoPackage and Shapefile are written by GDAL (pyogrio) batch after batch;
FlatGeobuf and KML cannot be appended to, so they are converted from the GeoPackage through
GDAL's Arrow stream (batch by batch too); CSV, GeoJSON and GeoJSON text sequences are written
here from what PostGIS produced (WKT, feature JSON). Only the catalogue's public `fields` are
ever selected: a personal column (`Layer.personal`) is never read, so it cannot reach a file.
"""
from __future__ import annotations

import csv
import io
import json
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from queue import Full, Queue

import numpy as np
from psycopg import sql
from pyogrio import raw

from layers import queries
from layers.catalogue import Layer

BATCH = 5000
GDAL_BATCH = 20_000   # each append reopens the file: fewer, larger batches for GDAL
LICENCE = {"id": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/",
           "attribution": "Amanat municipal open data / البيانات المفتوحة للأمانة"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")   # OWASP CSV injection
BOM = "\ufeff"
SHAPEFILE_NAME_MAX = 10


@dataclass(frozen=True)
class Format:
    """One file format: its media type and file name suffix."""

    name: str
    media_type: str
    suffix: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("gpkg", "application/geopackage+sqlite3", "gpkg"),
    Format("fgb", "application/flatgeobuf", "fgb"),
    Format("geojson", "application/geo+json", "geojson"),
    Format("csv", "text/csv; charset=utf-8", "csv"),
    Format("shp", "application/zip", "shp.zip"),
    Format("kml", "application/vnd.google-earth.kml+xml", "kml"),
    Format("geojsonseq", "application/geo+json-seq", "geojsonseq"),
)}
WHOLE_LAYER = ("gpkg", "fgb", "geojson", "csv", "shp", "kml")


def licence_of(layer: Layer) -> dict:
    """The licence and attribution of a layer (a layer may carry its own `licence`)."""
    return getattr(layer, "licence", None) or LICENCE


@dataclass(frozen=True)
class Selection:
    """What to write: the layer, its public properties, a WHERE clause, the output SRID."""

    layer: Layer
    properties: tuple[str, ...]
    where: queries.Where
    srid: int | None = None      # None: as stored (CRS84)

    @classmethod
    def whole(cls, layer: Layer) -> Selection:
        """Every feature and every public property."""
        return cls(layer, tuple(layer.fields), queries.Where())

    @property
    def crs(self) -> str:
        """The CRS the geometries are written in."""
        return f"EPSG:{self.srid or 4326}"


def _column(layer: Layer, name: str) -> sql.Composable:
    """A public column as a value GDAL takes (timestamps in UTC, arrays as JSON text)."""
    schema = layer.fields[name]
    ident = sql.SQL("t.{}").format(sql.Identifier(name))
    if schema.get("type") == "array":
        return sql.SQL("array_to_json({})::text").format(ident)
    if schema.get("format") == "date-time":
        return sql.SQL("({} AT TIME ZONE 'UTC')::timestamp").format(ident)
    return ident


def _geometry(selection: Selection, form: str) -> sql.Composable:
    """The geometry as WKB, WKT or GeoJSON in the output CRS."""
    geom = sql.SQL("t.{}").format(sql.Identifier(selection.layer.geometry_column))
    if selection.srid not in (None, 4326):
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(selection.srid))
    function = {"wkb": "ST_AsBinary", "wkt": "ST_AsText"}[form]
    return sql.SQL("{}({})").format(sql.SQL(function), geom)


def statement(selection: Selection, geometry: str) -> sql.Composable:
    """SELECT id, the public properties and the geometry (wkb | wkt | json), by id."""
    layer = selection.layer
    if geometry == "json":
        values = [sql.SQL("{}::text").format(
            queries.feature_json(layer, selection.properties, selection.srid, False))]
    else:
        values = [_column(layer, name) for name in selection.properties]
        values.append(_geometry(selection, geometry))
    return sql.SQL("SELECT t.{id}, {values} FROM {table} t{where} ORDER BY t.{id}").format(
        id=sql.Identifier(layer.id_field), values=sql.SQL(", ").join(values),
        table=sql.Identifier(layer.table), where=selection.where.sql())


def rows(conn, selection: Selection, geometry: str, batch: int = BATCH):
    """Batches of rows from a server-side cursor (one transaction on `conn`); WKB comes in
    the binary protocol (no hex text to decode)."""
    binary = geometry == "wkb"
    with conn.transaction(), conn.cursor(name="amanat_export", binary=binary) as cursor:
        cursor.execute(statement(selection, geometry), selection.where.params)
        while True:
            found = cursor.fetchmany(batch)
            if not found:
                return
            yield found


def count(conn, selection: Selection, cap: int) -> int:
    """How many features the selection holds, counted up to `cap` + 1."""
    layer = selection.layer
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {table} t{where} LIMIT %s) s").format(
        table=sql.Identifier(layer.table), where=selection.where.sql())
    return conn.execute(query, [*selection.where.params, cap + 1]).fetchone()[0]


# --- GDAL formats -------------------------------------------------------------------------------

def _array(values: tuple, schema: dict, shapefile: bool = False):
    """One column of a batch as a numpy array and its null mask (None: no mask)."""
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        mask = np.fromiter((v is None for v in values), bool, len(values))
        return np.array([0 if v is None else v for v in values], dtype="int64"), mask
    if kind == "number":
        return np.array(values, dtype="float64"), None
    if fmt == "date":
        return np.array(values, dtype="datetime64[D]"), None
    if fmt == "date-time" and not shapefile:   # DBF has no date-time: ISO text there
        return np.array(values, dtype="datetime64[ms]"), None
    if fmt == "date-time":
        return np.array([v and v.isoformat() for v in values], dtype=object), None
    return np.array(values, dtype=object), None


def _columns(selection: Selection, batch: list, shapefile: bool
             ) -> tuple[np.ndarray, list, list]:
    """Geometry (WKB), field arrays and masks of one batch."""
    columns = list(zip(*batch))
    arrays, masks = [], []
    for name, values in zip(selection.properties, columns[1:-1]):
        array, mask = _array(values, selection.layer.fields[name], shapefile)
        arrays.append(array)
        masks.append(mask)
    return np.array(columns[-1], dtype=object), arrays, masks


def _column_batches(conn, selection: Selection, shapefile: bool):
    """(geometry, arrays, masks, row count) per batch of rows."""
    for batch in rows(conn, selection, "wkb", GDAL_BATCH):
        yield (*_columns(selection, batch, shapefile), len(batch))


def prefetched(batches, depth: int = 2):
    """The items of an iterator, produced in a thread `depth` ahead: the next batch is read
    from the database while GDAL writes this one."""
    queue: Queue = Queue(depth)
    stop = threading.Event()

    def put(message) -> bool:
        """Queue a message unless the consumer stopped; whether it was queued."""
        while not stop.is_set():
            try:
                queue.put(message, timeout=0.5)
                return True
            except Full:
                continue
        return False

    def produce():
        try:
            for item in batches:
                if not put(("item", item)):
                    return
            put(("end", None))
        except Exception as err:  # noqa: BLE001 - handed to the consumer and raised there
            put(("error", err))
        finally:
            batches.close()   # ends the server-side cursor's transaction in this thread

    producer = threading.Thread(target=produce, name="export-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        producer.join(timeout=30)


def _metadata(layer: Layer) -> tuple[dict, dict]:
    """Dataset and layer metadata items (licence, attribution) for GDAL."""
    licence = licence_of(layer)
    dataset = {"LICENSE": licence["id"], "LICENSE_URL": licence["url"],
               "ATTRIBUTION": licence["attribution"]}
    return dataset, {"DESCRIPTION": f"{layer.id}: {licence['attribution']} ({licence['id']})"}


def write_gdal(conn, selection: Selection, path: Path, driver: str,
               names: list[str] | None = None) -> int:
    """Write the selection with GDAL batch after batch (GPKG, Shapefile); the feature count."""
    layer, written = selection.layer, 0
    dataset_meta, layer_meta = _metadata(layer)
    options = {"encoding": "UTF-8"} if driver == "ESRI Shapefile" else {
        "dataset_metadata": dataset_meta, "layer_metadata": layer_meta}
    for geometry, arrays, masks, size in prefetched(
            _column_batches(conn, selection, driver == "ESRI Shapefile")):
        raw.write(str(path), geometry, arrays, names or list(selection.properties),
                  field_mask=masks, layer=layer.id, driver=driver,
                  geometry_type=layer.geometry_type, crs=selection.crs, append=written > 0,
                  promote_to_multi=False, **({} if written else options))
        written += size
    if not written:   # an empty selection is still a valid, empty file with its fields
        _write_empty(selection, path, driver, names, options)
    return written


def _write_empty(selection: Selection, path: Path, driver: str, names, options) -> None:
    """A file with the layer's fields and no feature."""
    layer = selection.layer
    arrays = [_array((), layer.fields[name], driver == "ESRI Shapefile")[0]
              for name in selection.properties]
    raw.write(str(path), np.array([], dtype=object), arrays, names or list(selection.properties),
              layer=layer.id, driver=driver, geometry_type=layer.geometry_type,
              crs=selection.crs, **options)


def convert(source: Path, target: Path, driver: str, layer: Layer) -> None:
    """Convert a GeoPackage written by `write_gdal` into another format via GDAL's Arrow
    stream (FlatGeobuf, KML: formats that cannot be appended to)."""
    layer_meta = _metadata(layer)[1]
    options = {"layer_metadata": layer_meta} if driver == "FlatGeobuf" else {}
    if driver == "KML" and layer.title_field:   # each placemark named (Google Earth's list)
        options["dataset_options"] = {"NameField": layer.title_field}
    with raw.open_arrow(str(source)) as (meta, stream):
        raw.write_arrow(stream, str(target), layer=layer.id, driver=driver,
                        geometry_name=meta["geometry_name"] or "geom",
                        geometry_type=layer.geometry_type, crs=meta["crs"], **options)


def shapefile_names(names) -> dict[str, str]:
    """Field name → a unique DBF name of at most 10 characters (GDAL would truncate silently)."""
    mapped: dict[str, str] = {}
    for name in names:
        short, n = name[:SHAPEFILE_NAME_MAX], 1
        while short in mapped.values():
            suffix = f"_{n}"
            short, n = name[:SHAPEFILE_NAME_MAX - len(suffix)] + suffix, n + 1
        mapped[name] = short
    return mapped


def readme(layer: Layer, extra: str = "") -> str:
    """The README.txt of a zipped download: what, licence, attribution (Arabic and English)."""
    licence = licence_of(layer)
    return (f"{layer.id}\n\nLicence / الترخيص: {licence['id']} {licence['url']}\n"
            f"Attribution / الإسناد: {licence['attribution']}\n"
            "Coordinates / الإحداثيات: WGS 84 (EPSG:4326) unless requested otherwise\n"
            "Text encoding / ترميز النصوص: UTF-8 (.cpg)\n" + extra)


def write_shapefile_zip(conn, selection: Selection, path: Path, workdir: Path) -> int:
    """A zip of the Shapefile (.shp .shx .dbf .prj .cpg), fields.csv (full name → DBF name
    for names over 10 characters) and README.txt; the feature count."""
    mapping = shapefile_names(selection.properties)
    shp = workdir / f"{selection.layer.id}.shp"
    written = write_gdal(conn, selection, shp, "ESRI Shapefile", list(mapping.values()))
    renamed = {full: short for full, short in mapping.items() if full != short}
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["field", "shapefile_field"])
    writer.writerows(renamed.items())
    note = ("fields.csv: full field names of the DBF fields shortened to 10 characters\n"
            if renamed else "")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(workdir.glob(f"{selection.layer.id}.*")):
            archive.write(part, part.name)
        archive.writestr("fields.csv", table.getvalue())
        archive.writestr("README.txt", readme(selection.layer, note))
    return written


# --- text formats -------------------------------------------------------------------------------

def neutral(value) -> str:
    """A CSV cell: text that Excel would read as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def csv_chunks(conn, selection: Selection):
    """CSV text (BOM, header, one row per feature, WKT geometry), a batch per chunk."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", *selection.properties, "geometry_wkt"])
    yield BOM + out.getvalue()
    for batch in rows(conn, selection, "wkt"):
        out.seek(0)
        out.truncate()
        for row in batch:
            writer.writerow([row[0], *(neutral(v) for v in row[1:-1]), row[-1] or ""])
        yield out.getvalue()


def geojsonseq_chunks(conn, selection: Selection):
    """GeoJSON text sequence (RFC 8142: RS, a Feature, LF), a batch per chunk."""
    for batch in rows(conn, selection, "json"):
        yield "".join(f"\x1e{row[1]}\n" for row in batch)


def geojson_chunks(conn, selection: Selection):
    """A GeoJSON FeatureCollection (licence and attribution as foreign members), streamed."""
    licence = licence_of(selection.layer)
    head = {"type": "FeatureCollection", "name": selection.layer.id, "license": licence["id"],
            "attribution": licence["attribution"]}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ['
    first = True
    for batch in rows(conn, selection, "json"):
        yield ("" if first else ",") + ",\n".join(row[1] for row in batch)
        first = False
    yield "]}\n"


TEXT_WRITERS = {"csv": csv_chunks, "geojson": geojson_chunks, "geojsonseq": geojsonseq_chunks}


def write_text(conn, selection: Selection, path: Path, fmt: str) -> None:
    """Write a text format to a file."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.writelines(TEXT_WRITERS[fmt](conn, selection))


def write_file(conn, selection: Selection, fmt: str, path: Path, workdir: Path) -> None:
    """Write the selection as `fmt` to `path` (`workdir`: an empty scratch directory)."""
    if fmt in TEXT_WRITERS:
        write_text(conn, selection, path, fmt)
    elif fmt == "gpkg":
        write_gdal(conn, selection, path, "GPKG")
    elif fmt == "shp":
        write_shapefile_zip(conn, selection, path, workdir)
    else:
        gpkg = workdir / "source.gpkg"
        write_gdal(conn, selection, gpkg, "GPKG")
        convert(gpkg, path, {"fgb": "FlatGeobuf", "kml": "KML"}[fmt], selection.layer)
        os.unlink(gpkg)
