"""Service categories (table service_categories) and the checking of a report's attributes
against a category's Open311 attribute definitions."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row

from citizens.errors import InvalidReport, ServiceNotFound, UnknownService

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
MAX_STRING = 500
MAX_TEXT = 4000
COLUMNS = ("code, name_ar, name_en, description_ar, description_en, group_ar, group_en, "
           "department_ar, department_en, municipality_code, keywords, sla_hours, attributes")


@dataclass(frozen=True)
class Category:
    """One service category, as stored."""

    code: str
    name_ar: str
    name_en: str
    description_ar: str
    description_en: str
    group_ar: str
    group_en: str
    department_ar: str
    department_en: str
    municipality_code: str | None
    keywords: list[str]
    sla_hours: int
    attributes: list[dict]

    def name(self, english: bool) -> str:
        """The name in English or Arabic."""
        return self.name_en if english else self.name_ar

    def required(self) -> list[str]:
        """Codes of the attributes a report must give."""
        return [a["code"] for a in self.attributes if a.get("required")]


def active(conn) -> list[Category]:
    """Every active category, in display order."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {COLUMNS} FROM service_categories WHERE active "
                           "ORDER BY position, code").fetchall()
    return [Category(**row) for row in rows]


def find(conn, code: str) -> Category | None:
    """The active category of that code, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {COLUMNS} FROM service_categories WHERE active AND code = %s",
                          [code]).fetchone()
    return Category(**row) if row else None


def for_report(conn, code: str) -> Category:
    """The category a report names; UnknownService when it is not an active one."""
    category = find(conn, code)
    if category is None:
        raise UnknownService(f"unknown service_code {code[:40]!r}; GET services.json lists them",
                             f"رمز الخدمة {code[:40]!r} غير معروف؛ القائمة في services.json")
    return category


def described(conn, code: str) -> Category:
    """The category of GET services/{code}; ServiceNotFound when there is none."""
    category = find(conn, code)
    if category is None:
        raise ServiceNotFound()
    return category


def _number(code: str, value: str) -> float:
    """A finite number."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise InvalidReport(f"attribute[{code}] must be a number",
                            f"يجب أن تكون قيمة attribute[{code}] رقمًا")
    return number


def _one(definition: dict, values: list[str]):
    """The checked value of one attribute (a list for multivaluelist)."""
    code, kind = definition["code"], definition["datatype"]
    keys = {v["key"] for v in definition.get("values", [])}
    if kind != "multivaluelist" and len(values) > 1:
        raise InvalidReport(f"attribute[{code}] takes one value",
                            f"تقبل attribute[{code}] قيمة واحدة")
    if kind in ("singlevaluelist", "multivaluelist"):
        bad = [v for v in values if v not in keys]
        if bad:
            raise InvalidReport(f"attribute[{code}] must be one of {', '.join(sorted(keys))}",
                                f"يجب أن تكون attribute[{code}] من: {'، '.join(sorted(keys))}")
        return values if kind == "multivaluelist" else values[0]
    value = values[0]
    if kind == "number":
        return _number(code, value)
    if kind == "datetime":
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidReport(f"attribute[{code}] must be an ISO 8601 date and time",
                                f"يجب أن تكون attribute[{code}] تاريخًا ووقتًا") from None
    limit = MAX_TEXT if kind == "text" else MAX_STRING
    if len(value) > limit:
        raise InvalidReport(f"attribute[{code}] is longer than {limit} characters",
                            f"attribute[{code}] أطول من {limit} حرفًا")
    return value


def check_attributes(category: Category, given: dict[str, list[str]]) -> dict:
    """The report's attributes checked against the category: unknown codes, missing required
    ones and values of the wrong type or outside their list are InvalidReport."""
    defined = {a["code"]: a for a in category.attributes}
    unknown = sorted(set(given) - set(defined))
    if unknown:
        raise InvalidReport(f"service {category.code} has no attribute {unknown[0][:40]!r}",
                            f"لا توجد للخدمة {category.code} خاصية {unknown[0][:40]!r}")
    checked = {}
    for code, definition in defined.items():
        values = [v.strip() for v in given.get(code, []) if v.strip()]
        if not values:
            if definition.get("required"):
                raise InvalidReport(f"attribute[{code}] is required for {category.code}",
                                    f"الخاصية attribute[{code}] مطلوبة للخدمة {category.code}")
            continue
        checked[code] = _one(definition, values)
    return checked
