"""HTTP routes of the permit checks: certificates, and the OGC API Processes job resources.

The job resources (/ogc/jobs...) are served here rather than by pygeoapi because the results
come in several formats (GeoJSON, GeoPackage, CSV) and the exceptions must carry the OGC API
Processes types (no-such-job, result-not-ready); pygeoapi still serves /ogc/processes and
execution, through processing.manager.

Jobs belong to whoever submitted them (kernel.principal.owner_of: the principal's subject, or
ip:<address> when anonymous). GET /ogc/jobs lists the caller's own jobs only; admins see
everyone's (with the owner of each) and may narrow them with `?owner=`, which anyone else may
give only as their own. numberMatched and the next link count that same filtered set.
GET /ogc/jobs/{id} and its results stay readable by id: the id is a random UUID (uuid4), a
capability link its owner may share (the web map's analyst panel polls it). DELETE (analysts and
admins, geoserver.auth.POLICY) dismisses only the caller's own job, or any job for an admin;
another's job is a 403 Forbidden and is left as it was. A 403 rather than a 404, because a 404
would hide nothing: whoever holds the id can read the job anyway, and ids are not guessable
(an unknown id is a 404 no-such-job as before); a 403 tells the caller why, as an office
editing another office's licence is told (layers.feature_rules). Jobs recorded without an owner
(before owners were kept) are listed to admins only and dismissed by admins only.
"""
from __future__ import annotations

import functools
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from kernel.errors import InvalidInput, language_of
from kernel.principal import owner_of, principal_of
from processing import certificates, engine, exports, jobs, runtime
from processing.errors import CheckInputError, UnknownCertificate
from processing.messages import job_messages

CERTIFICATE_ID = re.compile(r"^AMN-[0-9]{4}(-[0-9A-Z]{4}){4}$")
TEMPLATES = Path(__file__).parent / "templates"
RESULT_TYPES = {
    "json": "application/geo+json", "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8", "gpkg": "application/geopackage+sqlite3",
}
ACCEPT = {"application/geopackage+sqlite3": "gpkg", "text/csv": "csv",
          "application/geo+json": "geojson", "application/json": "json"}


def _status(rt, row: dict, lang: str) -> dict:
    """An OGC API Processes statusInfo document, its message in `lang` (and `messages` in both)."""
    job_url = f"{rt.ogc_url}/jobs/{row['id']}"
    texts = job_messages().texts(row["message"])
    info = {"jobID": str(row["id"]), "processID": row["process_id"], "type": "process",
            "status": row["status"], "message": texts[lang], "messages": texts,
            "progress": row["progress"],
            **{key: row[key].isoformat() if row[key] else None
               for key in ("created", "started", "finished", "updated")},
            "links": [{"href": job_url, "rel": "self", "type": "application/json"}]}
    if row["status"] == "successful":
        info["links"] += _result_links(job_url, row)
    return info


def _result_links(job_url: str, row: dict) -> list[dict]:
    """Links to a finished job's results in every format it has."""
    rel = "http://www.opengis.net/def/rel/ogc/1.0/results"
    if row.get("certificate_id"):
        return [{"href": f"{job_url}/results", "rel": rel, "type": "application/json"}]
    return [{"href": f"{job_url}/results?f={f}", "rel": rel, "type": RESULT_TYPES[f],
             "title": f} for f in ("geojson", "gpkg", "csv")]


def _read_job(rt, job_id: str) -> dict:
    """A job, after failing it if its worker has died."""
    with rt.db.connection() as conn:
        return _fresh(conn, rt, job_id)


def _fresh(conn, rt, job_id: str) -> dict:
    """A job read on `conn`, after failing it if its worker has died."""
    job = jobs.get(conn, job_id)
    if job["status"] in jobs.ACTIVE and job["queue_job_id"] is not None:
        if jobs.fail_stalled(conn, rt.stalled_after_s, job["queue_job_id"]):
            job = jobs.get(conn, job_id)
    return job


def _caller(request: Request) -> tuple[str, bool]:
    """(owner key, is an admin) of the request's principal."""
    principal = principal_of(request.scope)
    return owner_of(principal, request.scope), principal.has("admin")


async def job_status(rt: runtime.Runtime, request: Request):
    """GET /ogc/jobs/{job_id} (status, anyone holding the id) and DELETE (dismiss: the owner's
    own job, or any job for an admin)."""
    job_id, lang = request.path_params["job_id"], language_of(request)
    if request.method == "DELETE":
        owner, admin = _caller(request)
        row = await run_in_threadpool(_dismiss, rt, job_id, None if admin else owner)
        texts = job_messages().texts("job dismissed")
        return JSONResponse({**_status(rt, row, lang), "status": "dismissed",
                             "message": texts[lang], "messages": texts})
    return JSONResponse(_status(rt, await run_in_threadpool(_read_job, rt, job_id), lang))


def _dismiss(rt, job_id: str, owner: str | None) -> dict:
    """Dismiss a job of `owner` (None: anyone's); the job as it was. NotYourJob first, so a
    refused dismissal changes nothing (not even a stalled job's status)."""
    with rt.db.connection() as conn:
        jobs.check_owner(jobs.get(conn, job_id), owner)
        row = _fresh(conn, rt, job_id)
        jobs.dismiss(conn, job_id, owner)
    return row


def _page(request: Request) -> tuple[int, int]:
    """limit and offset query parameters."""
    try:
        limit = int(request.query_params.get("limit", 10))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise InvalidInput("limit and offset must be integers") from None
    if not (1 <= limit <= 1000 and 0 <= offset <= 10**9):   # a larger offset overflowed SQL
        raise InvalidInput("limit must be 1..1000 and offset 0..1000000000")
    return limit, offset


def _text_param(request: Request, name: str) -> str | None:
    """A query parameter that is bound into SQL as text: 1..256 characters, no NUL."""
    value = request.query_params.get(name)
    if value is not None and not (0 < len(value) <= 256 and "\x00" not in value):
        raise InvalidInput("{name} must be 1 to 256 characters (no NUL)", name=name)
    return value


def _listed_owner(request: Request) -> tuple[str | None, bool]:
    """(whose jobs to list, is an admin): the caller's own; for an admin everyone's (None) or
    `?owner=`'s."""
    owner, admin = _caller(request)
    wanted = _text_param(request, "owner")
    if admin:
        return wanted, True
    if wanted not in (None, owner):
        raise jobs.NotYourJob("only administrators list other clients' jobs; leave out owner "
                              "to list yours.")
    return owner, False


LIST_FILTERS = ("processID", "type", "status", "datetime", "minDuration", "maxDuration", "owner")
JOB_TYPES = frozenset({"process", "wps", "openeo"})   # ours are all "process"
STATUSES = frozenset({"accepted", "running", "successful", "failed", "dismissed"})


def _values(request: Request, name: str) -> list[str] | None:
    """A list parameter, repeated or comma-separated (form, explode), or None when absent."""
    given = request.query_params.getlist(name)
    if not given:
        return None
    values = [v.strip() for text in given for v in text.split(",")]
    if not all(0 < len(v) <= 256 and "\x00" not in v for v in values) or len(values) > 50:
        raise InvalidInput("{name} must be a list of 1 to 50 values of 1 to 256 characters",
                           name=name)
    return values


def _instant(text: str) -> datetime | None:
    """One end of a datetime interval (".." or empty: open); UTC when no offset is given."""
    if text in ("..", ""):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("datetime must be an RFC 3339 instant or interval") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds(request: Request, name: str) -> int | None:
    """A duration in whole seconds, or None when absent."""
    text = request.query_params.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise InvalidInput("{name} must be a whole number of seconds", name=name)
    return int(text)


def _job_filter(request: Request) -> jobs.JobFilter:
    """The job-list filters of /req/job-list: type, processID, status, datetime, durations."""
    types, process_ids = _values(request, "type"), _values(request, "processID")
    statuses = _values(request, "status")
    if types is not None and not set(types) <= JOB_TYPES:
        raise InvalidInput("type must be one of: {names}", names=", ".join(sorted(JOB_TYPES)))
    if statuses is not None and not set(statuses) <= STATUSES:
        raise InvalidInput("status must be one of: {names}", names=", ".join(sorted(STATUSES)))
    if types is not None and "process" not in types:
        process_ids = []   # every job here is an OGC process
    start = end = None
    if (text := request.query_params.get("datetime")) is not None:
        parts = text.split("/")
        if len(parts) > 2 or parts == ["..", ".."]:
            raise InvalidInput("datetime must be an RFC 3339 instant or interval")
        start, end = _instant(parts[0]), _instant(parts[-1])
    return jobs.JobFilter(tuple(process_ids) if process_ids is not None else None,
                          tuple(statuses) if statuses is not None else None, start, end,
                          _seconds(request, "minDuration"), _seconds(request, "maxDuration"))


def _list_links(rt, request: Request, limit: int, offset: int, total: int) -> list[dict]:
    """self, and next when there are more: the same filters, the next page."""
    filters = [(key, value) for key, value in request.query_params.multi_items()
               if key in LIST_FILTERS]

    def href(start: int) -> str:
        """The listing from `start` on."""
        return f"{rt.ogc_url}/jobs?" + urlencode([*filters, ("limit", limit),
                                                  ("offset", start)])

    links = [{"href": href(offset), "rel": "self", "type": "application/json"}]
    if offset + limit < total:
        links.append({"href": href(offset + limit), "rel": "next", "type": "application/json"})
    return links


async def job_list(rt: runtime.Runtime, request: Request):
    """GET /ogc/jobs: the caller's jobs (an admin's: everyone's), newest first."""
    limit, offset = _page(request)
    selected = _job_filter(request)
    owner, admin = _listed_owner(request)

    def read():
        with rt.db.connection() as conn:
            return jobs.listing(conn, limit, offset, selected, owner=owner)

    rows, total = await run_in_threadpool(read)
    lang = language_of(request)
    listed = [{**_status(rt, row, lang), **({"owner": row["owner"]} if admin else {})}
              for row in rows]
    return JSONResponse({"jobs": listed, "numberMatched": total,
                         "links": _list_links(rt, request, limit, offset, total)})


def _result_format(request: Request) -> str:
    """The results format asked for by f= or Accept (GeoJSON by default)."""
    wanted = request.query_params.get("f")
    if wanted is None:
        accept = request.headers.get("accept", "")
        wanted = next((f for mime, f in ACCEPT.items() if mime in accept), "geojson")
    if wanted not in RESULT_TYPES:
        raise InvalidInput("unknown results format {format!r}; use geojson, gpkg or csv",
                           format=wanted)
    return wanted


async def job_results(rt: runtime.Runtime, request: Request):
    """GET /ogc/jobs/{job_id}/results: a certificate, or findings as GeoJSON, GeoPackage, CSV."""
    job_id = request.path_params["job_id"]
    fmt = _result_format(request)
    job = await run_in_threadpool(_finished, rt, job_id)
    if job["certificate_id"]:
        return JSONResponse(await run_in_threadpool(_certificate_result, rt, job_id))
    name = f"findings-{job['id']}"
    if fmt == "gpkg":
        path = await run_in_threadpool(_with_conn, rt, exports.geopackage, job)
        return FileResponse(path, media_type=RESULT_TYPES["gpkg"], filename=f"{name}.gpkg",
                            background=BackgroundTask(os.unlink, path))
    chunks = exports.csv_chunks if fmt == "csv" else exports.geojson_chunks
    headers = {"Content-Disposition": f'inline; filename="{name}.{fmt}"'}
    return StreamingResponse(_streamed(rt, chunks, job), media_type=RESULT_TYPES[fmt],
                             headers=headers)


def _finished(rt, job_id: str) -> dict:
    """A job that has results."""
    with rt.db.connection() as conn:
        return exports.finished_job(conn, job_id)


def _certificate_result(rt, job_id: str) -> dict:
    """The certificate response of a single-check job."""
    with rt.db.connection() as conn:
        return exports.job_result(conn, rt, job_id)


def _with_conn(rt, function, *args):
    """Call function(conn, *args) on a pooled connection."""
    with rt.db.connection() as conn:
        return function(conn, *args)


def _streamed(rt, chunks, job):
    """Stream chunks made on a connection held for the whole response."""
    with rt.db.connection() as conn:
        yield from chunks(conn, job)


@functools.lru_cache(maxsize=1)
def _templates() -> Environment:
    """The certificate templates, autoescaped (built on first use)."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        default=True, default_for_string=True), trim_blocks=True, lstrip_blocks=True)


def _certificate_id(request: Request) -> str:
    """The id in the path, or UnknownCertificate (ids have one shape only)."""
    value = request.path_params["certificate_id"]
    if not CERTIFICATE_ID.match(value):
        raise UnknownCertificate("no certificate with id {id!r}", id=value)
    return value


def _fetch_certificate(rt, certificate_id: str) -> tuple[dict, str, dict]:
    """(document, token, verification report) of a stored certificate."""
    with rt.db.connection() as conn:
        document, token, _ = certificates.fetch(conn, certificate_id)
    return document, token, certificates.verify(rt.signer, token, document)


def _wants_html(request: Request) -> bool:
    """HTML for f=html, or for browsers when f is not given."""
    fmt = request.query_params.get("f")
    if fmt is not None:
        if fmt not in ("html", "json"):
            raise InvalidInput("f must be html or json")
        return fmt == "html"
    return "text/html" in request.headers.get("accept", "")


async def certificate(rt: runtime.Runtime, request: Request):
    """GET /certificates/{id}: the signed certificate (JSON) or its printable page (HTML)."""
    certificate_id = _certificate_id(request)
    document, token, report = await run_in_threadpool(_fetch_certificate, rt, certificate_id)
    lang = request.query_params.get("lang", "ar")
    if not _wants_html(request) and "lang" not in request.query_params:
        return JSONResponse({"certificate": document, "jws": token, "verification": report,
                             "links": engine.links(rt.base_url, certificate_id)})
    if lang not in ("ar", "en"):
        raise InvalidInput("lang must be ar or en")
    page = _templates().get_template("certificate.html").render(
        c=document, lang=lang, report=report, base_url=rt.base_url,
        verify_url=f"{rt.base_url}/certificates/{certificate_id}/verify", key_id=rt.signer.kid)
    return HTMLResponse(page)


async def certificate_verify(rt: runtime.Runtime, request: Request):
    """GET /certificates/{id}/verify: is the stored certificate intact and our signature?"""
    certificate_id = _certificate_id(request)
    _, _, report = await run_in_threadpool(_fetch_certificate, rt, certificate_id)
    return JSONResponse(_in_language(report, language_of(request)))


async def verify_submitted(rt: runtime.Runtime, request: Request):
    """POST /certificates/verify: check a certificate someone holds ({jws[, certificate]})."""
    try:
        body = await request.json()
    except ValueError:
        raise CheckInputError(
            "the body must be JSON: {{\"jws\": ..., \"certificate\": {{...}}}}") from None
    if not isinstance(body, dict) or not isinstance(body.get("jws"), str):
        raise CheckInputError("give the certificate's \"jws\" (and optionally \"certificate\")")
    document = body.get("certificate")
    if document is not None and not isinstance(document, dict):
        raise CheckInputError("\"certificate\" must be a JSON object")
    report = certificates.verify(rt.signer, body["jws"], document)
    report.update(await run_in_threadpool(_against_record, rt, report, body["jws"]))
    report["valid"] = report["valid"] and report["registered"] and report["matches_record"]
    report["tampered"] = not report["valid"]
    return JSONResponse(_in_language(report, language_of(request)))


def _in_language(report: dict, lang: str) -> dict:
    """A verification report whose `reason` is in `lang` (`reasons` holds both)."""
    if "reasons" in report:
        report["reason"] = report["reasons"][lang]
    return report


def _against_record(rt, report: dict, token: str) -> dict:
    """Whether the certificate in a token was issued here, and is the one on record."""
    certificate_id = report.get("certificate_id")
    if not isinstance(certificate_id, str) or not CERTIFICATE_ID.match(certificate_id):
        return {"registered": False, "matches_record": False}
    with rt.db.connection() as conn:
        try:
            _, stored, _ = certificates.fetch(conn, certificate_id)
        except UnknownCertificate:
            return {"registered": False, "matches_record": False}
    return {"registered": True, "matches_record": stored == token}


async def public_keys(rt: runtime.Runtime, request: Request):
    """GET /certificates/keys: the public key(s) certificates are signed with (JWKS)."""
    return JSONResponse({"keys": [rt.signer.public_jwk()]})


def job_routes(rt: runtime.Runtime) -> list[Route]:
    """/jobs… of the OGC API (mounted under /ogc), answered with this application's runtime."""
    return [
        Route("/jobs", _with(job_list, rt), methods=["GET"]),
        Route("/jobs/{job_id}", _with(job_status, rt), methods=["GET", "DELETE"]),
        Route("/jobs/{job_id}/results", _with(job_results, rt), methods=["GET"]),
    ]


def certificate_routes(rt: runtime.Runtime) -> list[Route]:
    """/certificates…, answered with this application's runtime."""
    return [
        Route("/certificates/keys", _with(public_keys, rt), methods=["GET"]),
        Route("/certificates/verify", _with(verify_submitted, rt), methods=["POST"]),
        Route("/certificates/{certificate_id}", _with(certificate, rt), methods=["GET"]),
        Route("/certificates/{certificate_id}/verify", _with(certificate_verify, rt),
              methods=["GET"]),
    ]


def _with(handler, rt: runtime.Runtime):
    """The endpoint: `handler(rt, request)`."""
    return functools.partial(handler, rt)
