"""Running checks: one subject (parcel-check, license-site-check) or a whole area (batch).

A single check is one transaction on a pooled connection (processing.single): a statement about
its subject, one statement for all the rules, then the signed certificate and the job record.
Any error rolls all of it back, so a failed check leaves nothing written. A batch fills the
temporary subjects table and runs one statement per rule kind over it.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from kernel.messages import render
from processing import certificates, checks, jobs, results, single, subjects
from processing.errors import CheckInputError, UnknownParcel
from processing.inputs import BatchCheck, ParcelCheck, SiteCheck

LOGGER = logging.getLogger(__name__)


def evaluate(conn, ruleset, only: frozenset[str] | None = None) -> dict:
    """Run every rule statement over check_subjects: {(sid, rule_id): (status, m, lim, ev)}."""
    statements = checks.statements(ruleset, only)
    with conn.pipeline():
        cursors = [conn.execute(checks.for_results(text), params)
                   for _, text, params in statements]
    return {(row[0], row[1]): row[2:] for cur in cursors for row in cur.fetchall()}


def _body(process_id: str, ruleset, facts: dict, echo: dict, rows: dict) -> dict:
    """The result document (before it gets its id and signature)."""
    items = [results.rule_result(rule, rows.get((0, rule.id)), facts, ruleset)
             for rule in ruleset.rules]
    verdict = results.verdict(items)
    return {"process": process_id, "ruleset": ruleset.stamp(), "subject": facts,
            "inputs": echo, "verdict": verdict, "verdict_label": results.VERDICTS[verdict],
            "summary": results.summary(items), "rules": items}


def check_parcel(conn, ruleset, request: ParcelCheck) -> dict:
    """Evaluate a parcel-check in the caller's transaction; the unsigned result document."""
    single.begin(conn)
    subject = single.Subject.of("parcel", request.proposal, request.parcel_no, request.parcel)
    facts = single.inspect(conn, ruleset, subject)
    facts["isic"] = request.proposal.isic
    return _body("parcel-check", ruleset, facts, request.echo,
                 single.evaluate(conn, ruleset, subject))


def check_site(conn, ruleset, request: SiteCheck) -> dict:
    """Evaluate a license-site-check in the caller's transaction; the unsigned document."""
    single.begin(conn)
    proposal = request.proposal
    subject = single.Subject.of("licence", proposal, request.parcel_no)
    facts = single.inspect(conn, ruleset, subject)
    facts["isic"] = proposal.isic
    activity = ruleset.activities[proposal.isic]
    facts["activity"] = {"code": proposal.isic, "ar": activity.ar, "en": activity.en}
    return _body("license-site-check", ruleset, facts, request.echo,
                 single.evaluate(conn, ruleset, subject))


def issue(conn, signer, body: dict) -> tuple[dict, str]:
    """Give a result document its id and time, sign it and store it (caller's transaction)."""
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    document = {"id": certificates.new_id(issued), "issued_at": issued.isoformat(), **body}
    payload = certificates.canonical(document)
    token = signer.sign(document, payload)
    certificates.store(conn, document, token, signer.kid, payload)
    return document, token


def links(base_url: str, certificate_id: str) -> list[dict]:
    """Where a certificate can be read, printed and verified."""
    href = f"{base_url}/certificates/{certificate_id}"
    return [
        {"rel": "describedby", "type": "application/json", "href": f"{href}?f=json",
         "title": "Certificate (signed)"},
        {"rel": "alternate", "type": "text/html", "href": f"{href}?lang=ar",
         "title": "الشهادة للطباعة", "hreflang": "ar"},
        {"rel": "alternate", "type": "text/html", "href": f"{href}?lang=en",
         "title": "Printable certificate", "hreflang": "en"},
        {"rel": "verify", "type": "application/json", "href": f"{href}/verify",
         "title": "Verify this certificate"},
    ]


def response(base_url: str, document: dict, token: str) -> dict:
    """What a client gets back from a single check."""
    return {**document, "jws": token, "links": links(base_url, document["id"])}


def run_single(runtime, process_id: str, request, job_id: str | None,
               queued: bool = False, owner: str | None = None) -> dict:
    """Check, sign and store one request, recording its job (new, with its caller as `owner`,
    or queued and now done)."""
    check = check_parcel if isinstance(request, ParcelCheck) else check_site
    with runtime.db.connection() as conn, conn.transaction():
        body = check(conn, runtime.ruleset, request)
        document, token = issue(conn, runtime.signer, body)
        if queued:
            if not jobs.finish(conn, job_id, document["id"], None):
                raise jobs.JobDismissed(job_id)
        elif job_id is not None:
            jobs.record(conn, job_id, process_id, request.echo, "successful", document["id"],
                        owner)
    return response(runtime.base_url, document, token)


def validate_queued(conn, request) -> None:
    """Refuse before queueing what would certainly fail: unknown parcel, district, municipality."""
    if isinstance(request, BatchCheck):
        validate_area(conn, request)
    elif request.parcel_no is not None:
        found = conn.execute("SELECT EXISTS (SELECT 1 FROM parcels WHERE parcel_no = %s)",
                             [request.parcel_no]).fetchone()[0]
        if not found:
            raise UnknownParcel("no parcel numbered {number!r}", number=request.parcel_no)


def validate_area(conn, request: BatchCheck) -> None:
    """CheckInputError for a district or municipality code that does not exist."""
    area = request.area
    for table, code in (("districts", area.district), ("municipalities", area.municipality)):
        if code is not None:
            found = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE code = %s)",
                                 [code]).fetchone()[0]
            if not found:
                raise (CheckInputError("unknown district code {code!r}", code=code)
                       if table == "districts" else
                       CheckInputError("unknown municipality code {code!r}", code=code))


def run_batch(conn, ruleset, request: BatchCheck, job_id: str, report, timeout_ms: int) -> dict:
    """Check every parcel and active licence of the area, storing failures as findings."""
    with conn.transaction():
        conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        subjects.prepare(conn)
        parcels, licences = subjects.add_area(conn, request.area)
        report(10, render("checking {parcels} parcels and {licences} licences",
                          {"parcels": parcels, "licences": licences}, "en"))
        statements = checks.statements(ruleset, request.rule_ids, many=True)
        for done, (kind, text, params) in enumerate(statements, start=1):
            conn.execute(checks.for_findings(text), {**params, "job_id": job_id})
            report(10 + 88 * done // len(statements), render("checked {kind}", {"kind": kind},
                                                             "en"))
        counts = conn.execute(
            "SELECT rule_id, status, count(*), count(DISTINCT (subject_type, subject_id)) "
            "FROM processing_findings WHERE job_id = %s GROUP BY 1, 2 ORDER BY 1, 2",
            [job_id]).fetchall()
        subjects_failing = conn.execute(
            "SELECT subject_type, count(DISTINCT subject_id) FROM processing_findings "
            "WHERE job_id = %s GROUP BY 1", [job_id]).fetchall()
    return _batch_summary(ruleset, request, parcels, licences, counts, subjects_failing)


def _batch_summary(ruleset, request, parcels, licences, counts, failing) -> dict:
    """The summary stored with a batch job (and shown in its results)."""
    chosen = [rule for rule in ruleset.rules
              if request.rule_ids is None or rule.id in request.rule_ids]
    return {
        "ruleset": ruleset.stamp(), "area": request.echo.get("area") or "city",
        "checked": {"parcels": parcels, "licences": licences},
        "with_findings": {kind: n for kind, n in failing},
        "findings": [{"rule": rule_id, "status": status, "count": n}
                     for rule_id, status, n, _ in counts],
        "rules": {rule.id: {"kind": rule.kind, "title": rule.title.model_dump(),
                            "message": rule.message.model_dump(), "reference": rule.reference,
                            "severity": rule.severity, "unit": results.unit_of(rule),
                            "radius_m": getattr(rule, "radius_m", None)} for rule in chosen},
    }


def new_job_id() -> str:
    """A fresh job id."""
    return str(uuid.uuid4())
