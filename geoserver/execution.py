"""POST /ogc/processes/{processId}/execution: who executes, then pygeoapi.

The caller (the principal's subject, or its address) and the per-client job limit are bound to
processing.manager.CALLER for this request; pygeoapi runs in a worker thread that carries the
request's context, so the job manager reads them there. A body that is not a UTF-8 JSON object
is a 400 before pygeoapi sees it (it answered such bodies with a 500; found by fuzzing). When
the job limit refuses the request, the response says when to retry.
"""
from __future__ import annotations

import json

from pygeoapi.api import processes
from starlette.requests import Request
from starlette.responses import Response

from geoserver import ogc
from kernel.errors import InvalidInput
from kernel.principal import owner_of, principal_of
from processing.manager import calling


class Execution:
    """The execution route of one application."""

    def __init__(self, api, max_active_jobs: int):
        """pygeoapi's API and the per-client limit of asynchronous jobs."""
        self.api, self.max_active_jobs = api, max_active_jobs

    async def execute(self, request: Request) -> Response:
        """Run or queue a process for this caller."""
        await _checked_body(request)
        owner = owner_of(principal_of(request.scope), request.scope)
        with calling(owner, self.max_active_jobs) as caller:
            response = await ogc.call(self.api, processes.execute_process, request,
                                      request.path_params["process_id"])
        if caller.retry_after_s is not None:
            response.headers["Retry-After"] = str(caller.retry_after_s)
        return response


async def _checked_body(request: Request) -> None:
    """InvalidInput unless an empty body or a UTF-8 JSON object was sent."""
    body = await request.body()
    if not body:
        return
    try:
        document = json.loads(body)
    except ValueError:   # not UTF-8, or not JSON
        document = None
    if not isinstance(document, dict):
        raise InvalidInput("the request body must be a JSON object (an execute request)")
