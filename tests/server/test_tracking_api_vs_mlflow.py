"""The same requests to a real ``mlflow server`` (3.17.2) and to ``mlcask server``, side by side.

Each step of one scripted session (experiments, runs, logging, history, search, logged
models, and their refusals) goes to both servers; the HTTP status, the error code and
the shape of the answer (which fields, of which JSON types) must agree. Where mlcask
answers differently on purpose, the step says how, and the test checks that difference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import free_port

pytestmark = [pytest.mark.interop, pytest.mark.slow]

API = "/api/2.0/mlflow"
# Fields MLflow sends that mlcask does not: workspaces (MLflow 3.17's multi-tenancy, always "default" here),
# empty strings for unset fields, the Databricks error details, run outputs and the timestamp/step of a run's
# latest metrics (not held by mlcask's RunData).
MLFLOW_ONLY_FIELDS = {"workspace", "user_id", "model_type", "source_run_id", "sqlstate", "error_class", "outputs",
                      "timestamp", "step"}

# (method, path, request, where to save an id from the answer, how mlcask differs on purpose)
STEPS: list[tuple[str, str, dict[str, Any], str | None, str | None]] = [
    ("POST", "/experiments/create", {"json": {"name": "side", "tags": [{"key": "a", "value": "b"}]}},
     "exp=experiment_id", None),
    ("GET", "/experiments/get", {"params": {"experiment_id": "{exp}"}}, None, None),
    ("GET", "/experiments/get", {"params": {"experiment_id": "99999"}}, None, None),
    ("GET", "/experiments/get", {"params": {"experiment_id": "abc"}}, None, None),
    ("GET", "/experiments/get", {"params": {}}, None, None),
    ("GET", "/experiments/get-by-name", {"params": {"experiment_name": "side"}}, None, None),
    ("GET", "/experiments/get-by-name", {"params": {"experiment_name": "nope"}}, None, None),
    ("POST", "/experiments/create", {"json": {"name": "side"}}, None, None),
    ("POST", "/experiments/create", {"json": {"name": 5}}, None, None),
    ("POST", "/experiments/create", {"json": {}}, None, None),
    ("POST", "/experiments/search", {"json": {"max_results": 1}}, None, None),
    ("POST", "/experiments/search", {"json": {"max_results": 0}}, None, None),
    ("POST", "/experiments/search", {"json": {"max_results": 100000}}, None, None),
    ("GET", "/experiments/search", {"params": {"max_results": 1, "view_type": "ALL"}}, None, None),
    ("POST", "/experiments/update", {"json": {"experiment_id": "{exp}"}}, None, None),
    ("POST", "/experiments/update", {"json": {"experiment_id": "{exp}", "new_name": "side-2"}}, None, None),
    ("POST", "/experiments/set-experiment-tag", {"json": {"experiment_id": "{exp}", "key": "k", "value": "v"}},
     None, None),
    ("POST", "/experiments/delete-experiment-tag", {"json": {"experiment_id": "{exp}", "key": "zz"}}, None, None),
    ("POST", "/runs/create", {"json": {"experiment_id": "{exp}", "start_time": 5, "user_id": "ann",
                                       "tags": [{"key": "t", "value": "1"}]}}, "run=run.info.run_id", None),
    ("GET", "/runs/get", {"params": {"run_id": "{run}"}}, None, None),
    ("GET", "/runs/get", {"params": {"run_id": "nope"}}, None, None),
    ("GET", "/runs/get", {"params": {}}, None, None),
    ("POST", "/runs/log-metric", {"json": {"run_id": "{run}", "key": "m", "value": 1.5, "timestamp": 3, "step": 1}},
     None, None),
    ("POST", "/runs/log-metric", {"json": {"run_id": "{run}", "key": "m", "value": "NaN", "timestamp": 4, "step": 2}},
     None, None),
    ("POST", "/runs/log-metric", {"json": {"run_id": "{run}", "key": "m", "timestamp": 4}}, None, None),
    ("POST", "/runs/log-metric", {"json": {"run_id": "{run}", "key": "m", "value": "x", "timestamp": 4}}, None, None),
    ("POST", "/runs/log-parameter", {"json": {"run_id": "{run}", "key": "p", "value": "1"}}, None, None),
    ("POST", "/runs/log-parameter", {"json": {"run_id": "{run}", "key": "p", "value": "2"}}, None, None),
    ("POST", "/runs/set-tag", {"json": {"run_id": "{run}", "key": "s", "value": "1"}}, None, None),
    ("POST", "/runs/delete-tag", {"json": {"run_id": "{run}", "key": "nope"}}, None, None),
    ("POST", "/runs/log-batch", {"json": {"run_id": "{run}", "metrics": [
        {"key": "b", "value": 1, "timestamp": 1, "step": 0}], "tags": [{"key": "u", "value": "v"}]}}, None, None),
    ("POST", "/runs/log-batch", {"json": {"run_id": "{run}", "params": [{"key": "p", "value": "3"}]}}, None, None),
    ("POST", "/runs/log-batch", {"json": {"run_id": "{run}", "metrics": [
        {"key": "b", "value": 1, "timestamp": 1}] * 1001}}, None, None),
    ("GET", "/runs/get", {"params": {"run_id": "{run}"}}, None, None),
    ("GET", "/metrics/get-history", {"params": {"run_id": "{run}", "metric_key": "m"}}, None, None),
    ("GET", "/metrics/get-history", {"params": {"run_id": "{run}", "metric_key": "m", "max_results": 1}}, None, None),
    ("GET", "/metrics/get-history", {"params": {"run_id": "nope", "metric_key": "m"}}, None,
     "404: mlflow answers an empty history for a run that does not exist"),
    ("GET", "/metrics/get-history-bulk-interval", {"params": {"run_ids": "{run}", "metric_key": "m",
                                                              "max_results": 1}}, None, None),
    ("POST", "/runs/search", {"json": {"experiment_ids": ["{exp}"], "order_by": ["metrics.m DESC"]}}, None, None),
    ("POST", "/runs/search", {"json": {"experiment_ids": ["{exp}"], "filter": "bad filter"}}, None, None),
    ("POST", "/runs/search", {"json": {"experiment_ids": ["{exp}"], "max_results": 50001}}, None, None),
    ("POST", "/runs/update", {"json": {"run_id": "{run}", "status": "FINISHED", "end_time": 9}}, None, None),
    ("POST", "/runs/update", {"json": {"run_id": "{run}", "status": "BAD"}}, None,
     "400: mlflow ignores a status it does not know"),
    ("GET", "/artifacts/list", {"params": {"run_id": "{run}"}}, None, None),
    ("POST", "/logged-models", {"json": {"experiment_id": "{exp}", "name": "lm"}}, "model=model.info.model_id", None),
    ("GET", "/logged-models/{model}", {}, None, None),
    ("GET", "/logged-models/m-nope", {}, None, None),
    ("PATCH", "/logged-models/{model}", {"json": {"model_id": "{model}", "status": "LOGGED_MODEL_READY"}}, None, None),
    ("PATCH", "/logged-models/{model}", {"json": {"status": "LOGGED_MODEL_READY"}}, None,
     "200: mlflow also wants the id of the path in the body"),
    ("PATCH", "/logged-models/{model}/tags", {"json": {"tags": [{"key": "a", "value": "b"}]}}, None, None),
    ("DELETE", "/logged-models/{model}/tags/a", {}, None, None),
    ("DELETE", "/logged-models/{model}/tags/zz", {}, None, None),
    ("POST", "/logged-models/{model}/params", {"json": {"model_id": "{model}", "params": [
        {"key": "a", "value": "b"}]}}, None, None),
    ("POST", "/logged-models/search", {"json": {"experiment_ids": ["{exp}"]}}, None, None),
    ("GET", "/logged-models/{model}/artifacts/directories", {}, None, None),
    ("POST", "/runs/log-inputs", {"json": {"run_id": "{run}", "datasets": [
        {"dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "s"}}]}}, None, None),
    ("POST", "/runs/outputs", {"json": {"run_id": "{run}", "models": [{"model_id": "{model}", "step": 1}]}},
     None, None),
    ("GET", "/runs/get", {"params": {"run_id": "{run}"}}, None, None),
    ("DELETE", "/logged-models/{model}", {}, None, None),
    ("POST", "/runs/delete", {"json": {"run_id": "{run}"}}, None, None),
    ("POST", "/runs/restore", {"json": {"run_id": "{run}"}}, None, None),
    ("POST", "/experiments/delete", {"json": {"experiment_id": "{exp}"}}, None, None),
    ("POST", "/experiments/restore", {"json": {"experiment_id": "{exp}"}}, None, None),
]


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory):
    from bench.mlflow_env import ensure_mlflow_python

    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    python = ensure_mlflow_python()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    with open(folder / "log", "wb") as log:
        process = subprocess.Popen(
            [str(python.parent / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
             "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start:\n{Path(folder / 'log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _shape(value: Any) -> Any:
    """Field names and JSON types (numbers as one type: MLflow writes 1.0, mlcask may write 1)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):  # the shapes of its items, in no order (a NaN metric is a string, others numbers)
        return sorted({repr(_shape(item)): _shape(item) for item in value}.items())
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def _same_shape(ours: Any, theirs: Any, where: str = "") -> list[str]:
    problems = []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in ours.keys() - theirs.keys():
            problems.append(f"{where}{key}: sent by mlcask only")
        for key in theirs.keys() - ours.keys() - MLFLOW_ONLY_FIELDS:
            problems.append(f"{where}{key}: sent by mlflow only")
        for key in ours.keys() & theirs.keys():
            problems += _same_shape(ours[key], theirs[key], f"{where}{key}.")
    elif isinstance(ours, list) and isinstance(theirs, list):
        if bool(ours) != bool(theirs):
            problems.append(f"{where}: one list is empty")
        elif ours:  # every item shape of ours matches one of mlflow's
            for _, item in ours:
                if all(_same_shape(item, other) for _, other in theirs):
                    problems.append(f"{where}[]: {item} is none of mlflow's items {[t for _, t in theirs]}")
    elif ours != theirs:
        problems.append(f"{where}: {ours} vs {theirs}")
    return problems


def _save(ids: dict[str, str], spec: str, body: dict) -> None:
    name, path = spec.split("=")
    for part in path.split("."):
        body = body[part]
    ids[name] = body


def test_same_answers_as_mlflow(mlflow_url, server):
    mlflow, mlcask = httpx.Client(base_url=mlflow_url, timeout=30), server.client
    ids: tuple[dict[str, str], dict[str, str]] = ({}, {})
    problems: list[str] = []
    for method, path, request, save, difference in STEPS:
        answers = []
        for client, known in ((mlflow, ids[0]), (mlcask, ids[1])):
            response = client.request(method, API + _fill(path, known), **_fill(request, known))
            body = response.json()
            answers.append((response.status_code, body))
            if save and response.status_code == 200:
                _save(known, save, body)
        (theirs_status, theirs), (ours_status, ours) = answers
        label = f"{method} {path} {request}"[:160]
        if difference:
            expected = int(difference.split(":")[0])
            if ours_status != expected or theirs_status == expected:
                problems.append(f"{label}: expected mlcask {expected} and mlflow otherwise ({difference}), "
                                f"got {ours_status} and {theirs_status}")
            continue
        if ours_status != theirs_status:
            problems.append(f"{label}: status {ours_status}, mlflow {theirs_status}: {ours} / {theirs}")
        elif ours_status != 200:
            if ours.get("error_code") != theirs.get("error_code"):
                problems.append(f"{label}: error {ours.get('error_code')}, mlflow {theirs.get('error_code')}")
        else:
            problems += [f"{label}: {p}" for p in _same_shape(_shape(ours), _shape(theirs))]
    assert not problems, "\n".join(problems)
