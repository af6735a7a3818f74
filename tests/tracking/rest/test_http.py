"""The HTTP layer of the REST client against a tiny local server that records requests and answers
from a script: credentials sent (Basic, Bearer, URI user info), retries on 503 and 429 with
Retry-After, connection errors, MLflow error bodies and other failures turned into clear errors,
one pooled client per server."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.tracking.rest import RestRegistryStore, RestTrackingStore
from mlcask.tracking.rest.artifacts import HttpArtifactRepository
from mlcask.tracking.rest.http import close_all, server_client
from tests.support import free_port


class Recorder:
    """Requests seen (method, path with query, headers, body) and the answers still to give."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answers: deque[tuple[int, dict[str, str], bytes]] = deque()

    def answer(self, status: int = 200, body: object = None, headers: dict[str, str] | None = None,
               raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps({} if body is None else body).encode()
        self.answers.append((status, headers or {}, payload))


@pytest.fixture
def recorder():
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.requests.append((self.command, self.path, dict(self.headers), body))
            status, headers, payload = recorder.answers.popleft() if recorder.answers else (200, {}, b"{}")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{port}"
    yield recorder
    httpd.shutdown()
    httpd.server_close()
    close_all()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
                 "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")


EXPERIMENT = {"experiment": {"experiment_id": "7", "name": "e", "artifact_location": "mlflow-artifacts:/7"}}


def test_basic_credentials_are_sent(recorder, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret:x")
    recorder.answer(body=EXPERIMENT)
    assert RestTrackingStore(recorder.url).get_experiment("7").name == "e"
    method, path, headers, _ = recorder.requests[0]
    assert (method, path) == ("GET", "/api/2.0/mlflow/experiments/get?experiment_id=7")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret:x").decode()


def test_bearer_token_is_sent_and_read_on_every_request(recorder, monkeypatch):
    store = RestTrackingStore(recorder.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-1")
    recorder.answer(body=EXPERIMENT)
    store.get_experiment("7")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-2")
    recorder.answer(body=EXPERIMENT)
    store.get_experiment("7")
    assert [r[2]["Authorization"] for r in recorder.requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_user_info_in_the_uri_is_basic_auth_and_never_shown(recorder):
    url = recorder.url.replace("http://", "http://bob:pw%40x@")
    recorder.answer(404, raw=b"<html>nope</html>")
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(url).get_experiment("1")
    assert recorder.requests[0][2]["Authorization"] == "Basic " + base64.b64encode(b"bob:pw@x").decode()
    assert "pw" not in str(caught.value) and "bob" not in str(caught.value)
    assert "404" in str(caught.value) and "/api/2.0/mlflow/experiments/get" in str(caught.value)


def test_no_credentials_no_header(recorder):
    recorder.answer(body=EXPERIMENT)
    RestTrackingStore(recorder.url).get_experiment("7")
    assert "Authorization" not in recorder.requests[0][2]


def test_503_and_429_are_retried_then_succeed(recorder):
    recorder.answer(503, raw=b"busy")
    recorder.answer(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"},
                    headers={"Retry-After": "0"})
    recorder.answer(body={"experiment_id": "12"})
    assert RestTrackingStore(recorder.url).create_experiment("x") == "12"
    assert [r[0] for r in recorder.requests] == ["POST"] * 3
    assert all(json.loads(r[3]) == {"name": "x", "tags": []} for r in recorder.requests)


def test_retries_end_with_the_last_error(recorder, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    recorder.answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down for maintenance"})
    recorder.answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down for maintenance"})
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(recorder.url).get_run("abc")
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE" and str(caught.value) == "down for maintenance"
    assert len(recorder.requests) == 2


def test_retry_after_is_honoured(recorder, monkeypatch):
    import time
    import types

    from mlcask.tracking.rest import http

    waits = []
    # Only http.py's view of the time module: patching time.sleep itself would stop every sleeping
    # thread of the process from sleeping (a polling thread left by an earlier test then spins,
    # appending to `waits` until the machine runs out of memory: CI's OOM kill).
    monkeypatch.setattr(http, "time", types.SimpleNamespace(sleep=waits.append, time=time.time))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "5")
    recorder.answer(429, headers={"Retry-After": "3"})
    recorder.answer(503)
    recorder.answer(body=EXPERIMENT)
    RestTrackingStore(recorder.url).get_experiment("7")
    assert waits == [3.0, 10.0]  # what the server asked, then factor * 2**1


def test_server_errors_keep_their_code_and_message(recorder):
    recorder.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"})
    with pytest.raises(MlcaskException) as missing:
        RestTrackingStore(recorder.url).get_run("x")
    assert (missing.value.error_code, str(missing.value)) == ("RESOURCE_DOES_NOT_EXIST", "Run 'x' not found")
    recorder.answer(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad key"})
    with pytest.raises(InvalidArgumentError) as invalid:
        RestRegistryStore(recorder.url).get_registered_model("m")
    assert invalid.value.error_code == "INVALID_PARAMETER_VALUE"


def test_failures_without_an_mlflow_body_name_the_url_and_status(recorder):
    recorder.answer(502, raw=b"<html>Bad Gateway from the proxy</html>")
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(recorder.url).delete_run("r1")
    message = str(caught.value)
    assert f"POST {recorder.url}/api/2.0/mlflow/runs/delete" in message
    assert "HTTP 502" in message and "Bad Gateway from the proxy" in message
    assert caught.value.error_code == "INTERNAL_ERROR"
    recorder.answer(401, raw=b"")
    with pytest.raises(MlcaskException) as unauthenticated:
        RestTrackingStore(recorder.url).delete_run("r1")
    assert unauthenticated.value.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_TRACKING_USERNAME" in str(unauthenticated.value)


def test_a_success_that_is_not_json_is_an_error(recorder):
    recorder.answer(200, raw=b"<html>login page</html>")
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(recorder.url).get_run("x")
    assert "not a JSON object" in str(caught.value) and "login page" in str(caught.value)


def test_connection_refused_is_retried_then_explained(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(url).create_experiment("x")
    assert url in str(caught.value) and "running and reachable" in str(caught.value)


def test_get_bodies_become_query_parameters(recorder):
    recorder.answer(body={"registered_models": [{"name": "a"}], "next_page_token": "tok"})
    page = RestRegistryStore(recorder.url).search_registered_models("name LIKE 'a%'", 5, ["name ASC", "x DESC"])
    assert [m.name for m in page] == ["a"] and page.token == "tok"
    path = recorder.requests[0][1]
    assert path.startswith("/api/2.0/mlflow/registered-models/search?")
    assert "order_by=name+ASC&order_by=x+DESC" in path and "max_results=5" in path


def test_one_pooled_client_per_server(recorder):
    tracking, registry = RestTrackingStore(recorder.url), RestRegistryStore(recorder.url + "/")
    artifacts = HttpArtifactRepository("mlflow-artifacts:/1/run/artifacts", recorder.url)
    assert tracking._client is registry._client is artifacts._client is server_client(recorder.url)
    assert server_client(recorder.url.replace("127.0.0.1", "localhost")) is not tracking._client


def test_settings_from_the_environment(monkeypatch, tmp_path):
    from mlcask.tracking.rest.http import Settings

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    settings = Settings.from_env()
    assert (settings.timeout, settings.verify, settings.max_retries) == (7.0, False, 3)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(tmp_path / "ca.pem"))
    with pytest.raises(InvalidArgumentError, match="both"):
        Settings.from_env()
    monkeypatch.delenv("MLFLOW_TRACKING_INSECURE_TLS")
    assert Settings.from_env().verify == str(tmp_path / "ca.pem")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "many")
    with pytest.raises(InvalidArgumentError, match="MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        Settings.from_env()


def test_artifact_requests(recorder, tmp_path):
    repository = HttpArtifactRepository("mlflow-artifacts:/5/abc/artifacts", recorder.url + "/prefix")
    (tmp_path / "a b.txt").write_text("hello")
    repository.log_artifact(tmp_path / "a b.txt", "sub dir")
    method, path, headers, body = recorder.requests[-1]
    assert (method, path, body) == ("PUT", "/prefix/api/2.0/mlflow-artifacts/artifacts/5/abc/artifacts/sub%20dir/"
                                           "a%20b.txt", b"hello")
    assert headers["Content-Type"] == "text/plain"
    recorder.answer(body={"files": [{"path": "x.bin", "is_dir": False, "file_size": "12"},
                                    {"path": "d", "is_dir": True}]})
    listed = repository.list_artifacts("sub dir")
    assert [(f.path, f.is_dir, f.file_size) for f in listed] == [("sub dir/d", True, None),
                                                                 ("sub dir/x.bin", False, 12)]
    assert recorder.requests[-1][1] == ("/prefix/api/2.0/mlflow-artifacts/artifacts?"
                                        "path=5%2Fabc%2Fartifacts%2Fsub+dir")
    recorder.answer(body={"files": [{"path": "../../escape", "is_dir": False}]})
    with pytest.raises(InvalidArgumentError):
        repository.list_artifacts()
    with pytest.raises(InvalidArgumentError):
        repository.read_bytes("../outside")
    assert len(recorder.requests) == 3  # the bad path was refused before any request


def test_artifact_uri_forms():
    from mlcask.tracking.rest.artifacts import resolve_artifact_uri

    assert resolve_artifact_uri("mlflow-artifacts:/1/r/artifacts", "https://u:p@host:5/pre") == (
        "https://u:p@host:5/pre", "1/r/artifacts")
    assert resolve_artifact_uri("mlflow-artifacts://other:7/1/r", "http://host:5") == ("http://other:7", "1/r")
    assert resolve_artifact_uri("http://h/p/api/2.0/mlflow-artifacts/artifacts/1/a%20b") == ("http://h/p", "1/a b")
    with pytest.raises(InvalidArgumentError, match="tracking URI"):
        resolve_artifact_uri("mlflow-artifacts:/1/r", "sqlite:///x.db")
    with pytest.raises(InvalidArgumentError, match="api/2.0/mlflow-artifacts/artifacts"):
        resolve_artifact_uri("http://h/files/1/r", None)
    with pytest.raises(InvalidArgumentError):
        resolve_artifact_uri("mlflow-artifacts:/1/../../etc", "http://host:5")


def test_a_forked_child_makes_its_own_pool(recorder):
    import os

    parent = server_client(recorder.url)
    recorder.answer(body=EXPERIMENT)
    recorder.answer(body=EXPERIMENT)
    RestTrackingStore(recorder.url).get_experiment("7")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new client, which works
        try:
            child = server_client(recorder.url)
            ok = child is not parent and RestTrackingStore(recorder.url).get_experiment("7").name == "e"
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"1"
    assert server_client(recorder.url) is parent


def test_redirects_are_not_followed(recorder, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    recorder.answer(308, headers={"Location": "https://elsewhere.example/api/2.0/mlflow/runs/get"}, raw=b"")
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(recorder.url).get_run("r")
    assert "redirected (HTTP 308) to https://elsewhere.example" in str(caught.value)
    assert len(recorder.requests) == 1


def test_a_download_cut_short_is_an_error_and_leaves_no_file(recorder, tmp_path):
    repository = HttpArtifactRepository(f"{recorder.url}/api/2.0/mlflow-artifacts/artifacts/1/r")
    recorder.answer(body={"files": [{"path": "big.bin", "is_dir": False, "file_size": 1000}]})
    recorder.answer(200, headers={"Content-Length": "1000"}, raw=b"only a part")
    with pytest.raises(MlcaskException, match="broke off"):
        repository.download_artifacts("", tmp_path / "out")
    assert [p.name for p in (tmp_path / "out" / "r").iterdir()] == []


def test_a_model_folder_is_uploaded_with_its_mlmodel_last(recorder, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    for name in ("MLmodel", "conda.yaml", "mlcask-manifest.json", "model.skops", "sub/MLmodel", "sub/x"):
        (folder / name).write_text(name)
    HttpArtifactRepository(f"{recorder.url}/api/2.0/mlflow-artifacts/artifacts/1/m").log_artifacts(folder)
    uploaded = [r[1].removeprefix("/api/2.0/mlflow-artifacts/artifacts/1/m/") for r in recorder.requests]
    assert uploaded == ["conda.yaml", "model.skops", "sub/x", "mlcask-manifest.json", "MLmodel", "sub/MLmodel"]
    assert all(r[0] == "PUT" for r in recorder.requests)
