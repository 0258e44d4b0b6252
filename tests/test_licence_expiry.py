"""Licences that expire by themselves (issue 16 part 3): the periodic task run directly (the
status change and its audit rows, nothing the second time), its registration as periodic on
the worker's queue, and each office's list of licences expiring within 30/60/90 days."""
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from indicators import expiry
from processing import jobs, worker
from tests.support.accounts import OFFICE, OTHER_OFFICE

TODAY = date.today()


@pytest.fixture
def licences(db):
    """Four licences set up for the test (each restored afterwards): one active past its
    expiry, one active expiring in 20 days and one in 75 days (both ENG-1's), one suspended
    past its expiry (ENG-2's). The sample city's own active licences past their expiry date
    are active again afterwards, so the rest of the suite sees the city it was built with."""
    overdue = [lid for (lid,) in db.execute("SELECT id FROM licenses WHERE status = 'active' "
                                             "AND expiry_date < current_date")]
    rows = db.execute("SELECT id, status, issue_date, expiry_date, owner_office FROM licenses "
                      "ORDER BY id LIMIT 4").fetchall()
    plan = [("active", -3, OFFICE), ("active", 20, OFFICE), ("active", 75, OFFICE),
            ("suspended", -3, OTHER_OFFICE)]
    for (lid, *_), (status, days, office) in zip(rows, plan):
        db.execute("UPDATE licenses SET status = %s, issue_date = %s, expiry_date = %s, "
                   "owner_office = %s WHERE id = %s",
                   [status, TODAY - timedelta(days=400), TODAY + timedelta(days=days), office,
                    lid])
    yield [row[0] for row in rows]
    for lid, status, issued, expires, office in rows:
        db.execute("UPDATE licenses SET status = %s, issue_date = %s, expiry_date = %s, "
                   "owner_office = %s WHERE id = %s", [status, issued, expires, office, lid])
    db.execute("UPDATE licenses SET status = 'active' WHERE id = ANY(%s)", [overdue])


def _status(db, lid):
    """A licence's status."""
    return db.execute("SELECT status FROM licenses WHERE id = %s", [lid]).fetchone()[0]


def _audit_rows(db, lid):
    """The expiry task's audit rows of a licence: (before, after)."""
    return db.execute("SELECT before, after FROM audit_log WHERE actor = 'amanat-expiry' "
                      "AND collection = 'licenses' AND feature_id = %s ORDER BY id",
                      [str(lid)]).fetchall()


def test_an_active_licence_past_its_expiry_date_is_expired_and_audited(db, licences):
    before = len(_audit_rows(db, licences[0]))
    summary = expiry.run(db)
    assert _status(db, licences[0]) == "expired"
    assert summary["expired"] >= 1
    rows = _audit_rows(db, licences[0])
    assert len(rows) == before + 1
    assert rows[-1][0]["status"] == "active" and rows[-1][1]["status"] == "expired"


def test_licences_not_yet_expired_or_not_active_are_left_alone(db, licences):
    audited = [len(_audit_rows(db, lid)) for lid in licences[1:]]
    expiry.run(db)
    assert [_status(db, lid) for lid in licences[1:]] == ["active", "active", "suspended"]
    assert [len(_audit_rows(db, lid)) for lid in licences[1:]] == audited


def test_a_second_run_changes_nothing(db, licences):
    expiry.run(db)
    audited = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert expiry.run(db)["expired"] == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audited


def test_no_active_licence_is_left_past_its_expiry_date(db, licences):
    assert db.execute("SELECT count(*) FROM licenses WHERE status = 'active' "
                      "AND expiry_date < current_date").fetchone()[0] > 1   # the city's own too
    expiry.run(db)
    assert db.execute("SELECT count(*) FROM licenses WHERE status = 'active' "
                      "AND expiry_date < current_date").fetchone()[0] == 0


def test_the_task_is_registered_as_periodic_on_the_worker_queue(database_url):
    app = worker.worker_app(SimpleNamespace(dsn=database_url, db=None))
    task = app.tasks[expiry.TASK]
    assert task.queue == jobs.QUEUE
    periodic = [p for p in app.periodic_registry.periodic_tasks.values()
                if p.task.name == expiry.TASK]
    assert len(periodic) == 1 and periodic[0].cron == expiry.CRON
    assert jobs.TASK in app.tasks   # the permit-check jobs are still served


def test_the_office_list_holds_its_licences_within_30_60_90_days(client, auth, db, licences):
    expiry.run(db)
    body = client.get("/licences/expiring", headers=auth["office"]).json()
    assert body["office"] == OFFICE
    mine = {item["id"]: item for item in body["licences"]}
    assert mine[licences[1]]["within_days"] == 30 and mine[licences[1]]["days_left"] == 20
    assert mine[licences[2]]["within_days"] == 90
    assert licences[0] not in mine and licences[3] not in mine
    expected = db.execute("SELECT count(*) FROM licenses WHERE owner_office = %s AND status = "
                          "'active' AND expiry_date BETWEEN current_date AND current_date + 90",
                          [OFFICE]).fetchone()[0]
    assert body["numberMatched"] == expected
    within_30 = client.get("/licences/expiring?within_days=30", headers=auth["office"]).json()
    assert licences[1] in {i["id"] for i in within_30["licences"]}
    assert licences[2] not in {i["id"] for i in within_30["licences"]}


def test_another_office_does_not_see_these_licences(client, auth, db, licences):
    expiry.run(db)
    body = client.get("/licences/expiring", headers=auth["other_office"]).json()
    assert body["office"] == OTHER_OFFICE
    assert not {licences[1], licences[2]} & {item["id"] for item in body["licences"]}


def test_an_admin_names_the_office(client, auth, db, licences):
    expiry.run(db)
    body = client.get(f"/licences/expiring?office={OFFICE}", headers=auth["admin"]).json()
    assert licences[1] in {item["id"] for item in body["licences"]}


def test_the_list_needs_an_office_account(client, auth):
    assert client.get("/licences/expiring").status_code == 401
    assert client.get("/licences/expiring", headers=auth["inspector"]).status_code == 403
    response = client.get("/licences/expiring", headers=auth["admin"])
    assert response.status_code == 400
    assert "office" in response.json()["descriptions"]["en"]
    assert response.json()["descriptions"]["ar"] != response.json()["descriptions"]["en"]


def test_an_other_horizon_is_400(client, auth):
    response = client.get("/licences/expiring?within_days=45", headers=auth["office"])
    assert response.status_code == 400
    assert "30, 60 or 90" in response.json()["descriptions"]["en"]


def test_the_registered_task_expires_through_the_worker_database(database_url, db, licences):
    from layers.database import Database

    pool = Database(database_url, min_size=1, max_size=1)
    try:
        app = worker.worker_app(SimpleNamespace(dsn=database_url, db=pool))
        app.tasks[expiry.TASK](timestamp=0)   # what the periodic deferrer's job runs
    finally:
        pool.close()
    assert _status(db, licences[0]) == "expired"


class _SMTPHandler:
    """Just enough SMTP (RFC 5321) for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self, reader, writer, inbox):
        """The connection and where accepted messages go."""
        self.reader, self.writer, self.inbox = reader, writer, inbox

    def reply(self, line: str) -> None:
        """One reply line."""
        self.writer.write(line.encode() + b"\r\n")
        self.writer.flush()

    def serve(self) -> None:
        """Answer commands until QUIT or the client leaves."""
        self.reply("220 test ESMTP")
        for raw in self.reader:
            verb = raw.decode("ascii", "replace").strip().upper()[:4]
            if verb == "DATA":
                self.reply("354 go ahead")
                data = []
                for body_line in self.reader:
                    if body_line == b".\r\n":
                        break
                    data.append(body_line)
                self.inbox.append(b"".join(data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server():
    """A local SMTP server on a free port, in a thread: (port, the messages it accepted)."""
    import socketserver
    import threading

    inbox: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            _SMTPHandler(self.rfile, self.wfile, inbox).serve()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], inbox
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    """A port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(port):
    """Expiry settings sending ENG-1's notices to a test address through 127.0.0.1:port."""
    from indicators.settings import ExpirySettings

    return ExpirySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=5,
                          office_emails={OFFICE: "eng1@example.test"})


@pytest.fixture
def fresh_notices(db):
    """No notice of ENG-1 left from another test."""
    db.execute("DELETE FROM licence_expiry_notices WHERE office = %s", [OFFICE])
    yield
    db.execute("DELETE FROM licence_expiry_notices WHERE office = %s", [OFFICE])


def _unsent(db, lid):
    """(attempts, last_error) of a licence's unsent ENG-1 notices."""
    return db.execute("SELECT attempts, last_error FROM licence_expiry_notices WHERE "
                      "office = %s AND license_id = %s AND sent_at IS NULL",
                      [OFFICE, lid]).fetchall()


def test_notices_reach_the_smtp_server_once(db, licences, smtp_server, fresh_notices):
    port, inbox = smtp_server
    summary = expiry.run(db, _settings(port))
    assert summary["queued"] >= 2 and summary["sent"] >= 2
    assert len(inbox) == 1   # one e-mail for the office, listing its licences
    text = inbox[0].decode("utf-8", "replace")
    assert "eng1@example.test" in text
    numbers = dict(db.execute("SELECT id, license_no FROM licenses WHERE id = ANY(%s)",
                              [licences[1:3]]).fetchall())
    import email

    body = email.message_from_bytes(inbox[0]).get_payload(decode=True).decode("utf-8")
    assert all(number in body for number in numbers.values())
    assert "رخص مكتبكم" in body and "expiring soon" in body
    assert expiry.run(db, _settings(port))["sent"] == 0
    assert len(inbox) == 1   # never sent twice


def test_a_server_that_is_down_keeps_the_notices_and_a_later_run_sends_them(
        db, licences, smtp_server, fresh_notices):
    down = expiry.run(db, _settings(_free_port()))
    assert down["sent"] == 0
    assert _unsent(db, licences[1]) == [(1, "ConnectionRefusedError")]
    port, inbox = smtp_server
    assert expiry.run(db, _settings(port))["sent"] >= 2
    assert _unsent(db, licences[1]) == [] and len(inbox) == 1
    attempts = db.execute("SELECT attempts FROM licence_expiry_notices WHERE office = %s AND "
                          "license_id = %s", [OFFICE, licences[1]]).fetchone()[0]
    assert attempts == 2


def test_without_an_smtp_host_notices_wait(db, licences, fresh_notices):
    from indicators.settings import ExpirySettings

    summary = expiry.run(db, ExpirySettings(smtp_host=None))
    assert summary["sent"] == 0 and summary["waiting"] >= 2
    assert len(_unsent(db, licences[1])) == 1


def test_a_licence_now_within_a_nearer_horizon_gets_a_notice_for_it(db, licences,
                                                                     fresh_notices):
    expiry.run(db)
    db.execute("UPDATE licenses SET expiry_date = current_date + 50 WHERE id = %s",
               [licences[2]])
    expiry.run(db)
    horizons = [days for (days,) in db.execute(
        "SELECT within_days FROM licence_expiry_notices WHERE office = %s AND license_id = %s "
        "ORDER BY id", [OFFICE, licences[2]])]
    assert horizons == [90, 60]


def test_the_indicators_are_refreshed_by_a_periodic_task(database_url, db):
    from layers.database import Database

    pool = Database(database_url, min_size=1, max_size=1)
    try:
        app = worker.worker_app(SimpleNamespace(dsn=database_url, db=pool))
        periodic = {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}
        assert periodic[expiry.REFRESH_TASK] == expiry.REFRESH_CRON
        db.execute("DELETE FROM indicator_cache WHERE indicator = 'licences_by_status'")
        app.tasks[expiry.REFRESH_TASK](timestamp=0)
    finally:
        pool.close()
    assert db.execute("SELECT count(*) FROM indicator_cache WHERE indicator = "
                      "'licences_by_status'").fetchone()[0] == 1
