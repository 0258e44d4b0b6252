"""The typed pieces a CQL2 filter becomes: SQL terms, literals checked against what they meet.

`CQLError` carries a message safe to show a client; `Term` is a translated operand (its SQL, its
bound parameters in placeholder order, its kind); `literal` types a client value after the term
it is compared with, or refuses it naming both sides, before any SQL exists.
"""
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from string import Formatter

from psycopg import sql

from kernel.messages import Phrase, Templated, in_language

INT64 = 2**63
SQL_TYPES = {"integer": "bigint", "number": "numeric", "string": "text", "date": "date",
             "date-time": "timestamptz", "boolean": "boolean", "array": "text[]"}
KIND_NAMES = {"integer": Phrase("عدد صحيح", "an integer"), "number": Phrase("عدد", "a number"),
              "string": Phrase("نص", "a string"), "date": Phrase("تاريخ", "a date"),
              "date-time": Phrase("طابع زمني", "a timestamp"),
              "boolean": Phrase("قيمة منطقية", "a boolean"),
              "array": Phrase("مصفوفة نصوص", "an array of strings"),
              "geometry": Phrase("شكل هندسي", "a geometry")}
EXPRESSION = Phrase("التعبير", "the expression")


class CQLError(Templated):
    """A filter that cannot be applied; its message (a catalogued template and its values,
    `message` in English) is safe to show the client."""


@dataclass(frozen=True)
class Term:
    """A translated operand: its SQL, its parameters in placeholder order, its kind."""

    code: sql.Composable
    params: tuple = ()
    kind: str = "boolean"
    label: str | Phrase = EXPRESSION


def compose(template: str, kind: str = "boolean", label: str | Phrase = EXPRESSION,
             **terms: Term) -> Term:
    """Fill a constant template with terms, keeping parameters in placeholder order."""
    names = [name for _, name, _, _ in Formatter().parse(template) if name]
    composed = sql.SQL(template).format(**{name: term.code for name, term in terms.items()})
    return Term(composed, tuple(p for name in names for p in terms[name].params), kind, label)


def shown(value) -> str:
    """A client value quoted for an error message (dates as ISO text, long values cut)."""
    text = f"'{value.isoformat()}'" if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind_name(term: Term) -> Phrase | str:
    """`term`'s kind in words (in both languages)."""
    return KIND_NAMES.get(term.kind, term.kind)


def wrapped(outer: str, label: str | Phrase) -> Phrase:
    """A label inside a function's name, `OUTER(label)`, in both languages."""
    return Phrase(f"{outer}({in_language(label, 'ar')})", f"{outer}({in_language(label, 'en')})")


def number(value, label: str | Phrase) -> float:
    """A finite JSON/CQL number (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CQLError("{label} must be a finite number, not {value}", label=label,
                       value=shown(value))
    return float(value)


# Literal coercion: each function returns (kind, value) or None when the value does not fit.

def _to_integer(value):
    """An integer literal (a fractional one compares as a number, never rounded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise CQLError("{value} is out of range for an integer", value=shown(value))
        return "integer", value
    return _to_number(value)


def _to_number(value):
    """A finite numeric literal, exact as a decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise CQLError("{value} is not a finite number", value=shown(value))
    return "number", Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _to_string(value):
    """A string literal PostgreSQL can hold."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        raise CQLError("string literals cannot contain NUL characters")
    return "string", value


def _to_temporal(value):
    """A date or timestamp literal; ISO 8601 strings are accepted too."""
    if isinstance(value, str):
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                return _to_temporal(parse(value))
            except ValueError:
                continue
        return None
    if isinstance(value, datetime):
        return "date-time", value.astimezone(timezone.utc) if value.tzinfo else value
    if isinstance(value, date):
        return "date", value
    return None


def _to_boolean(value):
    """A boolean literal."""
    return ("boolean", value) if isinstance(value, bool) else None


def _to_array(value):
    """An array literal of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    if any("\x00" in item for item in value):
        raise CQLError("string literals cannot contain NUL characters")
    return "array", list(value)


COERCE = {"integer": _to_integer, "number": _to_number, "string": _to_string,
          "date": _to_temporal, "date-time": _to_temporal, "boolean": _to_boolean,
          "array": _to_array}


def field_kind(schema: dict) -> str:
    """The kind of a catalogue field from its JSON schema."""
    if schema.get("format") in ("date", "date-time"):
        return schema["format"]
    return schema.get("type", "string")


def inferred_kind(value) -> str:
    """The kind of a literal met with nothing to be typed after."""
    for kind, types in (("boolean", bool), ("integer", int), ("number", float),
                        ("string", str), ("date-time", datetime), ("date", date),
                        ("array", list)):
        if isinstance(value, types):
            return kind
    raise CQLError("{value} cannot be used as a value here", value=shown(value))


def literal(value, against: Term) -> Term:
    """A bound parameter typed after `against`, or a CQLError naming both sides."""
    coerce = COERCE.get(against.kind)
    result = coerce(value) if coerce else None
    if result is None:
        raise CQLError("{label} is {kind}; {value} is not", label=against.label,
                       kind=kind_name(against), value=shown(value))
    kind, coerced = result
    cast = sql.SQL("%s::{}").format(sql.SQL(SQL_TYPES[kind]))
    return Term(cast, (coerced,), kind, f"the value {shown(value)}")

