"""The server process: /health, /version, OpenAPI, unknown paths and verbs, config passing to workers."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from mlcask.server.config import ServerConfig


def test_health_and_version(shared_server):
    health = shared_server.client.get("/health")
    assert health.status_code == 200 and health.text == "OK"
    version = shared_server.client.get("/version")
    assert version.status_code == 200 and version.text == "3.17.2"
    assert version.headers["x-mlcask-version"]


def test_openapi_document_is_valid_and_lists_every_endpoint(shared_server):
    document = shared_server.api("GET", "/openapi.json").json()
    validate(document)
    paths = document["paths"]
    assert set(paths["/api/2.0/mlflow/experiments/search"]) == {"get", "post"}
    assert set(paths["/api/2.0/mlflow/logged-models/{model_id}"]) == {"get", "patch", "delete"}
    assert "/api/2.0/mlflow/registered-models/create" in paths
    create = paths["/api/2.0/mlflow/experiments/create"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["required"] == ["name"]


def test_unknown_path_and_verb_are_mlflow_errors(shared_server):
    response = shared_server.api("GET", "/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = shared_server.api("PUT", "/runs/create")
    assert response.status_code == 405
    assert response.json() == {"error_code": "ENDPOINT_NOT_FOUND",
                               "message": "PUT is not allowed on /api/2.0/mlflow/runs/create (allowed: POST)."}
    assert response.headers["allow"] == "POST"


def test_head_answers_like_get_without_a_body(shared_server):
    response = shared_server.client.head("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert response.status_code == 200 and response.content == b""
    assert shared_server.client.head("/health").status_code == 200


def test_ajax_twins_answer_like_the_api(shared_server):
    created = shared_server.client.post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "ajax-twin"},
                                        headers={"x-mlcask-csrf": "1"})  # the web UI's header on its writes
    assert created.status_code == 200
    experiment_id = created.json()["experiment_id"]
    got = shared_server.api("GET", "/experiments/get", params={"experiment_id": experiment_id}).json()
    via_ajax = shared_server.client.get("/ajax-api/2.0/mlflow/experiments/get",
                                        params={"experiment_id": experiment_id}).json()
    assert got == via_ajax and got["experiment"]["name"] == "ajax-twin"


def test_config_round_trips_through_the_environment():
    config = ServerConfig(backend_store_uri="sqlite:////x.db", allowed_hosts=("a", "b"), workers=3,
                          app_name="basic-auth", expose_prometheus="/tmp/p")
    assert ServerConfig.from_env({"MLCASK_SERVER_CONFIG": config.to_env()}) == config


def test_config_without_environment_says_how_to_start():
    with pytest.raises(Exception, match="mlcask server"):
        ServerConfig.from_env({})


@pytest.mark.parametrize("options, root", [
    ({}, "mlflow-artifacts:"),
    ({"serve_artifacts": False, "artifacts_destination": "/data/a"}, "/data/a"),
    ({"default_artifact_root": "s3://bucket/prefix/"}, "s3://bucket/prefix"),
])
def test_default_artifact_root(options, root):
    assert ServerConfig(**options).artifact_root == root


def _raw(server, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """One request with ``target`` sent exactly as given (httpx would normalise it)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("method, target", [
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/a%0ab"),
    ("GET", "/api/2.0/mlflow-artifacts/x%0a"),
    ("PUT", "/ajax-api/2.0/mlflow-artifacts/%0a/artifacts"),
    ("GET", "/api/2.0/mlflow/runs%0a/get"),
    ("GET", "/api/2.0/mlflow/runs/get%0a"),  # Starlette's "$" would match it as /runs/get
    ("GET", "/%0a%0d"),
    ("GET", "/api/2.0/mlflow/experiments/get%00"),
])
def test_control_characters_in_the_path_are_refused(shared_server, method, target):
    code, headers, body = _raw(shared_server, method, target)
    assert code == 400 and headers["content-type"] == "application/json", body
    answer = json.loads(body)
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE" and "control character" in answer["message"]


@pytest.mark.parametrize("method, target, status", [
    ("GET", "/api/2.0/mlflow-artifacts/nothing", 404),
    ("POST", "/api/2.0/mlflow-artifacts/artifacts/a.txt", 405),
    ("PATCH", "/api/2.0/mlflow-artifacts/mpu/create/0/x", 405),
    ("POST", "/health", 405),
])
def test_paths_the_router_cannot_match_are_mlflow_errors(shared_server, method, target, status):
    code, headers, body = _raw(shared_server, method, target)
    assert code == status and headers["content-type"] == "application/json", body
    answer = json.loads(body)
    assert answer["error_code"] == "ENDPOINT_NOT_FOUND" and answer["message"]
    if status == 405:
        assert method not in headers["allow"] and headers["allow"] in answer["message"]


def test_a_verb_a_mounted_route_does_not_take_lists_every_verb_of_the_path(shared_server):
    response = shared_server.client.post("/api/2.0/mlflow-artifacts/artifacts/0/a.txt")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert response.json() == {"error_code": "ENDPOINT_NOT_FOUND", "message": "POST is not allowed on "
                               "/api/2.0/mlflow-artifacts/artifacts/0/a.txt (allowed: DELETE, GET, HEAD, PUT)."}


def test_openapi_document_with_basic_auth_has_the_auth_endpoints_and_schemes(tmp_path, monkeypatch):
    import base64

    from starlette.testclient import TestClient

    from mlcask.server.app import create_app
    from mlcask.server.auth.openapi import SECURITY, SECURITY_SCHEMES

    monkeypatch.setenv("MLCASK_AUTH_ADMIN_PASSWORD", "Admin-pass-1")
    monkeypatch.setenv("MLCASK_AUTH_DATABASE_URI", f"sqlite:///{tmp_path / 'auth.db'}")
    config = ServerConfig(backend_store_uri=f"sqlite:///{tmp_path / 'mlcask.db'}",
                          artifacts_destination=str(tmp_path / "artifacts"), app_name="basic-auth")
    admin = {"authorization": "Basic " + base64.b64encode(b"admin:Admin-pass-1").decode()}
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        assert client.get("/api/2.0/mlflow/openapi.json").status_code == 401
        document = client.get("/api/2.0/mlflow/openapi.json", headers=admin).json()
    validate(document)
    assert document["components"]["securitySchemes"] == SECURITY_SCHEMES and document["security"] == SECURITY
    paths = document["paths"]
    assert set(paths["/api/2.0/mlflow/users/create"]) == {"post"}
    assert "/api/3.0/mlflow/users/permissions/grant" in paths and "/api/3.0/mlflow/roles/create" in paths
    assert "/api/2.0/mlflow/runs/log-batch" in paths and "/api/3.0/mlflow/server-info" in paths


def test_openapi_document_without_auth_has_no_security(shared_server):
    document = shared_server.api("GET", "/openapi.json").json()
    assert "security" not in document and "components" not in document
    assert "/api/2.0/mlflow/users/create" not in document["paths"]
    assert set(document["paths"]["/api/3.0/mlflow/server-info"]) == {"get"}


def test_non_ascii_digits_are_bad_input_not_a_crash(shared_server):
    """"²".isdigit() is true but int("²") fails: an enum given as such a "number" is a 400."""
    response = shared_server.api("GET", "/experiments/search", params={"view_type": "²"})
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "view_type" in response.json()["message"]
