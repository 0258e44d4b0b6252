"""The parameters of an indicator request, checked once into an IndicatorQuery."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from indicators.definitions import Indicator
from indicators.errors import BadIndicatorQuery

MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
GENERAL = {"lang", "f"}
MAX_VALUE = 100
LOCAL = ZoneInfo("Asia/Riyadh")   # months of the indicators are local months (indicators.yml)


@dataclass(frozen=True)
class IndicatorQuery:
    """Filters (row column → value) and the answer's format."""

    filters: dict[str, str]
    format: str = "json"


def _period(indicator: Indicator, value: str, today: date) -> str:
    """A YYYY-MM month not after this one, for an indicator with a month dimension."""
    if "month" not in indicator.dimensions:
        raise BadIndicatorQuery("the indicator {id} has no month dimension, so no period",
                                id=indicator.id)
    if not MONTH.match(value):
        raise BadIndicatorQuery("period must be a month written YYYY-MM, got {value!r}",
                                value=value[:20])
    if value > today.strftime("%Y-%m"):
        raise BadIndicatorQuery("period {value} is in the future", value=value)
    return value


def _value(name: str, value: str) -> str:
    """A filter value of reasonable length without control characters."""
    if len(value) > MAX_VALUE or CONTROL.search(value):
        raise BadIndicatorQuery("{name} is too long or holds a control character", name=name)
    return value


def parse(indicator: Indicator, items: list[tuple[str, str]], fmt: str = "json",
          today: date | None = None) -> IndicatorQuery:
    """The query of `?name=value&…` for one indicator (BadIndicatorQuery names the problem)."""
    today = today or datetime.now(LOCAL).date()
    names = [name for name, _ in items]
    filters: dict[str, str] = {}
    for name, value in items:
        if names.count(name) > 1:
            raise BadIndicatorQuery("{name} is given more than once", name=name[:40])
        if name == "f":
            fmt = value
        elif name == "period":
            filters["month"] = _period(indicator, value, today)
        elif name in indicator.dimensions and name != "month":
            filters[name] = _value(name, value)
        elif name not in GENERAL:
            raise BadIndicatorQuery(
                "unknown parameter {name!r}; the indicator {id} has the dimensions {dimensions}",
                name=name[:40], id=indicator.id, dimensions=", ".join(_public(indicator)))
    if fmt not in ("json", "csv", "geojson"):
        raise BadIndicatorQuery("format must be json, csv or geojson, got {value!r}",
                                value=fmt[:20])
    return IndicatorQuery(filters, fmt)


def _public(indicator: Indicator) -> list[str]:
    """The dimensions as request parameters (month is asked as period)."""
    return ["period" if name == "month" else name for name in indicator.dimensions]
