"""Domain errors and the one error map at the edge.

Domain errors know nothing about HTTP. Each package publishes a small table, exception class →
`ErrorKind` (HTTP status, OGC exception code, safe Arabic and English title); `create_app` merges
them once into an `ErrorMap`, which every route, the authorisation layer and the pygeoapi
adapters use to answer. The client gets the error's safe message in the OGC exception document,
in its language (kernel.messages.language: `lang`, then Accept-Language, else Arabic):

    {"type": code, "code": code, "title": <the kind's title>, "description": <the message>,
     "descriptions": {"ar": ..., "en": ...}}

`description` and `title` are in the chosen language (also the Content-Language header);
`descriptions` carries the message in both. The log gets the detail. A message is a template
with named values (kernel.messages.Templated), its Arabic in the merged catalogue.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.responses import JSONResponse

from kernel.messages import Catalogue, Templated, language, merged, render

LOGGER = logging.getLogger(__name__)


class AmanatError(Templated):
    """Base of the platform's domain errors; the message (a catalogued template and its
    values, `message` in English) is safe to show a client."""

    default_message = "error"


class Bilingual:
    """Mixin of an error that carries its own Arabic (`message_ar`; `message` is the English),
    for packages that write both beside the raise site instead of in a catalogue (citizens,
    field); ErrorMap.texts reads it when the English is not a catalogued template."""

    message_ar: str = ""

    def text(self, language: str, catalogue) -> str:
        """The message in `language`: its own Arabic, or the English."""
        if language == "ar" and self.message_ar:
            return self.message_ar
        return super().text(language, catalogue)


def literal(text: str) -> str:
    """A message as a template with no fields (a brace from the client stays a brace)."""
    return text.replace("{", "{{").replace("}", "}}")


class NotFound(AmanatError):
    """The thing asked for does not exist."""

    default_message = "not found"


class InvalidInput(AmanatError):
    """The client sent a value that cannot be used."""

    default_message = "invalid request"


class Unavailable(AmanatError):
    """A service the request needs (the database) does not answer."""

    default_message = "the database is not available; try again shortly"


class QueryTooSlow(Unavailable):
    """A statement ran past its time limit and was cancelled."""

    default_message = "the query took too long; narrow it down (smaller bbox, a filter)"


class TooManyRequests(AmanatError):
    """The client asks for more than it may at once; it may retry later."""

    retry_after_s: int | None = None


@dataclass(frozen=True)
class ErrorKind:
    """How an error is answered: HTTP status, OGC exception code, a safe title in both
    languages."""

    status: int
    code: str
    ar: str
    en: str


ErrorTable = dict[type[Exception], ErrorKind]

ERRORS: ErrorTable = {
    NotFound: ErrorKind(404, "NotFound", "غير موجود", "Not found"),
    InvalidInput: ErrorKind(400, "InvalidParameterValue", "قيمة غير صالحة في الطلب",
                            "Invalid parameter value"),
    Unavailable: ErrorKind(503, "ServiceUnavailable", "الخدمة غير متاحة مؤقتًا",
                           "Service unavailable"),
    TooManyRequests: ErrorKind(429, "TooManyRequests", "طلبات كثيرة؛ أعد المحاولة لاحقًا",
                               "Too many requests"),
}
INTERNAL = ErrorKind(500, "NoApplicableCode", "خطأ داخلي؛ تم تسجيله", "Internal error")
INTERNAL_MESSAGE = "internal error; it has been logged"

MESSAGES: Catalogue = {
    "error": "خطأ",
    "not found": "غير موجود",
    "invalid request": "طلب غير صالح",
    "the database is not available; try again shortly":
        "قاعدة البيانات غير متاحة؛ أعد المحاولة بعد قليل",
    "the query took too long; narrow it down (smaller bbox, a filter)":
        "استغرق الاستعلام وقتًا طويلًا؛ ضيّق نطاقه (مربع إحاطة bbox أصغر، أو عامل تصفية)",
    INTERNAL_MESSAGE: "خطأ داخلي؛ تم تسجيله",
}


def prefers_english(accept_language: str | None) -> bool:
    """Whether English is the language of an answer to this Accept-Language."""
    return language(None, accept_language) == "en"


def language_of(scope) -> str:
    """The answer's language for a request (a Starlette Request or an ASGI scope)."""
    scope = getattr(scope, "scope", scope)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")[:4096])
    accept = None
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            accept = value.decode("latin-1")
    return language((query.get("lang") or [None])[0], accept)


def error_document(code: str, texts: dict[str, str], lang: str,
                   title: str | None = None) -> dict:
    """An OGC exception document (type, code, description) in `lang`, with both texts."""
    document = {"type": code, "code": code}
    if title:
        document["title"] = title
    document["description"] = texts[lang]
    document["descriptions"] = texts
    return document


def error_response(status: int, code: str, description: str | dict[str, str],
                   headers: dict | None = None, lang: str = "ar",
                   title: str | None = None) -> JSONResponse:
    """An OGC-style exception document; `description` a text in both languages ({"ar", "en"})
    or, for texts from outside the platform (Starlette), one text given in both."""
    texts = description if isinstance(description, dict) else {"ar": description,
                                                                 "en": description}
    headers = {**(headers or {}), "Content-Language": lang}
    return JSONResponse(error_document(code, texts, lang, title),
                        status_code=status, headers=headers)


class ErrorMap:
    """The merged error tables: the most specific class of an exception decides."""

    def __init__(self, *tables: ErrorTable, messages: tuple[Catalogue, ...] = ()):
        """Merge the tables (a later table may refine an earlier one's class) and the
        message catalogues."""
        table: ErrorTable = {}
        for one in (ERRORS, *tables):
            table.update(one)
        self.table = table
        self.messages = merged(MESSAGES, *messages)

    def __deepcopy__(self, memo):
        """The same map (pygeoapi deep-copies the configuration that carries it)."""
        return self

    def kind_of(self, exc: BaseException) -> ErrorKind | None:
        """The kind of the nearest class in the exception's MRO that a table names."""
        for cls in type(exc).__mro__:
            kind = self.table.get(cls)
            if kind is not None:
                return kind
        return None

    def title(self, exc: BaseException, accept_language: str | None = None,
              lang: str | None = None) -> str:
        """The safe title of an error's kind in the client's language (Arabic by default)."""
        kind = self.kind_of(exc) or INTERNAL
        return kind.en if language(lang, accept_language) == "en" else kind.ar

    def texts(self, exc: BaseException) -> dict[str, str]:
        """The client-safe message of an error in both languages."""
        if isinstance(exc, Templated) and self.kind_of(exc) is not None:
            texts = {lang: exc.text(lang, self.messages) for lang in ("ar", "en")}
            own = getattr(exc, "message_ar", "")   # an error that carries its own Arabic
            if own and exc.template not in self.messages:
                texts["ar"] = own
            return texts
        return {lang: render(INTERNAL_MESSAGE, {}, lang, self.messages) for lang in ("ar", "en")}

    def document(self, exc: BaseException, lang: str) -> dict:
        """The exception document of an error in `lang` (without logging)."""
        kind = self.kind_of(exc) or INTERNAL
        return error_document(kind.code, self.texts(exc), lang, kind.ar if lang == "ar"
                              else kind.en)

    def answer(self, exc: BaseException, scope) -> JSONResponse:
        """The response to an error raised while serving a request (a Request or its ASGI
        scope: its `lang` and Accept-Language choose the language)."""
        return self.response(exc, lang=language_of(scope))

    def response(self, exc: BaseException, accept_language: str | None = None,
                 lang: str | None = None) -> JSONResponse:
        """The exception document of a domain error (500, logged, for anything unforeseen)."""
        kind, chosen = self.kind_of(exc), language(lang, accept_language)
        if kind is None:
            LOGGER.error("unexpected error", exc_info=exc)
            return error_response(500, INTERNAL.code, self.texts(exc), lang=chosen,
                                  title=INTERNAL.ar if chosen == "ar" else INTERNAL.en)
        headers = {}
        retry = getattr(exc, "retry_after_s", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        allow = getattr(exc, "allow", None)
        if allow:
            headers["Allow"] = allow
        return error_response(kind.status, kind.code, self.texts(exc), headers or None,
                              lang=chosen, title=kind.ar if chosen == "ar" else kind.en)


# The Arabic of a pygeoapi message the catalogues do not hold, by OGC code (its English text
# stays in `descriptions.en`; no English is put into the Arabic).
GENERIC_AR = {"InvalidParameterValue": "قيمة غير صالحة في الطلب",
              "MissingParameterValue": "قيمة ناقصة في الطلب",
              "NotFound": "غير موجود", "ResourceNotFound": "غير موجود",
              "NoSuchProcess": "لا توجد عملية بهذا المعرّف",
              "NoSuchJob": "لا توجد مهمة بهذا المعرّف",
              "InvalidRequest": "طلب غير صالح"}
GENERIC_AR_OTHER = "تعذّر إكمال الطلب"


def pygeoapi_texts(description, code: str, errors: ErrorMap | None) -> dict[str, str]:
    """Both texts of a description pygeoapi answers with: a domain error's (kernel.messages.
    Texts), a catalogued pygeoapi message, or its English with a generic Arabic of its code."""
    texts = getattr(description, "texts", None)
    if isinstance(texts, dict):
        return texts
    english = str(description)
    catalogue = errors.messages if errors is not None else MESSAGES
    arabic = catalogue.get(english) or GENERIC_AR.get(code, GENERIC_AR_OTHER)
    return {"ar": arabic, "en": english}


def message_of(exc: BaseException) -> str:
    """The client-safe message of a domain error."""
    return getattr(exc, "message", None) or getattr(exc, "default_message", None) or "error"
