"""Rule results and verdicts: statuses, measured values, limits and bilingual messages."""
from __future__ import annotations

from processing import rules as r

STATUSES = ("pass", "fail", "warn", "not-applicable")
VERDICTS = {
    "allowed": {"ar": "مسموح", "en": "Allowed"},
    "allowed_with_warnings": {"ar": "مسموح مع ملاحظات", "en": "Allowed with warnings"},
    "refused": {"ar": "مرفوض", "en": "Refused"},
}
UNIT_LABELS = {
    "%": {"ar": "%", "en": "%"}, "m": {"ar": "م", "en": "m"}, "m2": {"ar": "م²", "en": "m²"},
    "floors": {"ar": "أدوار", "en": "floors"}, "licences": {"ar": "رخص", "en": "licences"},
}
USE_LABELS = {
    "residential": "سكني", "commercial": "تجاري", "mixed": "مختلط", "industrial": "صناعي",
    "public": "مرافق عامة", "park": "حديقة", "vacant": "أرض فضاء",
}
PASS = {"ar": "مستوفى", "en": "Complies"}
NOT_APPLICABLE = {"ar": "لا ينطبق على هذا الطلب", "en": "Does not apply to this request"}


def unit_of(rule) -> str | None:
    """The unit of a rule's measured value and limit."""
    if rule.kind == "parcel_minimum":
        return "m2" if rule.measure == "area" else "m"
    return r.UNITS.get(rule.kind)


def number(value) -> str:
    """A number as people write it: at most two decimals, no trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(value, lang: str) -> str:
    """A measured value or limit as text in a language."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return "، ".join(map(str, value)) if lang == "ar" else ", ".join(map(str, value))
    return number(value)


def _values(rule, measured, limit, facts: dict, ruleset, lang: str) -> dict:
    """Values a message template may use."""
    use = facts.get("land_use")
    isic = facts.get("isic")
    activity = ruleset.activities.get(isic) if isic else None
    return {
        "measured": _text(measured, lang), "limit": _text(limit, lang),
        "unit": _unit_label(rule, lang),
        "zone": facts.get("zone") or "—",
        "use": (USE_LABELS.get(use, use) if lang == "ar" else use) or "—",
        "activity": f"{isic} ({getattr(activity, lang)})" if activity else (isic or "—"),
        "radius": number(getattr(rule, "radius_m", 0)),
    }


class _Keep(dict):
    """Leaves unknown {placeholders} as they are."""

    def __missing__(self, key):
        """Keep the placeholder text."""
        return "{" + key + "}"


def _unit_label(rule, lang: str) -> str:
    """The unit of a rule as written in a language."""
    return UNIT_LABELS.get(unit_of(rule) or "", {}).get(lang, "")


def message(rule, status: str, measured, limit, facts: dict, ruleset) -> dict:
    """The bilingual message of one rule result (template values made only where used)."""
    if status not in ("fail", "warn", "pass"):
        return dict(NOT_APPLICABLE)
    out = {}
    numbers = isinstance(measured, (int, float)) and isinstance(limit, (int, float))
    for lang in ("ar", "en"):
        if status != "pass":
            values = _values(rule, measured, limit, facts, ruleset, lang)
            out[lang] = getattr(rule.message, lang).format_map(_Keep(values))
        elif numbers:
            unit = _unit_label(rule, lang)
            detail = f": {_text(measured, lang)} {unit} / {_text(limit, lang)} {unit}"
            out[lang] = PASS[lang] + detail.replace("  ", " ").rstrip()
        else:
            out[lang] = PASS[lang]
    return out


def rule_result(rule, row, facts: dict, ruleset) -> dict:
    """One entry of a result document; row is (status, measured, limit, evidence) or None."""
    status, measured, limit, evidence = row if row else ("not-applicable", None, None, None)
    return {
        "rule": rule.id, "kind": rule.kind, "title": rule.title.model_dump(),
        "severity": rule.severity, "status": status, "measured": measured, "limit": limit,
        "unit": unit_of(rule), "message": message(rule, status, measured, limit, facts, ruleset),
        "reference": rule.reference, "evidence": evidence,
    }


def verdict(results: list[dict]) -> str:
    """Refused if a rule fails, allowed with warnings if one warns, else allowed."""
    statuses = {item["status"] for item in results}
    if "fail" in statuses:
        return "refused"
    if "warn" in statuses:
        return "allowed_with_warnings"
    return "allowed"


def summary(results: list[dict]) -> dict:
    """How many rules ended in each status."""
    return {status: sum(item["status"] == status for item in results) for status in STATUSES}
