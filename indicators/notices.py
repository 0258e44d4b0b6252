"""Expiry notices by e-mail: queued in PostgreSQL, sent through SMTP, retried, never lost.

`queue` adds a notice per office, licence, expiry date and horizon (30/60/90) of the offices'
lists (a unique key: a licence crossing from 90 to 60 days gets a second notice, never the same
one twice). `send` takes each office's unsent notices under a row lock (SKIP LOCKED, so two
workers never take the same), sends them as one bilingual e-mail and marks them sent in the
same transaction; when the server is down or refuses, the notices stay unsent with the attempt
counted and the error's class kept, and the next run tries again. (A crash between the server's
acceptance and the commit could send one e-mail twice; nothing is ever dropped.)
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from indicators.settings import ExpirySettings

LOGGER = logging.getLogger(__name__)

QUEUE = """
INSERT INTO licence_expiry_notices (office, license_id, license_no, expiry_date, within_days)
SELECT e.office, (i ->> 'id')::bigint, i ->> 'license_no', (i ->> 'expiry_date')::date,
       (i ->> 'within_days')::int
FROM licence_expiry_lists e CROSS JOIN LATERAL jsonb_array_elements(e.licences) AS i
ON CONFLICT (office, license_id, expiry_date, within_days) DO NOTHING
"""


def queue(conn) -> int:
    """Queue the notices of the offices' current lists; how many are new."""
    with conn.transaction():
        return conn.execute(QUEUE).rowcount


def _message(settings: ExpirySettings, office: str, address: str, rows: list) -> EmailMessage:
    """One office's notice, Arabic then English."""
    message = EmailMessage()
    message["From"], message["To"] = settings.sender, address
    message["Subject"] = f"رخص تنتهي قريبًا / Licences expiring soon ({office}): {len(rows)}"
    lines_ar = [f"- {no}: تنتهي في {expiry} (خلال {days} يومًا)" for _, no, expiry, days in rows]
    lines_en = [f"- {no}: expires on {expiry} (within {days} days)" for _, no, expiry, days in rows]
    message.set_content("\n".join(["رخص مكتبكم التي تنتهي قريبًا:", *lines_ar, "",
                                   "Your office's licences expiring soon:", *lines_en, ""]))
    return message


def _deliver(settings: ExpirySettings, message: EmailMessage) -> None:
    """Hand one message to the SMTP server (raises OSError / SMTPException)."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                      timeout=settings.smtp_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


def _send_office(conn, settings: ExpirySettings, office: str, address: str) -> int:
    """Send one office's unsent notices in one transaction; how many were sent."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT id, license_no, expiry_date::text, within_days FROM licence_expiry_notices "
            "WHERE office = %s AND sent_at IS NULL ORDER BY expiry_date, id "
            "FOR UPDATE SKIP LOCKED", [office]).fetchall()
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        try:
            _deliver(settings, _message(settings, office, address, rows))
        except (OSError, smtplib.SMTPException) as err:
            LOGGER.warning("expiry notice to office %s not sent: %s", office,
                           err.__class__.__name__)
            conn.execute("UPDATE licence_expiry_notices SET attempts = attempts + 1, "
                         "last_error = %s WHERE id = ANY(%s)", [err.__class__.__name__, ids])
            return 0
        conn.execute("UPDATE licence_expiry_notices SET attempts = attempts + 1, "
                     "sent_at = now(), last_error = NULL WHERE id = ANY(%s)", [ids])
        return len(ids)


def send(conn, settings: ExpirySettings) -> dict:
    """Send every office's unsent notices (offices without an address wait); a summary."""
    if not settings.smtp_host:
        return {"sent": 0, "waiting": _unsent(conn)}
    offices = [office for (office,) in conn.execute(
        "SELECT DISTINCT office FROM licence_expiry_notices WHERE sent_at IS NULL "
        "ORDER BY office")]
    sent = sum(_send_office(conn, settings, office, settings.office_emails[office])
               for office in offices if office in settings.office_emails)
    return {"sent": sent, "waiting": _unsent(conn)}


def _unsent(conn) -> int:
    """How many notices wait to be sent."""
    return conn.execute("SELECT count(*) FROM licence_expiry_notices "
                        "WHERE sent_at IS NULL").fetchone()[0]
