"""Every error message the API returns exists in Arabic and English (issue 13, part 5).

Statically: every place a domain error (kernel.messages.Templated) is made passes a catalogued
template (no f-string, no concatenation), whose Arabic takes the same fields; every table text
marked N_ and every kind's title is in both languages. Over HTTP: a sample of real errors is
Arabic by default, English with `lang=en` or `Accept-Language: en`, and a malformed `lang`
gives Arabic, never a 500.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from kernel.errors import INTERNAL, ErrorMap, language_of
from kernel.messages import Templated, fields, language

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kernel", "layers", "processing", "panoramas", "webmap", "data", "geoserver")
ARABIC = re.compile("[\u0600-\u06ff]")
LATIN_WORD = re.compile(r"(?<![\w.:/+-])[a-z]{4,}(?![\w.:/+-])")   # a word, not an identifier
# A message that is not a literal where the error is made: the expression, and why it is safe.
INDIRECT = {
    "err.template": "a re-raise keeps the original error's template and values",
    "message": "LIBRARY_ERRORS' third column (geoserver.imagery), marked N_",
    "bounded[validator]": "processing.inputs' table of jsonschema bounds, marked N_",
    "text": "processing.single.PROBLEMS' values, checked below",
    "spec.refusals['edit']": "the Spec subclasses' refusals, checked below",
    "spec.refusals['delete']": "the Spec subclasses' refusals, checked below",
    "spec.refusals['reused']": "the Spec subclasses' refusals, checked below",
}


# Raise sites in files this change could not edit, with the templates already catalogued for
# them: remove an entry once its f-string is a template (none left).
PENDING: dict[str, str] = {}


def _modules():
    """Every module of the project's packages, imported."""
    for package in PACKAGES:
        yield importlib.import_module(package)
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if ".migrations" not in info.name:   # alembic scripts, run by alembic only
                yield importlib.import_module(info.name)


MODULES = {module.__name__: module for module in _modules()}


def _templated_classes() -> set[type]:
    """Templated and all its subclasses."""
    found, todo = set(), [Templated]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def _takes_a_message(cls: type) -> bool:
    """Whether a class is made with a message first (TooManyAttempts takes seconds)."""
    first = next(iter(list(inspect.signature(cls.__init__).parameters)[1:]), None)
    return first in (None, "message")


CLASSES = _templated_classes()
CLASS_NAMES = {cls.__name__ for cls in CLASSES if _takes_a_message(cls)}
CATALOGUE = None


def _catalogue() -> dict[str, str]:
    """The merged catalogue the application answers with."""
    global CATALOGUE
    if CATALOGUE is None:
        from geoserver.errors import error_map
        CATALOGUE = error_map().messages
    return CATALOGUE


def _name(func) -> str | None:
    """The called name of a call's function (`X(...)` or `a.b.X(...)`)."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _templates_in(module) -> tuple[list[tuple[str, str]], list[str]]:
    """(where, template) of every message a module passes to a Templated class or marks N_,
    and the problems (f-strings, concatenations, unresolved expressions)."""
    source = inspect.getsource(module)
    path = Path(inspect.getfile(module)).relative_to(ROOT)
    found, problems = [], []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in ("N_", "render") and node.args and isinstance(node.args[0], ast.Constant):
            found.append((f"{path}:{node.lineno}", node.args[0].value))
            continue
        if name not in CLASS_NAMES or not node.args:
            continue
        where, first = f"{path}:{node.lineno}", node.args[0]
        if str(path) in PENDING:
            continue
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append((where, first.value))
        elif isinstance(first, ast.Name) and isinstance(getattr(module, first.id, None), str):
            found.append((where, getattr(module, first.id)))
        elif isinstance(first, ast.JoinedStr):
            problems.append(f"{where}: an f-string; use a template with named values")
        elif isinstance(first, ast.BinOp):
            problems.append(f"{where}: a concatenated message; use a template")
        elif ast.unparse(first) not in INDIRECT:
            problems.append(f"{where}: message {ast.unparse(first)!r} is not a literal template")
    return found, problems


def _all_templates() -> tuple[list[tuple[str, str]], list[str]]:
    """Every template the code raises or marks, and every problem found."""
    found, problems = [], []
    for module in MODULES.values():
        more, wrong = _templates_in(module)
        found += more
        problems += wrong
    for cls in CLASSES:
        if "default_message" in vars(cls) and not getattr(cls, "message_ar", ""):
            # (kernel.errors.Bilingual classes carry their own Arabic, `message_ar`)
            found.append((f"{cls.__module__}.{cls.__name__}", cls.default_message))
    found += _indirect_templates()
    return found, problems


def _indirect_templates() -> list[tuple[str, str]]:
    """The messages kept in tables and raised through a variable (INDIRECT)."""
    from layers.feature_rules import Spec
    from processing.single import PROBLEMS
    found = [("processing.single.PROBLEMS", text) for text in PROBLEMS.values()]
    specs = [Spec, *Spec.__subclasses__()]
    found += [(f"{spec.__name__}.refusals", text) for spec in specs
              for text in spec.refusals.values()]
    return found


def test_every_raised_message_is_a_template_not_an_fstring():
    _, problems = _all_templates()
    assert not problems, "\n".join(problems)


def test_every_raised_message_has_an_arabic_form():
    found, _ = _all_templates()
    catalogue = _catalogue()
    missing = sorted({f"{where}: {template!r}" for where, template in found
                      if template not in catalogue})
    assert not missing, f"{len(missing)} messages without Arabic:\n" + "\n".join(missing)


def test_every_arabic_form_takes_the_same_values_and_is_arabic():
    wrong = []
    for english, arabic in _catalogue().items():
        if fields(english) != fields(arabic):
            wrong.append(f"{english!r}: fields {sorted(fields(english))} vs "
                         f"{sorted(fields(arabic))}")
        if not ARABIC.search(arabic):
            wrong.append(f"{english!r}: the Arabic {arabic!r} has no Arabic letters")
        prose = LATIN_WORD.findall(re.sub(r"\{[^}]*\}|`[^`]*`|'[^']*'|\"[^\"]*\"", "", arabic))
        if len(prose) > 3:
            wrong.append(f"{english!r}: the Arabic reads as English: {arabic!r}")
    assert not wrong, "\n".join(wrong)


def test_every_template_renders_in_both_languages():
    for english, arabic in _catalogue().items():
        values = {name: 1 for name in fields(english)}
        english.format(**values) if values else english.format()
        arabic.format(**values) if values else arabic.format()


def test_every_error_kind_has_an_arabic_and_an_english_title():
    from geoserver.errors import error_map
    kinds = [*error_map().table.values(), INTERNAL]
    assert all(ARABIC.search(kind.ar) and kind.en and not ARABIC.search(kind.en)
               for kind in kinds)


# --- choosing the language ---------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "accept", "chosen"), [
    (None, None, "ar"), ("en", None, "en"), ("ar", "en", "ar"), ("EN", None, "en"),
    (None, "en", "en"), (None, "en-GB,en;q=0.9", "en"), (None, "ar-SA", "ar"),
    (None, "fr, en;q=0.8, ar;q=0.5", "en"), (None, "fr, ar;q=0.9, en;q=0.8", "ar"),
    (None, "en;q=0", "ar"), ("en", "ar", "en"), ("zz", None, "ar"), ("<x>", None, "ar"),
    ("zz", "en", "en"), (None, "*", "ar"), (None, "en;q=abc, <>;;", "ar"), (None, "", "ar"),
    (None, ";,;,", "ar"), (None, "en;q=2", "ar")])
def test_the_language_is_lang_then_accept_language_then_arabic(lang, accept, chosen):
    assert language(lang, accept) == chosen


def test_the_language_of_a_scope_reads_its_query_and_header():
    scope = {"query_string": b"a=1&lang=en", "headers": [(b"accept-language", b"ar")]}
    assert language_of(scope) == "en"
    assert language_of({"query_string": b"lang=%FF%00", "headers": []}) == "ar"


def test_values_go_into_both_languages():
    from kernel.errors import InvalidInput
    err = InvalidInput("bbox must be 4 or 6 comma-separated numbers")
    texts = ErrorMap(messages=({err.template: "يجب أن يكون bbox أربعة أرقام أو ستة"},)).texts(err)
    assert texts == {"ar": "يجب أن يكون bbox أربعة أرقام أو ستة",
                     "en": "bbox must be 4 or 6 comma-separated numbers"}


# --- over HTTP -----------------------------------------------------------------------------------

ITEMS = "/ogc/collections/parcels/items"
LICENCES = "/ogc/collections/licenses/items"


def _get(path: str, params: dict | None = None):
    """A sender of GET `path` with `params` (and the test's own parameters and headers)."""

    def send(client, lang_params: dict | None = None, headers: dict | None = None):
        return client.get(path, params={**(params or {}), **(lang_params or {})},
                          headers=headers or {})

    return send


def _bad_token(client, lang_params: dict | None = None, headers: dict | None = None):
    return client.get(ITEMS, params=lang_params or {},
                      headers={"Authorization": "Bearer not-a-token", **(headers or {})})


def _execute(inputs: dict):
    """A sender of a parcel-check execution with `inputs`."""

    def send(client, lang_params: dict | None = None, headers: dict | None = None):
        return client.post("/ogc/processes/parcel-check/execution", params=lang_params or {},
                           json={"inputs": inputs}, headers=headers or {})

    return send


_bad_bbox = _get(ITEMS, {"bbox": "1,2,3"})


BAD = "InvalidParameterValue"
NO_JOB = "/ogc/jobs/00000000-0000-0000-0000-000000000000"
SAMPLE = {   # name: (request, status, code, an English and an Arabic piece of the message)
    "bad bbox": (_bad_bbox, 400, BAD, "4 or 6", "أربعة أرقام أو ستة"),
    "unknown collection": (_get("/ogc/collections/no-such-thing/items"), 404, "NotFound",
                           "no collection", "لا توجد مجموعة"),
    "bad token": (_bad_token, 401, "Unauthorized", "the token is not", "رمز الدخول"),
    "CQL2 parse error": (_get(ITEMS, {"filter": "zoning_code = = 'R1'"}), 400, BAD,
                         "not valid cql2-text", "ليس بصيغة cql2-text"),
    "CQL2 type error": (_get(ITEMS, {"filter": "area_m2 = 'big'"}), 400, BAD,
                        "property 'area_m2' is a number; 'big' is not",
                        "الخاصية 'area_m2' عدد؛ و'big' ليس كذلك"),
    "process error": (_execute({"parcel_no": "NO-SUCH-PARCEL"}), 404, "NotFound",
                      "no parcel numbered", "لا توجد قطعة بالرقم"),
    "process input error": (_execute({"parcel_no": "A-1", "floors": 0}), 400, BAD,
                            "must be at least 1", "يجب ألا يقل"),
    "unknown job": (_get(NO_JOB), 404, None, "no job with id", "لا توجد مهمة"),
    "unknown route": (_get("/no/such/route"), 404, "NotFound", "Not Found", "غير موجود"),
}


def _assert_in(response, status: int, code: str | None, piece: str, lang: str):
    """A valid exception document in `lang` with both texts, `piece` in the chosen one."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"type", "code", "description", "descriptions"} <= set(body), body
    if code:
        assert body["code"] == code
    assert set(body["descriptions"]) == {"ar", "en"}
    assert body["description"] == body["descriptions"][lang]
    assert piece in body["description"], body
    assert ARABIC.search(body["descriptions"]["ar"]), body
    assert not ARABIC.search(body["descriptions"]["en"]), body
    assert response.headers["content-language"] == lang


@pytest.mark.parametrize("name", SAMPLE)
def test_an_error_is_arabic_by_default(client, name):
    send, status, code, _, arabic = SAMPLE[name]
    _assert_in(send(client), status, code, arabic, "ar")


@pytest.mark.parametrize("name", SAMPLE)
def test_an_error_is_english_with_lang_en(client, name):
    send, status, code, english, _ = SAMPLE[name]
    _assert_in(send(client, {"lang": "en"}), status, code, english, "en")


@pytest.mark.parametrize("name", SAMPLE)
def test_an_error_is_english_with_accept_language_en(client, name):
    send, status, code, english, _ = SAMPLE[name]
    _assert_in(send(client, headers={"Accept-Language": "en-GB,en;q=0.9"}), status, code,
               english, "en")


@pytest.mark.parametrize("name", ["bad bbox", "process error", "bad token"])
def test_an_error_is_arabic_with_accept_language_ar(client, name):
    send, status, code, _, arabic = SAMPLE[name]
    _assert_in(send(client, headers={"Accept-Language": "ar-SA"}), status, code, arabic, "ar")


@pytest.mark.parametrize("lang", ["zz", "<x>", "", "e" * 500, "%00", "en;q=1", "\u0627"])
@pytest.mark.parametrize("name", ["bad bbox", "process error", "bad token", "unknown route"])
def test_a_malformed_lang_gives_arabic_never_a_500(client, name, lang):
    send, status, code, _, arabic = SAMPLE[name]
    _assert_in(send(client, {"lang": lang}), status, code, arabic, "ar")


def test_lang_wins_over_accept_language(client):
    response = _bad_bbox(client, {"lang": "ar"}, headers={"Accept-Language": "en"})
    _assert_in(response, 400, "InvalidParameterValue", "أربعة أرقام أو ستة", "ar")


def test_a_payload_too_large_is_in_both_languages(client, settings):
    limit = settings.limits.max_process_body_bytes
    body = b" " * (limit + 1)
    response = client.post("/ogc/processes/parcel-check/execution", content=body,
                           headers={"Content-Type": "application/json"})
    _assert_in(response, 413, "PayloadTooLarge", f"{limit:,} بايت", "ar")
    response = client.post("/ogc/processes/parcel-check/execution?lang=en", content=body,
                           headers={"Content-Type": "application/json"})
    _assert_in(response, 413, "PayloadTooLarge", f"larger than {limit:,} bytes", "en")


def test_a_sign_in_refusal_and_a_missing_role_are_in_both_languages(client, auth):
    refused = client.post("/auth/token", json={"username": "nobody", "password": "wrong-1234"})
    _assert_in(refused, 401, "Unauthorized", "اسم المستخدم أو كلمة المرور", "ar")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    anonymous = client.post(LICENCES + "?lang=en", json={"type": "Feature"})
    _assert_in(anonymous, 401, "Unauthorized", "sign in: this needs the role", "en")
    assert "insufficient_scope" not in anonymous.headers["www-authenticate"]
    wrong_role = client.post(LICENCES, json={"type": "Feature"}, headers=auth["analyst"])
    _assert_in(wrong_role, 403, "Forbidden", "يتطلب هذا الطلب الدور", "ar")
    assert 'error="insufficient_scope"' in wrong_role.headers["www-authenticate"]


def test_an_edit_validation_error_is_in_both_languages_and_changes_nothing(client, auth, db):
    from tests.support.accounts import counts, licence

    before = counts(db)
    body = licence(db, floor_area_m2=None)
    body["properties"]["shop_area_m2"] = "large"
    response = client.post(LICENCES, json=body, headers=auth["office"])
    _assert_in(response, 400, "InvalidParameterValue", "يجب أن تكون الخاصية 'shop_area_m2'",
               "ar")
    assert "property 'shop_area_m2' must be a number" in response.json()["descriptions"]["en"]
    assert counts(db) == before


def test_too_many_jobs_is_in_both_languages():
    from geoserver.errors import error_map
    from processing.errors import TooManyJobs
    err = TooManyJobs("too many asynchronous jobs: {active} of yours are accepted or running, "
                      "the most allowed per client; wait for one to finish (or dismiss one) "
                      "and try again.", active=4)
    response = error_map().response(err, lang="ar")
    body = __import__("json").loads(response.body)
    assert response.status_code == 429 and response.headers["retry-after"]
    assert "لديك 4 مقبولة أو جارية" in body["description"]
    assert "4 of yours are accepted or running" in body["descriptions"]["en"]


def test_a_job_status_message_is_in_the_chosen_language_with_both(client, db):
    parcel_no = db.execute("SELECT parcel_no FROM parcels ORDER BY id LIMIT 1").fetchone()[0]
    run = client.post("/ogc/processes/parcel-check/execution",
                      json={"inputs": {"parcel_no": parcel_no}})
    assert run.status_code == 200, run.text
    job = "/ogc/jobs/" + run.headers["location"].rsplit("/", 1)[-1]
    arabic, english = client.get(job).json(), client.get(job, params={"lang": "en"}).json()
    assert arabic["message"] == "اكتملت المهمة" and english["message"] == "done"
    assert arabic["messages"] == english["messages"] == {"ar": "اكتملت المهمة", "en": "done"}


def test_a_stored_job_failure_is_read_back_in_arabic_with_its_values():
    from processing.messages import job_messages
    stalled = ("the worker running this job stopped responding (no heartbeat for 90 s); "
               "the job did not complete")
    assert job_messages().texts(stalled)["ar"] == (
        "توقف العامل الذي ينفّذ هذه المهمة عن الاستجابة (لا نبض منذ 90 ثانية)؛ لم تكتمل المهمة")
    unreadable = job_messages().texts("job 7 failed: the database is not available; try again "
                                      "shortly")
    assert unreadable["ar"] == "فشلت المهمة 7: قاعدة البيانات غير متاحة؛ أعد المحاولة بعد قليل"
    assert job_messages().texts("something else") == {"ar": "something else",
                                                      "en": "something else"}


def test_why_a_certificate_does_not_verify_is_in_the_chosen_language(client):
    forged = "eyJhbGciOiJFZDI1NTE5In0.eyJpZCI6IkFNTi0xIn0.c2lnbmF0dXJl"
    arabic = client.post("/certificates/verify", json={"jws": forged}).json()
    english = client.post("/certificates/verify", params={"lang": "en"},
                          json={"jws": forged}).json()
    assert arabic["valid"] is english["valid"] is False
    assert arabic["reason"] == "التوقيع لا يطابق المحتوى (عُدّل أو ليس صادرًا منا)"
    assert english["reason"] == "the signature does not match the content (altered or not ours)"
    assert arabic["reasons"] == english["reasons"]


def test_a_process_error_from_pygeoapi_carries_its_kinds_title(client):
    response = client.post("/ogc/processes/parcel-check/execution",
                           json={"inputs": {"parcel_no": "NO-SUCH-PARCEL"}})
    assert response.json()["title"] == "غير موجود"
    english = client.post("/ogc/processes/parcel-check/execution", params={"lang": "en"},
                          json={"inputs": {"parcel_no": "NO-SUCH-PARCEL"}})
    assert english.json()["title"] == "Not found"
