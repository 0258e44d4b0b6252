"""A citizen's report as sent to POST requests (Open311 form fields), checked before anything
touches the database: every problem is an InvalidReport naming the field, in both languages."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from citizens.errors import InvalidReport

MAX_DESCRIPTION = 4000
ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[A-Za-z0-9_]{1,40})\](\[\])?$")
EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,189}\.[^@\s<>]{2,63}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,28}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FIELDS = {"jurisdiction_id", "api_key", "service_code", "lat", "long", "address_string",
          "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
          "description", "media_url"}
LIMITS = {"address_string": 500, "first_name": 100, "last_name": 100, "email": 254,
          "phone": 30, "device_id": 200, "account_id": 200, "address_id": 200,
          "jurisdiction_id": 100, "api_key": 200, "service_code": 40}


@dataclass(frozen=True)
class Submission:
    """A report's fields, checked (contact fields are personal: never published)."""

    service_code: str
    lat: float
    lon: float
    description: str = ""
    address: str | None = None
    media_url: str | None = None
    jurisdiction_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)   # email, first_name, last_name, phone


def _refuse(en: str, ar: str):
    """Raise InvalidReport."""
    raise InvalidReport(en, ar)


def _text(name: str, value: str) -> str:
    """A field's text: no control characters, within its length."""
    if CONTROL.search(value):
        _refuse(f"{name} contains control characters", f"الحقل {name} يحوي محارف تحكم")
    limit = MAX_DESCRIPTION if name == "description" else LIMITS.get(name, 500)
    if len(value) > limit:
        _refuse(f"{name} is longer than {limit:,} characters ({len(value):,})",
                f"الحقل {name} أطول من {limit:,} حرف ({len(value):,})")
    return value


def coordinate(name: str, value: str | None, bound: float) -> float:
    """lat or long: a finite decimal number within ±bound."""
    try:
        number = float(value) if value is not None and value.strip() else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        _refuse(f"{name} must be a decimal number between -{bound:g} and {bound:g}",
                f"يجب أن يكون {name} رقمًا عشريًا بين -{bound:g} و{bound:g}")
    return number


def _split(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Plain fields (each once) and attribute values; unknown fields are refused."""
    plain, attributes = {}, {}
    for name, value in pairs:
        match = ATTRIBUTE.match(name)
        if match:
            attributes.setdefault(match["code"], []).append(_text(name, value))
        elif name not in FIELDS:
            _refuse(f"unknown field {name[:40]!r}", f"حقل غير معروف {name[:40]!r}")
        elif name in plain:
            _refuse(f"{name} is given more than once", f"الحقل {name} مكرر")
        else:
            plain[name] = _text(name, value)
    return plain, attributes


def _contact(plain: dict[str, str]) -> dict[str, str]:
    """The optional contact fields, checked."""
    contact = {k: plain[k].strip() for k in ("email", "first_name", "last_name", "phone")
               if plain.get(k, "").strip()}
    if "email" in contact and not EMAIL.match(contact["email"]):
        _refuse("email is not an e-mail address", "البريد الإلكتروني غير صالح")
    if "phone" in contact and not PHONE.match(contact["phone"]):
        _refuse("phone is not a telephone number", "رقم الهاتف غير صالح")
    return contact


def _media(value: str | None) -> str | None:
    """media_url: an http(s) URL, or None."""
    if not value or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value.strip()):
        _refuse("media_url must be an http or https URL", "يجب أن يكون media_url رابط http أو https")
    return urlunsplit(parts._replace(scheme=parts.scheme.lower()))


def parse(pairs: list[tuple[str, str]]) -> Submission:
    """A Submission from the form's (name, value) pairs."""
    plain, attributes = _split(pairs)
    code = plain.get("service_code", "").strip()
    if not code:
        _refuse("service_code is required", "رمز الخدمة service_code مطلوب")
    if "lat" not in plain and "long" not in plain:
        _refuse("lat and long are required: an address alone cannot be located yet",
                "خط العرض lat وخط الطول long مطلوبان: لا يمكن تحديد الموقع من العنوان وحده بعد")
    return Submission(
        service_code=code, lat=coordinate("lat", plain.get("lat"), 90),
        lon=coordinate("long", plain.get("long"), 180),
        description=plain.get("description", "").strip(),
        address=plain.get("address_string", "").strip() or None,
        media_url=_media(plain.get("media_url")),
        jurisdiction_id=plain.get("jurisdiction_id"), attributes=attributes,
        contact=_contact(plain))
