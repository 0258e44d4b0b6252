"""Set-based rule statements: one SQL statement per rule kind over all subjects at once.

Every statement reads `check_subjects` (processing.subjects) and the rules of its kind (passed as
one jsonb parameter, so a new rule of an existing kind is data, not SQL), and yields rows
(sid, rule_id, status, measured, lim, evidence) with status 'pass', 'fail' or 'warn' and the
evidence geometry in UTM. A subject/rule pair without a row is not applicable. Metric work is on
the generated `geom_utm` columns, with their GiST indexes.
"""
import json

from psycopg import sql
from psycopg.types.json import Jsonb

from processing import rules as r

# Status of a violated rule: blocking rules fail, warning rules warn.
BAD = "CASE WHEN r.blocking THEN 'fail' ELSE 'warn' END"
# A rule applies to a subject when its land-use and activity filters accept it.
APPLIES = """(r.uses IS NULL OR coalesce(r.uses ? s.land_use, false))
  AND (r.acts IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(r.acts) a
                                 WHERE starts_with(s.isic, a)))"""
COMMON = "rule_id text, blocking boolean, uses jsonb, acts jsonb"
ZONING_COLUMNS = ("max_coverage_pct", "max_floors", "max_height_m", "setback_front_m",
                  "setback_side_m", "setback_rear_m")
# The limit of a Limit spec: the zoning plan's column if named, else the zone's number, else
# the default.
LIMIT = ("coalesce(CASE r.zcol " + " ".join(
    f"WHEN '{c}' THEN z.{c}::float8" for c in ZONING_COLUMNS) +
    " END, (r.by_zone ->> s.zone_code)::float8, r.dflt)")
LIMIT_COLUMNS = "by_zone jsonb, dflt float8, zcol text"
# What a subject must have for a kind to yield any row at all: a value in one of these columns,
# and/or not being a licence. Each statement's WHERE clause is built from this (_needs), so a
# single check can leave out the kinds its subject cannot meet (applies, processing.single).
NEEDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "zoning_use": ((), True),
    "zoning_activity": (("isic",), False),
    "coverage": (("footprint", "footprint_area"), False),
    "max_floors": (("floors",), False),
    "max_height": (("height",), False),
    "setback": (("footprint",), False),
    "constraint_overlap": ((), False),
    "height_zone": (("height",), False),
    "facility_distance": (("isic",), False),
    "activity_density": (("isic",), False),
    "parcel_minimum": ((), True),
}


def _needs(kind: str) -> str:
    """The SQL condition on subject s of NEEDS[kind]."""
    columns, parcels_only = NEEDS[kind]
    parts = ["(" + " OR ".join(f"s.{c} IS NOT NULL" for c in columns) + ")"] if columns else []
    if parcels_only:
        parts.append("s.subject_type <> 'licence'")
    return " AND ".join(parts) or "true"


def applies(kind: str, subject: dict) -> bool:
    """Whether NEEDS[kind] can hold for a subject given as {column: value}."""
    columns, parcels_only = NEEDS[kind]
    if parcels_only and subject["subject_type"] == "licence":
        return False
    return not columns or any(subject[c] is not None for c in columns)


def _common(rule) -> dict:
    """The parameters every rule statement needs."""
    return {"rule_id": rule.id, "blocking": rule.severity == "blocking",
            "uses": rule.applies_to.uses, "acts": rule.applies_to.activities}


def _limit(limit: r.Limit) -> dict:
    """A Limit spec as statement parameters."""
    return {"by_zone": limit.by_zone, "dflt": limit.default, "zcol": limit.zoning_column}


def _rules(columns: str) -> str:
    """The rules parameter as a record set with these extra columns."""
    return f"jsonb_to_recordset(%(rules)s) AS r({COMMON}, {columns})"


def zoning_use(rules, ruleset) -> tuple[str, dict]:
    """The land use is among those the subject's zone allows."""
    ok = "coalesce((r.allowed -> s.zone_code) ? s.land_use, false)"
    statement = f"""
    SELECT s.sid, r.rule_id, CASE WHEN {ok} THEN 'pass' ELSE {BAD} END AS status,
           to_jsonb(s.land_use) AS measured, coalesce(r.allowed -> s.zone_code, '[]') AS lim,
           CASE WHEN NOT {ok} THEN s.parcel END AS evidence
    FROM check_subjects s CROSS JOIN {_rules("allowed jsonb")}
    WHERE s.land_use IS NOT NULL AND {_needs("zoning_use")} AND {APPLIES}
    """
    return statement, {"rules": [{**_common(x), "allowed": x.allowed} for x in rules]}


def zoning_activity(rules, ruleset) -> tuple[str, dict]:
    """The ISIC activity starts with a prefix the subject's zone allows."""
    ok = ("EXISTS (SELECT 1 FROM jsonb_array_elements_text(r.allowed -> s.zone_code) a "
          "WHERE starts_with(s.isic, a))")
    statement = f"""
    SELECT s.sid, r.rule_id, CASE WHEN {ok} THEN 'pass' ELSE {BAD} END AS status,
           to_jsonb(s.isic) AS measured, coalesce(r.allowed -> s.zone_code, '[]') AS lim,
           CASE WHEN NOT {ok} THEN s.site END AS evidence
    FROM check_subjects s CROSS JOIN {_rules("allowed jsonb")}
    WHERE {_needs("zoning_activity")} AND {APPLIES}
    """
    return statement, {"rules": [{**_common(x), "allowed": x.allowed} for x in rules]}


def _at_most(measured: str, present: str, tolerance: float, evidence: str) -> str:
    """A statement for 'measured <= limit' rules with a Limit spec."""
    return f"""
    SELECT sid, rule_id, CASE WHEN m > lim + {tolerance!r} THEN bad ELSE 'pass' END AS status,
           to_jsonb(round(m::numeric, 3)) AS measured, to_jsonb(lim) AS lim,
           CASE WHEN m > lim + {tolerance!r} THEN ev END AS evidence
    FROM (SELECT s.sid, r.rule_id, {BAD} AS bad, ({measured})::float8 AS m, {LIMIT} AS lim,
                 {evidence} AS ev
          FROM check_subjects s CROSS JOIN {_rules(LIMIT_COLUMNS)}
          LEFT JOIN zoning z ON z.id = s.zone_id
          WHERE {present} AND {APPLIES}) x
    WHERE lim IS NOT NULL
    """


def coverage(rules, ruleset) -> tuple[str, dict]:
    """Footprint area over parcel area, in percent, at most the limit."""
    statement = _at_most("100 * coalesce(ST_Area(s.footprint), s.footprint_area) / s.parcel_area",
                         _needs("coverage"),
                         ruleset.tolerance.percent, "s.footprint")
    return statement, {"rules": [{**_common(x), **_limit(x.limit)} for x in rules]}


def max_floors(rules, ruleset) -> tuple[str, dict]:
    """Floors at most the limit."""
    statement = _at_most("s.floors", _needs("max_floors"), 0.0, "s.footprint")
    return statement, {"rules": [{**_common(x), **_limit(x.limit)} for x in rules]}


def max_height(rules, ruleset) -> tuple[str, dict]:
    """Height at most the limit."""
    statement = _at_most("s.height", _needs("max_height"), ruleset.tolerance.length_m,
                         "s.footprint")
    return statement, {"rules": [{**_common(x), **_limit(x.limit)} for x in rules]}


def _edges(ruleset, where: str) -> str:
    """CTEs classifying the parcel edges of subjects: front (faces a street), rear, side."""
    front = ruleset.front_detection
    return f"""
    seg AS (
      SELECT s.sid, d.geom AS g, ST_Length(d.geom) AS len,
             degrees(ST_Azimuth(ST_StartPoint(d.geom), ST_EndPoint(d.geom))) AS az,
             EXISTS (SELECT 1 FROM streets st, ST_LineInterpolatePoint(d.geom, 0.5) mid
                     WHERE ST_DWithin(st.geom_utm, mid, {front.search_m!r})
                       AND ST_Distance(st.geom_utm, mid) <= st.row_m / 2 + {front.margin_m!r}
                    ) AS front
      FROM check_subjects s, ST_DumpSegments(s.parcel) d
      WHERE {where} AND ST_Length(d.geom) > 0
    ),
    main AS (SELECT DISTINCT ON (sid) sid, az FROM seg WHERE front ORDER BY sid, len DESC),
    cls AS (
      SELECT seg.sid, seg.g, seg.len, CASE
        WHEN seg.front THEN 'front'
        WHEN main.az IS NOT NULL AND least(mod(abs(seg.az - main.az)::numeric, 180),
             180 - mod(abs(seg.az - main.az)::numeric, 180)) < {front.parallel_deg!r} THEN 'rear'
        ELSE 'side' END AS edge
      FROM seg LEFT JOIN main USING (sid)
    ),
    edges AS (SELECT sid, edge, ST_Collect(g) AS g, sum(len) AS len FROM cls GROUP BY sid, edge)
    """


def setback(rules, ruleset) -> tuple[str, dict]:
    """Footprint distance from the front, side or rear edges at least the limit."""
    tol = ruleset.tolerance.length_m
    statement = f"""
    WITH {_edges(ruleset, _needs("setback"))}
    SELECT sid, rule_id, CASE WHEN d < lim - {tol!r} THEN bad ELSE 'pass' END AS status,
           to_jsonb(round(d::numeric, 3)) AS measured, to_jsonb(lim) AS lim,
           CASE WHEN d < lim - {tol!r}
                THEN ST_Intersection(footprint, ST_Buffer(g, lim - {tol!r})) END AS evidence
    FROM (SELECT s.sid, r.rule_id, {BAD} AS bad, ST_Distance(s.footprint, e.g) AS d,
                 {LIMIT} AS lim, s.footprint, e.g
          FROM check_subjects s CROSS JOIN {_rules(LIMIT_COLUMNS + ", edge text")}
          JOIN edges e ON e.sid = s.sid AND e.edge = r.edge
          LEFT JOIN zoning z ON z.id = s.zone_id
          WHERE {_needs("setback")} AND {APPLIES}) x
    WHERE lim IS NOT NULL
    """
    return statement, {"rules": [{**_common(x), **_limit(x.limit), "edge": x.edge}
                                 for x in rules]}


def constraint_overlap(rules, ruleset, many: bool = False) -> tuple[str, dict]:
    """Overlap area of the footprint (or parcel) with constraint zones, above a tolerance."""
    zone = "ST_Subdivide(k.geom_utm, 96)" if many else "k.geom_utm"
    statement = f"""
    WITH r AS MATERIALIZED (
      SELECT * FROM {_rules("ckind text, levels jsonb, min_overlap float8")}
    ),
    c AS MATERIALIZED (   -- zones cut in small pieces when many subjects will be tested
      SELECT r.rule_id, {zone} AS g
      FROM r JOIN constraints k ON k.kind = r.ckind
                               AND (r.levels IS NULL OR coalesce(r.levels ? k.risk_level, false))
    ),
    hits AS (
      SELECT s.sid, c.rule_id, ST_Intersection(s.occupied, c.g) AS part
      FROM c JOIN check_subjects s ON ST_Intersects(s.occupied, c.g)
    ),
    overlap AS (
      SELECT sid, rule_id, sum(ST_Area(part)) AS area, ST_Union(part) AS part
      FROM hits GROUP BY sid, rule_id
    )
    SELECT s.sid, r.rule_id,
           CASE WHEN coalesce(o.area, 0) > r.min_overlap THEN {BAD} ELSE 'pass' END AS status,
           to_jsonb(round(coalesce(o.area, 0)::numeric, 3)) AS measured, to_jsonb(0) AS lim,
           CASE WHEN coalesce(o.area, 0) > r.min_overlap THEN o.part END AS evidence
    FROM check_subjects s CROSS JOIN r
    LEFT JOIN overlap o ON o.sid = s.sid AND o.rule_id = r.rule_id
    WHERE {APPLIES}
    """
    params = [{**_common(x), "ckind": x.constraint_kind, "levels": x.risk_levels,
               "min_overlap": x.min_overlap_m2} for x in rules]
    return statement, {"rules": params}


def height_zone(rules, ruleset) -> tuple[str, dict]:
    """Height at most the lowest max_height_m of the height zones the subject stands in."""
    tol = ruleset.tolerance.length_m
    statement = f"""
    WITH r AS MATERIALIZED (SELECT * FROM {_rules("ckind text, min_overlap float8")}),
    zones AS (
      SELECT s.sid, r.rule_id, min(k.max_height_m)::float8 AS lim,
             ST_Union(ST_Intersection(s.occupied, k.geom_utm)) AS part,
             sum(ST_Area(ST_Intersection(s.occupied, k.geom_utm))) AS area
      FROM r JOIN constraints k ON k.kind = r.ckind AND k.max_height_m IS NOT NULL
      JOIN check_subjects s ON ST_Intersects(s.occupied, k.geom_utm) AND {_needs("height_zone")}
      GROUP BY s.sid, r.rule_id
    )
    SELECT s.sid, r.rule_id,
           CASE WHEN s.height > z.lim + {tol!r} THEN {BAD} ELSE 'pass' END AS status,
           to_jsonb(s.height) AS measured, to_jsonb(z.lim) AS lim,
           CASE WHEN s.height > z.lim + {tol!r} THEN z.part END AS evidence
    FROM check_subjects s CROSS JOIN r
    JOIN zones z ON z.sid = s.sid AND z.rule_id = r.rule_id AND z.area > r.min_overlap
    WHERE {APPLIES}
    """
    params = [{**_common(x), "ckind": x.constraint_kind, "min_overlap": x.min_overlap_m2}
              for x in rules]
    return statement, {"rules": params}


def facility_distance(rules, ruleset) -> tuple[str, dict]:
    """Distance from the site to the nearest facility of some kinds at least the minimum."""
    tol = ruleset.tolerance.length_m
    statement = f"""
    SELECT s.sid, r.rule_id,
           CASE WHEN f.d < r.min_d - {tol!r} THEN {BAD} ELSE 'pass' END AS status,
           to_jsonb(round(f.d::numeric, 3)) AS measured, to_jsonb(r.min_d) AS lim,
           ST_ShortestLine(s.site, f.g) AS evidence
    FROM check_subjects s CROSS JOIN {_rules("kinds jsonb, min_d float8")}
    CROSS JOIN LATERAL (
      SELECT f.geom_utm AS g, ST_Distance(f.geom_utm, s.site) AS d FROM facilities f
      WHERE r.kinds ? f.kind ORDER BY f.geom_utm <-> s.site LIMIT 1) f
    WHERE {_needs("facility_distance")} AND {APPLIES}
    """
    params = [{**_common(x), "kinds": x.facility_kinds, "min_d": x.min_distance_m}
              for x in rules]
    return statement, {"rules": params}


def activity_density(rules, ruleset) -> tuple[str, dict]:
    """Licences of the same activity within the radius (the subject included) at most max."""
    statement = f"""
    SELECT s.sid, r.rule_id,
           CASE WHEN n.cnt + 1 > r.max_count THEN {BAD} ELSE 'pass' END AS status,
           to_jsonb(n.cnt + 1) AS measured, to_jsonb(r.max_count) AS lim,
           CASE WHEN n.cnt + 1 > r.max_count THEN n.pts END AS evidence
    FROM check_subjects s
    CROSS JOIN {_rules("radius float8, max_count integer, digits integer, statuses jsonb")}
    CROSS JOIN LATERAL (
      SELECT count(*) AS cnt, ST_Collect(l.geom_utm) AS pts FROM licenses l
      WHERE ST_DWithin(l.geom_utm, s.site, r.radius)
        AND left(l.isic_code, r.digits) = left(s.isic, r.digits)
        AND r.statuses ? l.status
        AND l.id IS DISTINCT FROM (CASE WHEN s.subject_type = 'licence' THEN s.subject_id END)
    ) n
    WHERE {_needs("activity_density")} AND {APPLIES}
    """
    params = [{**_common(x), "radius": x.radius_m, "max_count": x.max_count,
               "digits": x.match_digits, "statuses": x.statuses} for x in rules]
    return statement, {"rules": params}


def parcel_minimum(rules, ruleset) -> tuple[str, dict]:
    """Parcel area or street frontage at least the minimum for the land use."""
    tol_area, tol_len = ruleset.tolerance.area_m2, ruleset.tolerance.length_m
    statement = f"""
    WITH {_edges(ruleset, "s.frontage IS NULL AND " + _needs("parcel_minimum"))}
    SELECT sid, rule_id, CASE WHEN m < lim - tol THEN bad ELSE 'pass' END AS status,
           to_jsonb(round(m::numeric, 3)) AS measured, to_jsonb(lim) AS lim,
           CASE WHEN m < lim - tol THEN ev END AS evidence
    FROM (SELECT s.sid, r.rule_id, {BAD} AS bad, (r.by_use ->> s.land_use)::float8 AS lim,
                 CASE r.measure WHEN 'area' THEN s.parcel_area
                      ELSE coalesce(s.frontage, e.len, 0) END AS m,
                 CASE r.measure WHEN 'area' THEN {tol_area!r} ELSE {tol_len!r} END AS tol,
                 CASE r.measure WHEN 'area' THEN s.parcel ELSE coalesce(e.g, s.parcel) END AS ev
          FROM check_subjects s CROSS JOIN {_rules("measure text, by_use jsonb")}
          LEFT JOIN edges e ON e.sid = s.sid AND e.edge = 'front'
          WHERE s.land_use IS NOT NULL AND {_needs("parcel_minimum")} AND {APPLIES}) x
    WHERE lim IS NOT NULL
    """
    params = [{**_common(x), "measure": x.measure, "by_use": x.by_use} for x in rules]
    return statement, {"rules": params}


BUILDERS = {
    "zoning_use": zoning_use, "zoning_activity": zoning_activity, "coverage": coverage,
    "max_floors": max_floors, "max_height": max_height, "setback": setback,
    "constraint_overlap": constraint_overlap, "height_zone": height_zone,
    "facility_distance": facility_distance, "activity_density": activity_density,
    "parcel_minimum": parcel_minimum,
}
assert set(BUILDERS) == set(r.KINDS) == set(NEEDS), "every rule kind needs a statement"


def statements(ruleset, only: frozenset[str] | None = None, many: bool = False,
               kinds: frozenset[str] | None = None):
    """(kind, statement, params) for every kind that has rules (of `kinds`, if given); `many`
    for a batch."""
    out = []
    for kind in r.KINDS:
        if kinds is not None and kind not in kinds:
            continue
        chosen = ruleset.of_kind(kind, only)
        if chosen:
            extra = {"many": many} if kind == "constraint_overlap" else {}
            text, params = BUILDERS[kind](chosen, ruleset, **extra)
            out.append((kind, text, {"rules": Jsonb(params["rules"])}))
    return out


RESULTS = ("SELECT x.sid, x.rule_id, x.status, x.measured, x.lim, "
           "ST_AsGeoJSON(ST_Transform(x.evidence, 4326), 7)::jsonb "
           "FROM ({}) x ORDER BY x.sid, x.rule_id")


def for_results(statement: str) -> sql.Composable:
    """Wrap a rule statement so evidence comes back as GeoJSON (CRS84, ~1 cm precision)."""
    return sql.SQL(RESULTS).format(sql.SQL(statement))


def combined(ruleset, kinds: frozenset[str] | None = None) -> tuple[str, dict]:
    """The statements of every kind (of `kinds`) in one, UNION ALL, wrapped as for_results;
    (text, parameters).

    Each kind gets its own rules parameter, serialised once here: the text and the parameters
    depend on the rules file and the kinds only, so callers can keep them.
    """
    branches, params = [], {}
    for kind, text, kind_params in statements(ruleset, kinds=kinds):
        name = f"rules_{kind}"
        branches.append("(" + text.replace("%(rules)s", f"%({name})s::jsonb") + ")")
        params[name] = json.dumps(kind_params["rules"].obj)
    if not branches:   # no rule of these kinds: a statement that yields nothing
        branches.append("(SELECT 0 AS sid, NULL::text AS rule_id, NULL::text AS status, "
                        "NULL::jsonb AS measured, NULL::jsonb AS lim, "
                        "NULL::geometry AS evidence WHERE false)")
    return RESULTS.format("\nUNION ALL\n".join(branches)), params


def for_findings(statement: str) -> sql.Composable:
    """Wrap a rule statement to store its failures and warnings as findings of a job."""
    return sql.SQL(
        "INSERT INTO processing_findings (job_id, subject_type, subject_id, subject_ref, "
        "zone_code, land_use, isic, rule_id, status, measured, limit_value, geom) "
        "SELECT %(job_id)s, s.subject_type, s.subject_id, s.subject_ref, s.zone_code, "
        "s.land_use, s.isic, x.rule_id, x.status, "
        "x.measured, x.lim, ST_Transform(x.evidence, 4326) "
        "FROM ({}) x JOIN check_subjects s ON s.sid = x.sid "
        "WHERE x.status IN ('fail', 'warn')").format(sql.SQL(statement))
