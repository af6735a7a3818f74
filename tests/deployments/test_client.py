"""mlcask.deployments' client: target URIs, the scoring payload, PredictionsResponse, the errors that need
no server, and the whole cycle against a real ``mlcask server`` (endpoints, deployments of registered
scikit-learn models, predictions, traffic split, a model update, deletion, the server's errors)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcask.deployments import targets
from mlcask.deployments.base import BaseDeploymentClient, PredictionsResponse
from mlcask.deployments.client import MlcaskDeploymentClient, get_deploy_client, scoring_payload
from mlcask.deployments.targets import get_deployments_target, resolve_target, set_deployments_target
from mlcask.exceptions import InvalidArgumentError, MlcaskException
from tests.support import free_port, point_fluent_at, reset_fluent

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def no_target(monkeypatch, tracking_state):
    """No deployment target set, no MLFLOW_DEPLOYMENTS_TARGET, no tracking URI."""
    monkeypatch.setattr(targets, "_target", None)
    monkeypatch.delenv(targets.TARGET_ENV, raising=False)
    return tracking_state


@pytest.mark.parametrize(("target", "expected"), [
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("https://models.example.com/", "https://models.example.com"),
    ("http://host:8080/prefix/", "http://host:8080/prefix"),
    ("mlcask:/http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("mlcask:/https://host:443/p", "https://host:443/p"),
    ("  http://host:1  ", "http://host:1"),
])
def test_target_forms(target, expected):
    assert resolve_target(target) == expected


@pytest.mark.parametrize("target", ["sqlite:///x.db", "mlcask:/file:///tmp", "ftp://host", "databricks",
                                    "mlcask:/", "http://", "http://host:1/?x=1", "", "   "])
def test_target_that_is_not_a_server(target):
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_target(target)
    message = caught.value.message
    assert "Deployment target" in message and "http(s)://host:port" in message


def test_target_never_shows_a_password():
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_target("ftp://me:secret@host")
    assert "secret" not in caught.value.message


def test_mlcask_target_is_the_tracking_server(no_target, tmp_path):
    no_target(f"sqlite:///{tmp_path}/t.db", tmp_path / "artifacts")
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_target("mlcask")
    message = caught.value.message
    assert "tracking URI" in message and "sqlite:///" in message and "mlcask:/http://host:port" in message
    no_target("http://127.0.0.1:6123/", tmp_path / "artifacts")
    assert resolve_target("mlcask") == "http://127.0.0.1:6123"
    assert get_deploy_client("mlcask").server_url == "http://127.0.0.1:6123"


def test_default_target(no_target, monkeypatch, tmp_path):
    no_target("http://127.0.0.1:6124", tmp_path / "artifacts")
    assert get_deployments_target() == "mlcask"
    assert get_deploy_client().server_url == "http://127.0.0.1:6124"
    monkeypatch.setenv(targets.TARGET_ENV, "http://127.0.0.1:6125")
    assert get_deploy_client().server_url == "http://127.0.0.1:6125"
    set_deployments_target("mlcask:/http://127.0.0.1:6126")
    assert get_deployments_target() == "mlcask:/http://127.0.0.1:6126"
    assert get_deploy_client().server_url == "http://127.0.0.1:6126"
    assert get_deploy_client().target_uri == "mlcask:/http://127.0.0.1:6126"
    with pytest.raises(InvalidArgumentError):
        set_deployments_target("sqlite:///x.db")
    assert get_deployments_target() == "mlcask:/http://127.0.0.1:6126"  # a refused target changes nothing


def test_client_is_mlflow_shaped():
    client = get_deploy_client("http://127.0.0.1:1")
    assert isinstance(client, MlcaskDeploymentClient) and isinstance(client, BaseDeploymentClient)
    import inspect

    def names(method):
        return list(inspect.signature(method).parameters)

    assert names(client.create_deployment) == ["name", "model_uri", "flavor", "config", "endpoint"]
    assert names(client.update_deployment) == ["name", "model_uri", "flavor", "config", "endpoint"]
    assert names(client.delete_deployment) == ["name", "config", "endpoint"]
    assert names(client.list_deployments) == ["endpoint"]
    assert names(client.get_deployment) == ["name", "endpoint"]
    assert names(client.predict) == ["deployment_name", "inputs", "endpoint", "params"]
    assert names(client.create_endpoint) == ["name", "config"]
    assert names(client.update_endpoint) == ["endpoint", "config"]
    assert names(client.delete_endpoint) == ["endpoint"]
    assert names(client.get_endpoint) == ["endpoint"]
    assert names(client.list_endpoints) == []


# -- the scoring payload ----------------------------------------------------------------------
def test_payload_of_a_dataframe():
    frame = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]})
    body = json.loads(scoring_payload(frame))
    assert body == {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, "x"], [2.0, "y"]]}}
    body = json.loads(scoring_payload(frame, {"threshold": 0.5}))
    assert body["params"] == {"threshold": 0.5} and "dataframe_split" in body


def test_payload_of_arrays_lists_and_dicts():
    assert json.loads(scoring_payload(np.array([[1, 2], [3, 4]]))) == {"inputs": [[1, 2], [3, 4]]}
    assert json.loads(scoring_payload([1, 2])) == {"inputs": [1, 2]}
    assert json.loads(scoring_payload({"x": np.array([1.0, 2.0])})) == {"inputs": {"x": [1.0, 2.0]}}
    assert json.loads(scoring_payload(pd.Series([1, 2], name="s"))) == {
        "dataframe_split": {"columns": ["s"], "data": [[1], [2]]}}


def test_a_payload_goes_as_it_is():
    payload = {"dataframe_records": [{"a": 1}]}
    assert json.loads(scoring_payload(payload)) == payload
    assert json.loads(scoring_payload(payload, {"k": 1})) == {**payload, "params": {"k": 1}}
    assert json.loads(scoring_payload({"input_data": {"columns": ["a"], "data": [[1]]}}))["input_data"]
    with pytest.raises(InvalidArgumentError, match="params given twice"):
        scoring_payload({"inputs": [1], "params": {"a": 1}}, {"b": 2})


@pytest.mark.parametrize(("inputs", "params", "match"), [
    (None, None, "inputs is required"),
    (object(), None, "cannot encode inputs of type object"),
    ([1], [1], "params must be a dict"),
    ({"inputs": [object()]}, None, "not JSON-serializable"),
])
def test_payload_errors(inputs, params, match):
    with pytest.raises(InvalidArgumentError, match=match):
        scoring_payload(inputs, params)


# -- PredictionsResponse ----------------------------------------------------------------------
def test_predictions_response(tmp_path):
    response = PredictionsResponse.from_json('{"predictions": [0, 1, 1]}')
    assert isinstance(response, dict) and response["predictions"] == [0, 1, 1]
    frame = response.get_predictions()
    assert isinstance(frame, pd.DataFrame) and frame[0].tolist() == [0, 1, 1]
    array = response.get_predictions("ndarray", dtype="float32")
    assert array.dtype == np.float32 and array.tolist() == [0.0, 1.0, 1.0]
    records = PredictionsResponse({"predictions": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}).get_predictions()
    assert records.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    one_row = PredictionsResponse({"predictions": {"a": 1, "b": "x"}}).get_predictions()
    assert one_row.shape == (1, 2)
    assert PredictionsResponse({"predictions": "text"}).get_predictions().iloc[0, 0] == "text"
    assert json.loads(response.to_json()) == {"predictions": [0, 1, 1]}
    response.to_json(str(tmp_path / "p.json"))
    assert PredictionsResponse.from_json((tmp_path / "p.json").read_text()) == response
    with pytest.raises(MlcaskException, match="'dataframe' or 'ndarray'"):
        response.get_predictions("list")


@pytest.mark.parametrize(("text", "match"), [("not json", "not valid JSON"), ("[1, 2]", "'predictions' field"),
                                             ('{"outputs": []}', "'predictions' field")])
def test_predictions_response_refuses(text, match):
    with pytest.raises(MlcaskException, match=match):
        PredictionsResponse.from_json(text)


# -- errors found before any request --------------------------------------------------------
def test_argument_errors():
    client = get_deploy_client("http://127.0.0.1:1")
    with pytest.raises(InvalidArgumentError, match="give deployment_name"):
        client.predict(inputs=[1])
    with pytest.raises(InvalidArgumentError, match="flavor='sklearn' was given without model_uri"):
        client.update_deployment("blue", flavor="sklearn", endpoint="e")
    with pytest.raises(InvalidArgumentError, match="nothing to change"):
        client.update_deployment("blue", endpoint="e")
    with pytest.raises(InvalidArgumentError, match="takes no config"):
        client.delete_deployment("blue", config={"x": 1}, endpoint="e")
    with pytest.raises(InvalidArgumentError, match="config must be a dict"):
        client.create_deployment("blue", "models:/m/1", config=["env_manager=uv"])
    with pytest.raises(InvalidArgumentError, match="expected a non-empty name"):
        client.create_endpoint("")
    with pytest.raises(NotImplementedError, match="do not stream"):
        client.predict_stream("blue", [1])
    with pytest.raises(MlcaskException, match="do not explain") as caught:
        client.explain("blue", pd.DataFrame({"a": [1]}))
    assert caught.value.error_code == "NOT_IMPLEMENTED"


def test_no_server_there(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    port = free_port()
    client = get_deploy_client(f"http://127.0.0.1:{port}")
    with pytest.raises(MlcaskException) as caught:
        client.list_endpoints()
    assert f"127.0.0.1:{port}/api/2.0/mlcask/endpoints/list" in caught.value.message
    assert "running and reachable" in caught.value.message


# -- against a real mlcask server ----------------------------------------------------------------
def server_env(folder: Path) -> dict[str, str]:
    """The server trusts this session's signing key (same MLCASK_HOME); its endpoints live in ``folder``."""
    return {"MLCASK_HOME": os.environ["MLCASK_HOME"], "MLCASK_MODEL_CACHE": os.environ["MLCASK_MODEL_CACHE"],
            "MLCASK_ENDPOINTS_DIR": str(folder / "endpoints"), "PYTHONPATH": ROOT}


def _alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return b"mlcask" in cmdline and stat[0] != "Z"


def _gone(pids: set[int], timeout: float = 20) -> set[int]:
    """The pids still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if _alive(p)}


def register_models(server_url: str, X, y, model) -> tuple[object, object]:
    """Register ``iris`` v1 (``model``) and v2 (a model predicting the classes plus 10)."""
    from sklearn.linear_model import LogisticRegression

    import mlcask

    shifted = LogisticRegression(max_iter=300).fit(X, y + 10)
    point_fluent_at(server_url)
    try:
        with mlcask.start_run():
            mlcask.sklearn.log_model(model, name="v1", input_example=X.head(2), registered_model_name="iris")
            mlcask.sklearn.log_model(shifted, name="v2", input_example=X.head(2), registered_model_name="iris")
    finally:
        reset_fluent()
    return model, shifted


@pytest.fixture(scope="module")
def deploy_server(tmp_path_factory, iris_classifier) -> Iterator:
    """A real mlcask server with ``iris`` v1 and v2 registered; every worker it started is gone after it."""
    from sklearn.datasets import load_iris

    from tests.server.conftest import launch

    X, model = iris_classifier
    y = load_iris(as_frame=True).target
    folder = tmp_path_factory.mktemp("deployments")
    server = launch(folder, env=server_env(folder))
    server.workers = set()
    try:
        server.models = register_models(server.url, X, y, model)
        yield server
    finally:
        server.stop()
        left = _gone(server.workers)
        for pid in left:  # the server failed to stop them: do not leave them running
            os.kill(pid, signal.SIGKILL)
        assert not left, f"workers {left} outlived the server"


@pytest.mark.slow
def test_full_cycle(deploy_server, iris_classifier):
    X, _ = iris_classifier
    v1, v2 = deploy_server.models
    rows = X.iloc[[0, 60, 120, 7, 99]]
    expected1, expected2 = v1.predict(rows).tolist(), v2.predict(rows).tolist()
    assert expected1 != expected2
    client = get_deploy_client(f"mlcask:/{deploy_server.url}")

    endpoint = client.create_endpoint("iris")
    assert endpoint["name"] == "iris" and endpoint["url"] == "/endpoints/iris" and endpoint["deployments"] == []
    blue = client.create_deployment("blue", "models:/iris/1", endpoint="iris", config={"env_manager": "local"})
    assert blue["state"] == "ready" and blue["name"] == "blue" and blue["endpoint"] == "iris"
    assert blue["traffic"] == 100 and blue["flavor"] == "python_function"
    deploy_server.workers.add(blue["pid"])
    response = client.predict(endpoint="iris", inputs=rows)
    assert isinstance(response, PredictionsResponse)
    assert response.get_predictions("ndarray").tolist() == expected1
    assert response.get_predictions()[0].tolist() == expected1
    assert client.predict("blue", rows.to_numpy(), endpoint="iris").get_predictions("ndarray").tolist() == expected1

    green = client.create_deployment("green", "models:/iris/2", endpoint="iris")
    deploy_server.workers.add(green["pid"])
    assert green["state"] == "ready" and green["traffic"] == 0
    assert client.predict("green", rows)["predictions"] == expected2  # pinned, found without endpoint=
    assert client.predict(endpoint="iris", inputs=rows)["predictions"] == expected1  # green has 0%

    updated = client.update_endpoint("iris", config={"traffic": {"blue": 0, "green": 100}})
    assert updated["traffic"] == {"blue": 0, "green": 100}
    assert client.predict(endpoint="iris", inputs=rows)["predictions"] == expected2
    client.update_endpoint("iris", {"traffic": {"blue": 50, "green": 50}})
    seen = {tuple(client.predict(endpoint="iris", inputs=rows)["predictions"]) for _ in range(40)}
    assert seen == {tuple(expected1), tuple(expected2)}

    assert sorted(d["name"] for d in client.list_deployments(endpoint="iris")) == ["blue", "green"]
    assert sorted(d["name"] for d in client.list_deployments()) == ["blue", "green"]
    assert [e["name"] for e in client.list_endpoints()] == ["iris"]
    assert client.get_endpoint("iris")["traffic"] == {"blue": 50, "green": 50}
    got = client.get_deployment("green")
    assert got["model_uri"] == "models:/iris/2" and got["traffic"] == 50 and got["state"] == "ready"

    # a new model for blue: a new worker takes over once ready, the old one stops
    moved = client.update_deployment("blue", model_uri="models:/iris/2")
    deploy_server.workers.add(moved["pid"])
    assert moved["state"] == "ready" and moved["pid"] != blue["pid"] and "next_version" not in moved
    assert client.predict("blue", rows)["predictions"] == expected2
    assert not _gone({blue["pid"]}), "the replaced worker was not stopped"
    # a traffic change only: the same worker goes on
    same = client.update_deployment("blue", config={"traffic": 100})
    assert same["pid"] == moved["pid"] and client.get_endpoint("iris")["traffic"] == {"blue": 100, "green": 0}

    client.delete_deployment("green")
    with pytest.raises(MlcaskException) as caught:
        client.get_deployment("green")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST" and "'green'" in caught.value.message
    client.delete_deployment("green", endpoint="iris")  # deleting what is gone is no error (MLflow's contract)
    assert not _gone({green["pid"]}), "the deleted deployment's worker was not stopped"
    client.delete_endpoint("iris")
    client.delete_endpoint("iris")
    assert client.list_endpoints() == []
    assert not _gone({moved["pid"]}), "the deleted endpoint's worker was not stopped"


@pytest.mark.slow
def test_server_errors(deploy_server, iris_classifier, monkeypatch):
    X, _ = iris_classifier
    client = get_deploy_client(deploy_server.url)
    with pytest.raises(MlcaskException) as caught:
        client.get_deployment("nope")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"No deployment named 'nope' on the server at {deploy_server.url}" in caught.value.message
    with pytest.raises(MlcaskException, match="No endpoint named 'nowhere'") as caught:
        client.get_endpoint("nowhere")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(InvalidArgumentError, match="Unknown deployment config key.*'colour'"):
        client.create_deployment("red", "models:/iris/1", endpoint="errors", config={"colour": "red"})
    with pytest.raises(InvalidArgumentError, match="Invalid deployment config env_manager='conda'"):
        client.create_deployment("red", "models:/iris/1", endpoint="errors", config={"env_manager": "conda"})
    with pytest.raises(InvalidArgumentError, match="Invalid endpoint name"):
        client.create_endpoint("no spaces")

    client.create_endpoint("errors")
    with pytest.raises(MlcaskException, match="already exists") as caught:
        client.create_endpoint("errors")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(InvalidArgumentError, match="no deployment named 'ghost'"):
        client.update_endpoint("errors", {"traffic": {"ghost": 100}})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a 503 is retried by default
    with pytest.raises(MlcaskException, match="no deployment to serve it") as caught:
        client.predict(endpoint="errors", inputs=X.head(1))
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE"

    red = client.create_deployment("red", "models:/iris/1", endpoint="errors")
    deploy_server.workers.add(red["pid"])
    with pytest.raises(MlcaskException) as caught:  # the worker's own refusal, passed on
        client.predict("red", pd.DataFrame({"colour": ["red"]}), endpoint="errors")
    assert caught.value.error_code in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    assert "sepal length (cm)" in caught.value.message
    with pytest.raises(MlcaskException, match="has no deployment named 'blue'"):
        client.predict("blue", X.head(1), endpoint="errors")
    with pytest.raises(MlcaskException, match="no registered model named 'no-such-model'") as caught:
        client.create_deployment("bad", "models:/no-such-model/1", endpoint="errors")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_endpoint("errors")
    assert not _gone({red["pid"]})
