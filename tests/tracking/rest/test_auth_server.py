"""The REST client against an ``mlcask server --app-name basic-auth``: without credentials every call is
refused with a message saying which variables to set; with ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` the
fluent API, the registry and the artifact proxy work."""

from __future__ import annotations

import uuid

import pytest

import mlcask
from mlcask.exceptions import MlcaskException
from mlcask.tracking import MlflowClient
from tests.support import free_port

from .conftest import REPO_ROOT, _child_env, mlcask_server_available, mlcask_server_command, start_server

ADMIN_PASSWORD = f"pw-{uuid.uuid4().hex}"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    if not mlcask_server_available():
        pytest.skip("the mlcask server command is not in this tree yet")
    folder = tmp_path_factory.mktemp("auth-server")
    port = free_port()
    env = {**_child_env(), "PYTHONPATH": str(REPO_ROOT / "src"), "MLCASK_AUTH_ADMIN_USERNAME": "admin",
           "MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD}
    server = start_server("mlcask-auth", [*mlcask_server_command(folder, port), "--app-name", "basic-auth"], folder,
                          port, env)
    yield server
    server.stop()


@pytest.fixture
def auth_remote(auth_server, tracking_state, monkeypatch, tmp_path):
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracking_state(auth_server.url, tmp_path / "unused-artifacts")
    return auth_server


def test_without_credentials_the_client_is_told_what_to_set(auth_remote):
    with pytest.raises(MlcaskException) as caught:
        MlflowClient().search_experiments()
    assert caught.value.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_TRACKING_USERNAME" in str(caught.value) and "MLFLOW_TRACKING_TOKEN" in str(caught.value)


def test_wrong_password_is_refused(auth_remote, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-it")
    with pytest.raises(MlcaskException) as caught:
        MlflowClient().create_experiment(f"x-{uuid.uuid4().hex}")
    assert caught.value.error_code == "UNAUTHENTICATED"


def test_with_basic_credentials_everything_works(auth_remote, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
    (tmp_path / "a.txt").write_text("a")
    mlcask.set_experiment(f"auth-{uuid.uuid4().hex[:8]}")
    with mlcask.start_run() as run:
        mlcask.log_param("p", 1)
        mlcask.log_metric("m", 2.0)
        mlcask.log_artifact(str(tmp_path / "a.txt"))
    client = MlflowClient()
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["a.txt"]
    name = f"auth-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    assert client.get_registered_model(name).name == name
