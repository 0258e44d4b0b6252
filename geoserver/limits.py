"""Request limits at the edge: the size of every request body (POST, PUT, PATCH).

A body is refused with 413 before it is read when its Content-Length says it is too large, and
as soon as the bytes streamed so far exceed the bound when it has no (or a false) Content-Length
(chunked uploads): the application then sees a client that disconnected, and whatever it
answers is replaced by the 413. Bodies of process executions have a smaller bound than the rest (inspection
uploads with photos are the largest legitimate bodies; the editing routes keep their own,
tighter per-part limits).
"""
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoserver.errors import ERRORS, PayloadTooLarge
from geoserver.messages import MESSAGES
from kernel.errors import ErrorMap, language_of

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PROCESS_PREFIX = "/ogc/processes/"


class LimitSettings(BaseSettings):
    """Upper bounds on what one request may ask of the server."""

    model_config = SettingsConfigDict(env_prefix="AMANAT_LIMIT_", populate_by_name=True)

    max_body_bytes: int = Field(32 << 20, ge=1024, le=1 << 30)        # any POST/PUT/PATCH body
    max_process_body_bytes: int = Field(1 << 20, ge=1024, le=64 << 20)  # an execute request
    max_filter_vertices: int = Field(10_000, ge=4, le=1_000_000)      # CQL2 geometry literals
    # asynchronous jobs accepted or running per client (admins too): more is a 429
    max_active_jobs_per_client: int = Field(4, ge=1, le=1000)         # processing.jobs.submit


class BodyLimit:
    """ASGI middleware: 413 for a request body larger than its bound."""

    def __init__(self, app, limits: LimitSettings):
        """Wrap `app` with the body bounds of `limits`."""
        self.app, self.limits = app, limits

    def bound(self, path: str) -> int:
        """The largest body accepted on `path`."""
        if path.startswith(PROCESS_PREFIX):
            return min(self.limits.max_process_body_bytes, self.limits.max_body_bytes)
        return self.limits.max_body_bytes

    async def __call__(self, scope, receive, send):
        """Refuse a body that is declared or turns out to be too large."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        limit = self.bound(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _too_large(limit, scope)(scope, receive, send)
        state = {"seen": 0, "over": False, "started": False}

        async def counting_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:   # the app sees a client that went away
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["over"] and not state["started"]:
                return   # whatever the app answers to the cut body, the client gets the 413
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["over"] or state["started"]:
                raise
        if state["over"] and not state["started"]:
            await _too_large(limit, scope)(scope, receive, send)


def _content_length(scope) -> int | None:
    """The declared body length, or None when absent or unreadable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def _too_large(limit: int, scope):
    """The 413 response, in the request's language."""
    refusal = PayloadTooLarge("the request body is larger than {limit:,} bytes", limit=limit)
    return ErrorMap(ERRORS, messages=(MESSAGES,)).response(refusal, lang=language_of(scope))
