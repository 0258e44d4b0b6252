"""A single check (parcel-check, license-site-check) without a temporary table.

The rule statements of processing.checks read a table named `check_subjects`. A batch fills the
temporary table of that name; a single check instead makes its subject a CTE of the same name
(a CTE shadows a table) built from the request's parameters, so that after the transaction's
SETTINGS

1. one statement says why the subject cannot be checked, if it cannot, and the facts about it;
2. one statement runs the rules of every kind that can apply to it (the kinds' statements
   joined by UNION ALL).

The texts depend only on the rules file, on how the parcel is named and on which groups of kinds
can apply, and their parameters always have the same types, so psycopg prepares them once per
pooled connection and PostgreSQL keeps one generic plan of each: no temporary-table writes, no
planning per check, three statements where there were sixteen.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from psycopg import RawCursor

from processing import checks, subjects
from processing.errors import CheckInputError, UnknownParcel

# Per check transaction: no JIT (it costs ~10 ms a statement), and a prepared statement's generic
# plan from its first use (planning costs more than running here: 0.5 ms for the report, ~4 ms
# for the rules; PostgreSQL's own choice keeps planning the report, its custom plans look cheaper).
SETTINGS = ("SELECT set_config('jit', 'off', true), "
            "set_config('plan_cache_mode', 'force_generic_plan', true)")
# Why a subject cannot be checked, in the order the reasons are given.
PROBLEMS = {
    "outside_city": "the parcel is outside the municipality",
    "footprint_outside_parcel": "the footprint is not inside its parcel",
    "site_outside_city": "the location is outside the municipality",
    "site_outside_parcel": "the location is not on the parcel",
}
FACTS = ("parcel_no", "parcel_id", "zone", "zone_name_ar", "zone_name_en", "land_use",
         "parcel_area_m2", "footprint_area_m2", "district_ar", "district_en", "parcel")
# One row even when there is no subject: (site point outside every municipality, subject found,
# the PROBLEMS, the FACTS).
REPORT = """
SELECT {point_outside}, s.sid IS NOT NULL,
       NOT EXISTS (SELECT 1 FROM municipalities m WHERE ST_Intersects(m.geom_utm, s.parcel)),
       s.footprint IS NOT NULL
         AND NOT ST_CoveredBy(s.footprint, ST_Buffer(s.parcel, %(tolerance)s::float8)),
       NOT EXISTS (SELECT 1 FROM municipalities m WHERE ST_Intersects(m.geom_utm, s.site)),
       NOT ST_Intersects(s.site, ST_Buffer(s.parcel, %(tolerance)s::float8)),
       s.subject_ref, s.parcel_id, s.zone_code, z.name_ar, z.name_en, s.land_use,
       round(s.parcel_area::numeric, 2), round(ST_Area(s.footprint)::numeric, 2),
       d.name_ar, d.name_en, ST_AsGeoJSON(ST_Transform(s.parcel, 4326), 7)::jsonb
FROM (SELECT) one
LEFT JOIN check_subjects s ON true
LEFT JOIN zoning z ON z.id = s.zone_id
LEFT JOIN parcels p ON p.id = s.parcel_id
LEFT JOIN districts d ON d.id = p.district_id
"""
# A site point outside every municipality is refused before its parcel is looked for.
POINT_OUTSIDE = ("NOT EXISTS (SELECT 1 FROM municipalities m WHERE ST_Intersects(m.geom_utm, "
                 f"ST_Transform(%(site)s::geometry, {subjects.UTM_SRID})))")


@dataclass(frozen=True)
class Subject:
    """The subject of a single check: how its parcel is found (a key of subjects.SUBJECT) and
    the statement parameters."""

    source: str
    params: dict

    @classmethod
    def of(cls, subject_type: str, proposal: subjects.Proposal, parcel_no: str | None = None,
           parcel: str | None = None) -> Subject:
        """A registered parcel (by number), a drawn one, or the one under the site point."""
        source = ("registered" if parcel_no is not None else
                  "drawn" if parcel is not None else "under_point")
        return cls(source, subjects.subject_params(subject_type, proposal, parcel_no, parcel))


@dataclass(frozen=True)
class Native:
    """A statement with PostgreSQL's own $n placeholders and the parameter names they stand for.

    psycopg rewrites %(name)s placeholders on every execution of a statement longer than 4 kB
    (it caches shorter ones); the rules statement is ~16 kB, so it is rewritten once, here.
    """

    text: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Native:
        """Convert %(name)s placeholders (no other % may occur)."""
        names: list[str] = []

        def number(match: re.Match) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        native = PLACEHOLDER.sub(number, text)
        if "%" in native:
            raise ValueError("a statement may hold no % but its %(name)s placeholders")
        return cls(native, tuple(names))

    def run(self, conn, params: dict):
        """Execute on a cursor of conn; the cursor."""
        return RawCursor(conn).execute(self.text, [params[name] for name in self.names])


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _with_subject(source: str, statement: str) -> Native:
    """A statement reading check_subjects, run on the subject of a request instead."""
    return Native.of(f"WITH check_subjects AS MATERIALIZED ({subjects.SUBJECT[source]})\n"
                     f"{statement}")


_REPORTS = {source: _with_subject(source, REPORT.format(
    point_outside=POINT_OUTSIDE if source == "under_point" else "false"))
    for source in subjects.SUBJECT}


def begin(conn) -> None:
    """The SETTINGS, for the rest of the caller's transaction."""
    conn.execute(SETTINGS)


def inspect(conn, ruleset, subject: Subject) -> dict:
    """The facts about the subject; UnknownParcel or CheckInputError when it cannot be checked."""
    params = {**subject.params, "tolerance": str(float(ruleset.tolerance.length_m))}
    row = _REPORTS[subject.source].run(conn, params).fetchone()
    if row[0]:
        raise CheckInputError("the location is outside the municipality")
    if not row[1]:
        if subject.source == "under_point":
            raise CheckInputError("the location is not on a registered parcel")
        raise UnknownParcel("no parcel numbered {number!r}", number=subject.params["parcel_no"])
    problems = row[2:2 + len(PROBLEMS)]
    for text, problem in zip(PROBLEMS.values(), problems, strict=True):
        if problem:
            raise CheckInputError(text)
    facts = dict(zip(FACTS, row[2 + len(PROBLEMS):], strict=True))
    for key in ("parcel_area_m2", "footprint_area_m2"):
        facts[key] = float(facts[key]) if facts[key] is not None else None
    return facts


# Kinds a single check leaves out together, when none of them can apply to its subject
# (checks.NEEDS): the activity kinds without an activity, the building kinds without floors,
# height or footprint, the parcel kinds for a licence. Grouping them keeps the number of
# statement texts (each prepared on every pooled connection) at a handful.
GROUPS = (
    frozenset({"zoning_activity", "facility_distance", "activity_density"}),
    frozenset({"coverage", "max_floors", "max_height", "setback", "height_zone"}),
    frozenset({"zoning_use", "parcel_minimum"}),
    frozenset({"constraint_overlap"}),
)
assert frozenset().union(*GROUPS) == frozenset(checks.NEEDS), "every kind is in one group"


def kinds_for(subject: Subject) -> frozenset[str]:
    """The kinds of the groups of which at least one kind can apply to the subject."""
    columns = {**subject.params, "subject_type": subject.params["type"]}
    return frozenset().union(*(group for group in GROUPS
                               if any(checks.applies(kind, columns) for kind in group)))


def evaluate(conn, ruleset, subject: Subject) -> dict:
    """Every rule over the subject in one statement: {(0, rule_id): (status, m, lim, evidence)}."""
    statement, rule_params = _rules_statement(ruleset, subject.source, kinds_for(subject))
    rows = statement.run(conn, {**subject.params, **rule_params}).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


_built: OrderedDict[tuple, tuple[object, Native, dict]] = OrderedDict()
_built_lock = threading.Lock()


def _rules_statement(ruleset, source: str, kinds: frozenset[str]) -> tuple[Native, dict]:
    """(statement, rule parameters) for a rules file, built on first use (some are kept)."""
    key = (id(ruleset), source, kinds)
    with _built_lock:
        hit = _built.get(key)
        if hit is not None and hit[0] is ruleset:
            _built.move_to_end(key)
            return hit[1], hit[2]
    statement, params = checks.combined(ruleset, kinds)
    built = (ruleset, _with_subject(source, statement), params)
    with _built_lock:
        _built[key] = built
        while len(_built) > 64:
            _built.popitem(last=False)
    return built[1], built[2]
