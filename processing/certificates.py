"""Check certificates: every check result gets an id, is stored, signed and verifiable.

The platform key is an Ed25519 key (JWK file, created on first use, readable by its owner
only). A certificate is the result document signed as a compact JWS (alg "Ed25519", RFC 9864);
the token carries the exact signed bytes, so verification needs nothing but the public key
(published at /certificates/keys). Verifying a stored certificate also compares the stored
document with the signed one, so an edited database row is reported as tampering.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from kernel.messages import N_, render
from processing.errors import CheckInputError, UnknownCertificate
from processing.messages import MESSAGES

LOGGER = logging.getLogger(__name__)
ALGORITHM = "Ed25519"
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # Crockford base32: no I, L, O, U
_key_lock = threading.Lock()


@dataclass(frozen=True)
class Signer:
    """The platform's signing key and its public id (RFC 7638 thumbprint)."""

    key: OKPKey
    kid: str

    def sign(self, document: dict, payload: bytes | None = None) -> str:
        """The document as a compact JWS (`payload`: its canonical bytes, if already made)."""
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "amanat-certificate+jws"}
        return jws.serialize_compact(header, payload or canonical(document), self.key,
                                     algorithms=[ALGORITHM])

    def public_jwk(self) -> dict:
        """The public key as a JWK, for /certificates/keys."""
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": ALGORITHM,
                "use": "sig"}


def canonical(document: dict) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def load_or_create_key(path: Path) -> Signer:
    """The key in `path`, created (mode 0600, atomically) when the file does not exist."""
    path = Path(path)
    with _key_lock:
        if not path.exists():
            _create_key(path)
        data = json.loads(path.read_text(encoding="utf-8"))
    key = OKPKey.import_key(data)
    if key.as_dict(private=False).get("crv") != "Ed25519" or not key.is_private:
        raise ValueError(f"{path} does not hold a private Ed25519 key")
    return Signer(key, key.thumbprint())


def _create_key(path: Path) -> None:
    """Write a new key; if another process got there first, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=True))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    LOGGER.warning("created the certificate signing key %s", path)


def new_id(issued: datetime) -> str:
    """A certificate number like AMN-2026-7K3D-Q9XM-2B4F (80 random bits)."""
    raw = int.from_bytes(secrets.token_bytes(10))
    chars = "".join(ID_ALPHABET[(raw >> (5 * i)) & 31] for i in range(16))
    return f"AMN-{issued.year}-" + "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def store(conn, document: dict, token: str, kid: str, payload: bytes | None = None) -> None:
    """Insert a signed certificate (in the caller's transaction); `payload`, the document's
    canonical bytes if the caller has them, saves encoding the document once more."""
    text = (payload or canonical(document)).decode("utf-8")
    conn.execute(
        "INSERT INTO certificates (id, process_id, issued_at, verdict, subject_ref, document, "
        "jws, key_id) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
        [document["id"], document["process"], document["issued_at"], document["verdict"],
         document.get("subject", {}).get("parcel_no"), text, token, kid])


def fetch(conn, certificate_id: str) -> tuple[dict, str, str]:
    """(document, jws, key id) of a stored certificate, or UnknownCertificate."""
    row = conn.execute("SELECT document, jws, key_id FROM certificates WHERE id = %s",
                       [certificate_id]).fetchone()
    if row is None:
        raise UnknownCertificate("no certificate with id {id!r}", id=certificate_id)
    return row[0], row[1], row[2]


def _payload(token: str) -> dict | None:
    """The document inside a compact JWS, without checking its signature (None if unreadable)."""
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Paths where two documents differ (first 20)."""
    out = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            out += _differences(left, right, f"{prefix}{key}.")
        elif left != right:
            out.append(f"{prefix}{key}")
    return out[:20]


def _reason(report: dict, english: str) -> None:
    """Why a certificate does not verify: `reason` (English) and `reasons` in both languages."""
    report["reason"] = english
    report["reasons"] = {"ar": render(english, {}, "ar", MESSAGES), "en": english}


def verify(signer: Signer, token: str, document: dict | None = None) -> dict:
    """Check a token's signature and, if given, that the document is the one that was signed."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise CheckInputError("'jws' must be a compact JWS (three dot-separated parts)")
    report = {"valid": False, "signature": "invalid", "key_id": signer.kid}
    try:
        signed = jws.deserialize_compact(token, signer.key, algorithms=[ALGORITHM])
        payload = json.loads(signed.payload)
        report["signature"] = "valid"
    except (JoseError, ValueError) as err:
        LOGGER.info("certificate signature rejected: %s", err.__class__.__name__)
        payload = _payload(token)
        _reason(report, N_("the signature does not match the content (altered or not ours)"))
    if payload is not None:
        report["certificate_id"] = payload.get("id")
        report["issued_at"] = payload.get("issued_at")
        report["verdict"] = payload.get("verdict")
    if document is not None and payload is not None:
        changed = _differences(payload, document)
        report["document_matches"] = not changed
        if changed:
            report["changed_fields"] = changed
            _reason(report, N_("the document differs from the signed one"))
    report["valid"] = report["signature"] == "valid" and report.get("document_matches", True)
    report["tampered"] = not report["valid"]
    return report


def verify_stored(conn, signer: Signer, certificate_id: str) -> dict:
    """Verify a stored certificate: its signature and its stored document against the signed one."""
    document, token, _ = fetch(conn, certificate_id)
    return verify(signer, token, document)
