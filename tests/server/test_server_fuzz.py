"""Fuzz a live ``mlcask server`` from its own OpenAPI document with Schemathesis.

Every operation the document describes (tracking, logged models, registry) is called with
generated requests that fit the document (positive) and that break it (negative). No
request may get a 5xx: bad input is the client's fault, never a crash. The server has a
few real experiments, runs and models first, so generated ids sometimes hit something. A server
with ``--app-name basic-auth`` is fuzzed too, as the admin, over its document with the auth
endpoints (users, grants, roles, tokens).
Bounded (derandomized, a few cases per operation and mode): raise MLCASK_FUZZ_EXAMPLES
for a longer hunt.
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from tests.server.conftest import launch
from tests.support import postgres_database

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("MLCASK_FUZZ_EXAMPLES", "8"))
OPENAPI = "/api/2.0/mlflow/openapi.json"


ADMIN = ("admin", "Fuzz-admin-pass-1")


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "sqlite-basic-auth"])
def live(request, tmp_path_factory):
    """A server with a few real experiments, runs and models, on SQLite and on PostgreSQL (whose
    column types and encodings refuse more than SQLite's), and one with basic-auth whose document has
    the auth endpoints too, called as the admin."""
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        auth = request.param.endswith("basic-auth")
        options = {"args": ["--app-name", "basic-auth"], "env": {"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN[1]}} if auth else {}
        server = launch(tmp_path_factory.mktemp(f"fuzz-{request.param}"), backend_store_uri=backend, **options)
        stack.callback(server.stop)
        server.credentials = ADMIN if auth else None
        server.client.auth = server.credentials
        _seed(server)
        yield server


def _seed(server) -> None:
    api = server.api
    experiment_id = api("POST", "/experiments/create", json={"name": "fuzz"}).json()["experiment_id"]
    run = api("POST", "/runs/create", json={"experiment_id": experiment_id}).json()["run"]
    api("POST", "/runs/log-metric", json={"run_id": run["info"]["run_id"], "key": "m", "value": 1, "timestamp": 1})
    api("POST", "/logged-models", json={"experiment_id": experiment_id, "name": "fuzz-model"})
    api("POST", "/registered-models/create", json={"name": "fuzz-model"})


def _operations(live) -> list:
    headers = {"authorization": live.client.get("/health").request.headers["authorization"]} if live.credentials else {}
    schema = schemathesis.openapi.from_url(live.url + OPENAPI, headers=headers)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, mode, base_url: str, session, failures: list[str], statuses: list[int]) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, session=session, timeout=30)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{operation.label} [{mode}] -> {response.status_code} {response.text[:300]!r}\n"
                            f"  {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:
        if mode != "negative":  # an operation with nothing to get wrong has no negative cases
            raise


def test_the_document_describes_every_endpoint(live):
    labels = {operation.label for operation in _operations(live)}
    assert {"POST /api/2.0/mlflow/runs/log-batch", "GET /api/2.0/mlflow/experiments/search",
            "PATCH /api/2.0/mlflow/logged-models/{model_id}", "POST /api/2.0/mlflow/registered-models/create",
            "GET /api/3.0/mlflow/server-info"} <= labels
    auth = {"POST /api/2.0/mlflow/users/create", "POST /api/3.0/mlflow/users/permissions/grant",
            "POST /api/3.0/mlflow/roles/create"}
    assert auth <= labels if live.credentials else not auth & labels


def test_no_server_errors_for_any_generated_request(live):
    import requests
    from schemathesis import GenerationMode

    failures: list[str] = []
    statuses: list[int] = []
    started = time.monotonic()
    with requests.Session() as session:
        session.auth = live.credentials
        for operation in _operations(live):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, live.url, session, failures, statuses)
    assert not failures, "the server answered 5xx:\n" + "\n".join(dict.fromkeys(failures))
    assert "Traceback" not in live.log()
    assert time.monotonic() - started < 240
    # the calls were made as the admin, who is still signed in at the end (no request locked it out)
    assert statuses.count(401) < len(statuses) // 20, f"{statuses.count(401)} of {len(statuses)} answered 401"
    assert live.api("GET", "/experiments/search").status_code == 200
