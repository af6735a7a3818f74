"""The UI's entry points: ``mlcask ui`` (the server for one user, on loopback, over the working
folder's defaults) and the links a run prints when it ends on a server, opened in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from mlcask.cli import cli
from tests.support import free_port
from tests.ui.conftest import new_page, open_ui

LOCAL_RUN = """
import mlcask
mlcask.set_experiment("local")
with mlcask.start_run(run_name="logged-here") as run:
    mlcask.log_metric("loss", 0.25)
    mlcask.log_text("hello from here", "notes/hello.txt")
print(run.info.run_id)
"""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCASK_", "MLFLOW_", "PROMETHEUS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class UiProcess:
    def __init__(self, folder: Path, args: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out, self.err = folder / f"ui-{self.port}.out", folder / f"ui-{self.port}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "mlcask.cli", "ui", "--port", str(self.port), *args],
                                            cwd=folder, env=_clean_env(), stdout=out, stderr=err,
                                            start_new_session=True)

    def logs(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mlcask ui exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"mlcask ui did not answer /health within {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)


@pytest.fixture
def start_ui(tmp_path) -> Iterator:
    started: list[UiProcess] = []

    def start(folder: Path, *args: str, wait: bool = True) -> UiProcess:
        process = UiProcess(folder, list(args))
        started.append(process)
        if wait:
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (None if it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_help_lists_the_options():
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0, result.output
    for flag in ("--port", "--backend-store-uri", "--artifacts-destination", "--host", "--allow-pickle"):
        assert flag in result.output, flag
    assert "sqlite:///mlcask.db" in result.output and "./mlcask-artifacts" in result.output
    assert "ui" in CliRunner().invoke(cli, ["--help"]).output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_a_host_other_than_loopback_is_refused(host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["ui", "--host", host])
    assert result.exit_code == 2
    assert f"{host!r} is not a loopback address" in result.output and "mlcask server" in result.output
    assert not (tmp_path / "mlcask.db").exists()  # refused before anything was opened


def test_ui_serves_the_working_folder_on_loopback(start_ui, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    # A run logged here with the embedded defaults (no tracking URI) ...
    local = subprocess.run([sys.executable, "-c", LOCAL_RUN], cwd=folder, env=_clean_env(), capture_output=True,
                           text=True, timeout=120)
    assert local.returncode == 0, local.stderr
    local_run_id = local.stdout.split()[-1]
    assert "View run" not in local.stdout  # a local store prints no link

    ui = start_ui(folder)
    assert f"open {ui.url}/ in a browser" in ui.out.read_text()
    client = httpx.Client(base_url=ui.url, timeout=30)
    # ... shows in the UI's server, artifacts included.
    listed = client.get("/api/2.0/mlflow/artifacts/list", params={"run_id": local_run_id, "path": "notes"})
    assert listed.status_code == 200 and [f["path"] for f in listed.json()["files"]] == ["notes/hello.txt"]
    text = client.get("/get-artifact", params={"run_id": local_run_id, "path": "notes/hello.txt"})
    assert text.status_code == 200 and text.content == b"hello from here"

    # A run logged through the server keeps its artifacts in ./mlcask-artifacts, behind the proxy.
    logged = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import mlcask
        mlcask.set_tracking_uri({ui.url!r})
        mlcask.set_experiment("served")
        with mlcask.start_run(run_name="through-the-server") as run:
            mlcask.log_text("proxied", "out/result.txt")
        print(run.info.artifact_uri)
    """)], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert logged.returncode == 0, logged.stderr
    artifact_uri = logged.stdout.split()[-1]
    assert artifact_uri.startswith("mlflow-artifacts:/") and "View run through-the-server at: " in logged.stdout
    relative = artifact_uri.removeprefix("mlflow-artifacts:/").lstrip("/")
    assert (folder / "mlcask.db").is_file()
    assert (folder / "mlcask-artifacts" / relative / "out" / "result.txt").read_text() == "proxied"
    assert not (tmp_path / "mlcask.db").exists()  # nothing in the client's folder

    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static-files/js/app.js").status_code == 200


def test_ui_listens_on_loopback_only(start_ui, tmp_path):
    ui = start_ui(tmp_path)
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no address but loopback")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{outside}:{ui.port}/health", timeout=3)


def test_a_busy_port_is_an_error(start_ui, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    running = start_ui(first)
    busy = subprocess.run([sys.executable, "-m", "mlcask.cli", "ui", "--port", str(running.port)], cwd=second,
                          env=_clean_env(), capture_output=True, text=True, timeout=60)
    assert busy.returncode == 1
    assert f"Cannot listen on {running.url}/" in busy.stderr and "--port" in busy.stderr
    assert "open " not in busy.stdout  # no URL printed for a server that does not start
    assert httpx.get(running.url + "/health", timeout=5).status_code == 200


@pytest.mark.browser
def test_the_printed_run_link_opens_the_run_page(browser, start_ui, tmp_path):
    ui = start_ui(tmp_path)
    logged = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import mlcask
        mlcask.set_tracking_uri({ui.url!r})
        mlcask.set_experiment("linked")
        with mlcask.start_run(run_name="open-me-run"):
            mlcask.log_param("alpha", "0.5")
    """)], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert logged.returncode == 0, logged.stderr
    run_line, experiment_line = [line for line in logged.stdout.splitlines() if "View " in line]
    run_url, experiment_url = run_line.split(" at: ", 1)[1], experiment_line.split(" at: ", 1)[1]
    assert run_url.startswith(f"{ui.url}/#/experiments/") and experiment_url.startswith(f"{ui.url}/#/experiments/")
    page = new_page(browser)
    try:
        page.goto(run_url)
        page.wait_for_selector("header.top", timeout=15_000)
        page.get_by_text("open-me-run").first.wait_for(timeout=15_000)
        assert "Page not found" not in page.inner_text("main")
        page.goto(experiment_url)
        page.wait_for_selector("[data-testid=run-row]", timeout=15_000)
        assert "open-me-run" in page.inner_text("[data-testid=run-row]")
        open_ui(page, ui, "/experiments")
        assert not page.console_errors, page.console_errors
    finally:
        page.context.close()
