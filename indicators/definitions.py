"""The indicators file (indicators.yml) read and checked once, when the server starts.

A bad file stops the start with one line naming the indicator and the problem
(IndicatorFileError), never a half-working set of indicators.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).with_name("indicators.yml")
KNOWN_TABLES = frozenset({"municipalities", "districts", "streets", "zoning", "parcels",
                          "constraints", "facilities", "licenses", "inspections",
                          "processing_findings", "processing_jobs"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PARAM = re.compile(r"%\((\w+)\)s")
KEYS = {"title", "unit", "tables", "dimensions", "sql", "params", "extra", "ratio"}
REQUIRED = ("title", "unit", "tables", "dimensions", "sql")


class _Problem(Exception):
    """What is wrong with one entry (caught and named with its indicator)."""


class IndicatorFileError(Exception):
    """The indicators file cannot be used (the message is one line: file, indicator, problem)."""


@dataclass(frozen=True)
class Indicator:
    """One named indicator."""

    id: str
    title: dict[str, str]
    unit: dict[str, str]
    tables: tuple[str, ...]
    dimensions: tuple[str, ...]
    sql: str
    params: dict = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    ratio: tuple[str, str] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of each row, in order."""
        return (*self.dimensions, "value", *self.extra)

    def describe(self, base: str = "") -> dict:
        """The indicator's public description."""
        return {"id": self.id, "title": self.title, "unit": self.unit,
                "dimensions": list(self.dimensions), "columns": list(self.columns),
                "links": [{"rel": "self", "type": "application/json",
                           "href": f"{base}/indicators/{self.id}"},
                          {"rel": "alternate", "type": "text/csv",
                           "href": f"{base}/indicators/{self.id}.csv"},
                          {"rel": "alternate", "type": "application/geo+json",
                           "href": f"{base}/indicators/{self.id}.geojson"}]}


def _bilingual(value, what: str) -> dict[str, str]:
    """An {ar, en} pair of non-empty texts, or the problem."""
    if not (isinstance(value, dict) and set(value) == {"ar", "en"}
            and all(isinstance(v, str) and v.strip() for v in value.values())):
        raise _Problem(f"{what} must have non-empty 'ar' and 'en' texts")
    return dict(value)


def _names(value, what: str) -> tuple[str, ...]:
    """A non-empty list of distinct lower-case names, or the problem."""
    if not (isinstance(value, list) and value
            and all(isinstance(v, str) and NAME.match(v) for v in value)
            and len(set(value)) == len(value)):
        raise _Problem(f"{what} must be a list of distinct lower-case names")
    return tuple(value)


def _indicator(name: str, entry) -> Indicator:
    """One entry checked (_Problem names the problem)."""
    if not NAME.match(str(name)):
        raise _Problem("the name must be lower-case letters, digits and _")
    if not isinstance(entry, dict):
        raise _Problem("the entry must be a mapping")
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        raise _Problem(f"missing {', '.join(missing)}")
    unknown = set(entry) - KEYS
    if unknown:
        raise _Problem(f"unknown keys {', '.join(sorted(unknown))}")
    tables = _names(entry["tables"], "tables")
    if set(tables) - KNOWN_TABLES:
        raise _Problem(f"unknown tables {', '.join(sorted(set(tables) - KNOWN_TABLES))}")
    dimensions = _names(entry["dimensions"], "dimensions")
    extra = _names(entry["extra"], "extra") if "extra" in entry else ()
    if {"value", "computed_at"} & set(dimensions + extra) or set(dimensions) & set(extra):
        raise _Problem("dimensions and extra columns must be distinct and not value")
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise _Problem("params must be a mapping")
    sql_text = entry["sql"]
    if not isinstance(sql_text, str) or not sql_text.strip().upper().startswith(("SELECT",
                                                                                  "WITH")):
        raise _Problem("sql must be one SELECT statement")
    if ";" in sql_text.strip().rstrip(";"):
        raise _Problem("sql must be one statement (no ';')")
    used = set(PARAM.findall(sql_text))
    if used != set(params):
        raise _Problem(f"sql parameters {sorted(used)} differ from params {sorted(params)}")
    ratio = entry.get("ratio")
    if ratio is not None and not (isinstance(ratio, list) and len(ratio) == 2
                                  and set(ratio) <= set(extra)):
        raise _Problem("ratio must name two extra columns")
    return Indicator(str(name), _bilingual(entry["title"], "title"),
                     _bilingual(entry["unit"], "unit"), tables, dimensions,
                     sql_text.strip().rstrip(";"), dict(params), extra,
                     tuple(ratio) if ratio else None)


def load(path: Path = DEFAULT_FILE) -> dict[str, Indicator]:
    """Every indicator of the file, checked; IndicatorFileError (one line) otherwise."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        problem = " ".join(str(err).split())
        raise IndicatorFileError(f"{path}: cannot be read: {problem}") from None
    if not isinstance(document, dict) or not document:
        raise IndicatorFileError(f"{path}: must map indicator names to their definitions")
    found = {}
    for name, entry in document.items():
        try:
            found[str(name)] = _indicator(name, entry)
        except _Problem as err:
            raise IndicatorFileError(f"{path}: indicator {name!r}: {err}") from None
    return found
