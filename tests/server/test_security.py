"""Secure defaults of ``mlcask server``: exposure refused without auth, Host allow-list,
cross-origin writes, CORS only for configured origins, security headers, auth on every surface."""

from __future__ import annotations

import base64

import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.server.config import ServerConfig, is_loopback_host
from mlcask.server.middleware import host_name


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_non_loopback_host_without_auth_is_refused(host):
    with pytest.raises(InvalidArgumentError) as caught:
        ServerConfig(host=host).check()
    message = str(caught.value)
    assert "--app-name basic-auth" in message and "MLCASK_AUTH_ADMIN_PASSWORD" in message
    assert "--allow-unauthenticated" in message
    ServerConfig(host=host, allow_unauthenticated=True).check()
    ServerConfig(host=host, app_name="basic-auth").check()


def test_the_command_refuses_to_expose_itself(start_server):
    server = start_server(args=["--host", "0.0.0.0"], wait=False)
    assert server.wait_exit() != 0
    assert "--app-name basic-auth" in server.log() and "Uvicorn running" not in server.log()


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("[::1]", True), ("10.0.0.1", False),
                                            ("localhost.evil.com", False), ("0.0.0.0", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("header, parsed", [("[::1]:5000", ("::1", "5000")), ("LocalHost:80", ("localhost", "80")),
                                            ("example.com", ("example.com", None)), ("[::1]", ("::1", None))])
def test_host_header_parsing(header, parsed):
    assert host_name(header) == parsed


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "", "localhost.evil.example"])
def test_foreign_host_headers_are_refused(shared_server, host):
    response = shared_server.client.get("/health", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED" and "Host header" in response.json()["message"]
    assert shared_server.api("POST", "/experiments/create", json={"name": "rebound"},
                             headers={"host": host}).status_code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "localhost:{port}", "127.0.0.1:{port}"])
def test_loopback_host_headers_are_answered(shared_server, host):
    response = shared_server.client.get("/health", headers={"host": host.format(port=shared_server.port)})
    assert response.status_code == 200


def test_allowed_hosts_add_names(start_server):
    server = start_server(args=["--allowed-hosts", "tracking.example.com,*.corp.example", "--allowed-hosts",
                                "other.example:8080"])
    get = server.client.get
    assert get("/health", headers={"host": "tracking.example.com"}).status_code == 200
    assert get("/health", headers={"host": "a.b.corp.example:5000"}).status_code == 200
    assert get("/health", headers={"host": "corp.example"}).status_code == 403
    assert get("/health", headers={"host": "other.example:8080"}).status_code == 200
    assert get("/health", headers={"host": "other.example:9090"}).status_code == 403
    assert get("/health", headers={"host": "evil.example"}).status_code == 403


def test_cross_origin_writes_are_refused(shared_server):
    api = shared_server.api
    response = api("POST", "/experiments/create", json={"name": "csrf"}, headers={"origin": "http://evil.example"})
    assert response.status_code == 403 and "--cors-allowed-origins" in response.json()["message"]
    # a "simple" request a page can send without a preflight
    simple = shared_server.client.post("/api/2.0/mlflow/experiments/create", content=b'{"name": "csrf2"}',
                                       headers={"content-type": "text/plain", "origin": "null"})
    assert simple.status_code == 403
    assert api("GET", "/experiments/get-by-name", params={"experiment_name": "csrf"}).status_code == 404
    same_origin = api("POST", "/experiments/create", json={"name": "same-origin-write"},
                      headers={"origin": shared_server.url})
    assert same_origin.status_code == 200
    read = api("GET", "/experiments/search", headers={"origin": "http://evil.example"})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


def test_preflight_refused_without_configured_origins(shared_server):
    response = shared_server.client.options("/api/2.0/mlflow/runs/create", headers={
        "origin": "http://evil.example", "access-control-request-method": "POST"})
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_cors_for_configured_origins(start_server):
    server = start_server(args=["--cors-allowed-origins", "https://ui.example.com"])
    origin = {"origin": "https://ui.example.com"}
    preflight = server.client.options("/api/2.0/mlflow/experiments/create", headers={
        **origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://ui.example.com"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    created = server.api("POST", "/experiments/create", json={"name": "from-ui"}, headers=origin)
    assert created.status_code == 200 and created.headers["access-control-allow-origin"] == "https://ui.example.com"
    assert created.headers["vary"] == "Origin"
    other = server.api("POST", "/experiments/create", json={"name": "x"}, headers={"origin": "https://evil.example"})
    assert other.status_code == 403


@pytest.mark.parametrize("path", ["/health", "/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/nothing",
                                  "/api/2.0/mlflow/openapi.json"])
def test_security_headers(shared_server, path):
    headers = shared_server.client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'self'" in csp


def _basic(username: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_basic_auth_guards_every_surface(start_server):
    server = start_server(args=["--app-name", "basic-auth"], env={"MLCASK_AUTH_ADMIN_PASSWORD": "s3cret-Pass"})
    admin = _basic("admin", "s3cret-Pass")
    created = server.api("POST", "/experiments/create", json={"name": "guarded"}, headers=admin)
    assert created.status_code == 200, created.text
    experiment_id = created.json()["experiment_id"]
    run = server.api("POST", "/runs/create", json={"experiment_id": experiment_id}, headers=admin).json()["run"]
    model = server.api("POST", "/logged-models", json={"experiment_id": experiment_id}, headers=admin).json()
    model_id = model["model"]["info"]["model_id"]
    surfaces = [
        ("GET", "/api/2.0/mlflow/experiments/get", {"params": {"experiment_id": experiment_id}}),
        ("GET", "/ajax-api/2.0/mlflow/experiments/get", {"params": {"experiment_id": experiment_id}}),
        ("POST", "/api/2.0/mlflow/runs/search", {"json": {"experiment_ids": [experiment_id]}}),
        ("GET", "/api/2.0/mlflow/artifacts/list", {"params": {"run_id": run["info"]["run_id"]}}),
        ("GET", "/get-artifact", {"params": {"run_id": run["info"]["run_id"], "path": "x"}}),
        ("GET", f"/api/2.0/mlflow/logged-models/{model_id}", {}),
        ("GET", f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files",
         {"params": {"artifact_file_path": "MLmodel"}}),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts", {}),
        ("GET", "/api/2.0/mlflow/registered-models/search", {}),
    ]
    for method, path, options in surfaces:
        anonymous = server.client.request(method, path, **options)
        assert anonymous.status_code == 401, (path, anonymous.text)
        wrong = server.client.request(method, path, headers=_basic("admin", "wrong"), **options)
        assert wrong.status_code == 401, (path, wrong.text)
        allowed = server.client.request(method, path, headers=admin, **options)
        assert allowed.status_code != 401 and allowed.status_code < 500, (path, allowed.text)
    assert server.client.get("/health").status_code == 200


def test_basic_auth_needs_the_admin_password(start_server):
    server = start_server(args=["--app-name", "basic-auth"], wait=False)
    assert server.wait_exit() != 0
    assert "MLCASK_AUTH_ADMIN_PASSWORD" in server.log()
