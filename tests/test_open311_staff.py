"""Staff routes of the citizen services (/open311/staff): a service agent sees the queue of their
own municipality and changes the status of its reports with a public note, audited; admins act
on every municipality; nobody else may. How our statuses read in Open311 (in progress as open
with notes, a duplicate never shown as fixed). Real PostGIS, the real application, real tokens."""
import uuid

import pytest

from tests.support.citizens import ENGLISH, V2, counts, inside, refused, submit

QUEUE = "/open311/staff/queue"


@pytest.fixture(scope="module")
def staff(settings, db) -> dict[str, dict]:
    """Authorization headers: agents of the municipalities of districts 1 and of the last
    district, an admin, an office user."""
    from geoserver.cli_auth import add_user_with_token

    run = uuid.uuid4().hex[:6]
    last = db.execute("SELECT max(id) FROM districts").fetchone()[0]
    here, there = inside(db, 1)[3], inside(db, last)[3]
    assert here != there
    people = {"agent": ("service-agent", here), "other_agent": ("service-agent", there),
              "admin": ("admin", None), "office": ("office", "ENG-1")}
    return {who: {"Authorization": "Bearer " + add_user_with_token(
        settings, f"s-{who}-{run}", role, office)} for who, (role, office) in people.items()}


def _path(number: str) -> str:
    """The staff route of one report."""
    return f"/open311/staff/requests/{number}"


def _public(api, number: str, english: bool = True) -> dict:
    """The report as the public reads it."""
    return api.get(f"{V2}/requests/{number}.json", headers=ENGLISH if english else {}).json()[0]


def _now(db) -> str:
    """The database's clock (reports received from now on)."""
    return db.execute("SELECT now()").fetchone()[0].isoformat()


def test_an_agent_sees_the_queue_of_their_municipality_with_contact(api, db, staff):
    since = _now(db)
    mine = submit(api, db, 1, email="me@example.sa")["service_request_id"]
    last = db.execute("SELECT max(id) FROM districts").fetchone()[0]
    theirs = submit(api, db, last)["service_request_id"]
    response = api.get(QUEUE, params={"since": since}, headers=staff["agent"])
    assert response.status_code == 200
    body = response.json()
    numbers = {r["tracking_no"] for r in body["reports"]}
    assert mine in numbers and theirs not in numbers
    assert body["municipality"] == inside(db, 1)[3]
    entry = next(r for r in body["reports"] if r["tracking_no"] == mine)
    assert entry["contact_email"] == "me@example.sa" and entry["overdue"] is False


def test_an_agent_may_not_read_another_municipality_queue(api, db, staff):
    other = inside(db, db.execute("SELECT max(id) FROM districts").fetchone()[0])[3]
    refused(api, db, 403, f"{QUEUE}?municipality={other}", "GET", headers=staff["agent"])


def test_an_admin_reads_any_queue(api, db, staff):
    last = db.execute("SELECT max(id) FROM districts").fetchone()[0]
    since = _now(db)
    theirs = submit(api, db, last)["service_request_id"]
    everyone = api.get(QUEUE, params={"since": since}, headers=staff["admin"]).json()
    assert theirs in {r["tracking_no"] for r in everyone["reports"]}


@pytest.mark.parametrize("who, status", [("public", 401), ("office", 403)])
def test_only_agents_and_admins_reach_the_staff_routes(api, db, staff, who, status):
    headers = staff.get(who, {})
    number = submit(api, db)["service_request_id"]
    before = counts(db)
    assert api.get(QUEUE, headers=headers).status_code == status
    response = api.patch(_path(number), json={"status": "in_progress"}, headers=headers)
    assert response.status_code == status
    assert counts(db) == before and _public(api, number)["status_detail"] == "open"


def test_in_progress_reads_as_open_with_the_note(api, db, staff):
    number = submit(api, db)["service_request_id"]
    before = counts(db)
    response = api.patch(_path(number), json={"status": "in_progress",
                                              "note": "the crew is on its way"},
                         headers={**staff["agent"], **ENGLISH})
    assert response.status_code == 200, response.text
    assert counts(db) == (before[0], before[1] + 1, before[2] + 1)
    public = _public(api, number)
    assert public["status"] == "open" and public["status_detail"] == "in_progress"
    assert public["status_notes"] == "in progress — the crew is on its way"
    assert "قيد التنفيذ" in _public(api, number, english=False)["status_notes"]


def test_a_duplicate_is_closed_and_never_shown_as_fixed(api, db, staff):
    number = submit(api, db)["service_request_id"]
    api.patch(_path(number), json={"status": "closed", "close_reason": "duplicate"},
              headers=staff["agent"])
    public = _public(api, number)
    assert public["status"] == "closed" and public["close_reason"] == "duplicate"
    assert "duplicate" in public["status_notes"] and "fixed" not in public["status_notes"]
    assert "مكرر" in _public(api, number, english=False)["status_notes"]


def test_a_fixed_report_says_fixed(api, db, staff):
    number = submit(api, db)["service_request_id"]
    api.patch(_path(number), json={"status": "closed", "close_reason": "fixed",
                                   "note": "resurfaced"}, headers=staff["agent"])
    assert _public(api, number)["status_notes"] == "closed: fixed — resurfaced"
    closed = api.get(f"{V2}/requests.json?status=closed&page_size=1000").json()
    assert number in {r["service_request_id"] for r in closed}
    still_open = api.get(f"{V2}/requests.json?status=open&page_size=1000").json()
    assert number not in {r["service_request_id"] for r in still_open}


def test_a_status_change_is_audited_and_kept_in_the_history(api, db, staff):
    number = submit(api, db)["service_request_id"]
    api.post(_path(number), json={"status": "in_progress", "note": "seen",
                                  "assigned_to": "crew-7"}, headers=staff["agent"])
    action, before, after = db.execute(
        "SELECT action, before, after FROM audit_log WHERE feature_id = %s "
        "AND action = 'report.status'", [number]).fetchone()
    assert action == "report.status" and before["status"] == "open"
    assert after == {"status": "in_progress", "close_reason": None, "assigned_to": "crew-7",
                     "note": "seen"}
    history = db.execute(
        "SELECT h.status, h.note, h.actor_role FROM citizen_report_history h JOIN "
        "citizen_reports r ON r.id = h.report_id WHERE r.tracking_no = %s ORDER BY h.id",
        [number]).fetchall()
    assert history == [("open", None, "citizen"), ("in_progress", "seen", "service-agent")]


def test_an_agent_may_not_touch_another_municipality_report(api, db, staff):
    number = submit(api, db, 1)["service_request_id"]
    refused(api, db, 403, _path(number), "PATCH", json={"status": "in_progress"},
            headers=staff["other_agent"])
    assert _public(api, number)["status_detail"] == "open"


def test_an_admin_changes_any_report(api, db, staff):
    number = submit(api, db, 1)["service_request_id"]
    response = api.patch(_path(number), json={"status": "closed", "close_reason": "not_ours"},
                         headers=staff["admin"])
    assert response.status_code == 200 and response.json()[0]["status"] == "closed"


def test_a_note_with_markup_is_kept_as_text(api, db, staff):
    number = submit(api, db)["service_request_id"]
    api.patch(_path(number), json={"status": "in_progress", "note": "<img src=x onerror=1>"},
              headers=staff["agent"])
    xml = api.get(f"{V2}/requests/{number}.xml").text
    assert "<img" not in xml and "&lt;img src=x onerror=1&gt;" in xml


@pytest.mark.parametrize("body, text", [
    ({"status": "closed"}, "close_reason"),
    ({"status": "in_progress", "close_reason": "fixed"}, "close_reason"),
    ({"status": "closed", "close_reason": "because"}, "close_reason"),
    ({"status": "done"}, "status"),
    ({"status": "open", "note": "x" * 2001}, "note"),
    ({"status": "open", "note": "nul \u0000"}, "note"),
    ({"status": "open", "assigned_to": "<b>"}, "assigned_to"),
    ({"status": "open", "colour": "red"}, "colour"),
    (["status", "open"], "object"),
])
def test_a_bad_status_change_is_a_400_and_changes_nothing(api, db, staff, body, text):
    number = submit(api, db)["service_request_id"]
    refused(api, db, 400, _path(number), "PATCH", json=body, text=text,
            headers={**staff["agent"], **ENGLISH})
    assert _public(api, number)["status_detail"] == "open"


def test_a_note_with_a_lone_surrogate_is_a_400(api, db, staff):
    number = submit(api, db)["service_request_id"]
    refused(api, db, 400, _path(number), "PATCH", text="note",
            content=b'{"status": "open", "note": "\\ud800"}',
            headers={**staff["agent"], **ENGLISH, "Content-Type": "application/json"})


def test_a_body_that_is_not_json_is_a_400(api, db, staff):
    number = submit(api, db)["service_request_id"]
    refused(api, db, 400, _path(number), "PATCH", content=b"status=closed",
            headers=staff["agent"])


def test_an_unknown_report_is_a_404(api, db, staff):
    refused(api, db, 404, _path("R-0000-0000-0000"), "PATCH", json={"status": "open"},
            headers=staff["admin"])


def test_a_bad_queue_query_is_a_400(api, db, staff):
    refused(api, db, 400, f"{QUEUE}?status=fixed", "GET", headers=staff["agent"])
    refused(api, db, 400, f"{QUEUE}?page_size=0", "GET", headers=staff["agent"])
    refused(api, db, 400, f"{QUEUE}?since=last-week", "GET", headers=staff["agent"])


def test_the_service_agent_role_needs_a_municipality(settings):
    from layers.accounts import AccountError, check_identity

    with pytest.raises(AccountError, match="municipality"):
        check_identity("agent-without-place", "service-agent", None)


def test_me_names_the_service_agent_role_and_municipality(api, db, staff):
    me = api.get("/auth/me", headers=staff["agent"]).json()
    assert me["role"] == "service-agent" and me["office"] == inside(db, 1)[3]


def test_a_provider_service_agent_reads_the_queue_of_its_municipality(sso, provider, db):
    municipality = inside(db, 1)[3]
    token = provider.token(provider.published[0], office=municipality,
                           realm_access={"roles": ["service-agent"]})
    response = sso.get(QUEUE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["municipality"] == municipality


def test_a_provider_service_agent_without_a_municipality_is_refused(sso, provider, db):
    token = provider.token(provider.published[0], realm_access={"roles": ["service-agent"]})
    before = counts(db)
    assert sso.get(QUEUE, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert counts(db) == before
