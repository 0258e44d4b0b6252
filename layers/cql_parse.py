"""CQL2 text and CQL2 JSON (OGC 21-065r2) parsed into pygeofilter ASTs, where pygeofilter 0.4.0
parses an older draft.

Text: pygeofilter's grammar, extended by the CQL2 1.0 forms it lacks: array predicates
(A_CONTAINS, A_CONTAINEDBY, A_OVERLAPS, A_EQUALS with `( ... )` array literals), intervals of
dates or with an open end ('..'), and the arithmetic operators %, div and ^. Its CASEI stays
`casei` (pygeofilter renames it `lower`).
JSON: standard documents are rewritten to the forms pygeofilter reads: BETWEEN with three
arguments, CASEI and ACCENTI, functions written as `{"op": name, "args": [...]}`, %, div, ^.
A filter nested deeper than MAX_DEPTH is refused: translation recurses.
"""
import os
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import pygeofilter.parsers
from lark import Lark, v_args
from pygeofilter import ast
from pygeofilter.cql2 import ARRAY_PREDICATES_MAP
from pygeofilter.parsers.cql2_json.parser import walk_cql_json
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

from layers.cql_terms import CQLError

__all__ = ["CQLError", "IntDiv", "MAX_DEPTH", "Mod", "Power", "parse_json", "parse_text"]

MAX_DEPTH = 64
PARSERS = os.path.dirname(pygeofilter.parsers.__file__)
GRAMMAR = os.path.join(PARSERS, "cql2_text", "grammar.lark")
EXTENSIONS = r"""
%extend ?predicate: ARRAY_OP "(" array_operand "," array_operand ")" -> array_predicate

ARRAY_OP.3: "A_CONTAINS"i | "A_CONTAINEDBY"i | "A_OVERLAPS"i | "A_EQUALS"i
?array_operand: expression
              | "(" ")"                                          -> array
              | "(" expression ("," expression)+ ")"             -> array

%override ?interval: "INTERVAL"i "(" _instant "," _instant ")"   -> interval
_instant: "'" DATETIME "'" | "'" DATE "'" | OPEN_END
OPEN_END: "'..'"

%override ?product: power
        | product "*" power                                      -> mul
        | product "/" power                                      -> div
        | product "%" power                                      -> mod
        | product INT_DIV power                                  -> int_div
?power: atom
      | atom "^" power                                           -> power
INT_DIV.3: /div(?![A-Za-z0-9_:.])/i
"""


@dataclass
class Mod(ast.Arithmetic):
    """a % b: the remainder."""

    op: ClassVar[ast.ArithmeticOp] = "%"


@dataclass
class IntDiv(ast.Arithmetic):
    """a div b: the integer quotient."""

    op: ClassVar[ast.ArithmeticOp] = "div"


@dataclass
class Power(ast.Arithmetic):
    """a ^ b."""

    op: ClassVar[ast.ArithmeticOp] = "^"


ARITHMETIC_OPS = {"%": Mod, "div": IntDiv, "^": Power}


@v_args(meta=False, inline=True)
class _Transformer(CQLTransformer):
    """pygeofilter's CQL2 text transformer with the extended rules."""

    def function(self, func_name, *expressions):
        """A function call, named as written (lower case)."""
        return ast.Function(func_name.name.lower(), list(expressions))

    def array_predicate(self, op, lhs, rhs):
        """A_CONTAINS, A_CONTAINEDBY, A_OVERLAPS, A_EQUALS."""
        return ARRAY_PREDICATES_MAP[str(op).lower()](lhs, rhs)

    def array(self, *items):
        """An array literal."""
        return list(items)

    def OPEN_END(self, token):
        """'..': an interval's open end."""
        return None

    def mod(self, lhs, rhs):
        return Mod(lhs, rhs)

    def int_div(self, lhs, _, rhs):
        return IntDiv(lhs, rhs)

    def power(self, lhs, rhs):
        return Power(lhs, rhs)


@cache
def _text_parser() -> Lark:
    """The extended CQL2 text parser (built once, on first use)."""
    with open(GRAMMAR, encoding="utf-8") as grammar:
        text = grammar.read() + EXTENSIONS
    return Lark(text, parser="lalr", maybe_placeholders=False, transformer=_Transformer(),
                import_paths=[PARSERS])


def parse_text(text: str):
    """A CQL2 text filter as a pygeofilter AST; ValueError-like exceptions on bad syntax."""
    if text.strip().lower() in ("true", "false"):   # a filter that is one boolean literal
        return text.strip().lower() == "true"
    node = _text_parser().parse(text)
    _check_depth(node)
    return node


def parse_json(document):
    """A CQL2 JSON filter (already decoded) as a pygeofilter AST."""
    _check_depth(document)
    return walk_cql_json(_standard(document))


def _standard(node):
    """A CQL2 1.0 JSON document rewritten bottom-up into what pygeofilter 0.4.0 reads (which
    also reads a bbox [west, south, east, north] as Envelope(x1, x2, y1, y2): a BBOX call
    here, as CQL2 text gives it)."""
    if isinstance(node, list):
        return [_standard(item) for item in node]
    if isinstance(node, dict) and "bbox" in node and isinstance(node["bbox"], list):
        return ast.Function("bbox", list(node["bbox"]))
    if not isinstance(node, dict) or "op" not in node:
        return node
    op, args = node["op"], node.get("args", [])
    if not isinstance(op, str) or not isinstance(args, list):
        raise CQLError("a CQL2 JSON operation needs a string 'op' and a list 'args'")
    args = _standard(args)
    if op in ARITHMETIC_OPS:
        if len(args) != 2:
            raise CQLError("operator {op} needs two arguments", op=op)
        return ARITHMETIC_OPS[op](*(walk_cql_json(arg) for arg in args))
    if op == "between" and len(args) == 3:
        return {"op": op, "args": [args[0], [args[1], args[2]]]}
    if op not in KNOWN_OPS:
        return ast.Function(op.lower(), [walk_cql_json(arg) for arg in args])
    return {**node, "args": args}


KNOWN_OPS = {"and", "or", "not", "isNull", "between", "like", "in", "=", "<>", "!=", "<", "<=",
             ">", ">=", "eq", "ne", "lt", "lte", "gt", "gte", "+", "-", "*", "/",
             "s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps",
             "s_crosses", "s_contains", "t_before", "t_after", "t_meets", "t_metby",
             "t_overlaps", "t_overlappedby", "t_begins", "t_begunby", "t_during", "t_contains",
             "t_ends", "t_endedby", "t_equals", "t_intersects", "a_equals", "a_contains",
             "a_containedby", "a_overlaps"}


def _check_depth(node, depth: int = 0) -> None:
    """Refuse a filter nested deeper than MAX_DEPTH (iteratively: no recursion to abuse)."""
    stack = [(node, 0)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            raise CQLError("the filter is nested more than {depth} levels deep", depth=MAX_DEPTH)
        if isinstance(item, dict):
            stack.extend((value, level + 1) for value in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((value, level + 1) for value in item)
        elif isinstance(item, ast.Node):
            stack.extend((value, level + 1) for value in item.get_sub_nodes())
