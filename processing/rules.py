"""Municipal rules as data: the YAML rules file, its models and its validation.

A rules file (processing/rules/<municipality>.yml) lists rules of a fixed set of kinds, each with
an id, bilingual title and message, the regulation it comes from, a severity and its numbers.
Changing a number or adding a rule of an existing kind is an edit of the file, never of code.
A bad file is refused at start with the file, the line and the rule named.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from processing.errors import RulesFileError

LandUse = Literal["residential", "commercial", "mixed", "industrial", "public", "park", "vacant"]
ConstraintKind = Literal["flood_risk", "utility_easement", "heritage_buffer", "airport_height"]
FacilityKind = Literal["school", "mosque", "hospital", "clinic", "park", "municipal_office",
                       "police", "civil_defence"]
ZoningColumn = Literal["max_coverage_pct", "max_floors", "max_height_m", "setback_front_m",
                       "setback_side_m", "setback_rear_m"]
ZoneCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]{0,15}$")]
IsicPrefix = Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]
IsicCode = Annotated[str, Field(pattern=r"^[0-9]{4,6}$")]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
NonNegative = Annotated[float, Field(ge=0, le=1_000_000)]


class _Strict(BaseModel):
    """Unknown keys are mistakes (a misspelt key would silently be ignored otherwise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in Arabic and English."""

    ar: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Tolerance(_Strict):
    """How close to a limit still counts as meeting it (measurement noise, not leniency)."""

    length_m: float = Field(0.001, ge=0, le=0.1)
    area_m2: float = Field(0.01, ge=0, le=10)
    percent: float = Field(0.001, ge=0, le=1)


class FrontDetection(_Strict):
    """How parcel edges facing a street are found: edge midpoint within row/2 + margin."""

    search_m: float = Field(60, ge=1, le=500)
    margin_m: float = Field(1.5, ge=0, le=20)
    parallel_deg: float = Field(25, gt=0, lt=90)


class InputLimits(_Strict):
    """Bounds on what a client may send."""

    max_vertices: int = Field(1000, ge=4, le=100_000)
    max_area_m2: float = Field(1_000_000, gt=0)
    max_floors: int = Field(200, ge=1)
    max_height_m: float = Field(1000, gt=0)


class AppliesTo(_Strict):
    """Restricts a rule to some land uses and/or ISIC activities (by code prefix)."""

    uses: list[LandUse] | None = None
    activities: list[IsicPrefix] | None = None


class Limit(_Strict):
    """A number per zone code, a default, and/or a zoning-layer column that overrides both."""

    by_zone: dict[ZoneCode, NonNegative] = Field(default_factory=dict)
    default: NonNegative | None = None
    zoning_column: ZoningColumn | None = None

    @model_validator(mode="after")
    def _something(self) -> Limit:
        """A limit must come from somewhere."""
        if not self.by_zone and self.default is None and self.zoning_column is None:
            raise ValueError("give by_zone, default or zoning_column")
        return self


class _Rule(_Strict):
    """What every rule has."""

    id: RuleId
    title: Bilingual
    reference: str = Field(min_length=1)
    severity: Literal["blocking", "warning"]
    message: Bilingual
    applies_to: AppliesTo = Field(default_factory=AppliesTo)


class ZoningUse(_Rule):
    """The proposed land use is one the zone allows."""

    kind: Literal["zoning_use"]
    allowed: dict[ZoneCode, list[LandUse]]


class ZoningActivity(_Rule):
    """The ISIC activity starts with one of the prefixes the zone allows."""

    kind: Literal["zoning_activity"]
    allowed: dict[ZoneCode, list[IsicPrefix]]


class Coverage(_Rule):
    """Building footprint area / parcel area, in percent, at most the limit."""

    kind: Literal["coverage"]
    limit: Limit


class MaxFloors(_Rule):
    """Number of floors at most the limit."""

    kind: Literal["max_floors"]
    limit: Limit


class MaxHeight(_Rule):
    """Building height in metres at most the limit."""

    kind: Literal["max_height"]
    limit: Limit


class Setback(_Rule):
    """Footprint at least the limit away from the parcel's front, side or rear edges."""

    kind: Literal["setback"]
    edge: Literal["front", "side", "rear"]
    limit: Limit


class ConstraintOverlap(_Rule):
    """Footprint (or parcel) does not overlap constraint zones of a kind (and risk level)."""

    kind: Literal["constraint_overlap"]
    constraint_kind: ConstraintKind
    risk_levels: list[Literal["high", "medium", "low"]] | None = None
    min_overlap_m2: float = Field(0.01, ge=0)


class HeightZone(_Rule):
    """Proposed height at most the max_height_m of the height-limited zones it stands in."""

    kind: Literal["height_zone"]
    constraint_kind: ConstraintKind = "airport_height"
    min_overlap_m2: float = Field(0.01, ge=0)


class FacilityDistance(_Rule):
    """The activity's site at least min_distance_m from the nearest facility of some kinds."""

    kind: Literal["facility_distance"]
    facility_kinds: list[FacilityKind] = Field(min_length=1)
    min_distance_m: float = Field(gt=0, le=100_000)


class ActivityDensity(_Rule):
    """At most max_count licences of the same activity within radius_m (the new one included)."""

    kind: Literal["activity_density"]
    radius_m: float = Field(gt=0, le=10_000)
    max_count: int = Field(ge=1, le=10_000)
    match_digits: int = Field(4, ge=2, le=6)
    statuses: list[Literal["active", "expired", "suspended", "cancelled"]] = ["active"]


class ParcelMinimum(_Rule):
    """Parcel area (m²) or street frontage (m) at least the minimum for the use."""

    kind: Literal["parcel_minimum"]
    measure: Literal["area", "frontage"]
    by_use: dict[LandUse, NonNegative] = Field(min_length=1)


Rule = Annotated[Union[ZoningUse, ZoningActivity, Coverage, MaxFloors, MaxHeight, Setback,
                       ConstraintOverlap, HeightZone, FacilityDistance, ActivityDensity,
                       ParcelMinimum], Field(discriminator="kind")]

KINDS = ("zoning_use", "zoning_activity", "coverage", "max_floors", "max_height", "setback",
         "constraint_overlap", "height_zone", "facility_distance", "activity_density",
         "parcel_minimum")

UNITS = {"coverage": "%", "max_floors": "floors", "max_height": "m", "setback": "m",
         "constraint_overlap": "m2", "height_zone": "m", "facility_distance": "m",
         "activity_density": "licences", "parcel_minimum": None}


class RuleSet(_Strict):
    """One municipality's rules file, validated."""

    municipality: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,40}$")]
    version: str = Field(min_length=1)
    effective: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    title: Bilingual
    tolerance: Tolerance = Field(default_factory=Tolerance)
    front_detection: FrontDetection = Field(default_factory=FrontDetection)
    input_limits: InputLimits = Field(default_factory=InputLimits)
    activities: dict[IsicCode, Bilingual] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    sha256: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        """Rule ids identify rules in results and certificates: they must be unique."""
        seen = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id '{rule.id}' is used twice")
            seen.add(rule.id)
        return self

    def of_kind(self, kind: str, only: frozenset[str] | None = None) -> list:
        """The rules of one kind, optionally limited to some ids."""
        return [r for r in self.rules if r.kind == kind and (only is None or r.id in only)]

    def rule(self, rule_id: str):
        """One rule by id (KeyError when unknown)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def stamp(self) -> dict:
        """What identifies this rule set in a result or certificate."""
        return {"municipality": self.municipality, "version": self.version,
                "effective": self.effective, "sha256": self.sha256}


class _LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a silent override would hide a mistake)."""

    def construct_mapping(self, node, deep=False):
        """Build a mapping, failing on a key given twice."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _node_at(node, loc: tuple) -> yaml.Node:
    """The deepest YAML node along a pydantic error location (skipping union tags)."""
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            if isinstance(part, str) and part in KINDS:
                continue
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                key = next((k for k, _ in node.value if k.value == part), None)
                return key or node
            return node
        node = child
    return node


def _rule_name(data, loc: tuple) -> str | None:
    """The id of the rule an error location points into, if any."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        try:
            rule = data["rules"][loc[1]]
            return str(rule.get("id", f"#{loc[1] + 1}")) if isinstance(rule, dict) else None
        except (KeyError, IndexError, TypeError):
            return f"#{loc[1] + 1}"
    return None


def _explain(err: ValidationError, root: yaml.Node, data, path: Path) -> RulesFileError:
    """The first validation error as file, line, rule and problem."""
    found = err.errors()
    first = next((e for e in found if e["type"] == "extra_forbidden"), found[0])
    loc = tuple(first["loc"])
    node = _node_at(root, loc)
    inner = loc[2:] if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) else loc
    field = ".".join(str(p) for p in inner if p not in KINDS and not isinstance(p, int))
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        problem = f"'{loc[-1]}' is missing"
    elif first["type"] == "extra_forbidden":
        problem = f"unknown key '{loc[-1]}' (misspelt?)"
    elif field:
        problem = f"{field}: {problem}"
    return RulesFileError(path, node.start_mark.line + 1, _rule_name(data, loc), problem)


def _check_unique_ids(root: yaml.Node, path: Path) -> None:
    """Refuse a rule id used twice, pointing at the second use."""
    rules_node = _node_at(root, ("rules",))
    if not isinstance(rules_node, yaml.SequenceNode):
        return
    seen = set()
    for item in rules_node.value:
        id_node = _node_at(item, ("id",)) if isinstance(item, yaml.MappingNode) else None
        if isinstance(id_node, yaml.ScalarNode) and id_node is not item:
            if id_node.value in seen:
                raise RulesFileError(path, id_node.start_mark.line + 1, id_node.value,
                                     "this rule id is already used by an earlier rule")
            seen.add(id_node.value)


def parse(text: str, path: Path | str = "<rules>") -> RuleSet:
    """Validate the text of a rules file; RulesFileError names the line and the rule."""
    path = Path(path)
    try:
        root = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise RulesFileError(path, mark.line + 1 if mark else None, None,
                             f"not valid YAML: {err.problem or err.context}") from None
    if not isinstance(data, dict):
        raise RulesFileError(path, 1, None, "the file must be a mapping (municipality:, rules:)")
    _check_unique_ids(root, path)
    data = {**data, "sha256": hashlib.sha256(text.encode()).hexdigest(), "source": str(path)}
    try:
        return RuleSet.model_validate(data)
    except ValidationError as err:
        raise _explain(err, root, data, path) from None


def load(path: Path) -> RuleSet:
    """Read and validate one rules file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise RulesFileError(path, None, None, f"cannot be read ({err.strerror})") from None
    return parse(text, path)


def load_for(rules_dir: Path, municipality: str) -> RuleSet:
    """The rules file of a municipality in a rules directory (<municipality>.yml)."""
    path = Path(rules_dir) / f"{municipality}.yml"
    ruleset = load(path)
    if ruleset.municipality != municipality:
        raise RulesFileError(path, 1, None, f"municipality is '{ruleset.municipality}', "
                             f"expected '{municipality}' (the file name)")
    return ruleset
