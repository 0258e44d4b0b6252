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
import re
from datetime import date, timedelta
from functools import singledispatchmethod

import shapely
import shapely.errors
import shapely.geometry
import shapely.validation
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.cql2 import get_op

from layers import cql_functions
from layers.catalogue import Layer
from layers.cql_parse import IntDiv, Mod, Power
from layers.cql_terms import CQLError, Term, field_kind, inferred_kind, kind_name, literal, number
from layers.cql_terms import compose as _compose
from layers.cql_terms import shown as _shown
from kernel.messages import Phrase

__all__ = ["CQLError", "to_sql"]

UTM = 32639
FAMILIES = {"integer": "number", "number": "number", "date": "time", "date-time": "time",
            "string": "string", "boolean": "boolean"}
COMPARISONS = {ast.Equal: "{a} = {b}", ast.NotEqual: "{a} <> {b}", ast.LessThan: "{a} < {b}",
               ast.LessEqual: "{a} <= {b}", ast.GreaterThan: "{a} > {b}",
               ast.GreaterEqual: "{a} >= {b}"}
ARITHMETIC = {ast.Add: "({a} + {b})", ast.Sub: "({a} - {b})", ast.Mul: "({a} * {b})",
              ast.Div: "({a}::numeric / NULLIF({b}, 0))", Mod: "mod({a}, NULLIF({b}, 0))",
              IntDiv: "div({a}::numeric, NULLIF({b}, 0)::numeric)",
              Power: "power({a}::numeric, {b}::numeric)"}
DIVISIONS = (ast.Div, Mod, IntDiv)
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


DEFAULT_MAX_VERTICES = 10_000


def to_sql(node, layer: Layer, max_vertices: int = DEFAULT_MAX_VERTICES
           ) -> tuple[sql.Composable, list]:
    """Translate a pygeofilter AST into one SQL condition on alias `t` and its parameters;
    a geometry literal may have at most `max_vertices` vertices."""
    term = _Translator(layer, max_vertices).condition(node)
    return term.code, list(term.params)



def _is_literal(value) -> bool:
    """Whether an AST operand is a plain value rather than a node."""
    return not isinstance(value, ast.Node)


def _operator(node) -> Phrase:
    """The CQL2 name of a node's operator, for messages (in both languages)."""
    if isinstance(node, ast.Function):
        return Phrase(f"الدالة {node.name!r}", f"function {node.name!r}")
    if isinstance(node, (ast.TemporalPredicate, ast.SpatialComparisonPredicate,
                         ast.ArrayPredicate, ast.Comparison, ast.Arithmetic)):
        op = (get_op(node) or getattr(node.op, "value", node.op)).upper()
    else:
        op = type(node).__name__.upper()
    return Phrase(f"العامل {op}", f"operator {op}")


def _comparable(left: Term, right: Term) -> None:
    """Refuse to compare operands of different kinds (a number with a string, ...)."""
    family = FAMILIES.get(left.kind)
    if family is None or family != FAMILIES.get(right.kind):
        raise CQLError("cannot compare {left} ({left_kind}) with {right} ({right_kind})",
                       left=left.label, left_kind=kind_name(left), right=right.label,
                       right_kind=kind_name(right))


def _scalar(term: Term) -> Term:
    """A term usable with =, <, BETWEEN, IN; geometries and arrays have their own operators."""
    if term.kind == "geometry":
        raise CQLError("{label} is a geometry: use a spatial operator such as "
                       "S_INTERSECTS or S_EQUALS", label=term.label)
    if term.kind == "array":
        raise CQLError("{label} is an array: use A_CONTAINS, A_CONTAINEDBY, "
                       "A_OVERLAPS or A_EQUALS", label=term.label)
    return term


def _like_pattern(pattern: str, node: ast.Like) -> str:
    """The CQL2 pattern as a PostgreSQL LIKE pattern with backslash as its escape."""
    out, chars = [], iter(pattern)
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
        raise CQLError("geometry literals must be given in CRS84 (lon/lat), not {crs}",
                       crs=_shown(name))


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
    label = Phrase("إحداثيات المستطيل", "envelope coordinates")
    xs = sorted(number(v, label) for v in (minx, maxx))
    ys = sorted(number(v, label) for v in (miny, maxy))
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
        raise CQLError("the geometry literal has more than {limit:,} vertices", limit=max_vertices)
    if not shape.is_valid:
        reason = shapely.validation.explain_validity(shape)
        raise CQLError("the geometry literal is not valid: {reason}", reason=reason)
    _lon_lat(*shape.bounds)
    term = Term(sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON(%s::text), 4326)"),
                (shapely.to_geojson(shape),), "geometry", "the geometry literal")
    return _metric(term) if metric else term


def _metres(distance, units) -> float:
    """A non-negative distance converted to metres."""
    factor = UNITS.get(units.lower() if isinstance(units, str) else units)
    if factor is None:
        raise CQLError("unknown distance unit {unit}; use metres", unit=_shown(units))
    metres = number(distance, Phrase("المسافة", "the distance")) * factor
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

    def column(self, name: str, kind: str, label: str | Phrase) -> Term:
        """A column of alias `t`."""
        return Term(sql.SQL("t.{}").format(sql.Identifier(name)), (), kind, label)

    def property(self, name: str) -> Term:
        """A property resolved against the catalogue; anything else is unknown."""
        label = Phrase(f"الخاصية {_shown(name)}", f"property {_shown(name)}")
        if name in ("geometry", self.layer.geometry_column):
            return self.column(self.layer.geometry_column, "geometry", label)
        if name == self.layer.id_field:
            return self.column(name, "integer", label)
        schema = self.layer.fields.get(name)
        if schema is None:
            # A personal column's name is not echoed: no response ever carries it.
            queryable = {"layer": self.layer.id, "names": ", ".join(self.queryables())}
            raise (CQLError("unknown property; the queryable properties of {layer} are: {names}",
                            **queryable) if name in self.layer.personal else
                   CQLError("unknown property {name}; the queryable properties of {layer} are: "
                            "{names}", name=_shown(name), **queryable))
        return self.column(name, field_kind(schema), label)

    def operand(self, value, against: Term | None = None) -> Term:
        """An expression or literal; a literal is typed after `against` when given."""
        if isinstance(value, ast.Attribute):
            return self.property(value.name)
        if isinstance(value, ast.Arithmetic):
            return self.arithmetic(value)
        if isinstance(value, ast.Function):
            return self.function(value)
        if isinstance(value, ast.Node):
            raise CQLError("a condition ({operator}) cannot be used as a value",
                           operator=_operator(value))
        if isinstance(value, (values.Geometry, values.Envelope)):
            return _geometry_literal(value, self.max_vertices)
        if against is None:
            against = Term(sql.SQL(""), (), inferred_kind(value), "the value")
        return literal(value, against)

    def pair(self, lhs, rhs) -> tuple[Term, Term]:
        """Two operands of a comparison; a literal is typed after the other side."""
        if _is_literal(lhs) and not _is_literal(rhs):
            right = _scalar(self.operand(rhs))
            return self.operand(lhs, right), right
        left = _scalar(self.operand(lhs))
        return left, self.operand(rhs, left)

    def function(self, node: ast.Function) -> Term:
        """A call of a function of layers.cql_functions; a BBOX(...) call is an envelope."""
        if node.name == "bbox":
            return self.bbox(node)
        name = cql_functions.check_arity(node.name, len(node.arguments))
        string = Term(sql.SQL(""), (), "string", f"the argument of {name.upper()}")
        return cql_functions.call(name, [self.operand(arg, string) for arg in node.arguments])

    def bbox(self, node: ast.Function, metric: bool = False) -> Term:
        """A CQL2 BBOX literal: 4 numbers (or 6, with heights, which are dropped)."""
        coordinates = node.arguments
        if len(coordinates) not in (4, 6):
            raise CQLError("BBOX takes 4 numbers (west, south, east, north) or 6")
        if len(coordinates) == 6:
            coordinates = [coordinates[i] for i in (0, 1, 3, 4)]
        return _envelope(*coordinates, metric=metric)

    def arithmetic(self, node: ast.Arithmetic) -> Term:
        """+, -, *, /, %, div, ^ on numbers (division is exact, and NULL where the divisor is
        zero; div is the integer part of the quotient)."""
        left, right = self.pair(node.lhs, node.rhs)
        for term in (left, right):
            if term.kind not in ("integer", "number"):
                raise CQLError("arithmetic needs numbers; {label} is {kind}", label=term.label,
                               kind=kind_name(term))
        if isinstance(node, DIVISIONS) and _is_literal(node.rhs) and node.rhs == 0:
            raise CQLError("division by zero")
        integral = isinstance(node, IntDiv) or (
            left.kind == right.kind == "integer" and not isinstance(node, (ast.Div, Power)))
        return _compose(ARITHMETIC[type(node)], "integer" if integral else "number",
                        "the arithmetic expression", a=left, b=right)

    def geometry(self, value, metric: bool = False) -> Term:
        """A spatial operand: the layer's geometry or a geometry literal."""
        if isinstance(value, (values.Geometry, values.Envelope)):
            return _geometry_literal(value, self.max_vertices, metric)
        if isinstance(value, ast.Function) and value.name == "bbox":
            return self.bbox(value, metric)
        term = self.operand(value)
        if term.kind != "geometry":
            raise CQLError("spatial operators need geometries; {label} is {kind}",
                           label=term.label, kind=kind_name(term))
        if metric:
            return self.column(self.layer.metric_geometry_column, "geometry", term.label)
        return term

    def array(self, value) -> Term:
        """An array operand: an array property or a list of strings."""
        if isinstance(value, str):   # CQL2 text reads ('a') as 'a': a one-element array
            value = [value]
        if isinstance(value, list):
            return literal(value, Term(sql.SQL(""), (), "array", "an array operand"))
        term = self.operand(value)
        if term.kind != "array":
            raise CQLError("array operators need arrays; {label} is {kind}", label=term.label,
                           kind=kind_name(term))
        return term

    def period(self, value, against: Term | None) -> tuple[Term, Term]:
        """Begin and end of a temporal operand; an instant begins and ends at once."""
        if isinstance(value, values.Interval):
            return self.interval(value, against)
        term = self.operand(value, against)
        if term.kind not in ("date", "date-time"):
            raise CQLError("temporal operators need dates or timestamps; {label} is {kind}",
                           label=term.label, kind=kind_name(term))
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

    def pattern(self, pattern, node: ast.Like, value: Term) -> Term:
        """A LIKE pattern: a string literal, or CASEI / ACCENTI of one."""
        if isinstance(pattern, str):
            return literal(_like_pattern(pattern, node), value)
        if isinstance(pattern, ast.Function) and cql_functions.known(pattern.name):
            name = cql_functions.check_arity(pattern.name, len(pattern.arguments))
            inner = self.pattern(pattern.arguments[0], node, value)
            return cql_functions.call(name, [inner])
        raise CQLError("the LIKE pattern must be a string literal, or CASEI or ACCENTI of one")

    # --- conditions ---------------------------------------------------------------------

    @singledispatchmethod
    def condition(self, node) -> Term:
        """The SQL condition for a node, dispatched on its type; unknown nodes are refused."""
        if isinstance(node, ast.Function) and node.name != "bbox":
            name = cql_functions.check_arity(node.name, len(node.arguments))
            raise CQLError("{function} gives a string; a filter needs a condition",
                           function=name.upper())
        if isinstance(node, (ast.Attribute, ast.Arithmetic, ast.Function)):
            raise CQLError("a filter must be a condition, not a value")
        if isinstance(node, ast.Node):
            raise CQLError("{operator} is not supported", operator=_operator(node))
        raise CQLError("{value} is not a condition", value=_shown(node))

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
            raise CQLError("LIKE needs a string; {label} is {kind}", label=value.label,
                           kind=kind_name(value))
        pattern = self.pattern(node.pattern, node, value)
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
            raise CQLError("{operator} is not supported", operator=_operator(node))
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
