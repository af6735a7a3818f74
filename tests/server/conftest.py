"""Fixtures that run a real ``mlcask server`` in a subprocess on 127.0.0.1.

``start_server(**options)`` (the ``start_server`` fixture) starts one and returns a
:class:`ServerProcess` (``.url``, ``.client`` an httpx client on it, ``.log()``, ``.stop()``);
every server a test starts is stopped after it. Options:

- ``backend_store_uri``: default a fresh SQLite file in the test's tmp folder;
- ``artifacts_destination``: default ``<tmp>/artifacts``;
- ``args``: more CLI options (``["--workers", "2"]``, ``["--app-name", "basic-auth"]``);
- ``env``: environment variables added (``MLCASK_*``/``MLFLOW_*`` of the test runner are not passed on);
- ``cwd``: the server's working folder (default: the tmp folder);
- ``wait``: False to return at once (for tests of refusals to start; then ``.wait_exit()``).

``server`` is one default server per test; ``shared_server`` one per module, for tests
that only read or create their own experiments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, postgres_database

API = "/api/2.0/mlflow"


class ServerProcess:
    """A running ``mlcask server`` subprocess."""

    def __init__(self, process: subprocess.Popen, port: int, folder: Path, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.folder = folder
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A call to ``/api/2.0/mlflow<path>``: ``json=`` for bodies, ``params=`` for GET queries."""
        return self.client.request(method, API + path, **kwargs)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlcask server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.client.get("/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"mlcask server did not answer /health within {timeout}s:\n{self.log()}")

    def wait_exit(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCASK_", "MLFLOW_", "PROMETHEUS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def launch(folder: Path, *, backend_store_uri: str | None = None, artifacts_destination: str | None = None,
           args: Sequence[str] = (), env: dict[str, str] | None = None, cwd: Path | None = None,
           wait: bool = True) -> ServerProcess:
    """Start ``mlcask server`` with its files in ``folder`` (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    backend = backend_store_uri or f"sqlite:///{folder / 'mlcask.db'}"
    destination = artifacts_destination or str(folder / "artifacts")
    log_path = folder / f"server-{port}.log"
    command = [sys.executable, "-m", "mlcask.cli", "server", "--backend-store-uri", backend,
               "--artifacts-destination", destination, "--host", "127.0.0.1", "--port", str(port), *args]
    env = {"MLCASK_ENDPOINTS_DIR": str(folder / "endpoints"), **(env or {})}  # never ~/.mlcask/endpoints
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd or folder, env=_environment(env), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = ServerProcess(process, port, folder, log_path)
    if wait:
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
    return server


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """``start_server(**options) -> ServerProcess``; all are stopped after the test."""
    started: list[ServerProcess] = []

    def start(**options) -> ServerProcess:
        folder = options.pop("folder", None) or tmp_path / f"server{len(started)}"
        server = launch(Path(folder), **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server) -> ServerProcess:
    """A default ``mlcask server`` (SQLite, artifacts proxied to a tmp folder, no auth)."""
    return start_server()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """One default server for the whole module."""
    server = launch(tmp_path_factory.mktemp("shared-server"))
    yield server
    server.stop()


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (see :func:`postgres_database`)."""
    with postgres_database("mlcask_server") as uri:
        yield uri
