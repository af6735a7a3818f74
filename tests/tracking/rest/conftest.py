"""Tracking servers for the REST client tests: a real ``mlflow server`` (from the pinned MLflow venv)
and, once it exists, ``mlcask server``; one of each per session, on 127.0.0.1 and a free port,
stopped at the end. ``server`` runs a test against each kind.

Downloaded models land in a per-session cache folder (``MLCASK_MODEL_CACHE``), not in ~/.cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ["MLCASK_MODEL_CACHE"] = tempfile.mkdtemp(prefix="mlcask-test-model-cache-")
STARTUP_TIMEOUT_S = 120.0


@dataclass
class Server:
    kind: str
    url: str
    folder: Path
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}


def start_server(kind: str, command: list[str], folder: Path, port: int, env: dict[str, str] | None = None) -> Server:
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(command, cwd=folder, env=env or _child_env(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log.close()
    server = Server(kind, f"http://127.0.0.1:{port}", folder, process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} server exited with {process.returncode}:\n"
                               f"{(folder / 'server.log').read_text()[-4000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{kind} server did not answer /health within {STARTUP_TIMEOUT_S} s:\n"
                       f"{(folder / 'server.log').read_text()[-4000:]}")


def mlflow_server_command(folder: Path, port: int) -> list[str]:
    from bench.mlflow_env import ensure_mlflow_python

    python = ensure_mlflow_python()
    return [str(python.parent / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]


def mlcask_server_available() -> bool:
    """Whether the ``mlcask server`` command exists yet (it is being built beside this client)."""
    from mlcask.cli import cli

    return "server" in getattr(cli, "commands", {})


def mlcask_server_command(folder: Path, port: int) -> list[str]:
    code = "import sys; from mlcask.cli import cli; sys.exit(cli())"
    return [sys.executable, "-c", code, "server", "--backend-store-uri", f"sqlite:///{folder / 'mlcask.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]


# Each test using ``server`` runs against both; both start a subprocess (slow), MLflow's from its venv (interop).
SERVER_KINDS = [pytest.param("mlflow", marks=[pytest.mark.interop, pytest.mark.slow]),
                pytest.param("mlcask", marks=pytest.mark.slow)]


@pytest.fixture(scope="session")
def _servers():
    started: dict[str, Server] = {}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server(request, _servers, tmp_path_factory) -> Server:
    """A running tracking server of each kind (started once per session)."""
    kind = request.param
    if kind not in _servers:
        folder = tmp_path_factory.mktemp(f"{kind}-server")
        port = free_port()
        if kind == "mlflow":
            _servers[kind] = start_server(kind, mlflow_server_command(folder, port), folder, port)
        else:
            if not mlcask_server_available():
                pytest.skip("the mlcask server command is not in this tree yet")
            env = {**_child_env(), "PYTHONPATH": str(REPO_ROOT / "src")}
            _servers[kind] = start_server(kind, mlcask_server_command(folder, port), folder, port, env)
    return _servers[kind]


@pytest.fixture
def remote(server, tracking_state, monkeypatch, tmp_path):
    """The fluent API pointed at ``server`` (a fresh experiment per test); returns the server."""
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    tracking_state(server.url, tmp_path / "unused-artifacts")
    return server
