"""The functions a CQL2 filter may call: CASEI and ACCENTI, as SQL, and their descriptions.

CASEI is `lower()` (the database's UTF-8 character classes: Latin, Greek, Cyrillic ... fold;
Arabic has no case). ACCENTI removes what the web map search removes and folds what it folds
(migration 0005 `amanat_search_text`, whose tables are reused here: alef forms أ إ آ ٱ → ا,
ى ی ئ → ي, ؤ → و, ة → ه, Persian kaf → ك, Arabic-Indic digits → ASCII; harakat U+064B–U+065F,
superscript alef U+0670 and tatweel U+0640 dropped) plus Latin accents (é → e, Ä → A).
Unlike the search it neither lowers case (CASEI does) nor touches punctuation, so LIKE
wildcards survive it and `ACCENTI(CASEI(x))` composes as CQL2 says.
"""
import importlib
import unicodedata

from psycopg import sql

from layers.cql_terms import CQLError, Term, compose, kind_name, wrapped

__all__ = ["FUNCTIONS", "call", "describe", "known"]

_SEARCH = importlib.import_module("layers.migrations.versions.0005_search")


def _latin_accents() -> dict[str, str]:
    """Latin letters with accents (U+00C0–U+024F) → their unaccented ASCII letter."""
    folded = {}
    for code in range(0x00C0, 0x0250):
        letter = chr(code)
        parts = unicodedata.normalize("NFD", letter)
        if len(parts) > 1 and parts[0].isascii() and all(
                unicodedata.combining(mark) for mark in parts[1:]):
            folded[letter] = parts[0]
    return folded


ACCENT_FOLDS = {**_SEARCH.FOLDED, **_SEARCH.DIGITS, **_latin_accents()}
ACCENT_MARKS = "[\u0300-\u036f\u064b-\u065f\u0670\u0640]"   # combining marks, harakat, tatweel
ACCENTI_SQL = sql.SQL("regexp_replace(translate({}, {}, {}), {}, '', 'g')")

FUNCTIONS = {
    "casei": {
        "description": {"en": "The string in lower case, for case-insensitive comparison.",
                        "ar": "النص بأحرف صغيرة، للمقارنة دون اعتبار حالة الأحرف."},
        "arguments": [{"title": "text", "type": ["string"]}], "returns": ["string"]},
    "accenti": {
        "description": {"en": "The string without accents, Arabic diacritics (harakat) or "
                              "tatweel, with alef, yeh and teh marbuta forms folded as the map "
                              "search folds them, for accent-insensitive comparison.",
                        "ar": "النص دون علامات التشكيل والتطويل، مع توحيد أشكال الألف والياء "
                              "والتاء المربوطة كما يوحّدها بحث الخريطة، للمقارنة دون اعتبار "
                              "التشكيل."},
        "arguments": [{"title": "text", "type": ["string"]}], "returns": ["string"]},
}
ALIASES = {"lower": "casei"}   # pygeofilter's own CQL2 parsers (pygeoapi's HTML items) say lower


def known(name: str) -> str | None:
    """The canonical name of a function a filter may call, or None."""
    name = name.lower()
    name = ALIASES.get(name, name)
    return name if name in FUNCTIONS else None


def check_arity(name: str, count: int) -> str:
    """The canonical name of a call with `count` arguments, or a CQLError naming the function."""
    canonical = known(name)
    if canonical is None:
        raise CQLError("unknown function {name!r}; the functions filters may call are: "
                       "{names} (see /ogc/functions)", name=name,
                       names=", ".join(f.upper() for f in FUNCTIONS))
    wanted = len(FUNCTIONS[canonical]["arguments"])
    if count != wanted:
        given = {"function": canonical.upper(), "wanted": wanted, "count": count}
        raise (CQLError("{function} takes {wanted} argument, not {count}", **given)
               if wanted == 1 else
               CQLError("{function} takes {wanted} arguments, not {count}", **given))
    return canonical


def call(name: str, args: list[Term]) -> Term:
    """The SQL of a call whose arguments are translated (arity checked by `check_arity`)."""
    canonical = check_arity(name, len(args))
    (arg,) = args
    if arg.kind != "string":
        raise CQLError("{function} needs a string; {label} is {kind}",
                       function=canonical.upper(), label=arg.label, kind=kind_name(arg))
    label = wrapped(canonical.upper(), arg.label)
    if canonical == "casei":
        return compose("lower({a})", "string", label, a=arg)
    code = ACCENTI_SQL.format(arg.code, sql.Literal("".join(ACCENT_FOLDS)),
                              sql.Literal("".join(ACCENT_FOLDS.values())),
                              sql.Literal(ACCENT_MARKS))
    return Term(code, arg.params, "string", label)


def describe(lang: str = "en") -> dict:
    """The /functions document of OGC API Features Part 3, descriptions in `lang` (ar or en)."""
    return {"functions": [
        {"name": name.upper(), "description": spec["description"][lang],
         "arguments": spec["arguments"], "returns": spec["returns"]}
        for name, spec in FUNCTIONS.items()]}
