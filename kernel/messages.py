"""Client messages in Arabic and English: templates with named parameters, and the language.

gettext's model without .po files: the English template is the message id (what the code
raises, what the log and the English client read), each package's catalogue
(`<package>/messages.py`, `MESSAGES`) maps it to its Arabic template, and the values are
inserted into whichever template is chosen (`str.format` fields, `{name}`, `{limit:,}`,
`{value!r}`). A value that is itself words, not data (a kind of value, a unit), is a `Phrase`,
which has a form in each language. `tests/test_error_languages.py` fails on any raise site
whose message is not a catalogued template, and on any entry whose fields differ.

The language of an answer: a valid `lang` query parameter (`ar`, `en`) wins, then the first
of Arabic and English the client's Accept-Language prefers (q-values honoured), else Arabic,
the platform's default (as on the web map). Anything malformed falls through, never fails.
"""
from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

LOGGER = logging.getLogger(__name__)

LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "ar"

Catalogue = Mapping[str, str]   # English template → Arabic template

# The language of the answer to the request being served, for code that does not see the
# request (pygeoapi's exception documents): set by geoserver.ogc.call for its call only.
ANSWER_LANGUAGE: ContextVar[str] = ContextVar("amanat_answer_language", default=DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Phrase:
    """A value given in words, with its Arabic and English form (inserted per language)."""

    ar: str
    en: str

    def __str__(self) -> str:
        """The English form (what the log shows)."""
        return self.en

    @classmethod
    def of(cls, value) -> Phrase:
        """A Phrase as is; any other value the same in both languages."""
        return value if isinstance(value, Phrase) else cls(str(value), str(value))


class Texts(str):
    """A message as its English text (what it is as a str), carrying both languages (and the
    title of its kind in both, when known)."""

    texts: dict[str, str]
    titles: dict[str, str] | None

    def __new__(cls, texts: Mapping[str, str], titles: Mapping[str, str] | None = None):
        """The English text, with `texts` ({"ar": ..., "en": ...}) and `titles` kept."""
        made = super().__new__(cls, texts["en"])
        made.texts, made.titles = dict(texts), dict(titles) if titles else None
        return made


class Templated(Exception):
    """An exception whose message is a catalogued template and its named values."""

    default_message = "error"

    def __init__(self, message: str | None = None, /, **params):
        """Keep the template and its values; `message` is the English text."""
        self.template = message or self.default_message
        self.params = params
        self.message = render(self.template, params, "en")
        super().__init__(self.message)

    def text(self, language: str, catalogue: Catalogue) -> str:
        """The message in `language` ("ar" or "en")."""
        return render(self.template, self.params, language, catalogue)


def N_(template: str) -> str:
    """Mark a template kept in a table for the catalogue check (gettext's `N_`): the text."""
    return template


def render(template: str, params: Mapping, language: str,
           catalogue: Catalogue | None = None) -> str:
    """A template in `language` with its values inserted; English if no Arabic is known."""
    chosen = template
    if language == "ar":
        chosen = (catalogue or {}).get(template)
        if chosen is None:
            LOGGER.warning("no Arabic text for the message %r", template)
            chosen = template
    values = {name: in_language(value, language) for name, value in params.items()}
    try:
        return chosen.format(**values) if params or "{" in chosen else chosen
    except (KeyError, IndexError, ValueError):
        LOGGER.error("message %r does not take the values %s", chosen, sorted(values))
        return template


def in_language(value, language: str):
    """A value as inserted into a template of `language` (a Phrase in that language)."""
    if isinstance(value, Phrase):
        return value.ar if language == "ar" else value.en
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], Phrase):
        return _joined([in_language(v, language) for v in value], language)
    return value


def _joined(words: list[str], language: str) -> str:
    """Words joined as a list in `language`."""
    return ("، " if language == "ar" else ", ").join(words)


def fields(template: str) -> set[str]:
    """The names of the fields a template takes (ValueError if it is malformed)."""
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template) if name is not None}


_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$|^\*$")


def language(lang: str | None = None, accept_language: str | None = None) -> str:
    """The language of an answer: `lang` if valid, else Accept-Language, else Arabic."""
    if isinstance(lang, str) and lang.strip().lower() in LANGUAGES:
        return lang.strip().lower()
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for tag, q in _ranges(accept_language or ""):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def _ranges(header: str):
    """(language range, q) of an Accept-Language header, malformed items skipped."""
    for item in header[:1000].split(",")[:30]:
        tag, _, params = item.strip().partition(";")
        tag, q = tag.strip(), 1.0
        if not _TAG.match(tag):
            continue
        key, _, value = params.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                continue
            if not 0.0 <= q <= 1.0:
                continue
        yield tag, q


class Reader:
    """Reads a stored English message back as its template and values (a job's message is
    stored as text): both languages of it, when a catalogue template matches."""

    def __init__(self, catalogue: Catalogue):
        """Compile the catalogue's templates that take values (longest first)."""
        self.catalogue = catalogue
        self.patterns = [(re.compile(_pattern(english), re.DOTALL), english)
                         for english in sorted(catalogue, key=len, reverse=True)
                         if fields(english)]

    def texts(self, english: str | None) -> dict[str, str | None]:
        """{"ar", "en"} of a stored message (the English in both when nothing matches)."""
        if english is None or english in self.catalogue:
            return {"ar": self.catalogue.get(english, english), "en": english}
        for pattern, template in self.patterns:
            found = pattern.fullmatch(english)
            if found:   # a value that is itself a catalogued message is read in Arabic too
                values = {name: self.catalogue.get(value, value)
                          for name, value in found.groupdict().items()}
                return {"ar": _filled(self.catalogue[template], values), "en": english}
        return {"ar": english, "en": english}


def _pattern(template: str) -> str:
    """A regular expression matching what `template` renders to, a group per field."""
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    return "".join(parts)


def _filled(template: str, values: Mapping[str, str]) -> str:
    """`template` with each field replaced by the text it had (no conversion applied again)."""
    return "".join(literal + (values.get(name, "") if name is not None else "")
                   for literal, name, _, _ in string.Formatter().parse(template))


def merged(*catalogues: Catalogue) -> dict[str, str]:
    """One catalogue from several (a later one wins for a shared template)."""
    result: dict[str, str] = {}
    for catalogue in catalogues:
        result.update(catalogue)
    return result
