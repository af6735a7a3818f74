"""The artifact proxy (``/api/2.0/mlflow-artifacts/...``) over a local folder and over S3 (moto).

Fast cases run the routes in a minimal Starlette app through Starlette's TestClient; the
traversal corpus and the real MLflow client go over HTTP to a uvicorn process serving them.
"""

from __future__ import annotations

import hashlib
import http.client as http_client
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from mlcask.server.artifacts_proxy import routes
from tests.security.traversal_payloads import PAYLOADS, aimed_at
from tests.support import free_port

API = "/api/2.0/mlflow-artifacts"
AJAX = "/ajax-api/2.0/mlflow-artifacts"
SRC = Path(__file__).resolve().parents[2] / "src"
MiB = 1024 * 1024


def proxy_app(destination: str, **options) -> Starlette:
    """The proxy's routes mounted as the server mounts them."""
    return Starlette(routes=[Mount(API, routes=routes(destination, **options)),
                             Mount(AJAX, routes=routes(destination, **options))])


@contextmanager
def serve_proxy(destination: str, env: dict[str, str] | None = None, port: int | None = None, **options):
    """A uvicorn process on 127.0.0.1 serving the proxy over ``destination`` (``options`` go to ``routes``);
    yields (base URL, process)."""
    port = port or free_port()
    code = textwrap.dedent(f"""
        import uvicorn
        from tests.server.test_artifact_proxy import proxy_app
        uvicorn.run(proxy_app({destination!r}, **{options!r}), host="127.0.0.1", port={port}, log_level="warning")
    """)
    environment = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(SRC), str(SRC.parent)])}
    process = subprocess.Popen([sys.executable, "-c", code], env=environment, cwd=SRC.parent)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the proxy server exited at start"
            try:
                httpx.get(f"{base}{API}/artifacts", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the proxy server did not start"
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(params=["local", "s3"])
def destination(request, tmp_path, monkeypatch):
    """(kind, destination URI, a function listing what the destination holds as relative paths)."""
    if request.param == "local":
        root = tmp_path / "dest"

        def held() -> list[str]:
            return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) \
                if root.exists() else []
        return "local", str(root), held
    server = request.getfixturevalue("s3_server")
    server.apply_env(monkeypatch)
    bucket = server.new_bucket()
    return "s3", f"s3://{bucket}/proxied", lambda: [k.removeprefix("proxied/") for k in server.keys(bucket)]


@pytest.fixture
def client(destination):
    with TestClient(proxy_app(destination[1])) as test_client:
        yield test_client


def visible(held: list[str]) -> list[str]:
    """What a reader could see: staging files (``.mlcask-upload-*``) left out."""
    return [p for p in held if not any(part.startswith(".mlcask-upload-") for part in p.split("/"))]


# -- single requests -------------------------------------------------------------------------------
def test_put_get_list_delete(client, destination):
    _, _, held = destination
    assert client.put(f"{API}/artifacts/1/run/artifacts/a.txt", content=b"hello").status_code == 200
    assert client.put(f"{API}/artifacts/1/run/artifacts/sub/b.bin", content=b"\x00" * 1000).status_code == 200
    got = client.get(f"{API}/artifacts/1/run/artifacts/a.txt")
    assert got.status_code == 200 and got.content == b"hello"
    assert got.headers["content-length"] == "5" and got.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"{AJAX}/artifacts/1/run/artifacts/sub/b.bin").content == b"\x00" * 1000
    head = client.head(f"{API}/artifacts/1/run/artifacts/sub/b.bin")
    assert head.status_code == 200 and head.headers["content-length"] == "1000" and head.content == b""
    assert client.head(f"{API}/artifacts/1/run/artifacts/none.bin").status_code == 404
    assert len(visible(held())) == 2  # a HEAD reads nothing and removes nothing
    listed = client.get(f"{API}/artifacts", params={"path": "1/run/artifacts"}).json()
    assert listed == {"files": [{"path": "a.txt", "is_dir": False, "file_size": 5},
                                {"path": "sub", "is_dir": True}]}
    assert client.get(f"{API}/artifacts").json() == {"files": [{"path": "1", "is_dir": True}]}
    assert client.get(f"{API}/artifacts", params={"path": "1/run/artifacts/a.txt"}).json() == {"files": []}
    assert client.get(f"{API}/artifacts", params={"path": "nothing/here"}).json() == {"files": []}
    assert client.put(f"{API}/artifacts/1/run/artifacts/a.txt", content=b"again").status_code == 200
    assert client.get(f"{API}/artifacts/1/run/artifacts/a.txt").content == b"again"
    assert client.delete(f"{API}/artifacts/1/run/artifacts/sub").status_code == 200
    assert visible(held()) == ["1/run/artifacts/a.txt"]
    assert client.delete(f"{API}/artifacts/1/run/artifacts/a.txt").status_code == 200
    assert visible(held()) == []


def test_errors_are_mlflow_bodies(client, destination):
    missing = client.get(f"{API}/artifacts/no/such/file.txt")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    client.put(f"{API}/artifacts/folder/x.txt", content=b"x")
    folder = client.get(f"{API}/artifacts/folder")
    assert folder.status_code == 400 and "is a folder" in folder.json()["message"]
    assert client.put(f"{API}/artifacts/", content=b"x").json()["error_code"] == "INVALID_PARAMETER_VALUE"
    if destination[0] == "local":  # S3 keys may be both a file and a folder's prefix
        assert client.put(f"{API}/artifacts/folder", content=b"x").status_code == 400  # a folder is in the way
        assert client.put(f"{API}/artifacts/folder/x.txt/y", content=b"x").status_code == 400  # a file is
    assert client.delete(f"{API}/artifacts/").status_code == 400  # never everything at once
    assert client.post(f"{API}/artifacts/a.txt").status_code == 405
    for body in (b"not json", b"[1]", b'{"path": 3}', b'{"num_parts": 2}', b'{"path": "f", "num_parts": "x"}',
                 b'{"path": "f", "num_parts": 0}', b'{"path": "f", "num_parts": 10001}'):
        answer = client.post(f"{API}/mpu/create/folder", content=body)
        assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE", body
    for body in (b'{"path": "f", "upload_id": "00"}', b'{"path": "f", "upload_id": "00", "parts": []}',
                 b'{"path": "f", "upload_id": "00", "parts": [{"part_number": 2, "etag": "a"}, '
                 b'{"part_number": 1, "etag": "b"}]}', b'{"path": "f", "upload_id": "00", "parts": ["x"]}'):
        assert client.post(f"{API}/mpu/complete/folder", content=body).status_code == 400, body
    assert client.post(f"{API}/mpu/abort/folder", content=b'{"path": "f"}').status_code == 400


def test_active_content_is_served_as_an_inert_download(client):
    client.put(f"{API}/artifacts/page.html", content=b"<script>alert(1)</script>")
    answer = client.get(f"{API}/artifacts/page.html")
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["content-disposition"] == "attachment; filename*=UTF-8''page.html"


def test_body_limit(destination):
    kind, uri, held = destination
    with TestClient(proxy_app(uri, max_upload_bytes=1000)) as client:
        assert client.put(f"{API}/artifacts/ok.bin", content=b"x" * 1000).status_code == 200
        too_big = client.put(f"{API}/artifacts/big.bin", content=b"x" * 1001)
        assert too_big.status_code == 413 and too_big.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        streamed = client.put(f"{API}/artifacts/big.bin", content=iter([b"x" * 600, b"x" * 600]))  # no length
        assert streamed.status_code == 413
    assert held() == ["ok.bin"]  # nothing of the refused bodies, not even a staging file


@pytest.mark.slow
def test_a_server_refuses_to_start_on_a_missing_bucket(start_server, s3_server):
    server = start_server(artifacts_destination="s3://no-such-bucket-for-mlcask/x", env=s3_server.env, wait=False)
    assert server.wait_exit(60) != 0
    assert "the bucket 'no-such-bucket-for-mlcask' does not exist" in server.log()


# -- multipart uploads ------------------------------------------------------------------------------
def _put_part(client: TestClient, url: str, data: bytes) -> httpx.Response:
    """PUT a part to its credential URL: this server's (through the test client) or S3's (over HTTP)."""
    if url.startswith("http://testserver/"):
        return client.put(url, content=data)
    return httpx.put(url, content=data)


def _multipart(client: TestClient, folder: str, name: str, parts: list[bytes]) -> tuple[str, list[dict]]:
    created = client.post(f"{API}/mpu/create/{folder}", json={"path": f"/home/me/{name}", "num_parts": len(parts)})
    assert created.status_code == 200, created.text
    body = created.json()
    done = []
    for credential, data in zip(body["credentials"], parts):
        answer = _put_part(client, credential["url"], data)
        assert answer.status_code == 200, answer.text
        done.append({"part_number": credential["part_number"], "etag": answer.headers["ETag"]})
    return body["upload_id"], done


def test_multipart_upload(client, destination):
    _, _, held = destination
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1000)]
    upload_id, done = _multipart(client, "1/run/artifacts/model", "weights.bin", parts)
    assert visible(held()) == []  # nothing visible before complete
    assert client.get(f"{API}/artifacts/1/run/artifacts/model/weights.bin").status_code == 404
    completed = client.post(f"{API}/mpu/complete/1/run/artifacts/model",
                            json={"path": "weights.bin", "upload_id": upload_id, "parts": done})
    assert completed.status_code == 200, completed.text
    got = client.get(f"{API}/artifacts/1/run/artifacts/model/weights.bin")
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(b"".join(parts)).digest()
    assert held() == ["1/run/artifacts/model/weights.bin"]  # the staging folder is gone too


def test_multipart_abort_and_bad_completions(client, destination, request):
    kind, _, held = destination
    upload_id, done = _multipart(client, "m", "w.bin", [os.urandom(5 * MiB), b"tail"])
    wrong_etag = [done[0], {"part_number": 2, "etag": '"' + "0" * 32 + '"'}]
    answer = client.post(f"{API}/mpu/complete/m", json={"path": "w.bin", "upload_id": upload_id, "parts": wrong_etag})
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    if kind == "local":  # the local destination knows which file an upload is for, and its part URLs
        other = client.post(f"{API}/mpu/complete/m", json={"path": "x.bin", "upload_id": upload_id, "parts": done})
        assert other.status_code == 400 and "was created for 'm/w.bin'" in other.json()["message"]
        created = client.post(f"{API}/mpu/create/m", json={"path": "w.bin", "num_parts": 1}).json()
        url = created["credentials"][0]["url"]
        assert client.put(url.replace("token=", "token=x"), content=b"x").status_code == 403
        assert client.put(url.replace("/1?", "/2?"), content=b"x").status_code == 400
        assert client.put(url.replace(created["upload_id"], "f" * 32), content=b"x").status_code == 404
        assert client.put(url.replace(created["upload_id"], "../../x"), content=b"x").status_code in (400, 404)
    assert client.post(f"{API}/mpu/abort/m", json={"path": "w.bin", "upload_id": upload_id}).status_code == 200
    assert client.get(f"{API}/artifacts/m/w.bin").status_code == 404
    if kind == "local":  # (S3 answers NoSuchUpload, 404; moto answers 500 for an aborted upload)
        after = client.post(f"{API}/mpu/complete/m", json={"path": "w.bin", "upload_id": upload_id, "parts": done})
        assert after.status_code == 404 and after.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert visible(held()) == []
    if kind == "s3":
        assert request.getfixturevalue("s3_server").multipart_uploads(destination[1].split("/")[2]) == []


# -- the traversal corpus over HTTP -----------------------------------------------------------------
SECRET = b"TOP-SECRET-SENTINEL"
CORPUS = PAYLOADS + aimed_at(1, "outside/secret.txt") + aimed_at(1, "outside/secret_dir/x")


def _snapshot(base: Path, skip: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(base.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        info = path.lstat()
        found[path.relative_to(base).as_posix()] = (info.st_mode, info.st_size, info.st_mtime_ns,
                                                    path.read_bytes() if path.is_file() else None)
    return found


_MPU_BODY = json.dumps({"path": "x.txt", "num_parts": 1, "upload_id": "0" * 32,
                        "parts": [{"part_number": 1, "etag": "0" * 32}]}).encode()


def _requests(payload: str) -> list[tuple[str, str, bytes | None]]:
    """Every way the proxy takes a path, with ``payload`` in it: quoted fully, and quoted as a path (dots,
    slashes, ';' and '%' as typed). Sent verbatim: no client-side normalisation of '..'."""
    out: list[tuple[str, str, bytes | None]] = []
    for quoted in {urllib.parse.quote(payload, safe=""), urllib.parse.quote(payload, safe="/;%")}:
        out += [("GET", f"{API}/artifacts/{quoted}", None), ("PUT", f"{API}/artifacts/{quoted}", SECRET),
                ("DELETE", f"{API}/artifacts/{quoted}", None), ("PUT", f"{API}/artifacts/{quoted}/x.txt", SECRET)]
        out += [("POST", f"{API}/mpu/{step}/{quoted}", _MPU_BODY) for step in ("create", "complete", "abort")]
    out.append(("GET", f"{API}/artifacts?{urllib.parse.urlencode({'path': payload})}", None))
    return out


def test_traversal_corpus_is_refused_over_http(tmp_path):
    destination = tmp_path / "dest"
    (tmp_path / "outside" / "secret_dir").mkdir(parents=True)
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside" / "secret_dir" / "x").write_bytes(SECRET)
    destination.mkdir()
    before = _snapshot(tmp_path, destination)
    refused = 0
    with serve_proxy(str(destination)) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        connection = http_client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
        for payload in CORPUS:
            for method, url, body in _requests(payload):
                connection.request(method, url, body=body)
                answer = connection.getresponse()
                content = answer.read()
                if answer.status == 404 and "\n" in payload and "?" not in url:
                    continue  # Starlette's Mount ('.*') matches no path holding a newline: no route is reached
                assert answer.status == 400, (payload, method, url, answer.status, content)
                assert json.loads(content)["error_code"] == "INVALID_PARAMETER_VALUE"
                assert SECRET not in content
                refused += 1
        connection.close()
        # the client's local file name in a multipart body is reduced to its last segment, as MLflow does
        for payload in ("../../outside/secret.txt", "..\\..\\outside\\secret.txt", "/etc/passwd"):
            answer = http.post(f"{API}/mpu/create/run", json={"path": payload, "num_parts": 1})
            assert answer.status_code == 200, answer.text
    assert refused > 1000
    assert _snapshot(tmp_path, destination) == before
    assert not any(p.is_file() and p.read_bytes() == SECRET for p in destination.rglob("*"))


# -- the real MLflow client ---------------------------------------------------------------------------
MLFLOW_CLIENT = """
import filecmp, hashlib, json, os, sys
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
src, dst, uri = sys.argv[1:4]
repo = MlflowArtifactsRepository("mlflow-artifacts:/7/run1/artifacts", tracking_uri=uri)
repo.log_artifact(os.path.join(src, "small.txt"))
repo.log_artifact(os.path.join(src, "big.bin"), "model")
repo.log_artifacts(os.path.join(src, "tree"), "tree")
listed = sorted((f.path, f.is_dir, f.file_size) for f in repo.list_artifacts())
nested = sorted((f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("tree"))
out = repo.download_artifacts("", dst)
same = [filecmp.cmp(os.path.join(src, a), os.path.join(out, b), shallow=False)
        for a, b in (("small.txt", "small.txt"), ("big.bin", "model/big.bin"), ("tree/sub/c.txt", "tree/sub/c.txt"))]
repo.delete_artifacts("tree")
print(json.dumps({"listed": listed, "nested": nested, "same": same,
                  "after": sorted(f.path for f in repo.list_artifacts())}))
"""


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_real_mlflow_client(kind, tmp_path, request):
    from bench.mlflow_env import ensure_mlflow_python

    env = {}
    if kind == "local":
        uri = str(tmp_path / "dest")
    else:
        server = request.getfixturevalue("s3_server")
        env = server.env
        uri = f"s3://{server.new_bucket()}/artifacts"
    src = tmp_path / "src"
    (src / "tree" / "sub").mkdir(parents=True)
    (src / "small.txt").write_text("small")
    (src / "big.bin").write_bytes(os.urandom(11 * MiB))
    (src / "tree" / "a.json").write_text("{}")
    (src / "tree" / "sub" / "c.txt").write_text("c")
    client_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    client_env.update({"MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
                       "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MiB),
                       "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(MiB)})
    (tmp_path / "out").mkdir()
    # a body over 6 MiB is refused: the 11 MiB file can only go up in 5 MiB parts
    with serve_proxy(uri, env, max_upload_bytes=6 * MiB) as (base, _):
        proc = subprocess.run([str(ensure_mlflow_python()), "-c", MLFLOW_CLIENT, str(src), str(tmp_path / "out"), base],
                              env=client_env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["listed"] == [["model", True, None], ["small.txt", False, 5], ["tree", True, None]]
    assert result["nested"] == [["tree/a.json", False, 2], ["tree/sub", True, None]]
    assert result["same"] == [True, True, True]
    assert result["after"] == ["model", "small.txt"]
    if kind == "s3":  # the big file went up in parts, straight to S3, and was joined there
        head = request.getfixturevalue("s3_server").client().head_object(
            Bucket=uri.split("/")[2], Key="artifacts/7/run1/artifacts/model/big.bin")
        assert head["ETag"].strip('"').endswith("-3")


# -- end to end: the real MLflow client through `mlcask server --artifacts-destination s3://...` -------------
END_TO_END = """
import hashlib, json, os, sys, tempfile
os.environ.update({env!r})
import mlflow
import mlflow.pyfunc
from mlflow.store.artifact import http_artifact_repo

multipart, part_hosts = [], set()
try_multipart, upload_part = (http_artifact_repo.HttpArtifactRepository._try_multipart_upload,
                              http_artifact_repo.HttpArtifactRepository._upload_part)

def recording_multipart(self, local_file, artifact_path=None):
    try_multipart(self, local_file, artifact_path)
    multipart.append(os.path.basename(local_file))  # only once the multipart upload went through

def recording_part(credential, local_file, size, start_byte):
    part_hosts.add(credential.url.split("/")[2])
    return upload_part(credential, local_file, size, start_byte)

http_artifact_repo.HttpArtifactRepository._try_multipart_upload = recording_multipart
http_artifact_repo.HttpArtifactRepository._upload_part = staticmethod(recording_part)

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

src = {src!r}
mlflow.set_experiment("artifacts-on-s3")
with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(src, "small.txt"))
    mlflow.log_artifact(os.path.join(src, "big.bin"), "weights")
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_dict({{"k": 1}}, "config.json")
    info = mlflow.pyfunc.log_model(name="echo", python_model=Echo())
client = mlflow.MlflowClient()
dst = tempfile.mkdtemp()
out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=dst)
digest = hashlib.sha256(open(os.path.join(out, "weights", "big.bin"), "rb").read()).hexdigest()
loaded = mlflow.pyfunc.load_model(info.model_uri)
print(json.dumps({{"artifact_uri": run.info.artifact_uri,
                  "listed": sorted(f.path for f in client.list_artifacts(run.info.run_id)),
                  "text": open(os.path.join(out, "notes", "hello.txt")).read(), "digest": digest,
                  "prediction": [int(x) for x in loaded.predict([1, 2, 3])],
                  "multipart": multipart, "part_hosts": sorted(part_hosts),
                  "experiment_id": run.info.experiment_id, "run_id": run.info.run_id}}))
"""


ADMIN_PASSWORD = "Correct-Horse-9-battery"


@pytest.mark.interop
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["s3", "local-with-auth"])
def test_mlflow_client_through_mlcask_server(kind, start_server, tmp_path, request):
    """``mlcask server --artifacts-destination s3://...`` (parts presigned by S3), and a local destination
    behind basic-auth (parts sent to the server's own part URLs, which need no credentials)."""
    import json

    from bench.mlflow_env import run_in_mlflow

    env = {"MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true", "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MiB),
           "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(MiB)}
    if kind == "s3":
        s3 = request.getfixturevalue("s3_server")
        bucket = s3.new_bucket()
        server = start_server(artifacts_destination=f"s3://{bucket}/mlartifacts", env=s3.env)
    else:
        server = start_server(args=["--app-name", "basic-auth"], env={"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD})
        env.update({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD})
    env["MLFLOW_TRACKING_URI"] = server.url
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.txt").write_text("small")
    big = os.urandom(11 * MiB)
    (src / "big.bin").write_bytes(big)
    output = run_in_mlflow(END_TO_END.format(env=env, src=str(src)), cwd=tmp_path, timeout=600)
    result = json.loads(output.strip().splitlines()[-1])
    assert result["artifact_uri"].startswith("mlflow-artifacts:")
    assert result["listed"] == ["config.json", "notes", "small.txt", "weights"]
    assert result["text"] == "hello" and result["digest"] == hashlib.sha256(big).hexdigest()
    assert result["prediction"] == [1, 2, 3]
    assert result["multipart"] == ["big.bin"]  # the big file went up in parts, to S3 or to the server itself
    assert result["part_hosts"] == [(s3.endpoint_url if kind == "s3" else server.url).split("/")[2]]
    run_prefix = f"{result['experiment_id']}/{result['run_id']}/artifacts/"
    if kind == "s3":
        keys = s3.keys(bucket)
        assert {k.removeprefix("mlartifacts/" + run_prefix) for k in keys if k.startswith("mlartifacts/" + run_prefix)
                } == {"config.json", "notes/hello.txt", "small.txt", "weights/big.bin"}
        assert any(k.endswith("/MLmodel") for k in keys)  # the logged model's folder went to S3 too
        head = s3.client().head_object(Bucket=bucket, Key="mlartifacts/" + run_prefix + "weights/big.bin")
        assert head["ETag"].strip('"').endswith("-3")  # through presigned parts, straight to S3
        assert s3.multipart_uploads(bucket) == []
    else:
        root = server.folder / "artifacts"
        stored = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        assert [p.removeprefix(run_prefix) for p in stored if p.startswith(run_prefix)] == [
            "config.json", "notes/hello.txt", "small.txt", "weights/big.bin"]
        assert not any(".mlcask-upload-" in p for p in stored)  # no staging file or upload folder left


# -- `--default-artifact-root s3://...`: clients write to S3 themselves ----------------------------------
@pytest.mark.slow
def test_mlcask_client_with_a_server_whose_default_root_is_s3(start_server, s3_server, tmp_path, monkeypatch,
                                                              tracking_state):
    import mlcask

    bucket = s3_server.new_bucket()
    server = start_server(args=["--default-artifact-root", f"s3://{bucket}/roots", "--no-serve-artifacts"],
                          env=s3_server.env)
    s3_server.apply_env(monkeypatch)
    tracking_state(server.url, tmp_path / "unused")
    mlcask.set_experiment("direct-to-s3")
    (tmp_path / "a.txt").write_text("a")
    with mlcask.start_run() as run:
        mlcask.log_artifact(str(tmp_path / "a.txt"), "docs")
        mlcask.log_text("t", "t.txt")
    assert run.info.artifact_uri.startswith(f"s3://{bucket}/roots/")
    prefix = run.info.artifact_uri.removeprefix(f"s3://{bucket}/") + "/"
    assert s3_server.keys(bucket, prefix) == [prefix + "docs/a.txt", prefix + "t.txt"]
    client = mlcask.MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["docs", "t.txt"]
    assert Path(client.download_artifacts(run.info.run_id, "docs/a.txt", str(tmp_path / "dl"))).read_text() == "a"
    assert server.client.get(f"{API}/artifacts", params={"path": "x"}).status_code == 404  # no proxy here
