"""Fuzz a live ``mlcask server`` from its own OpenAPI document with Schemathesis.

Every operation the document describes (tracking, logged models, registry) is called with
generated requests that fit the document (positive) and that break it (negative). No
request may get a 5xx: bad input is the client's fault, never a crash. The server has a
few real experiments, runs and models first, so generated ids sometimes hit something.
Bounded (derandomized, a few cases per operation and mode): raise MLCASK_FUZZ_EXAMPLES
for a longer hunt.
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from tests.server.conftest import launch, postgres_database

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("MLCASK_FUZZ_EXAMPLES", "8"))
OPENAPI = "/api/2.0/mlflow/openapi.json"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    """A server with a few real experiments, runs and models, on SQLite and on PostgreSQL (whose
    column types and encodings refuse more than SQLite's)."""
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        server = launch(tmp_path_factory.mktemp(f"fuzz-{request.param}"), backend_store_uri=backend)
        stack.callback(server.stop)
        _seed(server)
        yield server


def _seed(server) -> None:
    api = server.api
    experiment_id = api("POST", "/experiments/create", json={"name": "fuzz"}).json()["experiment_id"]
    run = api("POST", "/runs/create", json={"experiment_id": experiment_id}).json()["run"]
    api("POST", "/runs/log-metric", json={"run_id": run["info"]["run_id"], "key": "m", "value": 1, "timestamp": 1})
    api("POST", "/logged-models", json={"experiment_id": experiment_id, "name": "fuzz-model"})
    api("POST", "/registered-models/create", json={"name": "fuzz-model"})


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(url + OPENAPI)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, mode, base_url: str, session, failures: list[str]) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, session=session, timeout=30)
        if response.status_code >= 500:
            failures.append(f"{operation.label} [{mode}] -> {response.status_code} {response.text[:300]!r}\n"
                            f"  {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:
        if mode != "negative":  # an operation with nothing to get wrong has no negative cases
            raise


def test_the_document_describes_every_endpoint(live):
    labels = {operation.label for operation in _operations(live.url)}
    assert {"POST /api/2.0/mlflow/runs/log-batch", "GET /api/2.0/mlflow/experiments/search",
            "PATCH /api/2.0/mlflow/logged-models/{model_id}", "POST /api/2.0/mlflow/registered-models/create"} <= labels


def test_no_server_errors_for_any_generated_request(live):
    import requests
    from schemathesis import GenerationMode

    failures: list[str] = []
    started = time.monotonic()
    with requests.Session() as session:
        for operation in _operations(live.url):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, live.url, session, failures)
    assert not failures, "the server answered 5xx:\n" + "\n".join(dict.fromkeys(failures))
    assert "Traceback" not in live.log()
    assert time.monotonic() - started < 240
