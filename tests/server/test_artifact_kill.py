"""A ``mlcask server`` SIGKILLed during an upload leaves no partial artifact visible and its store intact;
restarted on the same store and destination, it takes a new upload of the same path.

For a local destination and for S3 (moto): killed in the middle of a plain PUT's body, in the middle
of a multipart upload (between or inside parts), and (local) while joining the parts, where the file
must then be whole or absent.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ART = "/api/2.0/mlflow-artifacts"
MiB = 1024 * 1024


class Setup:
    """One server's store and destination, restartable, and what a reader of the destination sees."""

    def __init__(self, kind: str, tmp_path: Path, start_server, s3_server=None) -> None:
        self.kind, self.tmp, self.start_server = kind, tmp_path, start_server
        self.backend = f"sqlite:///{tmp_path / 'store.db'}"
        self.env = s3_server.env if s3_server else {}
        if kind == "s3":
            self.bucket, self.s3 = s3_server.new_bucket(), s3_server
            self.destination = f"s3://{self.bucket}/dest"
        else:
            self.destination = str(tmp_path / "dest")
        self.starts = 0

    def start(self):
        self.starts += 1
        return self.start_server(folder=self.tmp / f"server{self.starts}", backend_store_uri=self.backend,
                                 artifacts_destination=self.destination, env=self.env)

    def stored(self) -> list[str]:
        """Every file or object the destination holds (staging files included), relative to it."""
        if self.kind == "s3":
            return [k.removeprefix("dest/") for k in self.s3.keys(self.bucket, "dest/")]
        root = Path(self.destination)
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []

    def visible(self) -> list[str]:
        return [p for p in self.stored() if not any(s.startswith(".mlcask-upload-") for s in p.split("/"))]


def kill(server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)


def start_body(server, method: str, path: str, length: int, sent: int) -> http.client.HTTPConnection:
    """Send a request's headers and the first ``sent`` of ``length`` body bytes; the rest never comes."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path)
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    for _ in range(sent // MiB):
        connection.send(os.urandom(MiB))
    return connection


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def make_run(server) -> tuple[str, str]:
    experiment_id = server.api("POST", "/experiments/create", json={"name": "kill"}).json()["experiment_id"]
    run_id = server.api("POST", "/runs/create", json={"experiment_id": experiment_id}).json()["run"]["info"]["run_id"]
    assert server.api("POST", "/runs/log-metric", json={"run_id": run_id, "key": "m", "value": 1.5,
                                                        "timestamp": 1, "step": 0}).status_code == 200
    return experiment_id, run_id


def check_after_restart(setup: Setup, server, run_id: str, folder: str, name: str, allowed: bytes | None = None):
    """Nothing partial is visible (only ``allowed`` whole bytes, if given), the store is intact, and a new
    upload of the same path succeeds."""
    listed = server.client.get(f"{ART}/artifacts", params={"path": folder}).json().get("files", [])
    got = server.client.get(f"{ART}/artifacts/{folder}/{name}")
    if allowed is None or got.status_code == 404:
        assert listed == [] and got.status_code == 404 and setup.visible() == []
    else:
        assert hashlib.sha256(got.content).digest() == hashlib.sha256(allowed).digest()
    run = server.api("GET", "/runs/get", params={"run_id": run_id}).json()["run"]
    assert run["data"]["metrics"][0]["value"] == 1.5
    data = os.urandom(3 * MiB)
    assert server.client.put(f"{ART}/artifacts/{folder}/{name}", content=data).status_code == 200
    assert server.client.get(f"{ART}/artifacts/{folder}/{name}").content == data
    assert setup.visible() == [f"{folder}/{name}"]


def _setup(kind, tmp_path, start_server, request) -> Setup:
    return Setup(kind, tmp_path, start_server, request.getfixturevalue("s3_server") if kind == "s3" else None)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_killed_during_a_put(kind, tmp_path, start_server, request):
    setup = _setup(kind, tmp_path, start_server, request)
    server = setup.start()
    experiment_id, run_id = make_run(server)
    folder = f"{experiment_id}/{run_id}/artifacts"
    connection = start_body(server, "PUT", f"{ART}/artifacts/{folder}/big.bin", 64 * MiB, 16 * MiB)
    if kind == "local":  # the body is being written to the private staging file
        wait_for(lambda: any(p.startswith(".mlcask-upload-") for p in setup.stored()))
    else:
        time.sleep(0.5)
    kill(server)
    connection.close()
    assert setup.visible() == []
    check_after_restart(setup, setup.start(), run_id, folder, "big.bin")


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_killed_during_a_multipart_upload(kind, tmp_path, start_server, request):
    setup = _setup(kind, tmp_path, start_server, request)
    server = setup.start()
    experiment_id, run_id = make_run(server)
    folder = f"{experiment_id}/{run_id}/artifacts/model"
    created = server.client.post(f"{ART}/mpu/create/{folder}", json={"path": "/tmp/w.bin", "num_parts": 3}).json()
    first = httpx.put(created["credentials"][0]["url"], content=os.urandom(5 * MiB), timeout=30)
    assert first.status_code == 200 and first.headers["ETag"]
    if kind == "local":  # part 2 goes to the server: kill it in the middle of that part's body
        url = httpx.URL(created["credentials"][1]["url"])
        connection = start_body(server, "PUT", url.raw_path.decode(), 5 * MiB, 3 * MiB)
        time.sleep(0.3)
        kill(server)
        connection.close()
    else:  # parts go to S3: the server dies between them, before anyone completes the upload
        kill(server)
        httpx.put(created["credentials"][1]["url"], content=os.urandom(5 * MiB), timeout=30)
    assert setup.visible() == []
    check_after_restart(setup, setup.start(), run_id, folder, "w.bin")


def test_killed_while_joining_parts(tmp_path, start_server, request):
    setup = _setup("local", tmp_path, start_server, request)
    server = setup.start()
    experiment_id, run_id = make_run(server)
    folder = f"{experiment_id}/{run_id}/artifacts"
    parts = [os.urandom(16 * MiB) for _ in range(4)]
    created = server.client.post(f"{ART}/mpu/create/{folder}", json={"path": "joined.bin", "num_parts": 4}).json()
    done = []
    for credential, data in zip(created["credentials"], parts):
        answer = httpx.put(credential["url"], content=data, timeout=30)
        done.append({"part_number": credential["part_number"], "etag": answer.headers["ETag"]})
    body = httpx.Request("POST", f"{server.url}{ART}/mpu/complete/{folder}",
                         json={"path": "joined.bin", "upload_id": created["upload_id"], "parts": done})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", body.url.raw_path.decode(), body=body.read(),
                       headers={"Content-Type": "application/json"})
    time.sleep(0.02)  # somewhere in the join (or just after): the file must be whole or absent
    kill(server)
    connection.close()
    assert setup.visible() in ([], [f"{folder}/joined.bin"])
    check_after_restart(setup, setup.start(), run_id, folder, "joined.bin", allowed=b"".join(parts))
