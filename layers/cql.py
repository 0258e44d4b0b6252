"""CQL2 filters as SQL: a pygeofilter AST becomes one condition on a catalogue layer.

The layer's table is aliased `t`. Properties resolve against the layer's public fields (plus the
id and the geometry), so personal columns are as unknown here as a typo. Every literal is a bound
parameter cast to the SQL type of what it is compared with, and is checked against that type
before any SQL exists. Whatever cannot be translated raises `CQLError`, whose message is safe to
show a client.

Two pygeofilter 0.4.0 quirks are absorbed here:
- its CQL2 parsers turn T_INTERSECTS into `TimeOverlaps`, so `TimeOverlaps` is translated as
  "intersects" (between the instants stored here and anything, Allen's strict overlap never holds);
- its LIKE nodes name '.' as the single-character wildcard, an ECQL leftover; CQL2 says '_', and
  '_' is what is applied ('.' matches a dot).
"""
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import singledispatchmethod
from string import Formatter

import shapely
import shapely.errors
import shapely.geometry
import shapely.validation
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.cql2 import get_op

from layers.catalogue import Layer

__all__ = ["CQLError", "to_sql"]

UTM = 32639
INT64 = 2**63
SQL_TYPES = {"integer": "bigint", "number": "numeric", "string": "text", "date": "date",
             "date-time": "timestamptz", "boolean": "boolean", "array": "text[]"}
FAMILIES = {"integer": "number", "number": "number", "date": "time", "date-time": "time",
            "string": "string", "boolean": "boolean"}
KIND_NAMES = {"integer": "an integer", "number": "a number", "string": "a string",
              "date": "a date", "date-time": "a timestamp", "boolean": "a boolean",
              "array": "an array of strings", "geometry": "a geometry"}
COMPARISONS = {ast.Equal: "{a} = {b}", ast.NotEqual: "{a} <> {b}", ast.LessThan: "{a} < {b}",
               ast.LessEqual: "{a} <= {b}", ast.GreaterThan: "{a} > {b}",
               ast.GreaterEqual: "{a} >= {b}"}
ARITHMETIC = {ast.Add: "({a} + {b})", ast.Sub: "({a} - {b})", ast.Mul: "({a} * {b})",
              ast.Div: "({a}::numeric / NULLIF({b}, 0))"}
# CQL2 temporal relations on periods [b1, e1] and [b2, e2]; an instant is a period with b = e.
INTERSECTS = "{b1} <= {e2} AND {e1} >= {b2}"
TEMPORAL = {
    ast.TimeBefore: "{e1} < {b2}", ast.TimeAfter: "{b1} > {e2}",
    ast.TimeMeets: "{e1} = {b2}", ast.TimeMetBy: "{b1} = {e2}",
    ast.TimeOverlaps: INTERSECTS, ast.TimeDisjoint: f"NOT ({INTERSECTS})",
    ast.TimeOverlappedBy: "{b1} > {b2} AND {b1} < {e2} AND {e1} > {e2}",
    ast.TimeBegins: "{b1} = {b2} AND {e1} < {e2}", ast.TimeBegunBy: "{b1} = {b2} AND {e1} > {e2}",
    ast.TimeDuring: "{b1} > {b2} AND {e1} < {e2}", ast.TimeContains: "{b1} < {b2} AND {e1} > {e2}",
    ast.TimeEnds: "{b1} > {b2} AND {e1} = {e2}", ast.TimeEndedBy: "{b1} < {b2} AND {e1} = {e2}",
    ast.TimeEquals: "{b1} = {b2} AND {e1} = {e2}",
}
SPATIAL = {ast.GeometryIntersects: "ST_Intersects({a}, {b})",
           ast.GeometryDisjoint: "ST_Disjoint({a}, {b})",
           ast.GeometryContains: "ST_Contains({a}, {b})", ast.GeometryWithin: "ST_Within({a}, {b})",
           ast.GeometryTouches: "ST_Touches({a}, {b})", ast.GeometryCrosses: "ST_Crosses({a}, {b})",
           ast.GeometryOverlaps: "ST_Overlaps({a}, {b})", ast.GeometryEquals: "ST_Equals({a}, {b})"}
ARRAYS = {ast.ArrayContains: "{a} @> {b}", ast.ArrayContainedBy: "{a} <@ {b}",
          ast.ArrayOverlaps: "{a} && {b}", ast.ArrayEquals: "({a} @> {b} AND {a} <@ {b})"}
UNITS = {None: 1.0, "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
         "km": 1000.0, "kilometers": 1000.0, "kilometres": 1000.0, "feet": 0.3048,
         "statute miles": 1609.344, "nautical miles": 1852.0}
STORAGE_CRS = re.compile(r"(CRS84|EPSG:+(0/)?4326|EPSG/0/4326)$", re.IGNORECASE)
RELATE_PATTERN = re.compile(r"^[012TF*]{9}$", re.IGNORECASE)


class CQLError(Exception):
    """A filter that cannot be applied; `message` is safe to show the client."""

    def __init__(self, message: str):
        """Keep the client-safe message."""
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Term:
    """A translated operand: its SQL, its parameters in placeholder order, its kind."""

    code: sql.Composable
    params: tuple = ()
    kind: str = "boolean"
    label: str = "the expression"


DEFAULT_MAX_VERTICES = 10_000


def to_sql(node, layer: Layer, max_vertices: int = DEFAULT_MAX_VERTICES
           ) -> tuple[sql.Composable, list]:
    """Translate a pygeofilter AST into one SQL condition on alias `t` and its parameters;
    a geometry literal may have at most `max_vertices` vertices."""
    term = _Translator(layer, max_vertices).condition(node)
    return term.code, list(term.params)


def _compose(template: str, kind: str = "boolean", label: str = "the expression",
             **terms: Term) -> Term:
    """Fill a constant template with terms, keeping parameters in placeholder order."""
    names = [name for _, name, _, _ in Formatter().parse(template) if name]
    composed = sql.SQL(template).format(**{name: term.code for name, term in terms.items()})
    return Term(composed, tuple(p for name in names for p in terms[name].params), kind, label)


def _shown(value) -> str:
    """A client value quoted for an error message (dates as ISO text, long values cut)."""
    text = f"'{value.isoformat()}'" if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_name(term: Term) -> str:
    """`term`'s kind in words."""
    return KIND_NAMES.get(term.kind, term.kind)


def _is_literal(value) -> bool:
    """Whether an AST operand is a plain value rather than a node."""
    return not isinstance(value, ast.Node)


def _operator(node) -> str:
    """The CQL2 name of a node's operator, for messages."""
    if isinstance(node, ast.Function):
        return f"function {node.name!r}"
    if isinstance(node, (ast.TemporalPredicate, ast.SpatialComparisonPredicate,
                         ast.ArrayPredicate, ast.Comparison, ast.Arithmetic)):
        op = get_op(node) or node.op.value
        return f"operator {op.upper()}"
    return f"operator {type(node).__name__.upper()}"


def _number(value, label: str) -> float:
    """A finite JSON/CQL number (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CQLError(f"{label} must be a finite number, not {_shown(value)}")
    return float(value)


# Literal coercion: each function returns (kind, value) or None when the value does not fit.

def _to_integer(value):
    """An integer literal (a fractional one compares as a number, never rounded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise CQLError(f"{_shown(value)} is out of range for an integer")
        return "integer", value
    return _to_number(value)


def _to_number(value):
    """A finite numeric literal, exact as a decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise CQLError(f"{_shown(value)} is not a finite number")
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


def _field_kind(schema: dict) -> str:
    """The kind of a catalogue field from its JSON schema."""
    if schema.get("format") in ("date", "date-time"):
        return schema["format"]
    return schema.get("type", "string")


def _inferred_kind(value) -> str:
    """The kind of a literal met with nothing to be typed after."""
    for kind, types in (("boolean", bool), ("integer", int), ("number", float),
                        ("string", str), ("date-time", datetime), ("date", date),
                        ("array", list)):
        if isinstance(value, types):
            return kind
    raise CQLError(f"{_shown(value)} cannot be used as a value here")


def _literal(value, against: Term) -> Term:
    """A bound parameter typed after `against`, or a CQLError naming both sides."""
    coerce = COERCE.get(against.kind)
    result = coerce(value) if coerce else None
    if result is None:
        raise CQLError(f"{against.label} is {_kind_name(against)}; {_shown(value)} is not")
    kind, coerced = result
    cast = sql.SQL("%s::{}").format(sql.SQL(SQL_TYPES[kind]))
    return Term(cast, (coerced,), kind, f"the value {_shown(value)}")


def _comparable(left: Term, right: Term) -> None:
    """Refuse to compare operands of different kinds (a number with a string, ...)."""
    family = FAMILIES.get(left.kind)
    if family is None or family != FAMILIES.get(right.kind):
        raise CQLError(f"cannot compare {left.label} ({_kind_name(left)}) "
                       f"with {right.label} ({_kind_name(right)})")


def _scalar(term: Term) -> Term:
    """A term usable with =, <, BETWEEN, IN; geometries and arrays have their own operators."""
    if term.kind == "geometry":
        raise CQLError(f"{term.label} is a geometry: use a spatial operator such as "
                       "S_INTERSECTS or S_EQUALS")
    if term.kind == "array":
        raise CQLError(f"{term.label} is an array: use A_CONTAINS, A_CONTAINEDBY, "
                       "A_OVERLAPS or A_EQUALS")
    return term


def _like_pattern(node: ast.Like) -> str:
    """The CQL2 pattern as a PostgreSQL LIKE pattern with backslash as its escape."""
    out, chars = [], iter(node.pattern)
    for char in chars:
        if char == node.escapechar:
            char = next(chars, None)
            if char is None:
                raise CQLError("the LIKE pattern ends with its escape character")
            out.append("\\" + char if char in "%_\\" else char)
        elif char == node.wildcard:
            out.append("%")
        elif char == "_":
            out.append("_")
        else:
            out.append("\\" + char if char in "%_\\" else char)
    return "".join(out)


def _check_crs(name) -> None:
    """Geometry literals reach the provider in the storage CRS (pygeoapi transforms them)."""
    if name is not None and not STORAGE_CRS.search(str(name)):
        raise CQLError(f"geometry literals must be given in CRS84 (lon/lat), not {_shown(name)}")


def _crs_name(crs) -> str | None:
    """The CRS name a GeoJSON-like geometry carries (pygeofilter's EWKT, pygeoapi's stamp)."""
    if crs is None:
        return None
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if not isinstance(name, str):
        raise CQLError("the geometry literal names its CRS in a form not understood")
    return name


def _lon_lat(minx: float, miny: float, maxx: float, maxy: float) -> None:
    """Refuse coordinates outside longitude/latitude ranges."""
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CQLError("geometry literals must be longitude/latitude (CRS84) coordinates")


def _metric(term: Term) -> Term:
    """A geometry literal transformed to the metric CRS."""
    return _compose("ST_Transform({g}, %d)" % UTM, "geometry", term.label, g=term)


def _envelope(minx, miny, maxx, maxy, metric: bool = False) -> Term:
    """ST_MakeEnvelope of four bound numbers in EPSG:4326."""
    xs = sorted(_number(v, "envelope coordinates") for v in (minx, maxx))
    ys = sorted(_number(v, "envelope coordinates") for v in (miny, maxy))
    _lon_lat(xs[0], ys[0], xs[1], ys[1])
    term = Term(sql.SQL("ST_MakeEnvelope(%s, %s, %s, %s, 4326)"), (xs[0], ys[0], xs[1], ys[1]),
                "geometry", "the envelope")
    return _metric(term) if metric else term


def _geometry_literal(value, max_vertices: int, metric: bool = False) -> Term:
    """A GeoJSON-like literal, validated, as a bound EPSG:4326 geometry."""
    if isinstance(value, values.Envelope):
        return _envelope(value.x1, value.y1, value.x2, value.y2, metric)
    data = dict(value.geometry)
    _check_crs(_crs_name(data.pop("crs", None)))
    try:
        shape = shapely.geometry.shape(data)
    except (ValueError, TypeError, KeyError, IndexError, shapely.errors.ShapelyError):
        raise CQLError("the geometry literal is malformed") from None
    if shape.is_empty:
        raise CQLError("the geometry literal is empty")
    if shapely.get_num_coordinates(shape) > max_vertices:
        raise CQLError(f"the geometry literal has more than {max_vertices:,} vertices")
    if not shape.is_valid:
        reason = shapely.validation.explain_validity(shape)
        raise CQLError(f"the geometry literal is not valid: {reason}")
    _lon_lat(*shape.bounds)
    term = Term(sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON(%s::text), 4326)"),
                (shapely.to_geojson(shape),), "geometry", "the geometry literal")
    return _metric(term) if metric else term


def _metres(distance, units) -> float:
    """A non-negative distance converted to metres."""
    factor = UNITS.get(units.lower() if isinstance(units, str) else units)
    if factor is None:
        raise CQLError(f"unknown distance unit {_shown(units)}; use metres")
    metres = _number(distance, "the distance") * factor
    if metres < 0:
        raise CQLError("the distance must not be negative")
    return metres


def _shift(anchor, delta: timedelta):
    """The other end of an interval given as an instant and a duration."""
    if not isinstance(anchor, date):
        raise CQLError("an interval with a duration needs a date or timestamp at its other end")
    return anchor + delta


class _Translator:
    """Translation of one filter against one layer."""

    def __init__(self, layer: Layer, max_vertices: int):
        """Remember the layer whose properties the filter may name, and the literals' bound."""
        self.layer, self.max_vertices = layer, max_vertices

    # --- operands -----------------------------------------------------------------------

    def queryables(self) -> list[str]:
        """The property names a filter on this layer may use."""
        return [self.layer.id_field, "geometry", *self.layer.fields]

    def column(self, name: str, kind: str, label: str) -> Term:
        """A column of alias `t`."""
        return Term(sql.SQL("t.{}").format(sql.Identifier(name)), (), kind, label)

    def property(self, name: str) -> Term:
        """A property resolved against the catalogue; anything else is unknown."""
        label = f"property {_shown(name)}"
        if name in ("geometry", self.layer.geometry_column):
            return self.column(self.layer.geometry_column, "geometry", label)
        if name == self.layer.id_field:
            return self.column(name, "integer", label)
        schema = self.layer.fields.get(name)
        if schema is None:
            # A personal column's name is not echoed: no response ever carries it.
            shown = "" if name in self.layer.personal else f" {_shown(name)}"
            raise CQLError(f"unknown property{shown}; the queryable properties of "
                           f"{self.layer.id} are: {', '.join(self.queryables())}")
        return self.column(name, _field_kind(schema), label)

    def operand(self, value, against: Term | None = None) -> Term:
        """An expression or literal; a literal is typed after `against` when given."""
        if isinstance(value, ast.Attribute):
            return self.property(value.name)
        if isinstance(value, ast.Arithmetic):
            return self.arithmetic(value)
        if isinstance(value, ast.Function):
            raise CQLError(f"{_operator(value)} is not supported: filters here take no "
                           "function calls")
        if isinstance(value, ast.Node):
            raise CQLError(f"a condition ({_operator(value)}) cannot be used as a value")
        if isinstance(value, (values.Geometry, values.Envelope)):
            return _geometry_literal(value, self.max_vertices)
        if against is None:
            against = Term(sql.SQL(""), (), _inferred_kind(value), "the value")
        return _literal(value, against)

    def pair(self, lhs, rhs) -> tuple[Term, Term]:
        """Two operands of a comparison; a literal is typed after the other side."""
        if _is_literal(lhs) and not _is_literal(rhs):
            right = _scalar(self.operand(rhs))
            return self.operand(lhs, right), right
        left = _scalar(self.operand(lhs))
        return left, self.operand(rhs, left)

    def arithmetic(self, node: ast.Arithmetic) -> Term:
        """+, -, *, / on numbers (division is exact, and NULL where the divisor is zero)."""
        left, right = self.pair(node.lhs, node.rhs)
        for term in (left, right):
            if term.kind not in ("integer", "number"):
                raise CQLError(f"arithmetic needs numbers; {term.label} is {_kind_name(term)}")
        if isinstance(node, ast.Div) and _is_literal(node.rhs) and node.rhs == 0:
            raise CQLError("division by zero")
        integral = left.kind == right.kind == "integer" and not isinstance(node, ast.Div)
        return _compose(ARITHMETIC[type(node)], "integer" if integral else "number",
                        "the arithmetic expression", a=left, b=right)

    def geometry(self, value, metric: bool = False) -> Term:
        """A spatial operand: the layer's geometry or a geometry literal."""
        if isinstance(value, (values.Geometry, values.Envelope)):
            return _geometry_literal(value, self.max_vertices, metric)
        term = self.operand(value)
        if term.kind != "geometry":
            raise CQLError(f"spatial operators need geometries; {term.label} is "
                           f"{_kind_name(term)}")
        if metric:
            return self.column(self.layer.metric_geometry_column, "geometry", term.label)
        return term

    def array(self, value) -> Term:
        """An array operand: an array property or a list of strings."""
        if isinstance(value, list):
            return _literal(value, Term(sql.SQL(""), (), "array", "an array operand"))
        term = self.operand(value)
        if term.kind != "array":
            raise CQLError(f"array operators need arrays; {term.label} is {_kind_name(term)}")
        return term

    def period(self, value, against: Term | None) -> tuple[Term, Term]:
        """Begin and end of a temporal operand; an instant begins and ends at once."""
        if isinstance(value, values.Interval):
            return self.interval(value, against)
        term = self.operand(value, against)
        if term.kind not in ("date", "date-time"):
            raise CQLError(f"temporal operators need dates or timestamps; {term.label} is "
                           f"{_kind_name(term)}")
        return term, term

    def interval(self, value: values.Interval, against: Term | None) -> tuple[Term, Term]:
        """An interval's two ends; an open end ('..') is infinity."""
        against = against or Term(sql.SQL(""), (), "date-time", "the interval")
        start, end = value.start, value.end
        if isinstance(start, timedelta) and isinstance(end, timedelta):
            raise CQLError("an interval cannot be made of two durations")
        if isinstance(end, timedelta):
            end = _shift(start, end)
        elif isinstance(start, timedelta):
            start = _shift(end, -start)
        return self.bound(start, against, "-infinity"), self.bound(end, against, "infinity")

    def bound(self, value, against: Term, infinity: str) -> Term:
        """One end of an interval."""
        if value is None:
            cast = "date" if against.kind == "date" else "timestamptz"
            return Term(sql.SQL(f"'{infinity}'::{cast}"), (), against.kind, "an open end")
        return self.period(value, against)[0]

    # --- conditions ---------------------------------------------------------------------

    @singledispatchmethod
    def condition(self, node) -> Term:
        """The SQL condition for a node, dispatched on its type; unknown nodes are refused."""
        if isinstance(node, (ast.Attribute, ast.Arithmetic)):
            raise CQLError("a filter must be a condition, not a value")
        if isinstance(node, ast.Node):
            raise CQLError(f"{_operator(node)} is not supported")
        raise CQLError(f"{_shown(node)} is not a condition")

    @condition.register
    def _boolean(self, node: bool) -> Term:
        return Term(sql.SQL("TRUE" if node else "FALSE"))

    @condition.register
    def _include(self, node: ast.Include) -> Term:
        return Term(sql.SQL("FALSE" if node.not_ else "TRUE"))

    @condition.register
    def _and(self, node: ast.And) -> Term:
        return _compose("({a} AND {b})", a=self.condition(node.lhs), b=self.condition(node.rhs))

    @condition.register
    def _or(self, node: ast.Or) -> Term:
        return _compose("({a} OR {b})", a=self.condition(node.lhs), b=self.condition(node.rhs))

    @condition.register
    def _not(self, node: ast.Not) -> Term:
        return _compose("NOT ({a})", a=self.condition(node.sub_node))

    @condition.register
    def _comparison(self, node: ast.Comparison) -> Term:
        left, right = self.pair(node.lhs, node.rhs)
        _comparable(left, right)
        return _compose(COMPARISONS[type(node)], a=left, b=right)

    @condition.register
    def _between(self, node: ast.Between) -> Term:
        value = _scalar(self.operand(node.lhs))
        low, high = self.operand(node.low, value), self.operand(node.high, value)
        _comparable(value, low)
        _comparable(value, high)
        template = "{a} NOT BETWEEN {b} AND {c}" if node.not_ else "{a} BETWEEN {b} AND {c}"
        return _compose(template, a=value, b=low, c=high)

    @condition.register
    def _like(self, node: ast.Like) -> Term:
        value = self.operand(node.lhs)
        if value.kind != "string":
            raise CQLError(f"LIKE needs a string; {value.label} is {_kind_name(value)}")
        if not isinstance(node.pattern, str):
            raise CQLError("the LIKE pattern must be a string literal")
        pattern = _literal(_like_pattern(node), value)
        operator = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return _compose("{a} " + operator + " {b} ESCAPE '\\'", a=value, b=pattern)

    @condition.register
    def _in(self, node: ast.In) -> Term:
        value = _scalar(self.operand(node.lhs))
        if not node.sub_nodes:
            raise CQLError("IN needs at least one value")
        items = {f"i{n}": self.operand(item, value) for n, item in enumerate(node.sub_nodes)}
        for item in items.values():
            _comparable(value, item)
        listed = ", ".join("{%s}" % name for name in items)
        template = "{a} " + ("NOT IN" if node.not_ else "IN") + " (" + listed + ")"
        return _compose(template, a=value, **items)

    @condition.register
    def _is_null(self, node: ast.IsNull) -> Term:
        if _is_literal(node.lhs):
            raise CQLError("IS NULL needs a property")
        template = "{a} IS NOT NULL" if node.not_ else "{a} IS NULL"
        return _compose(template, a=self.operand(node.lhs))

    @condition.register
    def _temporal(self, node: ast.TemporalPredicate) -> Term:
        template = TEMPORAL.get(type(node))
        if template is None:
            raise CQLError(f"{_operator(node)} is not supported")
        if _is_literal(node.lhs) and not _is_literal(node.rhs):
            (b2, e2) = self.period(node.rhs, None)
            (b1, e1) = self.period(node.lhs, b2)
        else:
            (b1, e1) = self.period(node.lhs, None)
            (b2, e2) = self.period(node.rhs, b1)
        return _compose(f"({template})", b1=b1, e1=e1, b2=b2, e2=e2)

    @condition.register
    def _spatial(self, node: ast.SpatialComparisonPredicate) -> Term:
        return _compose(SPATIAL[type(node)], a=self.geometry(node.lhs),
                        b=self.geometry(node.rhs))

    @condition.register
    def _relate(self, node: ast.Relate) -> Term:
        if not isinstance(node.pattern, str) or not RELATE_PATTERN.match(node.pattern):
            raise CQLError("the RELATE pattern must be 9 characters of 0, 1, 2, T, F or *")
        pattern = Term(sql.SQL("%s::text"), (node.pattern.upper(),), "string")
        return _compose("ST_Relate({a}, {b}, {p})", a=self.geometry(node.lhs),
                        b=self.geometry(node.rhs), p=pattern)

    @condition.register
    def _distance(self, node: ast.SpatialDistancePredicate) -> Term:
        metres = Term(sql.SQL("%s::float8"), (_metres(node.distance, node.units),), "number")
        template = "ST_DWithin({a}, {b}, {d})"
        if isinstance(node, ast.DistanceBeyond):
            template = f"NOT {template}"
        return _compose(template, a=self.geometry(node.lhs, metric=True),
                        b=self.geometry(node.rhs, metric=True), d=metres)

    @condition.register
    def _bbox(self, node: ast.BBox) -> Term:
        _check_crs(node.crs)
        box = _envelope(node.minx, node.miny, node.maxx, node.maxy)
        return _compose("ST_Intersects({a}, {b})", a=self.geometry(node.lhs), b=box)

    @condition.register
    def _array(self, node: ast.ArrayPredicate) -> Term:
        return _compose(ARRAYS[type(node)], a=self.array(node.lhs), b=self.array(node.rhs))
