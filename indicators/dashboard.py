"""GET /dashboard: the managers' page (Arabic first, RTL; English with ?lang=en).

One autoescaped Jinja page (indicators/templates) with the figures' labels and the city's
municipalities and districts as JSON; indicators/static/dashboard.js fetches /indicators/…
(JSON, GeoJSON) and draws the choropleth (Leaflet) and the charts (Chart.js), both from the web
map's npm files, served by our own server. The page's own parameters (indicator, municipality,
district, period) are checked here: a wrong one gives the page with a message in its language
(400, or 404 for an unknown indicator), never a 500. The HTTP endpoints are in routes.py.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from indicators.definitions import Indicator
from indicators.query import LOCAL, MONTH
from layers.database import Database

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
OWN = {"dashboard.js": "text/javascript; charset=utf-8",
       "dashboard.css": "text/css; charset=utf-8"}
VENDOR = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
          "vendor/chart/chart.umd.min.js")
PARAMETERS = {"indicator", "municipality", "district", "period", "lang"}
DEFAULT = "licences_by_status"
IMMUTABLE = "public, max-age=31536000, immutable"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
TEXT = {
    "ar": {
        "title": "لوحة مؤشرات الإدارة", "indicator": "المؤشر", "municipality": "البلدية",
        "district": "الحي", "period": "الفترة (شهر)", "all": "الكل", "apply": "تطبيق",
        "csv": "تنزيل CSV للعرض الحالي", "print": "طباعة التقرير", "map": "خريطة المؤشر حسب الحي",
        "by_status": "الرخص حسب الحالة", "coverage": "نسبة القطع المخدومة (٪)",
        "inspections": "الزيارات التفتيشية حسب النتيجة",
        "refusals": "رفض فحص التصاريح حسب القاعدة", "table": "جدول القيم حسب الحي",
        "value": "القيمة", "licences": "رخص الحي", "total_licences": "إجمالي الرخص",
        "drill": "رخص الحي", "drill_items": "عرض الرخص على الخريطة (OGC API)",
        "activity": "النشاط", "status": "الحالة", "count": "العدد", "empty": "لا توجد بيانات",
        "computed": "حُسبت في", "loading": "جارٍ التحميل…", "other_lang": "English",
        "load_failed": "تعذر تحميل البيانات", "back": "العودة إلى اللوحة",
        "bad_parameter": "المعامل «{value}» غير معروف في هذه الصفحة",
        "repeated": "أُرسل المعامل «{value}» أكثر من مرة",
        "bad_indicator": "لا يوجد مؤشر باسم «{value}»",
        "bad_municipality": "لا توجد بلدية بالرمز «{value}»",
        "bad_district": "لا يوجد حي بالرمز «{value}»",
        "bad_period": "يجب أن تكون الفترة شهرًا بالصيغة YYYY-MM، والمُرسل «{value}»",
        "future_period": "الفترة {value} في المستقبل",
    },
    "en": {
        "title": "Management indicators dashboard", "indicator": "Indicator",
        "municipality": "Municipality", "district": "District", "period": "Period (month)",
        "all": "All", "apply": "Apply", "csv": "Download the current view as CSV",
        "print": "Print the report", "map": "The indicator by district",
        "by_status": "Licences by status", "coverage": "Parcels served (%)",
        "inspections": "Inspections by result", "refusals": "Permit-check refusals by rule",
        "table": "Values by district", "value": "Value", "licences": "Licences",
        "total_licences": "Licences in total", "drill": "Licences of the district",
        "drill_items": "These licences on the map (OGC API)", "activity": "Activity",
        "status": "Status", "count": "Count", "empty": "No data", "computed": "Computed at",
        "loading": "Loading…", "other_lang": "العربية", "load_failed": "The data did not load",
        "back": "Back to the dashboard",
        "bad_parameter": "The parameter \u201c{value}\u201d is not one of this page's",
        "repeated": "The parameter \u201c{value}\u201d is given more than once",
        "bad_indicator": "There is no indicator named \u201c{value}\u201d",
        "bad_municipality": "There is no municipality with the code \u201c{value}\u201d",
        "bad_district": "There is no district with the code \u201c{value}\u201d",
        "bad_period": "The period must be a month written YYYY-MM, got \u201c{value}\u201d",
        "future_period": "The period {value} is in the future",
    },
}
# Values of the indicators' columns, as the charts name them.
LABELS = {
    "active": {"ar": "سارية", "en": "active"}, "expired": {"ar": "منتهية", "en": "expired"},
    "suspended": {"ar": "موقوفة", "en": "suspended"},
    "cancelled": {"ar": "ملغاة", "en": "cancelled"},
    "compliant": {"ar": "ملتزم", "en": "compliant"},
    "violation": {"ar": "مخالفة", "en": "violation"},
    "closed": {"ar": "مغلق", "en": "closed"}, "not_found": {"ar": "غير موجود", "en": "not found"},
    "school": {"ar": "مدرسة", "en": "school"}, "clinic": {"ar": "عيادة/مستشفى", "en": "clinic"},
    "park": {"ar": "حديقة", "en": "park"}, "mosque": {"ar": "مسجد", "en": "mosque"},
}
PLACES = ("SELECT d.code, d.name_ar, d.name_en, m.code, m.name_ar, m.name_en "
          "FROM districts d JOIN municipalities m ON m.id = d.municipality_id ORDER BY 1")


@lru_cache(maxsize=1)
def _templates() -> Environment:
    """The page template, autoescaped (built on first use)."""
    return Environment(loader=FileSystemLoader(HERE / "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def _json_for_html(value) -> Markup:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _version() -> str:
    """A hash of our own files (their URLs change when they do)."""
    digest = hashlib.sha256()
    for name in sorted(OWN):
        path = STATIC / name
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:12]


def _places(conn) -> dict:
    """Municipalities and districts (code → names) for the filters."""
    municipalities, districts = {}, {}
    for code, ar, en, m_code, m_ar, m_en in conn.execute(PLACES).fetchall():
        municipalities[m_code] = {"ar": m_ar, "en": m_en}
        districts[code] = {"ar": ar, "en": en, "municipality": m_code}
    return {"municipalities": municipalities, "districts": districts}


class Dashboard:
    """The /dashboard page and its own static files."""

    def __init__(self, db: Database, indicators: dict[str, Indicator],
                 asset_url: Callable[[str], str] | None = None):
        """The database, the indicators and the URL of a web-map vendor file."""
        self.db, self.indicators = db, indicators
        self.asset_url = asset_url or (lambda public: f"/static/dashboard/{public}")
        self.version = _version()

    def _problem(self, items: list[tuple[str, str]], places: dict) -> tuple[int, str, dict] | None:
        """(status, message key, values) of the first wrong page parameter, or None."""
        names = [name for name, _ in items]
        unknown = sorted(set(names) - PARAMETERS)
        if unknown:
            return 400, "bad_parameter", {"value": unknown[0][:40]}
        for name in PARAMETERS:
            if names.count(name) > 1:
                return 400, "repeated", {"value": name}
        params = dict(items)
        chosen = params.get("indicator", DEFAULT)
        if chosen not in self.indicators:
            return 404, "bad_indicator", {"value": chosen[:60]}
        for name, known in (("municipality", places["municipalities"]),
                            ("district", places["districts"])):
            value = params.get(name)
            if value and value not in known:
                return 400, f"bad_{name}", {"value": value[:60]}
        period = params.get("period")
        if period and not MONTH.match(period):
            return 400, "bad_period", {"value": period[:20]}
        if period and period > datetime.now(LOCAL).strftime("%Y-%m"):
            return 400, "future_period", {"value": period}
        return None

    def _config(self, lang: str, params: Mapping[str, str], places: dict) -> dict:
        """What dashboard.js needs: labels, indicators, places, the current filters."""
        return {
            "lang": lang, "text": TEXT[lang], "labels": {k: v[lang] for k, v in LABELS.items()},
            "indicators": {one.id: {"title": one.title[lang], "unit": one.unit[lang],
                                    "dimensions": list(one.dimensions)}
                           for one in self.indicators.values()},
            "municipalities": {k: v[lang] for k, v in places["municipalities"].items()},
            "districts": {k: {"name": v[lang], "municipality": v["municipality"]}
                          for k, v in places["districts"].items()},
            "filters": {"indicator": params.get("indicator", DEFAULT),
                        **{k: params.get(k, "") for k in ("municipality", "district", "period")}},
        }

    def render(self, items: list[tuple[str, str]], lang: str) -> tuple[int, str]:
        """(status, HTML) of the page for these query parameters (run in a worker thread)."""
        places = self.db.run(_places)
        problem = self._problem(items, places)
        status, message = 200, ""
        if problem:
            status, key, values = problem
            message = TEXT[lang][key].format(**values)
        html = _templates().get_template("dashboard.html").render(
            lang=lang, dir="rtl" if lang == "ar" else "ltr", t=TEXT[lang], message=message,
            config=None if problem else _json_for_html(self._config(lang, dict(items), places)),
            vendor={name.rsplit("/", 1)[1]: self.asset_url(name) for name in VENDOR},
            own={name: f"/dashboard/static/{self.version}/{name}" for name in OWN},
            other_lang="en" if lang == "ar" else "ar",
            this_month=datetime.now(LOCAL).strftime("%Y-%m"))
        return status, html

    def static_file(self, version: str, name: str) -> tuple[Path, str, str] | None:
        """(path, media type, Cache-Control) of one of our files, or None."""
        if name not in OWN:
            return None
        cache = IMMUTABLE if version == self.version else "no-cache"
        return STATIC / name, OWN[name], cache
