"""The three OGC API Processes: parcel-check, license-site-check, batch-compliance.

pygeoapi builds these from the configuration (processing.manager lists them); their metadata is
what /ogc/processes describes, in Arabic and English. Execution goes through the job manager
(processing.manager.AmanatManager), which validates inputs, runs synchronous checks in the web
worker and queues asynchronous ones for `amanat worker`.
"""
from __future__ import annotations

from pygeoapi.process.base import BaseProcessor

from processing import engine, inputs

_FEATURE = {"type": "object", "contentMediaType": "application/geo+json"}
_RESULT = {
    "title": {"en": "Check result (certificate)", "ar": "نتيجة الفحص (شهادة)"},
    "description": {
        "en": "Verdict (allowed, allowed_with_warnings, refused), one entry per rule with status "
              "(pass, fail, warn, not-applicable), measured value, limit, unit, message in Arabic "
              "and English, regulation reference and evidence geometry (GeoJSON, CRS84); the "
              "certificate id, its signature (JWS) and links to print and verify it.",
        "ar": "الحكم (مسموح، مسموح مع ملاحظات، مرفوض) ونتيجة كل اشتراط: الحالة والقيمة المقاسة "
              "والحد والوحدة والرسالة بالعربية والإنجليزية والمرجع النظامي والشكل الدال عليها، "
              "مع رقم الشهادة وتوقيعها وروابط طباعتها والتحقق منها.",
    },
    "schema": {"type": "object", "contentMediaType": "application/json"},
}


def _input(en: str, ar: str, schema: dict, required: bool = False) -> dict:
    """One input description."""
    return {"title": {"en": en, "ar": ar}, "description": {"en": en, "ar": ar},
            "schema": schema, "minOccurs": 1 if required else 0, "maxOccurs": 1}


def _metadata(process_id: str, title: dict, description: dict, items: dict,
              controls: list[str], example: dict, output: dict) -> dict:
    """A PROCESS_METADATA dict."""
    return {
        "version": "1.0.0", "id": process_id, "title": title, "description": description,
        "jobControlOptions": controls, "outputTransmission": ["value"],
        "keywords": ["permit", "compliance", "zoning", "رخصة", "اشتراطات"],
        "links": [], "inputs": items, "outputs": {"result": output},
        "example": {"inputs": example},
    }


PARCEL_CHECK = _metadata(
    "parcel-check",
    {"en": "Parcel check (building proposal)", "ar": "فحص قطعة أرض (مقترح بناء)"},
    {"en": "Checks a building proposal on a parcel against the municipality's rules: zoning use, "
           "coverage, floors, height, setbacks, easements, flood risk, heritage, airport height, "
           "minimum area and frontage.",
     "ar": "يفحص مقترح بناء على قطعة أرض وفق اشتراطات البلدية: الاستخدام المسموح ونسبة البناء "
           "والأدوار والارتفاع والارتدادات وحرم المرافق وخطر السيول والنطاق التراثي وقيود "
           "المطار والحد الأدنى للمساحة والواجهة."},
    {
        "parcel_no": _input("Parcel number", "رقم القطعة", inputs.PARCEL_NO),
        "parcel": _input("Parcel geometry (instead of a number)", "حدود القطعة (بدلاً من الرقم)",
                         {**inputs.POLYGON, **_FEATURE}),
        "use": _input("Proposed land use", "الاستخدام المقترح", {"enum": inputs.LAND_USES}),
        "activity": _input("ISIC activity code", "رمز النشاط (ISIC)", inputs.ISIC),
        "floors": _input("Number of floors", "عدد الأدوار",
                         inputs.PARCEL_CHECK["properties"]["floors"]),
        "height_m": _input("Building height (m)", "ارتفاع المبنى (م)",
                           inputs.PARCEL_CHECK["properties"]["height_m"]),
        "footprint": _input("Building footprint polygon", "مسقط المبنى",
                            {**inputs.POLYGON, **_FEATURE}),
        "footprint_area_m2": _input("Footprint area (m²), instead of a polygon",
                                    "مساحة المسقط (م²) بدلاً من المضلع",
                                    inputs.PARCEL_CHECK["properties"]["footprint_area_m2"]),
        "crs": _input("CRS of the geometries (default CRS84)", "نظام إحداثيات الأشكال",
                      inputs.CRS),
    },
    ["sync-execute", "async-execute"],
    {"parcel_no": "DMM-01-12-3", "use": "residential", "floors": 2, "height_m": 9.5,
     "footprint_area_m2": 250},
    _RESULT,
)

LICENSE_SITE_CHECK = _metadata(
    "license-site-check",
    {"en": "Licence site check (business activity)", "ar": "فحص موقع رخصة نشاط تجاري"},
    {"en": "Checks whether an ISIC business activity is allowed at a parcel or point: zoning, "
           "distances to schools, mosques and health facilities, density of the same activity, "
           "constraint zones.",
     "ar": "يفحص إمكانية مزاولة نشاط تجاري في قطعة أو موقع: التنطيق والمسافات عن المدارس "
           "والمساجد والمنشآت الصحية وكثافة النشاط نفسه ومناطق القيود."},
    {
        "activity": _input("ISIC activity code", "رمز النشاط (ISIC)", inputs.ISIC, True),
        "parcel_no": _input("Parcel number", "رقم القطعة", inputs.PARCEL_NO),
        "location": _input("Shop location (point)", "موقع المحل (نقطة)",
                           {**inputs.POINT, **_FEATURE}),
        "crs": _input("CRS of the location (default CRS84)", "نظام إحداثيات الموقع", inputs.CRS),
    },
    ["sync-execute", "async-execute"],
    {"activity": "5630", "location": {"type": "Point", "coordinates": [50.12, 26.38]}},
    _RESULT,
)

BATCH_COMPLIANCE = _metadata(
    "batch-compliance",
    {"en": "Batch compliance (area survey)", "ar": "فحص الامتثال لمنطقة"},
    {"en": "Checks every parcel and active licence of a district, municipality, bbox or the whole "
           "city against the rules (or some of them) and lists every failure and warning with "
           "its reason. Runs as a job; results as GeoJSON, GeoPackage or CSV.",
     "ar": "يفحص كل القطع والرخص السارية في حي أو بلدية أو نطاق أو المدينة كلها ويسرد كل "
           "مخالفة أو ملاحظة مع سببها. يعمل كمهمة؛ النتائج بصيغ GeoJSON وGeoPackage وCSV."},
    {
        "area": _input("Area: {district: code} | {municipality: code} | {bbox: [...]}; "
                       "absent: the whole city", "المنطقة: حي أو بلدية أو نطاق؛ بدونها: المدينة",
                       inputs.BATCH["properties"]["area"]),
        "rules": _input("Rule ids to check (default: all)", "الاشتراطات المطلوب فحصها",
                        inputs.BATCH["properties"]["rules"]),
    },
    ["async-execute"],
    {"area": {"district": "KHB-01"}},
    {"title": {"en": "Findings", "ar": "المخالفات"},
     "description": {"en": "Failures and warnings per parcel and licence (download as GeoJSON, "
                           "GeoPackage or CSV from /jobs/{jobId}/results?f=...)",
                     "ar": "المخالفات والملاحظات لكل قطعة ورخصة"},
     "schema": {"type": "object", "contentMediaType": "application/geo+json"}},
)


class _CheckProcessor(BaseProcessor):
    """A permit-check process: parse inputs, run (synchronously when called directly)."""

    METADATA: dict = {}

    def __init__(self, processor_def: dict):
        """Plain metadata and the application's runtime (`processor_def["runtime"]`, put there
        by create_app); nothing is loaded here (pygeoapi builds one per request)."""
        super().__init__(processor_def, self.METADATA)
        self.runtime = processor_def.get("runtime")

    def parse(self, data: dict, ruleset):
        """Validated, typed request (CheckInputError otherwise)."""
        raise NotImplementedError

    def execute(self, data, outputs=None):
        """Run the check now (used when no Amanat manager is configured)."""
        rt = self.runtime
        request = self.parse(data, rt.ruleset)
        return "application/json", engine.run_single(rt, self.metadata["id"], request, None)


class ParcelCheckProcessor(_CheckProcessor):
    """parcel-check."""

    METADATA = PARCEL_CHECK

    def parse(self, data, ruleset):
        """Validated parcel-check inputs."""
        return inputs.parcel_check(data, ruleset)


class LicenseSiteCheckProcessor(_CheckProcessor):
    """license-site-check."""

    METADATA = LICENSE_SITE_CHECK

    def parse(self, data, ruleset):
        """Validated license-site-check inputs."""
        return inputs.site_check(data, ruleset)


class BatchComplianceProcessor(_CheckProcessor):
    """batch-compliance (asynchronous only: it runs in a worker)."""

    METADATA = BATCH_COMPLIANCE

    def parse(self, data, ruleset):
        """Validated batch-compliance inputs."""
        return inputs.batch_check(data, ruleset)

    def execute(self, data, outputs=None):
        """A batch never runs inside a web worker."""
        raise NotImplementedError("batch-compliance runs as a job (processing.manager)")
