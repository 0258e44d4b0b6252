"""Measured fixes to pygeoapi 0.24 internals, applied when the OGC application is built.

get_exception: logs every answered error at ERROR with a traceback, 4xx included (see below).

landing_page: gains the link to the dataset tilesets (/tiles) that OGC API Tiles clients follow.

transform_bbox: pygeoapi calls it on every items request with a bbox, and it builds two pyproj
CRS objects, a Transformer and calls `CRS.to_epsg()` each time — measured at ~25 ms per request
on these machines, six times the cost of our whole database query, even when the bbox is already
in the storage CRS. The replacement returns the bbox unchanged when both CRSs are the same and
otherwise reuses one Transformer per CRS pair; the result is the same numbers.

Found by fuzzing (schemathesis), both answered 500 before:
- get_dataset_templates: `GET /processes/{id}?f=html` looked the process up among the
  collections (`config['resources']`; ours are under `amanat_processes`) → KeyError. Unknown
  names now get the server's templates.
- execute_process: a request body that is not UTF-8 reached `json.loads` as bytes →
  UnicodeDecodeError; a JSON body that is not an object (`[]`, `null`) → AttributeError. Both
  are now a 400 like any other body that is not JSON.
"""
import json
import logging
import threading
from functools import lru_cache

import pyproj

MERCATOR_LAT = 85.0511


@lru_cache(maxsize=64)
def _transformer(from_crs: str, to_crs: str, always_xy: bool):
    """One pyproj Transformer per CRS pair, and whether the target is Web Mercator."""
    from pygeoapi.crs import get_crs

    source, target = get_crs(from_crs), get_crs(to_crs)
    return (pyproj.Transformer.from_crs(source, target, always_xy).transform,
            target.to_epsg() == 3857, source == target)


def transform_bbox(bbox: list, from_crs, to_crs, always_xy=False) -> list:
    """pygeoapi.crs.transform_bbox with cached transformers (same contract, same results)."""
    if not isinstance(from_crs, str) or not isinstance(to_crs, str):
        from pygeoapi.crs import transform_bbox as original

        return original(bbox, from_crs, to_crs, always_xy)
    transform, to_mercator, identical = _transformer(from_crs, to_crs, always_xy)
    if identical:
        return list(bbox)
    if to_mercator:
        bbox = [bbox[0], max(-MERCATOR_LAT, bbox[1]), bbox[2], min(MERCATOR_LAT, bbox[3])]
    n_dims = len(bbox) // 2
    return list(transform(*bbox[:n_dims]) + transform(*bbox[n_dims:]))


_answering_client_error = threading.local()


class _ClientErrorFilter(logging.Filter):
    """Drop pygeoapi's ERROR records (with traceback) for 4xx answers and empty tiles: they are
    the client's mistakes, already answered with a clear message, and flooded the log (two
    tracebacks per empty tile). 5xx answers are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless it is logged while answering a client error."""
        return not getattr(_answering_client_error, "active", False)


def _quiet_client_errors(get_exception):
    """Wrap API.get_exception so its logging knows the status it answers with."""

    def wrapped(self, status, *args, **kwargs):
        _answering_client_error.active = int(status) < 500
        try:
            return get_exception(self, status, *args, **kwargs)
        finally:
            _answering_client_error.active = False

    wrapped.amanat_quiet = True
    return wrapped


def _templates_of_any_resource(self, dataset: str) -> dict:
    """API.get_dataset_templates that also answers for names that are not collections."""
    templates = self.config.get("resources", {}).get(dataset, {}).get("templates")
    return templates or self.tpl_config["server"]["templates"]


def _utf8_bodies_only(execute_process):
    """Wrap pygeoapi.api.processes.execute_process: a body that is not a UTF-8 JSON object is
    a 400."""

    def wrapped(api, request, *args, **kwargs):
        data = request.data
        if data:
            try:
                body = json.loads(data)
            except ValueError:   # not UTF-8, or not JSON
                body = None
            if not isinstance(body, dict):
                headers = request.get_response_headers(**api.api_headers)
                return api.get_exception(400, headers, request.format, "InvalidParameterValue",
                                         "the request body must be a JSON object "
                                         "(an execute request)")
        return execute_process(api, request, *args, **kwargs)

    wrapped.amanat_utf8 = True
    return wrapped


TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"


def _with_dataset_tiles_link(landing_page):
    """pygeoapi's landing page (JSON) with a link to the dataset tilesets at /tiles (served by
    geoserver/dataset_tiles.py in front of pygeoapi), where OGC API Tiles clients look for them."""

    def landing_page_with_tiles(api, request):
        headers, status, content = landing_page(api, request)
        if status == 200 and str(headers.get("Content-Type", "")).startswith("application/json"):
            document = json.loads(content)
            document.setdefault("links", []).append({
                "rel": TILESETS_VECTOR, "type": "application/json",
                "title": "Vector tiles of every layer (dataset tilesets)",
                "href": f"{api.base_url}/tiles?f=json"})
            content = json.dumps(document, ensure_ascii=False)
        return headers, status, content

    landing_page_with_tiles.amanat_tiles = True
    return landing_page_with_tiles


def apply() -> None:
    """Install the fixes into the pygeoapi modules that use them (idempotent)."""
    import pygeoapi.api as core_api
    import pygeoapi.api.itemtypes as itemtypes
    from pygeoapi.api import API

    import pygeoapi.api.processes as processes_api

    itemtypes.transform_bbox = transform_bbox
    API.get_dataset_templates = _templates_of_any_resource
    if not getattr(processes_api.execute_process, "amanat_utf8", False):
        processes_api.execute_process = _utf8_bodies_only(processes_api.execute_process)
    if not getattr(core_api.landing_page, "amanat_tiles", False):
        core_api.landing_page = _with_dataset_tiles_link(core_api.landing_page)
    if not getattr(API.get_exception, "amanat_quiet", False):
        API.get_exception = _quiet_client_errors(API.get_exception)
        logging.getLogger("pygeoapi.api").addFilter(_ClientErrorFilter())
