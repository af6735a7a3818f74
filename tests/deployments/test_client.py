"""mlcask.deployments' client: target URIs, the scoring payload, PredictionsResponse and the errors that
need no server (tests/deployments/test_client_server.py runs the client against a real mlcask server)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcask.deployments import targets
from mlcask.deployments.base import BaseDeploymentClient, PredictionsResponse
from mlcask.deployments.client import MlcaskDeploymentClient, get_deploy_client, scoring_payload
from mlcask.deployments.targets import get_deployments_target, resolve_target, set_deployments_target
from mlcask.exceptions import InvalidArgumentError, MlcaskException
from tests.support import free_port


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
