"""Helpers of the Processes tests (tests/test_processing_api.py, tests/test_processes_owslib.py)."""
PROCESSES = ("parcel-check", "license-site-check", "batch-compliance")


def execute(client, process, inputs, auth=None, **headers):
    """POST an execution request (with `auth` headers: batch-compliance needs an analyst)."""
    return client.post(f"/ogc/processes/{process}/execution", json={"inputs": inputs},
                       headers={**headers, **(auth or {})})


def _job_id(response) -> str:
    """The job id of an execution response's Location header."""
    return response.headers["location"].rsplit("/", 1)[-1]
