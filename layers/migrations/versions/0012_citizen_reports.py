"""Citizen reports (Open311 GeoReport v2, citizens/): service categories, reports, their public
status history, a per-address throttle, and the service-agent role.

Nothing here references a layer table: a report keeps the codes of the district and
municipality its point fell in (the sample city's codes are stable), so reloading the layers
(TRUNCATE ... CASCADE) keeps every report. A report's tracking number and token are random
(citizens.reports), never its identity column, which no response shows. The contact columns and
the submitter's address digest are personal data: no public document reads them. The digest is
SHA-256 of a random salt (citizen_salt, made here, never shown) and the address, so the same
address gives the same digest (for the throttle) and the digest does not give the address back.

The audit trail gets a `public` actor kind (a citizen's submission is audited as any write), and
accounts a `service-agent` role, whose `office` is the code of the municipality they serve.
The categories of issue 17 are seeded here, so an empty database and the sample city have them.

Revision ID: 0012_citizen_reports
Revises: 0006_auth
"""
import json

from alembic import op

revision = "0012_citizen_reports"
down_revision = "0006_auth"
branch_labels = None
depends_on = None

OLD_ROLES = "('office', 'inspector', 'analyst', 'admin')"
NEW_ROLES = "('office', 'inspector', 'analyst', 'admin', 'service-agent')"
CODE = r"'^[a-z][a-z0-9_]{1,39}$'"
TRACKING = r"'^R-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'"
STATUSES = "('open', 'in_progress', 'closed')"
REASONS = "('fixed', 'duplicate', 'not_ours', 'no_action_needed', 'cannot_locate')"


def _text(column: str, limit: int, required: bool = True) -> str:
    """A bounded text column (non-empty when required)."""
    null = "NOT NULL CHECK (" if required else "CHECK ("
    return f"{column} text {null}char_length({column}) BETWEEN 1 AND {limit})"


TABLES = f"""
CREATE TABLE service_categories (
  code text PRIMARY KEY CHECK (code ~ {CODE}),
  {_text('name_ar', 120)}, {_text('name_en', 120)},
  {_text('description_ar', 1000)}, {_text('description_en', 1000)},
  {_text('group_ar', 120)}, {_text('group_en', 120)},
  {_text('department_ar', 200)}, {_text('department_en', 200)},
  municipality_code text,
  keywords text[] NOT NULL DEFAULT '{{}}',
  sla_hours integer NOT NULL CHECK (sla_hours BETWEEN 1 AND 8760),
  attributes jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attributes) = 'array'),
  position smallint NOT NULL DEFAULT 0,
  active boolean NOT NULL DEFAULT true
);
COMMENT ON COLUMN service_categories.municipality_code IS
  'the municipality responsible wherever the point is; NULL: the one the point falls in';
COMMENT ON COLUMN service_categories.attributes IS
  'Open311 attribute definitions: code, datatype, required, order, description_ar/en, values';

CREATE TABLE citizen_reports (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tracking_no text NOT NULL UNIQUE CHECK (tracking_no ~ {TRACKING}),
  token text NOT NULL UNIQUE CHECK (token ~ '^[0-9a-f]{{32}}$'),
  service_code text NOT NULL REFERENCES service_categories (code),
  geom geometry(Point, 4326) NOT NULL,
  {_text('address', 500, False)},
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
  attributes jsonb NOT NULL DEFAULT '{{}}' CHECK (jsonb_typeof(attributes) = 'object'),
  media_url text CHECK (media_url ~ '^https?://' AND char_length(media_url) <= 500),
  status text NOT NULL DEFAULT 'open' CHECK (status IN {STATUSES}),
  close_reason text CHECK (close_reason IN {REASONS}),
  district_code text NOT NULL,
  municipality_code text NOT NULL,
  assigned_to text,
  {_text('contact_email', 254, False)}, {_text('contact_first_name', 100, False)},
  {_text('contact_last_name', 100, False)}, {_text('contact_phone', 30, False)},
  submitter_sha256 text NOT NULL CHECK (submitter_sha256 ~ '^[0-9a-f]{{64}}$'),
  expected_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((status = 'closed') = (close_reason IS NOT NULL))
);
CREATE INDEX citizen_reports_created_idx ON citizen_reports (created_at DESC, id DESC);
CREATE INDEX citizen_reports_queue_idx ON citizen_reports (municipality_code, status, created_at);
CREATE INDEX citizen_reports_geom_idx ON citizen_reports USING gist (geom);
COMMENT ON COLUMN citizen_reports.contact_email IS 'personal: staff only, never published';
COMMENT ON COLUMN citizen_reports.submitter_sha256 IS
  'sha256(citizen_salt.salt || address): the throttle''s key, never published';

CREATE TABLE citizen_report_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  report_id bigint NOT NULL REFERENCES citizen_reports (id) ON DELETE CASCADE,
  status text NOT NULL CHECK (status IN {STATUSES}),
  close_reason text CHECK (close_reason IN {REASONS}),
  note text CHECK (char_length(note) <= 2000),
  actor text NOT NULL,
  actor_role text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX citizen_report_history_report_idx ON citizen_report_history (report_id, at);
COMMENT ON COLUMN citizen_report_history.note IS 'public: shown with the status';
COMMENT ON COLUMN citizen_report_history.actor IS 'who (staff subject); not published';

CREATE TABLE citizen_throttle (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL CHECK (hits > 0),
  PRIMARY KEY (key, window_start)
);

CREATE TABLE citizen_salt (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  salt bytea NOT NULL
);
INSERT INTO citizen_salt (salt)
  VALUES (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()));
"""

ROLES_UP = f"""
ALTER TABLE auth_users DROP CONSTRAINT auth_users_role_check,
  ADD CONSTRAINT auth_users_role_check CHECK (role IN {NEW_ROLES}),
  ADD CONSTRAINT auth_users_service_agent_check CHECK (role <> 'service-agent' OR office IS NOT NULL);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check,
  ADD CONSTRAINT api_keys_role_check CHECK (role IN {NEW_ROLES}),
  ADD CONSTRAINT api_keys_service_agent_check CHECK (role <> 'service-agent' OR office IS NOT NULL);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check,
  ADD CONSTRAINT audit_log_actor_kind_check
  CHECK (actor_kind IN ('local', 'oidc', 'key', 'cli', 'public'));
"""

ROLES_DOWN = f"""
ALTER TABLE auth_users DROP CONSTRAINT IF EXISTS auth_users_service_agent_check,
  DROP CONSTRAINT auth_users_role_check,
  ADD CONSTRAINT auth_users_role_check CHECK (role IN {OLD_ROLES});
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_service_agent_check,
  DROP CONSTRAINT api_keys_role_check,
  ADD CONSTRAINT api_keys_role_check CHECK (role IN {OLD_ROLES});
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check,
  ADD CONSTRAINT audit_log_actor_kind_check
  CHECK (actor_kind IN ('local', 'oidc', 'key', 'cli')) NOT VALID;
"""


def _values(*pairs: tuple[str, str, str]) -> list[dict]:
    """List values of an attribute: (key, Arabic, English)."""
    return [{"key": key, "name_ar": ar, "name_en": en} for key, ar, en in pairs]


def _attribute(code: str, datatype: str, required: bool, order: int, ar: str, en: str,
               values: list[dict] | None = None) -> dict:
    """One Open311 attribute definition."""
    return {"code": code, "datatype": datatype, "required": required, "order": order,
            "description_ar": ar, "description_en": en, "values": values or []}


SIZES = _values(("small", "صغيرة (أقل من 30 سم)", "Small (under 30 cm)"),
                ("medium", "متوسطة (30 إلى 100 سم)", "Medium (30 to 100 cm)"),
                ("large", "كبيرة (أكثر من متر)", "Large (over a metre)"))
WASTE = _values(("household", "مخلفات منزلية", "Household waste"),
                ("construction", "مخلفات بناء وهدم", "Construction and demolition waste"),
                ("hazardous", "مخلفات خطرة", "Hazardous waste"))
VIOLATIONS = _values(("no_permit", "بناء دون رخصة", "Building without a permit"),
                     ("beyond_permit", "مخالفة للرخصة", "Not as permitted"),
                     ("setback", "تعدٍّ على الارتداد أو الرصيف", "Encroaching on setback or sidewalk"))
YES_NO = _values(("yes", "نعم", "Yes"), ("no", "لا", "No"))

ROADS = ("إدارة صيانة الطرق", "Roads maintenance department")
CATEGORIES = [  # code, name, description, group, department, sla hours, keywords, attributes
    ("pothole", ("حفرة في الطريق", "Pothole"),
     ("حفرة أو هبوط في سطح الطريق", "A hole or sinking in the road surface"),
     ("الطرق", "Roads"), ROADS, 72, ["road", "asphalt"],
     [_attribute("size", "singlevaluelist", True, 1, "حجم الحفرة", "Size of the hole", SIZES)]),
    ("street_light", ("إنارة شارع معطلة", "Street light out"),
     ("عمود إنارة لا يعمل أو يومض", "A street light that is off or flickering"),
     ("الإنارة", "Lighting"), ("إدارة الإنارة العامة", "Street lighting department"), 48,
     ["light", "lamp"],
     [_attribute("pole_number", "string", False, 1, "رقم العمود إن وُجد",
                 "Pole number, if shown")]),
    ("illegal_dumping", ("رمي مخلفات عشوائي", "Illegal dumping"),
     ("مخلفات مرمية في غير أماكنها", "Waste dumped where it should not be"),
     ("النظافة", "Cleanliness"), ("إدارة النظافة العامة", "Cleanliness department"), 48,
     ["waste", "rubbish"],
     [_attribute("waste_type", "singlevaluelist", True, 1, "نوع المخلفات", "Kind of waste",
                 WASTE)]),
    ("building_violation", ("مخالفة بناء", "Building violation"),
     ("بناء دون رخصة أو مخالف لها", "Building without a permit or not as permitted"),
     ("البناء", "Building"), ("إدارة الرقابة على البناء", "Building control department"), 240,
     ["construction", "permit"],
     [_attribute("violation_type", "singlevaluelist", True, 1, "نوع المخالفة",
                 "Kind of violation", VIOLATIONS)]),
    ("unlicensed_shop", ("محل بدون ترخيص", "Shop without a licence"),
     ("نشاط تجاري يعمل دون رخصة بلدية", "A business trading without a municipal licence"),
     ("الرخص التجارية", "Commercial licences"),
     ("إدارة الرخص التجارية", "Commercial licensing department"), 168, ["licence", "shop"],
     [_attribute("shop_name", "string", False, 1, "اسم المحل", "Name of the shop")]),
    ("sidewalk", ("رصيف متضرر", "Damaged sidewalk"),
     ("رصيف مكسور أو مسدود أمام المشاة", "A broken sidewalk or one blocked to pedestrians"),
     ("الطرق", "Roads"), ROADS, 120, ["pavement", "pedestrian"],
     [_attribute("blocks_pedestrians", "singlevaluelist", False, 1, "هل يعيق المشاة؟",
                 "Does it block pedestrians?", YES_NO)]),
    ("suggestion", ("اقتراح", "Suggestion"),
     ("اقتراح لتحسين الخدمات أو المكان", "A suggestion to improve a service or a place"),
     ("الاقتراحات", "Suggestions"), ("إدارة خدمة العملاء", "Customer service department"), 336,
     ["idea", "feedback"], []),
]

SEED = ("INSERT INTO service_categories (code, name_ar, name_en, description_ar, description_en, "
        "group_ar, group_en, department_ar, department_en, sla_hours, keywords, attributes, "
        "position) VALUES (%s) ON CONFLICT (code) DO NOTHING")


def _quote(value) -> str:
    """A SQL literal of a seed value (seeds are constants of this file, never input)."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "ARRAY[" + ", ".join(_quote(v) for v in value) + "]::text[]"
    if isinstance(value, list):
        return _quote(json.dumps(value, ensure_ascii=False)) + "::jsonb"
    return "'" + str(value).replace("'", "''") + "'"


def _seed() -> None:
    """Insert the categories of issue 17."""
    for position, (code, name, text, group, dept, sla, words, attrs) in enumerate(CATEGORIES):
        values = [code, *name, *text, *group, *dept, sla, tuple(words), attrs, position]
        op.execute(SEED % ", ".join(_quote(v) for v in values))


def upgrade() -> None:
    """Create the tables, widen the roles and actor kinds, seed the categories."""
    op.execute(TABLES)
    op.execute(ROLES_UP)
    _seed()


def downgrade() -> None:
    """Drop the tables and restore the roles (fails while a service-agent account exists)."""
    op.execute("DROP TABLE IF EXISTS citizen_report_history, citizen_reports, "
               "service_categories, citizen_throttle, citizen_salt")
    op.execute(ROLES_DOWN)
